"""Where a query's time goes, step by step, on the scale bench's cached index (issue 16, item 2).

    .venv/bin/python -m bench.call_overhead --items 100000 [--queries 200]

For unfiltered queries of each kind (bench/index_recall.py's QUERY_TYPES), interleaved per query:

    grpc          the generated stub's call over loopback to the served servicers (client wall time)
    grpc_floor    the health service's Check on the same channel: the transport alone (a sync
                  server, its thread pool and a client sharing this process, no handler work)
    in_process    the CatalogIndex call (validation, the query item's read, composition, search,
                  payload parsing)
    engine        EdgeStore.search with the composed Search (request and payload conversion)
    engine_bare   EdgeShard.query with the request EdgeStore.search builds, prebuilt: the engine alone
    read_item     CatalogIndex.get_items of the query item (the reference's vectors and payload)
    response      fashionrec_grpc.protoconv.search_response of the in-process result
    serialize     SearchResponse.SerializeToString

Prints p50 / p99 ms per step and the differences that the overhead target is about. Uses the same
index cache as bench/scale.py (builds it when missing). Timings only; nothing is asserted.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported (see bench/scale.py)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import subprocess
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.index_recall import QUERY_TYPES
from bench.scale_index import SHIPPED_MODEL, BenchConfig, bench_artifact, catalog_items, open_or_build
from bench.scale_measure import _timed
from bench.scale_queries import _RecordingStore, _ask, draw_queries, grpc_calls, grpc_request, start_grpc
from fashionrec.index import CatalogIndex
from fashionrec_grpc.protoconv import search_response

STEPS = ("grpc", "grpc_floor", "in_process", "engine", "engine_bare", "read_item", "response", "serialize")


def _call(calls: dict[str, Any], q: Any) -> list[str]:
    """One query's gRPC call from this process (the step-by-step breakdown shares one process and
    one channel with the health floor; bench/scale.py times calls from a client process)."""
    method, request = grpc_request(q)
    return [h.sku for h in calls[method](request, timeout=30).hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = BenchConfig(items=args.items, seed=args.seed, model=SHIPPED_MODEL)
    artifact = bench_artifact(config.model, config.seed)
    items = catalog_items(artifact, config.items, config.seed)
    store, index, _ = open_or_build(config, artifact, items)
    store.wait_for_tables(timeout=3600)  # else the first kind is timed while the scan table fills
    recorder = CatalogIndex(_RecordingStore(store))  # type: ignore[arg-type]
    process = start_grpc(index)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    try:
        with grpc.insecure_channel(process.server.address) as channel:
            calls, health = grpc_calls(channel), health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest()
            print(f"| query ({args.items:,} items, no filter) | " + " | ".join(STEPS)
                  + " | grpc − engine | in-process − engine |")
            print("| --- |" + " ---: |" * (len(STEPS) + 2))
            for kind in QUERY_TYPES:
                queries = draw_queries(kind, "none", artifact, items, args.queries, args.seed)
                ms: dict[str, list[float]] = {s: [] for s in STEPS}
                for n, q in enumerate(queries):
                    recorder._store.reset()  # type: ignore[attr-defined]
                    result = _ask(recorder, q)
                    version, search = recorder._store.first  # type: ignore[attr-defined]
                    shard = store._shard(version)
                    sent, _ = store.planned_search(shard, search)  # unfiltered: the search itself
                    request = store.query_request(shard, sent)  # what EdgeStore.search sends
                    response = search_response(result)
                    steps: dict[str, Callable[[], Any]] = {
                        "grpc": lambda: _call(calls, q),
                        "grpc_floor": lambda: health.Check(check, timeout=30),
                        "in_process": lambda: _ask(index, q),
                        "engine": lambda: store.search(version, search),
                        "engine_bare": lambda: shard.query(request),
                        "read_item": lambda: index.get_items([q.sku]) if q.sku and not q.outfit else None,
                        "response": lambda: search_response(result),
                        "serialize": lambda: response.SerializeToString(),
                    }
                    if n < 3:  # warm-up
                        for call in steps.values():
                            call()
                        continue
                    for step in STEPS[n % len(STEPS):] + STEPS[:n % len(STEPS)]:
                        ms[step].append(_timed(steps[step])[1])
                p50 = {s: float(np.median(v)) for s, v in ms.items()}
                p99 = {s: float(np.percentile(v, 99)) for s, v in ms.items()}
                cells = " | ".join(f"{p50[s]:.3f} / {p99[s]:.2f}" for s in STEPS)
                print(f"| {kind} | {cells} | {p50['grpc'] - p50['engine']:.2f} | "
                      f"{p50['in_process'] - p50['engine']:.2f} |", flush=True)
    finally:
        process.stop(0.0, 1.0)
        index.close()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
