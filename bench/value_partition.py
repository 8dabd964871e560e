"""One-attribute similarity reading only the rows predicted the query's value: approximate and exact plans.

    .venv/bin/python -m bench.value_partition --source model --items 20000
    .venv/bin/python -m bench.value_partition --source scale --items 1000000

At 1M items an unfiltered one-attribute similarity query scans every row's attr_<a> vector
(the scan table: ~12 ms, 2.5x faster than numpy and nowhere near the 20x of issue 16; the
attr_<a> graphs were dropped for their build time and their recall, IndexSettings). The score,
(1 - ω) cos(r_a(q), r_a(g)) + ω Σ_v sqrt(p_a(v|q) p_a(v|g)), favours items predicted the query's
value, so an inverted file by predicted value (scan the rows of the query's nprobe most probable
values) might lose little. This measures, per attribute, with exact numpy scoring on the stored
attr_<a> vectors (schema.attribute_vectors: the score is their dot product):

    nprobe 1, 2  recall@10 ± s.e. of the top 10 among the rows of the query's 1 or 2 most probable
                 values (a row counts as a hit when it scores at least the exact tenth score, so
                 that ties between identical items do not count as misses), and the share of
                 the rows those are (the work left)

and the plan the store runs (round 11), exact by construction, in the scan tables themselves:

    by category  ScanTable keyed by category, as the main table holds attr_<a>: every row read
    bounded      ScanTable keyed by category and predicted value whose partitions bound their
                 scores (IndexSettings.scan_by_predicted_value): the partitions read from the
                 highest bound down until the k-th best beats the next bound
                 p50 / p90 ms a search in this thread, the share of rows read (mean, p90), and
                 whether its answer is by category's (the same ten scores; tied items may swap)

Sources: `model`, the shipped model's encodings of a generated catalog it never saw (images
drawn with --seed); `scale`, the scale bench's synthetic vectors at the shipped dimensions
(bench/scale_index.py; clusters tighter than a model's). Queries: --queries random items per
attribute, the item itself left out.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported (bench/scale.py says why)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.artifact import ModelSpec
from fashionrec.index import scan_table, schema
from fashionrec.index.filters import Search
from fashionrec.index.scan_table import ScanTable
from fashionrec.index.store import Point
from fashionrec.ranking_metrics import mean_se

__all__ = ["AttributeColumns", "columns_of", "model_columns", "scale_columns", "scores", "measure", "measure_tables",
           "main"]

K = 10
NPROBES = (1, 2)


@dataclass(frozen=True)
class AttributeColumns:
    """One attribute's stored attr_<a> vectors, for every item.

    vectors: (N, d + V) float32, s_a = [√(1−ω)·L2n(r_a), √ω·√p_a] (schema.attribute_vectors);
        one-attribute similarity ranks by their dot product.
    value_dim: d, where the √ω·√p_a part starts (its argmax is the predicted value when ω > 0).
    categories: (N,) each item's category.
    """

    name: str
    vectors: np.ndarray
    value_dim: int
    categories: np.ndarray

    def probabilities_order(self) -> np.ndarray:
        """(N, V): each row's values from the most probable down."""
        return np.argsort(-self.vectors[:, self.value_dim:], axis=1)


def columns_of(spec: ModelSpec, whole: np.ndarray, log_probs: np.ndarray,
               categories: np.ndarray) -> list[AttributeColumns]:
    """The attr_<a> columns of items, as the index stores them.

    Args:
        spec: the model (ω > 0: the predicted value is read from the posterior part).
        whole: (N, whole_dim) r of each item.
        log_probs: (N, S) ℓ of each item.
        categories: (N,) each item's category.

    Returns:
        One AttributeColumns per attribute, in the spec's order.
    """
    if spec.similarity_posterior_weight <= 0:
        raise ValueError("the predicted value is read from the posterior part of s_a: ω must be > 0")
    chunks = np.stack([schema.attribute_vectors(spec, w, lp) for w, lp in zip(whole, log_probs)])
    return [AttributeColumns(name, np.ascontiguousarray(chunks[:, part]), spec.attribute_dim, categories)
            for name, part in schema.attribute_slices(spec).items()]


def scores(columns: AttributeColumns, row: int) -> np.ndarray:
    """(N,) every item's one-attribute similarity to item `row`, −inf for the item itself."""
    out = columns.vectors @ columns.vectors[row]
    out[row] = -np.inf
    return out


def measure(columns: AttributeColumns, queries: int, seed: int) -> dict[str, Any]:
    """recall@10 ± s.e. and the share of rows read at nprobe 1 and 2 (module docstring), over
    `queries` random items of the catalog, each left out of its own answer."""
    order = columns.probabilities_order()
    predicted = order[:, 0]
    rng = np.random.default_rng(seed)
    recall: dict[int, list[float]] = {n: [] for n in NPROBES}
    rows: dict[int, list[float]] = {n: [] for n in NPROBES}
    for row in rng.choice(len(predicted), size=queries, replace=False):
        exact = scores(columns, row)
        tenth = np.partition(exact, -K)[-K]
        for nprobe in NPROBES:
            allowed = np.isin(predicted, order[row, :nprobe])
            rows[nprobe].append(float(allowed.mean()))
            kept = np.where(allowed, exact, -np.inf)
            kept = kept[np.argpartition(-kept, K)[:K]]
            recall[nprobe].append(float(np.sum(np.isfinite(kept) & (kept >= tenth))) / K)
    out: dict[str, Any] = {"attribute": columns.name}
    for nprobe in NPROBES:
        out[f"nprobe{nprobe}_recall"] = float(np.mean(recall[nprobe]))
        out[f"nprobe{nprobe}_recall_se"] = mean_se(recall[nprobe])
        out[f"nprobe{nprobe}_rows"] = float(np.mean(rows[nprobe]))
    return out


def model_columns(model_dir: Path, items: int, seed: int) -> list[AttributeColumns]:
    """The model's encodings of a catalog generated at its image size (torch is imported here only)."""
    import torch

    from fashionrec.data.images import resize_uint8
    from fashionrec.data.synthetic import generate_catalog
    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.evaluation import model_embeddings

    model, spec = load_model(model_dir)
    catalog = generate_catalog(items, seed, image_size=spec.image_size)
    emb = model_embeddings(model, resize_uint8(catalog.images, spec.image_size), torch.device("cpu"))
    return columns_of(spec, emb.whole, emb.log_probs, np.array([item.category for item in catalog.items]))


def scale_columns(model_dir: Path, items: int) -> list[AttributeColumns]:
    """The scale bench's synthetic vectors (seed 0, as bench.scale draws them)."""
    from bench.scale_index import bench_artifact, catalog_items

    artifact = bench_artifact(model_dir, 0)
    catalog = catalog_items(artifact, items, 0)
    return columns_of(artifact.spec, np.stack([e.whole for e in catalog]), np.stack([e.log_probs for e in catalog]),
                      np.array([e.item.category for e in catalog]))


def _tables(columns: AttributeColumns) -> dict[str, ScanTable]:
    """The column in a table by category (every row read) and in one by category and predicted
    value with bounds, as edge_tables makes them (module docstring)."""
    name = schema.attr_vector(columns.name)
    predicted = columns.probabilities_order()[:, 0]
    points = [Point(f"p{i}", {name: v}, {"category": str(c), "predicted_labels": {columns.name: str(p)}})
              for i, (v, c, p) in enumerate(zip(columns.vectors, columns.categories, predicted))]
    dims = {name: columns.vectors.shape[1]}
    tables = {"by category": ScanTable(dims, {}),
              "bounded": ScanTable(dims, {}, partition_keys=("category", schema.predicted_key(columns.name)),
                                   heads={name: columns.value_dim})}
    for table in tables.values():
        for start in range(0, len(points), 10_000):
            table.upsert(points[start:start + 10_000])
        table.mark_ready()
    return tables


class _RowsRead:
    """Counts the rows a table's scans read (it replaces scan_table.top_rows while in a with block)."""

    def __init__(self) -> None:
        self.rows = 0
        self._real: Callable[..., object] | None = None

    def __enter__(self) -> _RowsRead:
        self._real = real = scan_table.top_rows

        def counting(part, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.rows += part.size
            return real(part, *args, **kwargs)

        scan_table.top_rows = counting  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        scan_table.top_rows = self._real  # type: ignore[assignment]


def measure_tables(columns: AttributeColumns, queries: int, seed: int) -> dict[str, Any]:
    """Per table (module docstring): p50 / p90 ms, rows read (mean, p90 share), and the number of
    queries whose bounded answer's scores are not by category's."""
    tables = _tables(columns)
    name = schema.attr_vector(columns.name)
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {plan: [] for plan in tables}
    rows: dict[str, list[float]] = {plan: [] for plan in tables}
    differ = 0
    for row in rng.choice(len(columns.vectors), size=queries, replace=False):
        search = Search(name, columns.vectors[row], K, (), (f"p{row}",))
        answers = {}
        for plan, table in tables.items():
            with _RowsRead() as read:
                started = time.perf_counter()
                answers[plan] = table.search(search)
                times[plan].append((time.perf_counter() - started) * 1e3)
            rows[plan].append(read.rows / len(columns.vectors))
        # Scores, not ids: items with equal scores (identical vectors) may come in either order.
        scores = [np.array([s for _, s in answers[plan]]) for plan in tables]
        differ += int(len(scores[0]) != len(scores[1]) or not np.allclose(scores[0], scores[1], rtol=1e-5, atol=1e-6))
    out: dict[str, Any] = {"attribute": columns.name, "differ": differ}
    for plan in tables:
        out[plan] = {"p50_ms": float(np.percentile(times[plan], 50)), "p90_ms": float(np.percentile(times[plan], 90)),
                     "rows": float(np.mean(rows[plan])), "rows_p90": float(np.percentile(rows[plan], 90))}
    for table in tables.values():
        table.close()
    return out


def main() -> None:
    """Prints one markdown table: per attribute, recall@10 ± s.e. and the rows read at nprobe 1 and 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("model", "scale"), default="model")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100, help="queries per attribute")
    parser.add_argument("--seed", type=int, default=11, help="the generated catalog's seed (model) and the queries'")
    parser.add_argument("--model", type=Path, default=Path("models/adde-synthetic"))
    args = parser.parse_args()
    columns = model_columns(args.model, args.items, args.seed) if args.source == "model" \
        else scale_columns(args.model, args.items)
    print(f"{args.items:,} items ({args.source}), {args.queries} one-attribute queries per attribute")
    print("| attribute | nprobe 1: recall@10 ± s.e. | rows read | nprobe 2: recall@10 ± s.e. | rows read |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for c in columns:
        r = measure(c, args.queries, args.seed)
        print(f"| {r['attribute']} | {r['nprobe1_recall']:.3f} ± {r['nprobe1_recall_se']:.3f} | {r['nprobe1_rows']:.2f} | "
              f"{r['nprobe2_recall']:.3f} ± {r['nprobe2_recall_se']:.3f} | {r['nprobe2_rows']:.2f} |", flush=True)
    print()
    print("The exact plans in the scan table (one thread; rows: mean share, p90):")
    print("| attribute | by category: p50 / p90 ms | bounded: p50 / p90 ms | bounded: rows read | answers differing |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for c in columns:
        t = measure_tables(c, args.queries, args.seed)
        whole, bounded = t["by category"], t["bounded"]
        print(f"| {t['attribute']} | {whole['p50_ms']:.2f} / {whole['p90_ms']:.2f} | {bounded['p50_ms']:.2f} / "
              f"{bounded['p90_ms']:.2f} | {bounded['rows']:.2f}, {bounded['rows_p90']:.2f} | {t['differ']} |", flush=True)


if __name__ == "__main__":
    main()
