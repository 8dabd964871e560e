"""Recall@10 of the index against exact numpy search, with latency, per query type and filter shape.

    python -m bench.index_recall                       # 10k and 100k on qdrant-edge, 10k on local mode
    python -m bench.index_recall --sizes 10000 --queries 50 --local-queries 0

Synthetic catalog (fashionrec.index.synthetic_vectors: 6 attributes x 32 dims, chunks
= a value's prototype + noise). Each query runs through CatalogIndex (query
composition, filters, payload parsing included); the exact answer comes from
fashionrec.index.exact over the same vectors. Latency is wall time per call on
this machine; other processes share the CPU, so read p99 with that in mind.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from qdrant_client import QdrantClient

from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, Change, EdgeStore, Filters, IndexSettings, ServerStore, VectorStore
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.schema import IndexedItem
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items
from fashionrec.ranking_metrics import mean_se

K = 10
QUERY_TYPES = ("manipulate", "similar_by one attribute", "similar_by weighted", "outfit")
FILTER_SHAPES = ("none", "category", "category AND in_stock", "price 50-100")


@dataclass(frozen=True)
class Cell:
    backend: str
    size: int
    query: str
    shape: str
    recall: float
    recall_se: float  # standard error of the mean over the cell's queries
    p50_ms: float
    p99_ms: float


def _filters(shape: str, category: str) -> Filters:
    return {
        "none": Filters(),
        "category": Filters(categories=(category,)),
        "category AND in_stock": Filters(categories=(category,), in_stock=True),
        "price 50-100": Filters(min_price=50.0, max_price=100.0),
    }[shape]


def _query(
    kind: str, artifact: ModelArtifact, items: list[IndexedItem], rng: np.random.Generator
) -> tuple[Callable[[CatalogIndex, Filters], list[str]], Callable[[ExactCatalog, Filters], list[str]], str]:
    """(run on the index, run exactly, the category a category filter uses) for one random query."""
    spec = artifact.spec
    names = spec.attribute_names
    sku = items[int(rng.integers(len(items)))].item.sku
    category = spec.categories[int(rng.integers(len(spec.categories)))]
    if kind == "manipulate":
        attribute = names[int(rng.integers(1, len(names)))]
        values = spec.vocabulary.attribute(attribute).values
        changes = [Change(attribute, values[int(rng.integers(len(values)))])]
        return (lambda ix, f: [h.item.sku for h in ix.manipulate(sku, changes, f, K).hits],
                lambda ex, f: [s for s, _ in ex.manipulate(sku, changes, f, K)], category)
    if kind.startswith("similar_by"):
        if kind.endswith("one attribute"):
            weights = {names[int(rng.integers(len(names)))]: 1.0}
        else:
            chosen = rng.choice(len(names), size=3, replace=False)
            weights = {names[int(a)]: float(rng.uniform(0.1, 1.0)) for a in chosen}
        return (lambda ix, f: [h.item.sku for h in ix.similar_by(sku, weights, f, K).hits],
                lambda ex, f: [s for s, _ in ex.similar_by(sku, weights, f, K)], category)
    outfit = [items[int(i)].item.sku for i in rng.choice(len(items), size=3, replace=False)]
    return (lambda ix, f: [h.item.sku for h in ix.complete_outfit(outfit, category, f, K).hits],
            lambda ex, f: [s for s, _ in ex.complete_outfit(outfit, category, f, K)], category)


def measure(
    backend: str, index: CatalogIndex, exact: ExactCatalog, artifact: ModelArtifact,
    items: list[IndexedItem], queries: int, seed: int,
) -> list[Cell]:
    cells = []
    for kind in QUERY_TYPES:
        for shape in FILTER_SHAPES:
            rng = np.random.default_rng(seed)
            cases = []
            for _ in range(queries):
                run, truth, category = _query(kind, artifact, items, rng)
                filters = _filters(shape, category)
                cases.append((run, filters, truth(exact, filters)))
            # Exact answers first, timed calls after: numpy's BLAS threads keep spinning for a
            # while after a large matmul and would be timed as part of the next index call.
            recalls, latencies = [], []
            for run, filters, expected in cases:
                started = time.perf_counter()
                got = run(index, filters)
                latencies.append(time.perf_counter() - started)
                if expected:
                    recalls.append(len(set(got) & set(expected)) / len(expected))
            ms = np.array(latencies) * 1000
            cells.append(Cell(backend, len(items), kind, shape, float(np.mean(recalls)), mean_se(recalls),
                              float(np.percentile(ms, 50)), float(np.percentile(ms, 99))))
            print(f"  {kind:26s} {shape:22s} recall {cells[-1].recall:.3f} ± {cells[-1].recall_se:.3f}  "
                  f"p50 {cells[-1].p50_ms:.2f} ms", flush=True)
    return cells


def fill(
    store: VectorStore, artifact: ModelArtifact, items: list[IndexedItem], batch: int = 1000
) -> tuple[CatalogIndex, float]:
    """A live version of artifact on store holding items; returns it and the seconds the upserts took."""
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live(artifact.spec.version)
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        index.upsert(items[start:start + batch])
    return index, time.perf_counter() - started


def load(
    store: VectorStore, artifact: ModelArtifact, items: list[IndexedItem], batch: int = 1000
) -> tuple[CatalogIndex, float]:
    """fill, then build the search graphs; returns the index and the seconds both took."""
    started = time.perf_counter()
    index, _ = fill(store, artifact, items, batch)
    index.optimize()
    return index, time.perf_counter() - started


def table(cells: list[Cell]) -> str:
    lines = ["| backend | points | query | filter | recall@10 ± s.e. | p50 ms | p99 ms |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: |"]
    for c in cells:
        lines.append(f"| {c.backend} | {c.size:,} | {c.query} | {c.shape} | {c.recall:.3f} ± {c.recall_se:.3f} | "
                     f"{c.p50_ms:.2f} | {c.p99_ms:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100, help="queries per cell on qdrant-edge")
    parser.add_argument("--local-size", type=int, default=10_000)
    parser.add_argument("--local-queries", type=int, default=20, help="queries per cell on local mode; 0 skips")
    parser.add_argument("--seed", type=int, default=0)
    defaults = IndexSettings()
    for field in dataclasses.fields(IndexSettings):
        kind = float if field.name == "acorn_max_selectivity" else type(getattr(defaults, field.name))
        if kind is bool:
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"),
                                default=getattr(defaults, field.name))
        else:
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=getattr(defaults, field.name))
    args = parser.parse_args()
    # Local mode says, rightly, that it ignores payload indexes and search params.
    warnings.filterwarnings("ignore", message="(Payload indexes|Local mode)")
    settings = IndexSettings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(IndexSettings)})
    print(f"settings: {settings}")

    artifact = synthetic_artifact("bench", seed=args.seed)
    cells: list[Cell] = []
    for size in args.sizes:
        items = synthetic_items(artifact, size, seed=args.seed)
        exact = ExactCatalog(artifact, items)
        with tempfile.TemporaryDirectory() as directory:
            store = EdgeStore(directory, settings)
            index, seconds = load(store, artifact, items)
            print(f"qdrant-edge, {size:,} points: loaded and optimized in {seconds:.1f} s", flush=True)
            cells += measure("qdrant-edge", index, exact, artifact, items, args.queries, args.seed)
            index.close()
    if args.local_queries:
        items = synthetic_items(artifact, args.local_size, seed=args.seed)
        index, seconds = load(ServerStore(QdrantClient(location=":memory:"), settings), artifact, items)
        print(f"qdrant-client local mode, {args.local_size:,} points: loaded in {seconds:.1f} s", flush=True)
        cells += measure("qdrant-client local", index, ExactCatalog(artifact, items), artifact, items,
                         args.local_queries, args.seed)
        index.close()
    print()
    print(table(cells))


if __name__ == "__main__":
    main()
