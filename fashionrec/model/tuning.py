"""Choosing the posterior weights β, γ and w of a trained model on a validation catalog.

The served scores (fashionrec.index.compose) mix the ADDE geometry with the classifier
heads' posteriors and the style embedding:

    manipulation  cos(r_q + M·i, r_g) + β·Σ_a log p_g(t_a) + γ·⟨e_q, e_g⟩
    similarity    (1 − w)·cos(r_qa, r_ga) + w·BC(p_qa, p_ga)

All are picked by grid search on a catalog the model did not train on and that the final
evaluation does not use (a validation catalog, or the validation split). (β, γ): the best
mean hit@1 over single- and two-attribute queries, and among the grid points within one
standard error of it, the best mean style hit@1 (the top item has the target labels and
the reference's hidden style) when the catalog knows its styles. hit@1, not hit@10: on a
20,000-item validation catalog hit@10 reached 1.000 at β = 0.05 and stayed there, so the
grid took the smallest β on the plateau, where hit@1 was still 0.006 below its best. w:
the mean mAP@10 over every attribute. The grids are coarse on purpose: the figures are
flat near the optimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fashionrec import ranking_metrics
from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model import benchmark
from fashionrec.model.benchmark_gallery import CHUNK
from fashionrec.model.benchmark_methods import exclude_reference, manipulation_parts
from fashionrec.model.evaluation import Embeddings

__all__ = ["POSTERIOR_WEIGHTS", "SIMILARITY_WEIGHTS", "STYLE_WEIGHTS", "TuningResult", "tune_posterior_weights"]

POSTERIOR_WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
STYLE_WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)
SIMILARITY_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class TuningResult:
    posterior_weight: float
    similarity_posterior_weight: float
    style_weight: float = 0.0
    # (β, γ) → (mean hit@1, mean style hit@1 or None); w → mean mAP@10.
    manipulation: dict[tuple[float, float], tuple[float, float | None]] = field(default_factory=dict)
    similarity: dict[float, float] = field(default_factory=dict)


def tune_posterior_weights(emb: Embeddings, catalog: Catalog, gallery: str = q.ALL, seed: int = 0,
                           max_queries: int = 1000, conditional_per_attribute: int = 200,
                           betas: Sequence[float] = POSTERIOR_WEIGHTS,
                           ws: Sequence[float] = SIMILARITY_WEIGHTS,
                           gammas: Sequence[float] = STYLE_WEIGHTS) -> TuningResult:
    """Grid search of β, γ and w on one catalog's gallery.

    Args:
        emb: the model's embeddings of every catalog row (log_probs required).
        catalog: a validation catalog (never the one the final figures come from).
        gallery: "all" or a split name, as in fashionrec.model.benchmark.
        seed: the query sets' seed.
        max_queries: manipulation queries per kind (single, pair).
        conditional_per_attribute: similarity queries per attribute.
        betas, ws, gammas: the grids.

    Returns:
        The chosen weights and each grid point's figures.

    Raises:
        ValueError: if the embeddings carry no class posteriors.
    """
    if emb.log_probs is None:
        raise ValueError("tuning the posterior weights needs the model's class log-posteriors")
    config = benchmark.BenchmarkConfig(gallery=gallery, seed=seed, max_queries=max_queries,
                                       conditional_per_attribute=conditional_per_attribute)
    kw = dict(balanced=True, exclude_not_applicable=True)
    sets = [x for x in (q.manipulation_queries(catalog, gallery, seed, n, max_queries, **kw) for n in (1, 2)) if x]
    conditional = q.conditional_queries(catalog, gallery, seed, per_attribute=conditional_per_attribute)
    prepared = benchmark.prepare_gallery(emb, catalog, q.split_rows(catalog, config.gallery))
    grid = [(float(b), float(g)) for b in betas for g in gammas]
    hits = {point: [] for point in grid}
    kept = {point: [] for point in grid}
    for queries in sets:
        targets = np.array([x.target_labels for x in queries])
        styles = None if catalog.styles is None else catalog.styles[[x.reference for x in queries]]
        top = {point: [] for point in grid}
        for start in range(0, len(queries), CHUNK):
            parts = manipulation_parts(emb, catalog, prepared, queries[start:start + CHUNK])
            for beta, gamma in grid:
                scores = exclude_reference(parts.model(beta, gamma), parts.own)
                top[(beta, gamma)].append(scores.argmax(axis=1)[:, None])
        for point in grid:
            ranking = np.concatenate(top[point])
            hits[point].append(ranking_metrics.manipulation_hits(ranking, prepared.labels, targets, 1).mean())
            if styles is not None:
                kept[point].append(ranking_metrics.manipulation_hits(
                    ranking, prepared.labels, targets, 1, catalog.styles[prepared.rows], styles).mean())
    manipulation = {p: (float(np.mean(hits[p])) if hits[p] else 0.0,
                        float(np.mean(kept[p])) if kept[p] else None) for p in grid}
    beta, gamma = _choose(manipulation, sum(len(x) for x in sets))
    rng = np.random.default_rng([seed, 98])
    similarity: dict[float, float] = {}
    for w in ws:
        figures = benchmark.conditional_figures(emb, catalog, prepared, conditional, w, rng)[benchmark.MODEL]
        similarity[float(w)] = float(figures["mean"]["mean"]) if figures else 0.0
    return TuningResult(
        posterior_weight=beta,
        similarity_posterior_weight=max(similarity, key=lambda w: (similarity[w], -w)),
        style_weight=gamma,
        manipulation=manipulation,
        similarity=similarity,
    )


def _choose(figures: dict[tuple[float, float], tuple[float, float | None]], n: int) -> tuple[float, float]:
    """The best hit@1; among the points within one binomial SE of it, the best style hit@1.

    Ties go to the smaller weights (γ first, then β): the plainer query.
    """
    best = max(h for h, _ in figures.values())
    se = float(np.sqrt(best * (1 - best) / max(n, 1)))
    near = [p for p, (h, _) in figures.items() if h >= best - se]
    return max(near, key=lambda p: (figures[p][1] if figures[p][1] is not None else figures[p][0], -p[1], -p[0]))
