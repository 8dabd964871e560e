"""Choosing the posterior weights β and w of a trained model on a validation catalog.

The served scores (fashionrec.index.compose) mix the ADDE geometry with the classifier
heads' posteriors:

    manipulation  cos(r_q + M·i, r_g) + β·Σ_a log p_g(t_a)
    similarity    (1 − w)·cos(r_qa, r_ga) + w·BC(p_qa, p_ga)

Both weights are picked by grid search on a catalog the model did not train on and that
the final evaluation does not use (a validation catalog, or the validation split): β
maximises the mean of single- and two-attribute hit@1, w the mean mAP@10 over every
attribute. hit@1, not hit@10: on a 20,000-item validation catalog hit@10 reached 1.000 at
β = 0.05 and stayed there, so the grid took the smallest β on the plateau, where hit@1 was
still 0.006 below its best. The grids are coarse on purpose: the figures are flat near the
optimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model import benchmark
from fashionrec.model.evaluation import Embeddings

__all__ = ["POSTERIOR_WEIGHTS", "SIMILARITY_WEIGHTS", "TuningResult", "tune_posterior_weights"]

POSTERIOR_WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0)
SIMILARITY_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class TuningResult:
    posterior_weight: float
    similarity_posterior_weight: float
    # Grid value → the figure it scored (mean hit@1, mean mAP@10).
    manipulation: dict[float, float] = field(default_factory=dict)
    similarity: dict[float, float] = field(default_factory=dict)


def tune_posterior_weights(emb: Embeddings, catalog: Catalog, gallery: str = q.ALL, seed: int = 0,
                           max_queries: int = 1000, conditional_per_attribute: int = 200,
                           betas: Sequence[float] = POSTERIOR_WEIGHTS,
                           ws: Sequence[float] = SIMILARITY_WEIGHTS) -> TuningResult:
    """Grid search of β and w on one catalog's gallery.

    Args:
        emb: the model's embeddings of every catalog row (log_probs required).
        catalog: a validation catalog (never the one the final figures come from).
        gallery: "all" or a split name, as in fashionrec.model.benchmark.
        seed: the query sets' seed.
        max_queries: manipulation queries per kind (single, pair).
        conditional_per_attribute: similarity queries per attribute.
        betas, ws: the grids.

    Returns:
        The chosen weights and each grid value's figure.

    Raises:
        ValueError: if the embeddings carry no class posteriors.
    """
    if emb.log_probs is None:
        raise ValueError("tuning the posterior weights needs the model's class log-posteriors")
    config = benchmark.BenchmarkConfig(gallery=gallery, seed=seed, max_queries=max_queries,
                                       conditional_per_attribute=conditional_per_attribute)
    kw = dict(balanced=True, exclude_not_applicable=True)
    single = q.manipulation_queries(catalog, gallery, seed, 1, max_queries, **kw)
    pair = q.manipulation_queries(catalog, gallery, seed, 2, max_queries, **kw)
    conditional = q.conditional_queries(catalog, gallery, seed, per_attribute=conditional_per_attribute)
    prepared = benchmark.prepare_gallery(emb, catalog, q.split_rows(catalog, config.gallery))
    rng = np.random.default_rng([seed, 98])
    manipulation: dict[float, float] = {}
    for beta in betas:
        hits = []
        for queries in (single, pair):
            if not queries:
                continue
            ranking = benchmark.manipulation_rankings(emb, catalog, prepared, queries, beta, rng, k=1)[benchmark.MODEL]
            figures, _ = benchmark.manipulation_figures(ranking, prepared.labels, queries, ks=(1,))
            hits.append(figures["hit@1"]["mean"])
        manipulation[float(beta)] = float(np.mean(hits)) if hits else 0.0
    similarity: dict[float, float] = {}
    for w in ws:
        figures = benchmark.conditional_figures(emb, catalog, prepared, conditional, w, rng)[benchmark.MODEL]
        similarity[float(w)] = float(figures["mean"]["mean"]) if figures else 0.0
    return TuningResult(
        posterior_weight=max(manipulation, key=lambda b: (manipulation[b], -b)),
        similarity_posterior_weight=max(similarity, key=lambda w: (similarity[w], -w)),
        manipulation=manipulation,
        similarity=similarity,
    )
