"""The benchmark's methods scored on the query sets: manipulation, conditional similarity,
outfits, and the classifier's accuracy. Each returns per-method figures with standard errors.

Part of the catalog-scale benchmark (fashionrec.model.benchmark, whose docstring defines
the methods and figures).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from fashionrec import ranking_metrics
from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model.benchmark_gallery import (BETA_ZERO, CHANGE_IGNORED, CHUNK, CLASSIFIER_SOFT, CONDITIONAL_K,
                                                CONDITIONAL_METHODS, GAMMA_ZERO, HARD_FILTER, MANIPULATION_KS, STYLE_KS,
                                                MANIPULATION_METHODS, MODEL, NDCG_K, OUTFIT_KS, OUTFIT_METHODS,
                                                POSTERIOR_ONLY, RANDOM, SERVED, W_ZERO, Gallery, figure, rows_of,
                                                served_positions, target_onehot, top_positions)
from fashionrec.model.evaluation import Embeddings, l2_normalise, outfit_query
from fashionrec.vocab import UNKNOWN

__all__ = ["ManipulationParts", "ServedQueries", "classifier_accuracy", "conditional_figures", "exclude_reference",
           "manipulation_figures", "manipulation_parts", "manipulation_rankings", "outfit_figures",
           "pairwise_fitb_scores", "per_attribute_hits"]


class ServedQueries(Protocol):
    """Answers the benchmark's queries through the running services (catalog rows in and out).

    Each method returns a ranking of catalog rows, best first, at most k long.
    """

    k: int

    def manipulate(self, reference: int, changes: Sequence[q.AttributeChange]) -> list[int]: ...

    def similar(self, reference: int, attribute: int) -> list[int]: ...

    def complete(self, context: Sequence[int], target_category: int) -> list[int]: ...

    def score_outfit(self, rows: Sequence[int]) -> float:
        """ScoreOutfit's mean pairwise score of the items (NaN when the call failed)."""
        ...


@dataclass
class ManipulationParts:
    """The score terms of a chunk of manipulation queries against the gallery, each (Q, G)."""

    composed: np.ndarray  # cos(r_q + M·i, r_g)
    soft: np.ndarray | None  # Σ_a log p_g(t_a)
    style: np.ndarray  # ⟨e_q, e_g⟩
    own: np.ndarray  # (Q,) the reference's gallery position, −1 outside
    onehot: np.ndarray  # (Q, S) the target labels (target_onehot)
    n_known: np.ndarray  # (Q,) known target attributes per query

    def model(self, beta: float, gamma: float) -> np.ndarray:
        """The served score: composed + β·soft + γ·style (fashionrec.index.compose)."""
        out = self.composed + np.float32(gamma) * self.style
        return out if self.soft is None else out + np.float32(beta) * self.soft


def manipulation_parts(emb: Embeddings, catalog: Catalog, gallery: Gallery,
                       part: list[q.ManipulationQuery]) -> ManipulationParts:
    refs = np.array([x.reference for x in part])
    indicators = np.stack([x.indicator(catalog.vocabulary) for x in part]).astype(np.float32)
    composed = l2_normalise(emb.whole[refs].astype(np.float32)
                            + indicators @ emb.prototypes.astype(np.float32).T) @ gallery.whole.T
    onehot, n_known = target_onehot(catalog, np.array([x.target_labels for x in part]))
    soft = None if gallery.log_probs is None else onehot @ gallery.log_probs.T
    style = emb.outfit[refs].astype(np.float32) @ gallery.outfit.T
    return ManipulationParts(composed, soft, style, gallery.position[refs], onehot, n_known)


def exclude_reference(scores: np.ndarray, own: np.ndarray) -> np.ndarray:
    """A copy of the scores with each query's own item at −inf (it is never returned)."""
    values = np.array(scores, np.float32)
    mask = own >= 0
    values[np.flatnonzero(mask), own[mask]] = -np.inf
    return values


def manipulation_rankings(emb: Embeddings, catalog: Catalog, gallery: Gallery,
                          queries: list[q.ManipulationQuery], beta: float, rng: np.random.Generator,
                          k: int = max(MANIPULATION_KS), bar=None, gamma: float = 0.0) -> dict[str, np.ndarray]:
    """Method → (Q, k) rankings of gallery positions (−1: empty slot)."""
    methods = [m for m in MANIPULATION_METHODS
               if gallery.log_probs is not None or m not in (HARD_FILTER, CLASSIFIER_SOFT)]
    out: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    for start in range(0, len(queries), CHUNK):
        part = queries[start:start + CHUNK]
        refs = np.array([x.reference for x in part])
        parts = manipulation_parts(emb, catalog, gallery, part)
        composed = parts.composed
        scores: dict[str, Callable[[], np.ndarray]] = {
            MODEL: lambda: parts.model(beta, gamma),
            GAMMA_ZERO: lambda: parts.model(beta, 0.0),
            BETA_ZERO: lambda: composed,
            CHANGE_IGNORED: lambda: l2_normalise(emb.whole[refs].astype(np.float32)) @ gallery.whole.T,
            RANDOM: lambda: rng.random(composed.shape).astype(np.float32),
        }
        if parts.soft is not None:
            matched = (parts.onehot @ gallery.predicted_onehot.T) >= parts.n_known[:, None] - 0.5
            scores[CLASSIFIER_SOFT] = lambda: parts.soft
            scores[HARD_FILTER] = lambda: np.where(matched, composed, -np.inf)
        for m in methods:
            out[m].append(top_positions(exclude_reference(scores[m](), parts.own), k))
        if bar is not None:
            bar.update(len(part))
    return {m: np.concatenate(v) if v else np.zeros((0, k), np.int64) for m, v in out.items()}


def manipulation_figures(ranking: np.ndarray, gallery_labels: np.ndarray,
                         queries: list[q.ManipulationQuery], ks: Sequence[int] = MANIPULATION_KS,
                         gallery_styles: np.ndarray | None = None, reference_styles: np.ndarray | None = None
                         ) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """(figures with SE, per-query values) of one method's rankings.

    With styles (the generator's hidden style of each gallery item and of each query's
    reference), "style hit@k" (k = 1, 10) counts a top-k item with the target labels *and*
    the reference's style: what the labels do not name, kept.
    """
    targets = np.array([x.target_labels for x in queries]).reshape(len(queries), -1)
    per_query = {f"hit@{k}": ranking_metrics.manipulation_hits(ranking, gallery_labels, targets, k) for k in ks}
    if gallery_styles is not None and reference_styles is not None:
        for k in sorted({min(k, ranking.shape[1]) for k in STYLE_KS}):
            per_query[f"style hit@{k}"] = ranking_metrics.manipulation_hits(
                ranking, gallery_labels, targets, k, gallery_styles, reference_styles)
    ndcg_k = min(NDCG_K, ranking.shape[1])
    per_query[f"ndcg@{ndcg_k}"] = ranking_metrics.manipulation_ndcg_per_query(ranking, gallery_labels, targets, ndcg_k)
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


def conditional_figures(emb: Embeddings, catalog: Catalog, gallery: Gallery,
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
                rankings[m].append(top_positions(exclude(scores[m]()), k))
            if bar is not None:
                bar.update(len(refs))
        values = catalog.labels[refs_all, a]
        # The reference is not in its own ranking, so it is not one of the relevant items either.
        n_relevant = (gallery.labels[None, :, a] == values[:, None]).sum(axis=1) - (gallery.position[refs_all] >= 0)
        if served is not None:
            rankings[SERVED] = [served_positions([served.similar(int(r), a) for r in refs_all], gallery, k)]
            if bar is not None:
                bar.update(len(refs_all))
        for m, parts in rankings.items():
            ap = ranking_metrics.conditional_ap_per_query(np.concatenate(parts), gallery.labels, values, a, k, n_relevant)
            per_query[m].append(ap)
            out[m][attribute.name] = figure(ap, binary=False)
    for m, parts in per_query.items():
        if parts:
            out[m] = {"mean": figure(np.concatenate(parts), binary=False), **out[m]}
    return out


def pairwise_fitb_scores(emb: Embeddings, fitb: list[q.FitbQuestion]) -> np.ndarray:
    """(Q, C) FITB scores the way ScoreOutfit ranks "context + candidate": the symmetric pair
    score (e_o^T A e_c + e_c^T A e_o) / 2 (fashionrec.index.compose.pair_score) summed over the
    context. ScoreOutfit returns the mean over every pair of the outfit; the context's own pairs
    are the same for each candidate, so both orders of the candidates agree. Complete, and the
    "fitb" figure, use the directed form A^T mean_o e_o instead."""
    form = 0.5 * (emb.outfit_bilinear + emb.outfit_bilinear.T)
    return np.array([[emb.outfit[list(x.context)].sum(0) @ form @ emb.outfit[c] for c in x.candidates]
                     for x in fitb])


def outfit_figures(emb: Embeddings, catalog: Catalog, gallery_split: str, fitb: list[q.FitbQuestion],
                   complementary: list[q.ComplementaryQuery], rng: np.random.Generator,
                   served: ServedQueries | None = None, bar=None
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(method → {"fitb", "recall@k"}, facts about the category galleries of `gallery_split`)."""
    out: dict[str, dict[str, Any]] = {m: {} for m in OUTFIT_METHODS + ((SERVED,) if served else ())}
    if fitb:
        scores = np.array([[outfit_query(emb, catalog, x.context, int(catalog.labels[c, 0])) @ emb.outfit[c]
                            for c in x.candidates] for x in fitb])
        answers = np.array([x.answer for x in fitb])
        out[MODEL]["fitb"] = figure(ranking_metrics.fitb_correct(scores, answers))
        out[RANDOM]["fitb"] = figure(ranking_metrics.fitb_correct(rng.random(scores.shape), answers))
        out[MODEL]["fitb_pairs"] = figure(ranking_metrics.fitb_correct(pairwise_fitb_scores(emb, fitb), answers))
        if served is not None:
            # NaN (a failed call) never wins: argmax of a row with NaN is the NaN, so it becomes -inf.
            asked = np.array([[served.score_outfit((*x.context, c)) for c in x.candidates] for x in fitb])
            if bar is not None:
                bar.update(len(fitb))
            out[SERVED]["fitb_pairs"] = figure(ranking_metrics.fitb_correct(np.nan_to_num(asked, nan=-np.inf),
                                                                            answers))
    facts: dict[str, Any] = {}
    comp = complementary
    if comp:
        k = max(OUTFIT_KS)
        rankings = {m: np.full((len(comp), k), -1, np.int64) for m in out}
        categories = np.array([x.target_category for x in comp])
        sizes = []
        for c in np.unique(categories):
            gallery = q.category_rows(catalog, gallery_split, int(c))
            sizes.append(len(gallery))
            which = np.flatnonzero(categories == c)
            vectors = np.stack([outfit_query(emb, catalog, comp[i].context, int(c)) for i in which])
            model = vectors @ emb.outfit[gallery].T
            random = rng.random(model.shape)
            for j, i in enumerate(which):
                inside = np.isin(gallery, comp[i].context)
                model[j, inside] = random[j, inside] = -np.inf
            rankings[MODEL][which] = rows_of(top_positions(model, k), gallery)
            rankings[RANDOM][which] = rows_of(top_positions(random, k), gallery)
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
                    out[m][f"recall@{kk}"] = figure(ranking_metrics.recall_hits(ranking, hidden, kk))
        facts = {"category_gallery_mean": float(np.mean(sizes)), "category_gallery_min": int(np.min(sizes))}
    return out, facts


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
