"""bench/scale.py at a tiny size: the report's structure, and engine recall@10 against exact search.

No timing is asserted (the machine is shared); recall is, so that a change to query
composition or the engine's search settings that loses results fails `make test`.
No __init__.py here: this directory must not become a package named `bench`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench import scale  # noqa: E402
from bench.index_recall import FILTER_SHAPES, QUERY_TYPES  # noqa: E402


def test_scale_bench_reports_every_cell_with_recall(tmp_path: Path) -> None:
    config = scale.BenchConfig(items=600, queries=3, index_dir=tmp_path / "index", clients=(1, 2),
                               load_seconds=0.3, skip_local=True, optimize=False)
    report = scale.run(config)

    cells = {(c["query"], c["filter"]): c for c in report["cells"]}
    assert set(cells) == {(q, f) for q in QUERY_TYPES for f in FILTER_SHAPES}
    for key, cell in cells.items():
        for method in scale.METHODS:
            assert cell[method]["calls"] == 3, (key, method)
            assert 0 < cell[method]["p50_ms"] <= cell[method]["p99_ms"], (key, method)
        # The service's share of each gRPC call: the call less the store's time within it.
        service = cell[scale.SERVICE]
        assert service["calls"] == 3 and 0 < service["p50_ms"] < cell["grpc"]["p50_ms"], (key, service)
        assert cell["recall_engine"] is not None and cell["recall_engine"] >= 0.9, (key, cell["recall_engine"])
        assert cell["recall_grpc"] is not None and cell["recall_grpc"] >= 0.9, (key, cell["recall_grpc"])
        # Standard errors over the 3 queries: each recall is in [0, 1], so the error of the mean is below 0.35.
        assert 0 <= cell["recall_engine_se"] < 0.35 and 0 <= cell["recall_grpc_se"] < 0.35, (key, cell)
        assert cell["local"] is None
    assert [(t["method"], t["clients"]) for t in report["throughput"]] == [
        ("Manipulate", 1), ("Manipulate", 2), ("Complete", 1), ("Complete", 2)]
    assert all(t["calls"] > 0 and t["errors"] == 0 for t in report["throughput"])
    # The server and the clients did work while the calls ran; the machine's busy time covers both
    # (measured over a slightly longer window, so allow for the clock tick).
    for t in report["throughput"]:
        assert t["server_cores"] > 0 and t["client_cores"] > 0, t
        assert t["machine_busy_cores"] >= 0.5 * (t["server_cores"] + t["client_cores"]), t
    assert report["build"]["reused"] is False
    assert report["build"]["build_s"] > 0 and report["build"]["optimize_s"] >= 0
    assert report["build"]["optimized"] is False
    assert report["build"]["table_fill_s"] >= 0
    assert report["model"]["attribute_dim"] == 32 and report["model"]["outfit_dim"] == 64
    assert {"index_ready", "after_queries"} <= set(report["rss_bytes_per_point"])
    assert "load average" in report["uptime_start"]

    json_path, md_path = scale.write(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["items"] == 600
    table = md_path.read_text()
    assert "| manipulate | none |" in table and "| outfit | price 50-100 |" in table
    assert "| service p50 / p99 ms |" in table
    assert "recall@10 gRPC ± s.e." in table and " ± 0." in table

    # A second run with the same size and seed opens the cached index instead of building it.
    artifact = scale.bench_artifact(config.model, config.seed)
    store, index, build = scale.open_or_build(config, artifact, scale.catalog_items(artifact, 600, config.seed))
    try:
        assert build["reused"] is True and build["build_s"] == report["build"]["build_s"]
    finally:
        index.close()
