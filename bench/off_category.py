"""Manipulation filtered to a category: recall@10 and latency of the plans it could take.

    .venv/bin/python -m bench.off_category --items 1000000           # the scale bench's cached index
    .venv/bin/python -m bench.off_category --items 20000 --queries 20

On the scale bench's index of --items synthetic points (bench/scale_index.py: built once, cached
under --index-dir), --queries manipulation queries per group, drawn as bench.scale draws them
(with --seed), in four groups: a category filter, and category AND in_stock, each filtered
either to another category than the item's ("off", where CatalogIndex adds its entry
searches, docs/index.md) or to the item's own ("own"). Every query is answered by each plan,
the order rotating from one query to the next, and checked against exact numpy search:

    graph E        the query's own graph search with a beam of at least E
    graph E + F    and an entry search per filter category with a beam of at least F, its
                   hits rescored with the true query and merged (off only; CatalogIndex's path
                   where the store walks the graph)
    scan           the engine's exact scan of the points that pass the filter
    table          the scan table's numpy scan of the filter's categories (since round 10;
                   CatalogIndex's path where edge_search.scan_table_answers says so)

It replays CatalogIndex.manipulate's plan (CatalogIndex._manipulation_plan: the search and the
moved query vectors) with other beams and calls the store below the index: no timing here
includes reading the query item, composing, the service or the payload parsing (bench.scale
has those).

Prints one markdown table per group (recall@10 ± standard error, p50 / p99 ms, queries below
1.0) and writes off-category-<items>.json under --out.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported (bench/scale.py says why)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.index_recall import _filters
from bench.scale_index import (SHIPPED_MODEL, BenchConfig, bench_artifact, catalog_items, open_or_build,
                               require_tables)
from bench.scale_queries import Query, draw_queries, run_exact
from fashionrec.index import CatalogIndex, EdgeStore, edge_search
from fashionrec.index.catalog_index import _categories_to_enter
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import Search
from fashionrec.index.store import ScoredPoint
from fashionrec.ranking_metrics import mean_se

__all__ = ["Plan", "PLANS", "GROUPS", "measure", "markdown", "main"]

K = 10
SHAPES = ("category", "category AND in_stock")
GROUPS = tuple((shape, where) for where in ("off", "own") for shape in SHAPES)


@dataclasses.dataclass(frozen=True)
class Plan:
    """One way to answer a filtered manipulation: a graph search (beam at least `beam`), with
    entry searches (beam at least `entry_beam`) or without (None), the engine's exact scan, or
    the scan table's."""

    beam: int = 0
    entry_beam: int | None = None
    scan: bool = False
    table: bool = False

    @property
    def name(self) -> str:
        if self.scan:
            return "scan"
        if self.table:
            return "table"
        return f"graph {self.beam}" + ("" if self.entry_beam is None else f" + {self.entry_beam}")


PLANS = (Plan(512), Plan(1024), Plan(1536), Plan(2048), Plan(512, 512), Plan(1024, 512), Plan(1024, 1024),
         Plan(1536, 512), Plan(2048, 512), Plan(scan=True), Plan(table=True))


def _answer(plan: Plan, store: EdgeStore, version: str, search: Search,
            moved: list[np.ndarray]) -> list[ScoredPoint]:
    """The plan's answer to the manipulation search (moved: its entries' query vectors)."""
    shard = store._shard(version)
    if plan.table:
        return edge_search.run_on_scan_table(shard, store._tables[version], search)
    if plan.scan:
        # The store's plan with the scan threshold raised: the engine scans the filter's points.
        scanning = dataclasses.replace(store._settings, exact_scan_kb=1 << 40)
        return edge_search.run_search(shard, scanning, search)
    # The engine (its graph, or its exact scan where the store's rule scans), never the table:
    # the entry searches too, through an index over a store that sends them to the engine.
    engine = _EngineOnly(store)
    walked = dataclasses.replace(search, min_ef=plan.beam)
    hits = engine.search(version, walked)
    if plan.entry_beam is None or not moved:
        return hits
    return CatalogIndex(engine)._with_entries_in_category(  # type: ignore[arg-type]
        version, walked, hits, moved, entry_min_ef=plan.entry_beam)


class _EngineOnly:
    """The store, with its searches run by the engine as the store plans them (the graph, or its
    exact scan), never by the scan table."""

    def __init__(self, store: EdgeStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def search(self, version: str, search: Search) -> list[ScoredPoint]:
        shard = self._store._shard(version)
        return edge_search.run_search(shard, self._store._settings, search, self._store._tables.get(version))


def _queries(index: CatalogIndex, artifact: Any, items: Sequence[Any], shape: str, where: str,
             count: int, seed: int) -> list[tuple[Query, Any]]:
    """count queries of the group with their probes (the query item as CatalogIndex reads it)."""
    version, live = index._live()
    spec = live.spec
    out = []
    for q in draw_queries("manipulate", shape, artifact, items, count * 4, seed):
        probe = index._probe(version, q.sku)
        if where == "own":
            own = probe.current_value(spec.category_attribute)
            q = dataclasses.replace(q, category=own, filters=_filters(shape, own))
            if _categories_to_enter(spec, q.filters, probe, list(q.changes)):  # draw_queries never changes the category
                raise RuntimeError(f"{q.sku}: a query filtered to its own category would enter another")
        elif not _categories_to_enter(spec, q.filters, probe, list(q.changes)):
            continue
        out.append((q, probe))
        if len(out) == count:
            break
    if len(out) < count:
        print(f"{shape}, {where}: {len(out)} queries of the {count} asked", flush=True)
    return out


def measure(index: CatalogIndex, store: EdgeStore, exact: ExactCatalog, artifact: Any, items: Sequence[Any],
            queries: int, seed: int, plans: Sequence[Plan] = PLANS) -> list[dict[str, Any]]:
    """Per group and plan: recall@10 (mean, standard error, per query) and milliseconds per query."""
    version, live = index._live()
    groups = []
    for shape, where in GROUPS:
        usable = [p for p in plans if where == "off" or p.entry_beam is None]
        recall: dict[str, list[float]] = {p.name: [] for p in usable}
        ms: dict[str, list[float]] = {p.name: [] for p in usable}
        scanned = 0  # queries the store scans exactly, where the index makes no entry searches
        for n, (q, probe) in enumerate(_queries(index, artifact, items, shape, where, queries, seed)):
            expected = run_exact(exact, q)
            if not expected:
                continue
            search, moved = index._manipulation_plan(version, live, q.sku, list(q.changes), q.filters, K)
            if where == "off" and not moved:  # the store scans it: the graph plans' entries made here
                scanned += 1
                moved = index._moved_vectors(live, probe, list(q.changes),
                                             _categories_to_enter(live.spec, q.filters, probe, list(q.changes)))
            for plan in usable[n % len(usable):] + usable[:n % len(usable)]:
                started = time.perf_counter()
                hits = _answer(plan, store, version, search, moved)
                ms[plan.name].append((time.perf_counter() - started) * 1000)
                got = {h.payload["sku"] for h in hits}
                recall[plan.name].append(len(got & set(expected)) / len(expected))
        groups.append({"filter": shape, "category": where, "scanned_queries": scanned, "plans": [
            {"plan": p.name, "recall": float(np.mean(recall[p.name])) if recall[p.name] else None,
             "recall_se": mean_se(recall[p.name]) if recall[p.name] else None,
             "below_1": int(sum(r < 1 for r in recall[p.name])),
             "p50_ms": float(np.percentile(ms[p.name], 50)) if ms[p.name] else None,
             "p99_ms": float(np.percentile(ms[p.name], 99)) if ms[p.name] else None,
             "queries": len(recall[p.name]), "per_query_recall": recall[p.name], "per_query_ms": ms[p.name]}
            for p in usable]})
    return groups


def markdown(items: int, groups: Sequence[dict[str, Any]]) -> str:
    lines = []
    for g in groups:
        queries = g["plans"][0]["queries"]
        scanned = f" ({g['scanned_queries']} scanned exactly: no entry searches)" if g["scanned_queries"] else ""
        lines += ["", f"{items:,} items, manipulation filtered by {g['filter']} to "
                  f"{'another category than the item' if g['category'] == 'off' else 'the item'}'s, "
                  f"{queries} queries{scanned}",
                  "", "| plan | recall@10 ± s.e. | p50 ms | p99 ms | queries below 1.0 |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for p in g["plans"]:
            if p["recall"] is None:
                lines.append(f"| {p['plan']} | — | — | — | — |")
                continue
            lines.append(f"| {p['plan']} | {p['recall']:.3f} ± {p['recall_se']:.3f} | {p['p50_ms']:.2f} | "
                         f"{p['p99_ms']:.2f} | {p['below_1']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, required=True, help="catalog size (the scale bench's cached index)")
    parser.add_argument("--queries", type=int, default=200, help="queries per group")
    parser.add_argument("--seed", type=int, default=7, help="seed of the query draw")
    parser.add_argument("--index-dir", type=Path, default=BenchConfig.index_dir)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    config = BenchConfig(items=args.items, index_dir=args.index_dir, clients=())
    artifact = bench_artifact(SHIPPED_MODEL, config.seed)
    items = catalog_items(artifact, args.items, config.seed)
    exact = ExactCatalog(artifact, items)
    store, index, build = open_or_build(config, artifact, items)
    try:
        require_tables(store)
        groups = measure(index, store, exact, artifact, items, args.queries, args.seed)
    finally:
        index.close()
    table = markdown(args.items, groups)
    print(f"index {'reused' if build['reused'] else 'built'} ({build['directory']})" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"off-category-{args.items}.json"
    path.write_text(json.dumps({"items": args.items, "queries": args.queries, "seed": args.seed,
                                "build": build, "groups": groups}, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
