"""The catalog-scale benchmark: methods × figures, each figure with its standard error.

`fashionrec eval` runs it. The gallery is a whole catalog (`gallery="all"`, e.g. 24,000
items of a seed the model never saw) or one split of it; the query sets come from
fashionrec.data.queries and are the same for every method:

- manipulation, one and two changed attributes: each changed attribute (each pair) gets
  an equal share of the queries, no change from or to "n/a"; figures hit@1/10/30/50 and
  NDCG@30 over the whole gallery (the reference itself is never returned), and on a
  generated catalog "style hit@1/@10": a top item with the target labels and the
  reference's hidden style (in the pixels, in no label). hit@10 saturates at catalog
  scale once the classifiers are good (0.999 for the model and the classifier soft score
  alike on a 20,000-item gallery); hit@1 and the style hit still separate methods;
- conditional similarity: per attribute the same number of references (never "n/a"),
  mAP@10 over the whole gallery;
- outfits: FITB (4 candidates of the hidden item's category, the wrong ones breaking an
  outfit rule) scored as Complete scores (A^T mean_o e_o against e_c), "FITB pairs" scored
  as ScoreOutfit does (the symmetric pair score: the figure the served row can reproduce),
  and Recall@10/50/100 of the hidden item among all gallery items of its category;
- per attribute: single-change hit@10/30, and the classifier's accuracy on the items the
  attribute applies to (known and not "n/a").

Methods (rows). For a manipulation query (reference q, indicator i, target labels t) and a
gallery item g, with log p the model's floored per-attribute log-posteriors:

  model            cos(r_q + M·i, r_g) + β·Σ_a log p_g(t_a) + γ·⟨e_q, e_g⟩
                   (β = posterior_weight, γ = style_weight, e the style embedding)
  γ=0              the model without the style term
  β=0              cos(r_q + M·i, r_g)                           (the pure ADDE query)
  change ignored   cos(r_q, r_g)
  hard filter      items whose predicted labels all equal t, ordered by cos(r_q + M·i, r_g);
                   fewer than k such items leave the rest of the top k empty
  classifier soft  Σ_a log p_g(t_a)
  random           a random order

For conditional similarity on attribute a (w = similarity_posterior_weight, BC the
Bhattacharyya coefficient Σ_v sqrt(p_qa(v)·p_ga(v)) of the two renormalised posteriors):

  model            (1 − w)·cos(r_qa, r_ga) + w·BC
  w=0              cos(r_qa, r_ga)
  posterior only   BC (w = 1)
  random

For outfits: model = ⟨A^T mean_i e_i, e_y⟩ (fashionrec.model.evaluation.outfit_query), and
random. Target attributes whose value is UNKNOWN take no part in the posterior terms or the
filter. Search is exact numpy, queries in chunks; served rows (queries answered by the
running services over gRPC, fashionrec_cli.served_eval) go through the same metrics.

Standard errors: binomial sqrt(p(1 − p)/n) for hit rates, recalls and accuracies; the
standard error of the mean for mAP and NDCG.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model.benchmark_gallery import (BETA_ZERO, CHANGE_IGNORED, CLASSIFIER_SOFT, CONDITIONAL_K, GAMMA_ZERO,
                                                HARD_FILTER, MANIPULATION_KS, MODEL, POSTERIOR_ONLY, RANDOM,
                                                SERVED, W_ZERO, figure, prepare_gallery, served_positions,
                                                target_onehot)
from fashionrec.model.benchmark_methods import (ServedQueries, classifier_accuracy, conditional_figures,
                                                manipulation_figures, manipulation_rankings, outfit_figures,
                                                per_attribute_hits)
from fashionrec.model.benchmark_report import format_report, method_rank
from fashionrec.model.evaluation import Embeddings, disentanglement
from fashionrec.progress import progress_bar

# The benchmark's public names live in its three parts; they are re-exported here so that
# `fashionrec.model.benchmark` stays the one module callers import.
__all__ = ["BETA_ZERO", "CHANGE_IGNORED", "CLASSIFIER_SOFT", "GAMMA_ZERO", "HARD_FILTER", "MODEL", "POSTERIOR_ONLY", "RANDOM",
           "SERVED", "W_ZERO", "BenchmarkConfig", "QuerySets", "ServedQueries", "classifier_accuracy",
           "conditional_figures", "figure", "format_report", "manipulation_figures", "manipulation_rankings",
           "outfit_figures", "per_attribute_hits", "prepare_gallery", "run_benchmark", "target_onehot"]


@dataclass(frozen=True)
class BenchmarkConfig:
    gallery: str = q.ALL  # "all" or a split name
    seed: int = 0
    max_queries: int = 2000  # manipulation queries per kind (single, pair)
    conditional_per_attribute: int = 300
    outfit_queries: int = 2000  # FITB questions and complementary queries, each
    posterior_weight: float = 0.0  # β
    style_weight: float = 0.0  # γ
    similarity_posterior_weight: float = 0.0  # w
    progress: bool | None = None


@dataclass
class QuerySets:
    single: list[q.ManipulationQuery]
    pair: list[q.ManipulationQuery]
    conditional: list[q.ConditionalQuery]
    fitb: list[q.FitbQuestion]
    complementary: list[q.ComplementaryQuery]
    seconds: float = 0.0

    @classmethod
    def make(cls, catalog: Catalog, config: BenchmarkConfig) -> "QuerySets":
        started = time.monotonic()
        kw = dict(balanced=True, exclude_not_applicable=True)
        single = q.manipulation_queries(catalog, config.gallery, config.seed, 1, config.max_queries, **kw)
        pair = q.manipulation_queries(catalog, config.gallery, config.seed, 2, config.max_queries, **kw)
        conditional = q.conditional_queries(catalog, config.gallery, config.seed,
                                            per_attribute=config.conditional_per_attribute)
        fitb = q.fitb_questions(catalog, config.gallery, config.seed, max_questions=config.outfit_queries)
        complementary = q.complementary_queries(catalog, config.gallery, config.seed,
                                                max_queries=config.outfit_queries)
        return cls(single, pair, conditional, fitb, complementary, time.monotonic() - started)

    def counts(self) -> dict[str, int]:
        return {"manipulation_single": len(self.single), "manipulation_pair": len(self.pair),
                "conditional": len(self.conditional), "fitb": len(self.fitb),
                "complementary": len(self.complementary)}


def run_benchmark(emb: Embeddings, catalog: Catalog, config: BenchmarkConfig,
                  served: ServedQueries | None = None, sets: QuerySets | None = None) -> dict[str, Any]:
    """The full report: query counts, methods × figures (with SE), per-attribute tables."""
    started = time.monotonic()
    sets = QuerySets.make(catalog, config) if sets is None else sets
    rows = q.split_rows(catalog, config.gallery)
    gallery = prepare_gallery(emb, catalog, rows)
    rng = np.random.default_rng([config.seed, 99])
    methods: dict[str, dict[str, Any]] = {}
    per_attribute: dict[str, Any] = {}
    timings = {"queries": round(sets.seconds, 1)}
    total = (len(sets.single) + len(sets.pair)) * (2 if served else 1) \
        + len(sets.conditional) * (2 if served else 1) + len(sets.complementary) * (2 if served else 1) \
        + (len(sets.fitb) if served else 0)
    with progress_bar(total=total, desc="eval", unit="query", enabled=config.progress) as bar:
        for kind, queries in (("manipulation_single", sets.single), ("manipulation_pair", sets.pair)):
            t = time.monotonic()
            if not queries:
                continue
            rankings = manipulation_rankings(emb, catalog, gallery, queries, config.posterior_weight, rng, bar=bar,
                                             gamma=config.style_weight)
            if served is not None:
                served_rows = []
                for x in queries:
                    served_rows.append(served.manipulate(x.reference, x.changes))
                    bar.update(1)
                rankings[SERVED] = served_positions(served_rows, gallery, served.k)
            styles = (None, None) if catalog.styles is None else \
                (catalog.styles[gallery.rows], catalog.styles[[x.reference for x in queries]])
            for m, ranking in rankings.items():
                ks = [k for k in MANIPULATION_KS if k <= ranking.shape[1]]
                figures, per_query = manipulation_figures(ranking, gallery.labels, queries, ks, *styles)
                methods.setdefault(m, {})[kind] = figures
                if kind == "manipulation_single":
                    per_attribute.setdefault("manipulation_single", {})[m] = per_attribute_hits(
                        per_query, queries, catalog)
            timings[kind] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        conditional = conditional_figures(emb, catalog, gallery, sets.conditional,
                                          config.similarity_posterior_weight, rng, served=served, bar=bar)
        for m, figures in conditional.items():
            if figures:
                methods.setdefault(m, {})[f"conditional_map@{CONDITIONAL_K}"] = figures
        timings["conditional"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        outfit, facts = outfit_figures(emb, catalog, config.gallery, sets.fitb, sets.complementary, rng,
                                       served=served, bar=bar)
        for m, figures in outfit.items():
            if figures:
                methods.setdefault(m, {})["outfit"] = figures
        timings["outfit"] = round(time.monotonic() - t, 1)
    per_attribute["classifier_accuracy"] = classifier_accuracy(emb, catalog, rows)
    try:
        dis = disentanglement(emb, catalog, "train", "test")
    except Exception:  # a catalog without a train or test split
        dis = {}
    timings["total"] = round(time.monotonic() - started, 1)
    return {
        "gallery": config.gallery,
        "gallery_items": int(len(rows)),
        "seed": config.seed,
        "posterior_weight": config.posterior_weight,
        "similarity_posterior_weight": config.similarity_posterior_weight,
        "style_weight": config.style_weight,
        "queries": sets.counts(),
        "outfit_gallery": facts,
        "methods": {m: methods[m] for m in sorted(methods, key=method_rank)},
        "per_attribute": per_attribute,
        "disentanglement": dis,
        "seconds": timings,
    }
