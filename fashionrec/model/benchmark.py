"""The catalog-scale benchmark: methods × figures, each figure with its standard error.

`fashionrec eval` runs it. The gallery is a whole catalog (`gallery="all"`, e.g. 24,000
items of a seed the model never saw) or one split of it; the query sets come from
fashionrec.data.queries and are the same for every method:

- manipulation, one and two changed attributes: each changed attribute (each pair) gets
  an equal share of the queries, no change from or to "n/a"; figures hit@10/30/50 and
  NDCG@30 over the whole gallery (the reference itself is never returned);
- conditional similarity: per attribute the same number of references (never "n/a"),
  mAP@10 over the whole gallery;
- outfits: FITB (4 candidates of the hidden item's category, the wrong ones breaking an
  outfit rule) and Recall@10/50/100 of the hidden item among all gallery items of its
  category;
- per attribute: single-change hit@10/30, and the classifier's accuracy on the items the
  attribute applies to (known and not "n/a").

Methods (rows). For a manipulation query (reference q, indicator i, target labels t) and a
gallery item g, with log p the model's floored per-attribute log-posteriors:

  model            cos(r_q + M·i, r_g) + β·Σ_a log p_g(t_a)      (β = posterior_weight)
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
running services over gRPC, fashionrec.model.served_eval) go through the same metrics.

Standard errors: binomial sqrt(p(1 − p)/n) for hit rates, recalls and accuracies; the
standard error of the mean for mAP and NDCG.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from fashionrec import metrics
from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model.evaluation import Embeddings, disentanglement, l2_normalise, outfit_query
from fashionrec.progress import progress_bar
from fashionrec.vocab import UNKNOWN

MANIPULATION_KS = (10, 30, 50)
NDCG_K = 30
CONDITIONAL_K = 10
OUTFIT_KS = (10, 50, 100)
CHUNK = 256

MODEL = "model"
RANDOM = "random"
CHANGE_IGNORED = "change ignored"
HARD_FILTER = "hard filter"
CLASSIFIER_SOFT = "classifier soft"
BETA_ZERO = "ablation β=0"
W_ZERO = "ablation w=0"
POSTERIOR_ONLY = "posterior only (w=1)"
SERVED = "served (gRPC)"

MANIPULATION_METHODS = (MODEL, BETA_ZERO, CHANGE_IGNORED, HARD_FILTER, CLASSIFIER_SOFT, RANDOM)
CONDITIONAL_METHODS = (MODEL, W_ZERO, POSTERIOR_ONLY, RANDOM)
OUTFIT_METHODS = (MODEL, RANDOM)
METHOD_ORDER = (MODEL, SERVED, BETA_ZERO, W_ZERO, POSTERIOR_ONLY, CLASSIFIER_SOFT, HARD_FILTER,
                CHANGE_IGNORED, RANDOM)


class ServedQueries(Protocol):
    """Answers the benchmark's queries through the running services (catalog rows in and out).

    Each method returns a ranking of catalog rows, best first, at most k long.
    """

    k: int

    def manipulate(self, reference: int, changes: Sequence[q.AttributeChange]) -> list[int]: ...

    def similar(self, reference: int, attribute: int) -> list[int]: ...

    def complete(self, context: Sequence[int], target_category: int) -> list[int]: ...


@dataclass(frozen=True)
class BenchmarkConfig:
    gallery: str = q.ALL  # "all" or a split name
    seed: int = 0
    max_queries: int = 2000  # manipulation queries per kind (single, pair)
    conditional_per_attribute: int = 300
    outfit_queries: int = 2000  # FITB questions and complementary queries, each
    posterior_weight: float = 0.0  # β
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


def figure(values: np.ndarray, binary: bool | None = None) -> dict[str, float]:
    """{"mean", "se", "n"} of per-query values."""
    mean, se = metrics.mean_and_se(values, binary)
    return {"mean": mean, "se": se, "n": int(np.asarray(values).size)}


@dataclass
class _Gallery:
    """The gallery rows and what every method needs of them, computed once."""

    rows: np.ndarray
    position: np.ndarray  # catalog row → gallery position, −1 outside
    labels: np.ndarray
    whole: np.ndarray  # L2n(r)
    log_probs: np.ndarray | None
    predicted_onehot: np.ndarray | None  # (G, S) 1 at each attribute's argmax value
    extra: dict[str, Any] = field(default_factory=dict)


def prepare_gallery(emb: Embeddings, catalog: Catalog, rows: np.ndarray) -> _Gallery:
    """The gallery of these catalog rows, with what every method needs of it (once per model)."""
    position = np.full(len(catalog), -1)
    position[rows] = np.arange(len(rows))
    log_probs = None if emb.log_probs is None else emb.log_probs[rows].astype(np.float32)
    onehot = None
    if log_probs is not None:
        onehot = np.zeros_like(log_probs)
        vocab = catalog.vocabulary
        for a, attribute in enumerate(vocab.attributes):
            lo = vocab.offsets[a]
            best = log_probs[:, lo:lo + len(attribute.values)].argmax(axis=1)
            onehot[np.arange(len(rows)), lo + best] = 1.0
    return _Gallery(rows, position, catalog.labels[rows], l2_normalise(emb.whole[rows].astype(np.float32)),
                    log_probs, onehot)


_prepare = prepare_gallery


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """(Q, k) column positions of the k highest scores, best first; −1 for −inf scores and for the
    slots a gallery smaller than k cannot fill (an empty slot is never relevant)."""
    width = min(k, scores.shape[1])
    part = np.argpartition(-scores, width - 1, axis=1)[:, :width]
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    part, picked = np.take_along_axis(part, order, axis=1), np.take_along_axis(picked, order, axis=1)
    out = np.full((len(scores), k), -1, np.int64)
    out[:, :width] = np.where(np.isneginf(picked), -1, part)
    return out


def _target_onehot(catalog: Catalog, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, S) 1 at each known target value, and the number of known targets per query."""
    vocab = catalog.vocabulary
    out = np.zeros((len(targets), vocab.total_values), np.float32)
    for a in range(targets.shape[1]):
        known = targets[:, a] != UNKNOWN
        out[np.flatnonzero(known), vocab.offsets[a] + targets[known, a]] = 1.0
    return out, (targets != UNKNOWN).sum(axis=1)


def manipulation_rankings(emb: Embeddings, catalog: Catalog, gallery: _Gallery,
                          queries: list[q.ManipulationQuery], beta: float, rng: np.random.Generator,
                          k: int = max(MANIPULATION_KS), bar=None) -> dict[str, np.ndarray]:
    """Method → (Q, k) rankings of gallery positions (−1: empty slot)."""
    methods = [m for m in MANIPULATION_METHODS
               if gallery.log_probs is not None or m not in (HARD_FILTER, CLASSIFIER_SOFT)]
    out: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    prototypes = emb.prototypes.astype(np.float32)
    for start in range(0, len(queries), CHUNK):
        part = queries[start:start + CHUNK]
        refs = np.array([x.reference for x in part])
        indicators = np.stack([x.indicator(catalog.vocabulary) for x in part]).astype(np.float32)
        targets = np.array([x.target_labels for x in part])
        composed = l2_normalise(emb.whole[refs].astype(np.float32) + indicators @ prototypes.T) @ gallery.whole.T
        rows = np.arange(len(part))
        own = gallery.position[refs]
        mask = own >= 0
        scores: dict[str, Callable[[], np.ndarray]] = {
            BETA_ZERO: lambda: composed,
            CHANGE_IGNORED: lambda: l2_normalise(emb.whole[refs].astype(np.float32)) @ gallery.whole.T,
            RANDOM: lambda: rng.random(composed.shape).astype(np.float32),
        }
        if gallery.log_probs is not None:
            onehot, n_known = _target_onehot(catalog, targets)
            soft = onehot @ gallery.log_probs.T
            matched = (onehot @ gallery.predicted_onehot.T) >= n_known[:, None] - 0.5
            scores[CLASSIFIER_SOFT] = lambda: soft
            scores[HARD_FILTER] = lambda: np.where(matched, composed, -np.inf)
            scores[MODEL] = lambda: composed + np.float32(beta) * soft
        else:
            scores[MODEL] = lambda: composed
        for m in methods:
            values = np.array(scores[m](), np.float32)  # a copy: the reference is excluded in place
            values[rows[mask], own[mask]] = -np.inf
            out[m].append(_top(values, k))
        if bar is not None:
            bar.update(len(part))
    return {m: np.concatenate(v) if v else np.zeros((0, k), np.int64) for m, v in out.items()}


def manipulation_figures(ranking: np.ndarray, gallery_labels: np.ndarray,
                         queries: list[q.ManipulationQuery], ks: Sequence[int] = MANIPULATION_KS
                         ) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """(figures with SE, per-query values) of one method's rankings."""
    targets = np.array([x.target_labels for x in queries]).reshape(len(queries), -1)
    per_query = {f"hit@{k}": metrics.manipulation_hits(ranking, gallery_labels, targets, k) for k in ks}
    ndcg_k = min(NDCG_K, ranking.shape[1])
    per_query[f"ndcg@{ndcg_k}"] = metrics.manipulation_ndcg_per_query(ranking, gallery_labels, targets, ndcg_k)
    return {name: figure(v) for name, v in per_query.items()}, per_query


def per_attribute_hits(per_query: dict[str, np.ndarray], queries: list[q.ManipulationQuery],
                       catalog: Catalog, ks: Sequence[int] = (10, 30)) -> dict[str, dict[str, Any]]:
    """Single-change hit@k per changed attribute."""
    changed = np.array([x.changes[0].attribute for x in queries])
    out = {}
    for a, name in enumerate(catalog.vocabulary.names):
        rows = changed == a
        if rows.any():
            out[name] = {f"hit@{k}": figure(per_query[f"hit@{k}"][rows]) for k in ks}
    return out


def conditional_figures(emb: Embeddings, catalog: Catalog, gallery: _Gallery,
                        queries: list[q.ConditionalQuery], w: float, rng: np.random.Generator,
                        k: int = CONDITIONAL_K, served: ServedQueries | None = None, bar=None
                        ) -> dict[str, dict[str, Any]]:
    """Method → {"mean": figure over all queries, attribute name: figure} of AP@k."""
    vocab = catalog.vocabulary
    methods = [m for m in CONDITIONAL_METHODS if emb.log_probs is not None or m != POSTERIOR_ONLY]
    per_query: dict[str, list[np.ndarray]] = {m: [] for m in methods + ([SERVED] if served else [])}
    out: dict[str, dict[str, Any]] = {m: {} for m in per_query}
    for a, attribute in enumerate(vocab.attributes):
        refs_all = np.array([x.reference for x in queries if x.attribute == a], np.int64)
        if len(refs_all) == 0:
            continue
        vectors = l2_normalise(emb.attribute(a)[gallery.rows].astype(np.float32))
        sqrt_p = None
        if emb.log_probs is not None:
            lo = vocab.offsets[a]
            p = np.exp(emb.log_probs[:, lo:lo + len(attribute.values)].astype(np.float64))
            sqrt_p = np.sqrt(p / p.sum(axis=1, keepdims=True)).astype(np.float32)
        rankings: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        for start in range(0, len(refs_all), CHUNK):
            refs = refs_all[start:start + CHUNK]
            rows, own = np.arange(len(refs)), gallery.position[refs]
            mask = own >= 0

            def exclude(scores: np.ndarray) -> np.ndarray:
                scores[rows[mask], own[mask]] = -np.inf
                return scores

            cos = l2_normalise(emb.attribute(a)[refs].astype(np.float32)) @ vectors.T
            bc = None if sqrt_p is None else sqrt_p[refs] @ sqrt_p[gallery.rows].T
            scores = {
                W_ZERO: lambda: cos,
                MODEL: lambda: cos if bc is None else (1 - np.float32(w)) * cos + np.float32(w) * bc,
                POSTERIOR_ONLY: lambda: bc,
                RANDOM: lambda: rng.random(cos.shape).astype(np.float32),
            }
            for m in methods:
                rankings[m].append(_top(exclude(scores[m]()), k))
            if bar is not None:
                bar.update(len(refs))
        values = catalog.labels[refs_all, a]
        # The reference is not in its own ranking, so it is not one of the relevant items either.
        n_relevant = (gallery.labels[None, :, a] == values[:, None]).sum(axis=1) - (gallery.position[refs_all] >= 0)
        if served is not None:
            rankings[SERVED] = [_served_positions([served.similar(int(r), a) for r in refs_all], gallery, k)]
            if bar is not None:
                bar.update(len(refs_all))
        for m, parts in rankings.items():
            ap = metrics.conditional_ap_per_query(np.concatenate(parts), gallery.labels, values, a, k, n_relevant)
            per_query[m].append(ap)
            out[m][attribute.name] = figure(ap, binary=False)
    for m, parts in per_query.items():
        if parts:
            out[m] = {"mean": figure(np.concatenate(parts), binary=False), **out[m]}
    return out


def _served_positions(rankings: list[list[int]], gallery: _Gallery, k: int) -> np.ndarray:
    """Catalog rows (ragged) → (Q, k) gallery positions, −1 padding and for rows outside the gallery."""
    out = np.full((len(rankings), k), -1, np.int64)
    for i, rows in enumerate(rankings):
        rows = np.asarray(rows[:k], np.int64)
        out[i, :len(rows)] = gallery.position[rows] if len(rows) else []
    return out


def outfit_figures(emb: Embeddings, catalog: Catalog, config: BenchmarkConfig, sets: QuerySets,
                   rng: np.random.Generator, served: ServedQueries | None = None, bar=None
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(method → {"fitb", "recall@k"}, facts about the category galleries)."""
    out: dict[str, dict[str, Any]] = {m: {} for m in OUTFIT_METHODS + ((SERVED,) if served else ())}
    if sets.fitb:
        scores = np.array([[outfit_query(emb, catalog, x.context, int(catalog.labels[c, 0])) @ emb.outfit[c]
                            for c in x.candidates] for x in sets.fitb])
        answers = np.array([x.answer for x in sets.fitb])
        out[MODEL]["fitb"] = figure(metrics.fitb_correct(scores, answers))
        out[RANDOM]["fitb"] = figure(metrics.fitb_correct(rng.random(scores.shape), answers))
    facts: dict[str, Any] = {}
    comp = sets.complementary
    if comp:
        k = max(OUTFIT_KS)
        rankings = {m: np.full((len(comp), k), -1, np.int64) for m in out}
        categories = np.array([x.target_category for x in comp])
        sizes = []
        for c in np.unique(categories):
            gallery = q.category_rows(catalog, config.gallery, int(c))
            sizes.append(len(gallery))
            which = np.flatnonzero(categories == c)
            vectors = np.stack([outfit_query(emb, catalog, comp[i].context, int(c)) for i in which])
            model = vectors @ emb.outfit[gallery].T
            random = rng.random(model.shape)
            for j, i in enumerate(which):
                inside = np.isin(gallery, comp[i].context)
                model[j, inside] = random[j, inside] = -np.inf
            rankings[MODEL][which] = _rows_of(_top(model, k), gallery)
            rankings[RANDOM][which] = _rows_of(_top(random, k), gallery)
            if bar is not None:
                bar.update(len(which))
        if served is not None:
            for i, x in enumerate(comp):
                rows = served.complete(x.context, x.target_category)[:k]
                rankings[SERVED][i, :len(rows)] = rows
                if bar is not None:
                    bar.update(1)
        hidden = np.array([x.hidden for x in comp])
        for m, ranking in rankings.items():
            for kk in OUTFIT_KS:
                if m != SERVED or kk <= served.k:  # the services were asked for served.k items
                    out[m][f"recall@{kk}"] = figure(metrics.recall_hits(ranking, hidden, kk))
        facts = {"category_gallery_mean": float(np.mean(sizes)), "category_gallery_min": int(np.min(sizes))}
    return out, facts


def _rows_of(positions: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.where(positions >= 0, gallery[np.maximum(positions, 0)], -1)


def classifier_accuracy(emb: Embeddings, catalog: Catalog, rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Per attribute: accuracy of the argmax prediction on the rows the attribute applies to.

    An item counts when its label is known and not "n/a"; predicting "n/a" for it is wrong.
    """
    if emb.log_probs is None:
        return {}
    vocab, out = catalog.vocabulary, {}
    for a, attribute in enumerate(vocab.attributes):
        labels = catalog.labels[rows, a]
        applicable = labels != UNKNOWN
        if q.NOT_APPLICABLE in attribute.values:
            applicable &= labels != attribute.values.index(q.NOT_APPLICABLE)
        lo = vocab.offsets[a]
        predicted = emb.log_probs[rows[applicable], lo:lo + len(attribute.values)].argmax(axis=1)
        out[attribute.name] = figure(predicted == labels[applicable])
    return out


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
        + len(sets.conditional) * (2 if served else 1) + len(sets.complementary) * (2 if served else 1)
    with progress_bar(total=total, desc="eval", unit="query", enabled=config.progress) as bar:
        for kind, queries in (("manipulation_single", sets.single), ("manipulation_pair", sets.pair)):
            t = time.monotonic()
            if not queries:
                continue
            rankings = manipulation_rankings(emb, catalog, gallery, queries, config.posterior_weight, rng, bar=bar)
            if served is not None:
                served_rows = []
                for x in queries:
                    served_rows.append(served.manipulate(x.reference, x.changes))
                    bar.update(1)
                rankings[SERVED] = _served_positions(served_rows, gallery, served.k)
            for m, ranking in rankings.items():
                ks = [k for k in MANIPULATION_KS if k <= ranking.shape[1]]
                figures, per_query = manipulation_figures(ranking, gallery.labels, queries, ks)
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
        outfit, facts = outfit_figures(emb, catalog, config, sets, rng, served=served, bar=bar)
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
        "queries": sets.counts(),
        "outfit_gallery": facts,
        "methods": {m: methods[m] for m in sorted(methods, key=_method_rank)},
        "per_attribute": per_attribute,
        "disentanglement": dis,
        "seconds": timings,
    }


def _method_rank(name: str) -> int:
    return METHOD_ORDER.index(name) if name in METHOD_ORDER else len(METHOD_ORDER)


# ---------------------------------------------------------------------------------------------
# Tables

COLUMNS = (
    ("1-attr h@10", "manipulation_single", "hit@10"),
    ("1-attr h@30", "manipulation_single", "hit@30"),
    ("1-attr h@50", "manipulation_single", "hit@50"),
    ("1-attr NDCG@30", "manipulation_single", "ndcg@30"),
    ("2-attr h@10", "manipulation_pair", "hit@10"),
    ("2-attr h@30", "manipulation_pair", "hit@30"),
    ("2-attr h@50", "manipulation_pair", "hit@50"),
    ("cond mAP@10", f"conditional_map@{CONDITIONAL_K}", "mean"),
    ("FITB", "outfit", "fitb"),
    ("R@10", "outfit", "recall@10"),
    ("R@50", "outfit", "recall@50"),
    ("R@100", "outfit", "recall@100"),
)


def _cell(fig: dict[str, float] | None) -> str:
    if not fig:
        return "-"
    return f"{fig['mean']:.3f}±{fig['se']:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(header[j]), *(len(r[j]) for r in rows)) if rows else len(header[j])
              for j in range(len(header))]
    lines = ["  ".join(h.ljust(w) if j == 0 else h.rjust(w) for j, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    return "\n".join(lines)


def format_report(report: dict[str, Any], title: str = "") -> str:
    """The methods × figures table, then the per-attribute tables; figures are mean±SE."""
    methods = report["methods"]
    columns = [c for c in COLUMNS if any(methods[m].get(c[1], {}).get(c[2]) for m in methods)]
    rows = [[m] + [_cell(methods[m].get(part, {}).get(name)) for _, part, name in columns] for m in methods]
    qn = report["queries"]
    head = (f"{title}gallery {report['gallery']} ({report['gallery_items']} items); queries: "
            f"{qn['manipulation_single']} single + {qn['manipulation_pair']} two-attribute manipulations, "
            f"{qn['conditional']} conditional, {qn['fitb']} FITB, {qn['complementary']} complementary "
            f"(category gallery ~{report.get('outfit_gallery', {}).get('category_gallery_mean', 0):.0f} items); "
            f"β={report['posterior_weight']:g}, w={report['similarity_posterior_weight']:g}")
    parts = [head, _table(["method"] + [c[0] for c in columns], rows)]
    single = report["per_attribute"].get("manipulation_single", {})
    if single:
        names = list(dict.fromkeys(a for per in single.values() for a in per))
        header = ["single change hit@10 / hit@30"] + names
        body = [[m] + [f"{per[a]['hit@10']['mean']:.3f} / {per[a]['hit@30']['mean']:.3f}" if a in per else "-"
                       for a in names] for m, per in single.items()]
        n = [["(queries; SE ≤)"] + [f"{next(iter(single.values()))[a]['hit@10']['n']} / "
                                    f"{max(per[a]['hit@10']['se'] for per in single.values() if a in per):.3f}"
                                    for a in names]]
        parts.append(_table(header, body + n))
    cond = {m: f for m, f in methods.items() if f.get(f"conditional_map@{CONDITIONAL_K}")}
    if cond:
        names = list(dict.fromkeys(a for f in cond.values() for a in f[f"conditional_map@{CONDITIONAL_K}"]
                                   if a != "mean"))
        body = [[m] + [_cell(f[f"conditional_map@{CONDITIONAL_K}"].get(a)) for a in names] for m, f in cond.items()]
        parts.append(_table([f"conditional mAP@{CONDITIONAL_K}"] + names, body))
    accuracy = report["per_attribute"].get("classifier_accuracy", {})
    if accuracy:
        parts.append(_table(["classifier accuracy (applicable items)"] + list(accuracy),
                            [["model"] + [_cell(f) for f in accuracy.values()],
                             ["items"] + [str(f["n"]) for f in accuracy.values()]]))
    dis = report.get("disentanglement") or {}
    if dis:
        parts.append(f"disentanglement (nearest centroid, applicable items): own {dis['own']:.3f}, "
                     f"others {dis['others']:.3f}")
    parts.append("seconds: " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()))
    return "\n\n".join(parts)
