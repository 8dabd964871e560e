"""Could one-attribute similarity read only the rows predicted the query's value? (a plan not built)

    .venv/bin/python -m bench.value_partition --source model --items 20000
    .venv/bin/python -m bench.value_partition --source scale --items 1000000

At 1M items an unfiltered one-attribute similarity query scans every row's attr_<a> vector
(the scan table: ~12 ms, 2.5x faster than numpy and nowhere near the 20x of issue 16; the
attr_<a> graphs were dropped for their build time and their recall, IndexSettings). The score,
(1 - ω) cos(r_a(q), r_a(g)) + ω Σ_v sqrt(p_a(v|q) p_a(v|g)), favours items predicted the query's
value, so an inverted file by predicted value (scan the rows of the query's nprobe most probable
values) might lose little. This measures, per attribute, with exact numpy scoring:

    same value   the share of the exact top 10 predicted the query's value
    nprobe 1, 2  recall@10 ± s.e. of the top 10 among the rows of the query's 1 or 2 most probable
                 values, and the share of the rows those are (the work left)

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashionrec.ranking_metrics import mean_se

__all__ = ["AttributeColumns", "measure", "main"]

K = 10


@dataclass(frozen=True)
class AttributeColumns:
    """What one-attribute similarity reads of one attribute, for every item.

    chunks: (N, d) the attribute's embedding chunks, unit rows.
    posteriors: (N, V) the attribute's class posteriors (rows sum to 1).
    """

    name: str
    chunks: np.ndarray
    posteriors: np.ndarray


def measure(columns: AttributeColumns, omega: float, queries: int, seed: int) -> dict[str, float]:
    """same value, and recall@10 ± s.e. and rows read at nprobe 1 and 2 (module docstring)."""
    roots = np.sqrt(columns.posteriors).astype(np.float32)
    predicted = columns.posteriors.argmax(1)
    rng = np.random.default_rng(seed)
    same: list[float] = []
    recall: dict[int, list[float]] = {1: [], 2: []}
    rows: dict[int, list[float]] = {1: [], 2: []}
    for row in rng.choice(len(predicted), size=queries, replace=False):
        scores = (1 - omega) * (columns.chunks @ columns.chunks[row]) + omega * (roots @ roots[row])
        scores[row] = -np.inf
        top = np.argpartition(-scores, K)[:K]
        same.append(float(np.mean(predicted[top] == predicted[row])))
        by_probability = np.argsort(-columns.posteriors[row])
        for nprobe in recall:
            allowed = np.isin(predicted, by_probability[:nprobe])
            rows[nprobe].append(float(allowed.mean()))
            kept = np.argpartition(-np.where(allowed, scores, -np.inf), K)[:K]
            recall[nprobe].append(len(set(kept.tolist()) & set(top.tolist())) / K)
    out = {"attribute": columns.name, "same_value": float(np.mean(same))}
    for nprobe in recall:
        out[f"nprobe{nprobe}_recall"] = float(np.mean(recall[nprobe]))
        out[f"nprobe{nprobe}_recall_se"] = mean_se(recall[nprobe])
        out[f"nprobe{nprobe}_rows"] = float(np.mean(rows[nprobe]))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _posteriors(log_probs: np.ndarray, offsets: list[int], sizes: list[int], a: int) -> np.ndarray:
    p = np.exp(log_probs[:, offsets[a]:offsets[a] + sizes[a]].astype(np.float64))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def model_columns(model_dir: Path, items: int, seed: int) -> tuple[list[AttributeColumns], float]:
    """The shipped model's encodings of a generated catalog (torch is imported here only)."""
    import torch

    from fashionrec.data.synthetic import generate_catalog
    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.evaluation import model_embeddings

    catalog = generate_catalog(items, seed, image_size=64)
    model, spec = load_model(model_dir)
    images = torch.as_tensor(catalog.images).permute(0, 3, 1, 2).contiguous()  # (N, H, W, 3) -> (N, 3, H, W)
    emb = model_embeddings(model, images, torch.device("cpu"))
    vocab = spec.vocabulary
    sizes = [len(a.values) for a in vocab.attributes]
    return [AttributeColumns(a.name, _unit(emb.attributes[:, i]),
                             _posteriors(emb.log_probs, list(vocab.offsets), sizes, i))
            for i, a in enumerate(vocab.attributes)], spec.similarity_posterior_weight


def scale_columns(model_dir: Path, items: int) -> tuple[list[AttributeColumns], float]:
    """The scale bench's synthetic vectors (seed 0, as bench.scale draws them)."""
    from bench.scale_index import bench_artifact, catalog_items

    artifact = bench_artifact(model_dir, 0)
    spec = artifact.spec
    vocab, d = spec.vocabulary, spec.attribute_dim
    catalog = catalog_items(artifact, items, 0)
    whole = np.stack([e.whole for e in catalog]).astype(np.float32)
    log_probs = np.stack([e.log_probs for e in catalog])
    sizes = [len(a.values) for a in vocab.attributes]
    return [AttributeColumns(a.name, _unit(whole[:, i * d:(i + 1) * d]),
                             _posteriors(log_probs, list(vocab.offsets), sizes, i))
            for i, a in enumerate(vocab.attributes)], spec.similarity_posterior_weight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("model", "scale"), default="model")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100, help="queries per attribute")
    parser.add_argument("--seed", type=int, default=11, help="the generated catalog's seed (model) and the queries'")
    parser.add_argument("--model", type=Path, default=Path("models/adde-synthetic"))
    args = parser.parse_args()
    if args.source == "model":
        columns, omega = model_columns(args.model, args.items, args.seed)
    else:
        columns, omega = scale_columns(args.model, args.items)
    print(f"{args.items:,} items ({args.source}), {args.queries} one-attribute queries per attribute, ω = {omega}")
    print("| attribute | top 10 predicted the query's value | nprobe 1: recall@10 ± s.e. | rows read | "
          "nprobe 2: recall@10 ± s.e. | rows read |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in columns:
        r = measure(c, omega, args.queries, args.seed)
        print(f"| {r['attribute']} | {r['same_value']:.3f} | {r['nprobe1_recall']:.3f} ± {r['nprobe1_recall_se']:.3f} | "
              f"{r['nprobe1_rows']:.2f} | {r['nprobe2_recall']:.3f} ± {r['nprobe2_recall_se']:.3f} | "
              f"{r['nprobe2_rows']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
