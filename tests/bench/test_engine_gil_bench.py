"""bench/engine_gil.py at a tiny size: every kind of call runs beside the sleeper and is reported
(no timing is asserted).

No __init__.py here: this directory must not become a package named `bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench import engine_gil  # noqa: E402
from bench.scale_index import BenchConfig, bench_artifact, catalog_items, open_or_build  # noqa: E402


def test_engine_gil_bench_times_every_call_beside_the_sleeper(tmp_path: Path) -> None:
    config = BenchConfig(items=600, index_dir=tmp_path / "index", clients=(), optimize=False)
    artifact = bench_artifact(config.model, config.seed)
    items = catalog_items(artifact, config.items, config.seed)
    store, index, _ = open_or_build(config, artifact, items)
    try:
        named = engine_gil.calls(index, store, artifact, items, count=4)
        rows = engine_gil.measure(named, seconds=0.05)
    finally:
        index.close()
    assert [r["call"] for r in rows] == list(named)
    for r in rows:
        assert r["calls"] >= 3 and r["call_p50_ms"] > 0, r
    # Beside a 20 ms sleep the GIL is free: the sleeper woke (how late is not asserted).
    assert rows[0]["call"].startswith("sleep") and rows[0]["wakes"] > 0
    assert engine_gil.markdown(600, rows).count("\n| ") == len(rows) + 2
