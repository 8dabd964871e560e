"""Simple baselines on the benchmark protocols: how far raw pixels get.

    python bench/data_baselines.py [--items 10000] [--seed 0] [--data DIR] [--split test]

Methods:
  random          random rankings and choices (chance level)
  pixel-nn        cosine similarity of raw pixels (the full image, mean-centred):
                  manipulation ranks the gallery by similarity to the reference (the
                  change is ignored); outfits score a candidate by its mean similarity
                  to the outfit's items
  pixel-linear    one multinomial logistic regression per attribute on 16x16 pixels,
                  trained on the train split: manipulation ranks by the predicted
                  log-probability of the target labels; conditional similarity by the
                  agreement of the predicted distributions of the attribute
  visible-rules   (outfits only, a reference, not a method) the outfit rules applied to
                  the true color and pattern labels, without the hidden style

The gallery of every protocol is the split itself; the figures go to docs/data.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fashionrec import ranking_metrics
from fashionrec.data.catalog import Catalog
from fashionrec.data.datasets import open_dataset
from fashionrec.data.synthetic import generate_catalog
from fashionrec.data import queries as q
from fashionrec.data.outfits import OutfitRules
from fashionrec.errors import FailedPrecondition

KS = (10, 30, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--data", type=Path, help="use this catalog or data set instead")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-queries", type=int, default=2000)
    args = parser.parse_args()

    start = time.perf_counter()
    catalog = (open_dataset(args.data) if args.data
               else generate_catalog(args.items, args.seed, args.image_size))
    gallery = catalog.indices(args.split)
    print(f"{len(catalog)} items, split {args.split}: {len(gallery)} gallery items "
          f"({time.perf_counter() - start:.1f} s to make)")

    probabilities = _linear_probabilities(catalog, args.seed)
    rng = np.random.default_rng(args.seed)
    rows = [("random", _random_scores(rng)), ("pixel-nn", _pixel_scores(catalog, args.split)),
            ("pixel-linear", _linear_scores(probabilities))]

    single = q.manipulation_queries(catalog, args.split, args.seed, 1, args.max_queries)
    double = q.manipulation_queries(catalog, args.split, args.seed, 2, args.max_queries)
    conditional = q.conditional_queries(catalog, args.split, args.seed, per_attribute=200)
    print(f"queries: {len(single)} single-attribute and {len(double)} two-attribute "
          f"manipulations, {len(conditional)} conditional\n")
    print("| method | manip hit@10 | @30 | @50 | NDCG@30 | 2-attr hit@10 | @30 | @50 "
          "| cond mAP@10 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, scorer in rows:
        one = _manipulation(catalog, gallery, single, scorer)
        two = _manipulation(catalog, gallery, double, scorer)
        cond = _conditional(catalog, gallery, conditional, scorer)
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in (*one, *two[:3], cond)) + " |")

    fitb = q.fitb_questions(catalog, args.split, args.seed)
    complementary = q.complementary_queries(catalog, args.split, args.seed)
    print(f"\noutfits: {len(fitb)} FITB questions, {len(complementary)} complementary queries\n")
    print("| method | FITB accuracy | Recall@10 | Recall@30 | Recall@50 |")
    print("| --- | --- | --- | --- | --- |")
    outfit_rows = rows[:2]
    try:
        outfit_rows.append(("visible-rules", _visible_rules(catalog)))
    except FailedPrecondition:
        pass  # a real data set has no synthetic outfit rules
    for name, scorer in outfit_rows:
        figures = _outfits(catalog, fitb, complementary, scorer)
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in figures) + " |")


# A scorer maps (query rows or vectors, candidate rows, context) to scores, higher = better.

def _random_scores(rng: np.random.Generator):
    def score(kind: str, query, candidates: np.ndarray) -> np.ndarray:
        return rng.random(len(candidates))
    return score


def _pixel_scores(catalog: Catalog, split: str):
    """Cosine similarities of raw pixels, precomputed between all items of the split."""
    rows = catalog.indices(split)
    local = np.full(len(catalog), -1)
    local[rows] = np.arange(len(rows))
    flat = catalog.images[rows].reshape(len(rows), -1).astype(np.float32) / 255
    flat -= flat.mean(axis=0)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True).clip(1e-6)
    similarity = flat @ flat.T

    def score(kind: str, query, candidates: np.ndarray) -> np.ndarray:
        if kind == "outfit":
            return similarity[np.ix_(local[candidates], local[list(query)])].mean(axis=1)
        return similarity[local[candidates], local[query.reference]]
    return score


def _linear_scores(probabilities: list[np.ndarray]):
    logs = [np.log(p + 1e-9) for p in probabilities]

    def score(kind: str, query, candidates: np.ndarray) -> np.ndarray:
        if kind == "manipulation":
            return sum(logs[a][candidates, t] for a, t in enumerate(query.target_labels) if t >= 0)
        if kind == "conditional":
            a = query.attribute
            return probabilities[a][candidates] @ probabilities[a][query.reference]
        raise ValueError(kind)
    return score


def _visible_rules(catalog: Catalog):
    rules = OutfitRules.for_catalog(catalog)
    # Every item gets the same style, so only colors and patterns decide.
    same_style = np.zeros(len(catalog), np.int64)

    def score(kind: str, query, candidates: np.ndarray) -> np.ndarray:
        context = np.array(list(query))
        ok = [rules.compatible_with(catalog.labels, same_style, context[i:i + 1], candidates)
              for i in range(len(context))]
        return np.mean(ok, axis=0) + 1e-6 * np.random.default_rng(0).random(len(candidates))
    return score


def _manipulation(catalog: Catalog, gallery: np.ndarray, queries, scorer) -> tuple[float, ...]:
    if not queries:
        return (float("nan"),) * 4
    ranking = np.array([gallery[np.argsort(-scorer("manipulation", x, gallery),
                                           kind="stable")[:max(KS)]] for x in queries])
    targets = np.array([x.target_labels for x in queries])
    hits = [ranking_metrics.manipulation_hit_rate(ranking, catalog.labels, targets, k) for k in KS]
    return (*hits, ranking_metrics.manipulation_ndcg(ranking, catalog.labels, targets, 30))


def _conditional(catalog: Catalog, gallery: np.ndarray, queries, scorer) -> float:
    by_attribute = []
    for a in range(len(catalog.vocabulary.attributes)):
        asked = [x for x in queries if x.attribute == a]
        if not asked:
            continue
        rankings, values, relevant = [], [], []
        for x in asked:
            others = gallery[gallery != x.reference]
            order = np.argsort(-scorer("conditional", x, others), kind="stable")[:10]
            rankings.append(others[order])
            values.append(catalog.labels[x.reference, a])
            relevant.append(int((catalog.labels[others, a] == values[-1]).sum()))
        by_attribute.append(ranking_metrics.conditional_map_at_k(
            np.array(rankings), catalog.labels, np.array(values), a, 10, np.array(relevant)))
    return float(np.mean(by_attribute))


def _outfits(catalog: Catalog, fitb, complementary, scorer) -> tuple[float, ...]:
    scores = np.array([scorer("outfit", f.context, np.array(f.candidates)) for f in fitb])
    accuracy = ranking_metrics.fitb_accuracy(scores, np.array([f.answer for f in fitb]))
    ranks = []
    for x in complementary:
        gallery = q.category_rows(catalog, str(catalog.splits[x.hidden]), x.target_category)
        scores = scorer("outfit", x.context, gallery)
        ranks.append(int((scores > scores[gallery == x.hidden][0]).sum()))
    recalls = [float(np.mean(np.array(ranks) < k)) for k in KS]
    return (accuracy, *recalls)


def _small(images: np.ndarray, side: int = 16) -> np.ndarray:
    n, size = len(images), images.shape[1]
    f = size // side
    small = images[:, :side * f, :side * f].reshape(n, side, f, side, f, 3).mean(axis=(2, 4))
    return small.reshape(n, -1) / 255


def _linear_probabilities(catalog: Catalog, seed: int, steps: int = 300) -> list[np.ndarray]:
    """Per attribute, predicted value probabilities for every item (fit on train only)."""
    x = _small(catalog.images)
    train = catalog.indices("train")
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
    x = np.hstack([(x - mean) / std, np.ones((len(x), 1))]).astype(np.float32)
    out = []
    for a, attribute in enumerate(catalog.vocabulary.attributes):
        known = train[catalog.labels[train, a] >= 0]
        y = np.eye(len(attribute.values), dtype=np.float32)[catalog.labels[known, a]]
        w = np.zeros((x.shape[1], len(attribute.values)), np.float32)
        for _ in range(steps):
            p = _softmax(x[known] @ w)
            w -= 0.05 * (x[known].T @ (p - y) / len(known) + 1e-3 * w)
        out.append(_softmax(x @ w))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    main()
