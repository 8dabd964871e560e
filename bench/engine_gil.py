"""Which store calls hold the GIL: a thread that sleeps 1 ms in a loop, timed while another makes one kind of call.

    .venv/bin/python -m bench.engine_gil --items 300000          # the scale bench's cached index
    .venv/bin/python -m bench.engine_gil --items 20000 --seconds 1

A thread needs the GIL to wake from its sleep. While a call that holds the GIL runs, the sleeper
cannot wake: it wakes late by about the call's length (more when the calls run back to back and
the caller takes the GIL again first). While a call that releases it runs (a
sleep, a numpy matrix-vector product), it wakes about on time. Each row runs one kind of call
back to back for --seconds beside the sleeper and reports the call's p50 and how late the
sleeper woke (p50, p99, max). The baseline rows are a sleep (GIL free) and a Python loop (GIL
held, handed over every 5 ms by the interpreter's switch interval).

The calls are those the embedded store makes (fashionrec.index.edge_search): the engine's graph
search and its exact scan of a category's points (manipulation queries drawn as bench.scale draws
them), its exact count, a retrieve of 10 payloads, a scroll page, and the scan table's numpy
scan of the same category. Why it matters: a call that holds the GIL stops every other thread of
the service process, so calls/s cannot grow with clients while such calls dominate
(docs/performance.md, round 10).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported (bench/scale.py says why)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as edge

from bench.scale_index import (SHIPPED_MODEL, BenchConfig, bench_artifact, catalog_items, open_or_build,
                               require_tables)
from bench.scale_queries import draw_queries
from fashionrec.index import CatalogIndex, EdgeStore, edge_search

__all__ = ["calls", "measure", "markdown", "main"]

SLEEP_S = 0.001


def calls(index: CatalogIndex, store: EdgeStore, artifact: Any, items: list, count: int = 16) -> dict[str, Callable[[int], Any]]:
    """The calls to time, by name; each takes the call's sequence number (to rotate its queries)."""
    version, live = index._live()
    shard = store._shard(version)
    settings = store._settings
    table = store._tables[version]
    # The engine's exact scan of the category's points, as the store sent it before round 10.
    settings_scan = dataclasses.replace(settings, exact_scan_kb=1 << 40)
    graph, scanned, searches = [], [], []
    for shape, out in (("none", graph), ("category", scanned)):
        for q in draw_queries("manipulate", shape, artifact, items, count, seed=1):
            search, _ = index._manipulation_plan(version, live, q.sku, list(q.changes), q.filters, 10)
            search = dataclasses.replace(search, min_ef=0)
            if shape == "category":
                searches.append(search)
                out.append(edge_search.query_request(shard, settings_scan, search, with_payload=False))
            else:
                out.append(edge_search.query_request(shard, settings, search, with_payload=False))
    ids = [str(p.id) for p in shard.query(graph[0])][:10]

    def spin(_: int) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < 0.02:
            pass

    return {
        "sleep 20 ms (GIL released)": lambda i: time.sleep(0.02),
        "Python loop 20 ms (GIL held)": spin,
        "engine: graph search (manipulation, unfiltered)": lambda i: shard.query(graph[i % count]),
        "engine: exact scan of a category (manipulation)": lambda i: shard.query(scanned[i % count]),
        "scan table: numpy scan of a category (manipulation)": lambda i: table.search(searches[i % count]),
        "engine: exact count": lambda i: shard.count(edge.CountRequest(exact=True)),
        "engine: retrieve 10 payloads": lambda i: shard.retrieve(ids, True, False),
        "engine: scroll 1,000 payloads": lambda i: shard.scroll(
            edge.ScrollRequest(limit=1000, with_payload=True, with_vector=False)),
    }


def measure(named_calls: dict[str, Callable[[int], Any]], seconds: float) -> list[dict[str, Any]]:
    """Per call: its p50 (ms), and how late the sleeper woke meanwhile (p50, p99, max ms)."""
    rows = []
    for name, call in named_calls.items():
        stop, late = threading.Event(), []

        def sleeper() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                time.sleep(SLEEP_S)
                late.append((time.perf_counter() - started - SLEEP_S) * 1000)

        thread = threading.Thread(target=sleeper)
        thread.start()
        ms, started, n = [], time.perf_counter(), 0
        try:
            while time.perf_counter() - started < seconds or n < 3:
                t = time.perf_counter()
                call(n)
                ms.append((time.perf_counter() - t) * 1000)
                n += 1
        finally:
            stop.set()
            thread.join()
        woke = np.array(late or [np.nan])
        rows.append({"call": name, "calls": n, "call_p50_ms": float(np.median(ms)), "wakes": len(late),
                     "late_p50_ms": float(np.median(woke)), "late_p99_ms": float(np.percentile(woke, 99)),
                     "late_max_ms": float(woke.max())})
    return rows


def markdown(items: int, rows: list[dict[str, Any]]) -> str:
    lines = [f"{items:,} items: a thread sleeping {SLEEP_S * 1000:.0f} ms in a loop beside each kind of call", "",
             "| call | call p50 ms | sleeper woke late: p50 / p99 / max ms | wake-ups |",
             "| --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['call']} | {r['call_p50_ms']:.2f} | {r['late_p50_ms']:.2f} / {r['late_p99_ms']:.2f} / "
                     f"{r['late_max_ms']:.2f} | {r['wakes']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, required=True, help="catalog size (the scale bench's cached index)")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each kind of call runs")
    parser.add_argument("--index-dir", type=Path, default=BenchConfig.index_dir)
    args = parser.parse_args()
    config = BenchConfig(items=args.items, index_dir=args.index_dir, clients=())
    artifact = bench_artifact(SHIPPED_MODEL, config.seed)
    items = catalog_items(artifact, args.items, config.seed)
    store, index, _ = open_or_build(config, artifact, items)
    try:
        require_tables(store)
        rows = measure(calls(index, store, artifact, items), args.seconds)
    finally:
        index.close()
    print(markdown(args.items, rows))


if __name__ == "__main__":
    main()
