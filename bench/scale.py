"""Scale bench: one catalog size, every query kind x filter shape, from the gRPC edge down to the engine.

    .venv/bin/python -m bench.scale --items 100000
    .venv/bin/python -m bench.scale --items 20000 --queries 50 --clients 1,4,16 --skip-local

What it does, for a catalog of --items points:

1. Builds (or reuses, from --index-dir/<items>-seed<seed>-<version>-<settings hash>/) an embedded qdrant-edge
   index of synthetic items at the SHIPPED model's dimensions and vocabulary (the spec of
   models/adde-synthetic: 6 attributes with 10/12/6/5/5/5 values, 32 dims per attribute,
   64 outfit dims, its β and ω). The vectors have the cluster structure of
   fashionrec.index.synthetic_vectors: each attribute chunk is its value's prototype plus noise,
   the prototypes block-diagonal at the shipped shape. Upserts and optimize are timed apart.
2. Serves the index over a real gRPC socket: the retrieval and outfit servicers behind
   fashionrec_grpc.serving.start_service_process (interceptors, health watch), in this process.
3. For every cell of bench/index_recall.py's matrix (QUERY_TYPES x FILTER_SHAPES), --queries
   random queries; each query is run, in a rotating order, through
     gRPC        the generated stub over the loopback socket, from a client process of its own
                 (its wall time; bench.scale_queries.Stubs says why not from this process),
     in-process  the CatalogIndex method (validation, composition, payload parsing),
     engine      EdgeStore.search with the composed vector and filter that call sent
                 (captured from a CatalogIndex over a recording store): the store's plan (the
                 scan table for the small vectors, else the engine) and payload conversion,
     engine_only the same search as the engine alone runs it (edge_search.run_search),
     exact       fashionrec.index.exact.ExactCatalog (numpy, single BLAS thread, see below),
   and recall@10 of the engine and of gRPC against exact; and each gRPC call's service
   overhead: its time less the store's time within that same call (the served index's store
   records it), what grpcio, the interceptor, the servicer and the index's own work add.
4. qdrant-client local mode (QdrantClient(":memory:")): --local-queries calls per cell, only
   when --items <= 100,000 and without --skip-local (it takes seconds per call).
5. Throughput over gRPC at --clients concurrent clients (a child process, one channel and
   connection per client, --load-seconds each): calls/s, p50 and p99, for Manipulate (the
   engine's graphs) and Complete (the scan table).
6. RSS (/proc/self/status) before and after the index is built or opened: RSS per point.

Writes scale-<items>.json and scale-<items>.md under --out (default bench-results/, git-ignored)
and prints the tables. Wall times on a shared machine: the header has `uptime` at the start and
the end. numpy runs with one BLAS thread when this is the main program (its threads spin after
a call and would be timed into the next engine call; docs/performance.md).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.scale_index import (SHIPPED_MODEL, BenchConfig, bench_artifact, catalog_items, now, open_or_build,
                               require_tables, rss_kb)
from bench.scale_measure import METHODS, SERVICE, fmt_recall, measure_local, measure_matrix, measure_throughput
from bench.scale_queries import _RecordingStore, start_grpc
from fashionrec.index import CatalogIndex, IndexSettings
from fashionrec.index.exact import ExactCatalog

__all__ = ["BenchConfig", "METHODS", "SERVICE", "markdown", "run", "write"]

LOCAL_MAX_ITEMS = 100_000


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _code_version() -> str:
    """The commit the bench ran on, "+changes" when the working tree differed from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def run(config: BenchConfig) -> dict[str, Any]:
    """Builds or opens the index, measures everything, returns the report (what the JSON file holds)."""
    report: dict[str, Any] = {"items": config.items, "seed": config.seed, "queries_per_cell": config.queries,
                              "started": now(), "uptime_start": _uptime(), "code": _code_version(),
                              "cpus": os.cpu_count(), "machine": platform.machine(),
                              "settings": dataclasses.asdict(IndexSettings())}
    artifact = bench_artifact(config.model, config.seed)
    report["model"] = {"spec_of": str(config.model), "version": artifact.spec.version,
                       "vocabulary": {a.name: len(a.values) for a in artifact.spec.vocabulary.attributes},
                       "attribute_dim": artifact.spec.attribute_dim, "outfit_dim": artifact.spec.outfit_dim}
    started = time.perf_counter()
    items = catalog_items(artifact, config.items, config.seed)
    exact = ExactCatalog(artifact, items)
    report["generate_s"] = time.perf_counter() - started
    rss_before = rss_kb()
    store, index, report["build"] = open_or_build(config, artifact, items)
    filling = time.perf_counter()
    require_tables(store)
    # 0 after a build (the table fills with the upserts); the background fill of a reopened index.
    report["build"]["table_fill_s"] = time.perf_counter() - filling
    rss_index = rss_kb()
    print(f"{config.items:,} items: generated in {report['generate_s']:.1f} s; index "
          f"{'reused' if report['build']['reused'] else 'built'}: upserts {report['build']['build_s']:.1f} s, "
          f"optimize {report['build']['optimize_s']:.1f} s; scan tables filled in "
          f"{report['build']['table_fill_s']:.1f} s", flush=True)
    # The store's share of each gRPC call (scale_measure.SERVICE). The throughput phase goes
    # through it too, from many server threads: a perf_counter pair and two assignments a call.
    served = _RecordingStore(store)
    process = start_grpc(CatalogIndex(served))  # type: ignore[arg-type]
    try:
        address = process.server.address
        cells, queries = measure_matrix(config, artifact, items, store, index, exact, address, served)
        rss_queried = rss_kb()
        if not config.skip_local and config.local_queries > 0 and config.items <= LOCAL_MAX_ITEMS:
            report["local"] = measure_local(config, artifact, items, cells, queries)
        report["throughput"] = measure_throughput(config, address, queries) if config.clients else []
    finally:
        process.stop(0.0, 1.0)
        index.close()
    report["cells"] = [c.summary() for c in cells]
    report["rss_kb"] = {"before_index": rss_before, "index_ready": rss_index, "after_queries": rss_queried}
    report["rss_bytes_per_point"] = {
        "index_ready": (rss_index["VmRSS"] - rss_before["VmRSS"]) * 1024 / config.items,
        "after_queries": (rss_queried["VmRSS"] - rss_before["VmRSS"]) * 1024 / config.items,
    }
    report["finished"] = now()
    report["uptime_end"] = _uptime()
    return report


def markdown(report: dict[str, Any]) -> str:
    build, rss = report["build"], report["rss_bytes_per_point"]
    lines = [
        f"### {report['items']:,} items, synthetic vectors at the shipped model's dimensions "
        f"({report['model']['version']})",
        "",
        f"- run {report['started']} – {report['finished']}, {report['queries_per_cell']} queries per cell, "
        f"seed {report['seed']}, {report['cpus']} CPUs, code {report.get('code', 'unknown')}",
        f"- `uptime` at the start: `{report['uptime_start']}`",
        f"- `uptime` at the end: `{report['uptime_end']}`",
        f"- build: upserts {build['build_s']:.1f} s, optimize {build['optimize_s']:.1f} s"
        + ("" if build.get("optimized", True) else " (not optimized: no search graphs)")
        + (f" (reused from {build['built_at']}, load average then {_loadavg(build)})" if build["reused"]
           else f" (load average after: {_loadavg(build)})"),
        f"- scan tables: filled {build.get('table_fill_s', 0.0):.1f} s after the index was ready\n"
        f"- RSS per point: {rss['index_ready']:.0f} B with the index {'opened' if build['reused'] else 'built'}, "
        f"{rss['after_queries']:.0f} B after the queries (VmRSS; the items and the exact catalog excluded)",
    ]
    if "local" in report:
        lines.append(f"- qdrant-client local mode: loaded in {report['local']['load_s']:.1f} s")
    lines += ["", "| query | filter | gRPC p50 / p99 ms | service p50 / p99 ms | in-process p50 / p99 ms | "
              "store p50 / p99 ms | engine alone p50 / p99 ms | numpy exact p50 ms | qdrant-client local p50 s | "
              "recall@10 store ± s.e. | recall@10 gRPC ± s.e. |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in report["cells"]:
        local = f"{c['local']['p50_ms'] / 1000:.2f} ({c['local']['calls']})" if c["local"] else "—"
        lines.append(
            f"| {c['query']} | {c['filter']} | {c['grpc']['p50_ms']:.2f} / {c['grpc']['p99_ms']:.2f} | "
            f"{_p50_p99(c.get('service'))} | {c['in_process']['p50_ms']:.2f} / {c['in_process']['p99_ms']:.2f} | "
            f"{c['engine']['p50_ms']:.2f} / {c['engine']['p99_ms']:.2f} | "
            f"{c['engine_only']['p50_ms']:.2f} / {c['engine_only']['p99_ms']:.2f} | {c['exact']['p50_ms']:.2f} | {local} | "
            f"{fmt_recall(c, 'engine')} | {fmt_recall(c, 'grpc')} |")
    if report["throughput"]:
        lines += ["", "| over gRPC | clients | calls | calls/s | p50 ms | p99 ms | errors | "
                  f"cores used: server / clients / machine (of {report['cpus']}; + stolen by the hypervisor) | load average |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for t in report["throughput"]:
            lines.append(f"| {t.get('method', 'Manipulate')} | {t['clients']} | {t['calls']} | {t['calls_per_s']:.1f} | {t['p50_ms']:.2f} | "
                         f"{t['p99_ms']:.2f} | {t['errors']} | {_cores(t)} | {_loadavg(t)} |")
    return "\n".join(lines) + "\n"


def _p50_p99(percentiles: dict[str, float] | None) -> str:
    """"p50 / p99" of a series, "—" for a report written before the bench measured it."""
    return "—" if not percentiles else f"{percentiles['p50_ms']:.2f} / {percentiles['p99_ms']:.2f}"


def _cores(record: dict[str, Any]) -> str:
    """"server / clients / machine" cores busy during a throughput level ("—" before round 10)."""
    if "server_cores" not in record:
        return "—"
    return (f"{record['server_cores']:.2f} / {record['client_cores']:.2f} / {record['machine_busy_cores']:.2f} "
            f"(+ {record['machine_stolen_cores']:.2f} stolen)")


def _loadavg(record: dict[str, Any]) -> str:
    return ", ".join(f"{x:.2f}" for x in record["load_average"])


def write(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"scale-{report['items']}"
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, required=True, help="catalog size N")
    parser.add_argument("--queries", type=int, default=100, help="queries per cell (query kind x filter shape)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index-dir", type=Path, default=BenchConfig.index_dir,
                        help="cache of built indexes, one per items, seed and model version")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="where the JSON and markdown go")
    parser.add_argument("--clients", default="1,4,16", help="concurrent gRPC clients for throughput; '' skips")
    parser.add_argument("--load-seconds", type=float, default=BenchConfig.load_seconds,
                        help="duration of each throughput level")
    parser.add_argument("--local-queries", type=int, default=BenchConfig.local_queries,
                        help=f"qdrant-client local-mode calls per cell (only when --items <= {LOCAL_MAX_ITEMS:,})")
    parser.add_argument("--skip-local", action="store_true", help="no qdrant-client local mode")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="model whose spec sets the dimensions")
    args = parser.parse_args()
    config = BenchConfig(
        items=args.items, queries=args.queries, seed=args.seed, index_dir=args.index_dir,
        clients=tuple(int(c) for c in args.clients.split(",") if c.strip()), load_seconds=args.load_seconds,
        local_queries=args.local_queries, skip_local=args.skip_local, model=args.model,
    )
    report = run(config)
    json_path, md_path = write(report, args.out)
    print()
    print(markdown(report))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
