"""Measuring a model on one split of a catalog, with exact (brute-force) search.

The catalog-scale benchmark that `fashionrec eval` runs (whole-catalog gallery, baselines,
standard errors) is fashionrec.model.benchmark; this module holds the building blocks it
shares with training's validation (evaluate_manipulation, outfit_query, disentanglement)
and the per-split report `evaluate`.

The query sets come from fashionrec.data.queries and the metrics from
fashionrec.ranking_metrics; this module only turns a model's vectors into rankings and
scores, the same way the index composes its queries:

- manipulation: rank L2n(r) of the gallery by cosine to r + M·i;
- conditional similarity: rank r_a by cosine to the reference's r_a;
- outfits: the score of y for an outfit is ⟨A^T mean_i e_i, e_y⟩ (fashionrec.model.outfit);
- disentanglement: nearest-centroid accuracy of each chunk for each attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fashionrec import ranking_metrics
from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.model.adde import ADDE
from fashionrec.model.inference import encode_tensor
from fashionrec.vocab import UNKNOWN

KS = (10, 30, 50)


@dataclass(frozen=True)
class Embeddings:
    """What the evaluation needs of a model, for every row of a catalog (or NaN rows)."""

    attributes: np.ndarray  # (N, n, d)
    whole: np.ndarray  # (N, n·d)
    outfit: np.ndarray  # (N, D): unit style embeddings e
    prototypes: np.ndarray  # (n·d, S)
    outfit_bilinear: np.ndarray  # (D, D): A
    log_probs: np.ndarray | None = None  # (N, S): floored log p_a(value) (fashionrec.model.inference)
    disentangled: bool = True

    def attribute(self, position: int) -> np.ndarray:
        return self.attributes[:, position] if self.disentangled else self.whole


def l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def top_k(queries: np.ndarray, gallery: np.ndarray, k: int, exclude: np.ndarray | None = None,
          cosine: bool = True) -> np.ndarray:
    """Exact search: (Q, k) gallery positions, best first.

    exclude (Q,): a gallery position per query never to return (the query itself), −1 for none.
    """
    queries, gallery = queries.astype(np.float32), gallery.astype(np.float32)
    if cosine:
        queries, gallery = l2_normalise(queries), l2_normalise(gallery)
    scores = queries @ gallery.T
    if exclude is not None:
        rows = np.flatnonzero(exclude >= 0)
        scores[rows, exclude[rows]] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def manipulated(emb: Embeddings, rows: np.ndarray, indicators: np.ndarray) -> np.ndarray:
    """r + M·i for the given catalog rows."""
    return emb.whole[rows] + indicators.astype(np.float32) @ emb.prototypes.T


def evaluate_manipulation(emb: Embeddings, catalog: Catalog, split: str, queries: list[q.ManipulationQuery],
                          ks: tuple[int, ...] = KS) -> dict[str, float]:
    if not queries:
        return {}
    gallery = catalog.indices(split)
    position = np.full(len(catalog), -1)
    position[gallery] = np.arange(len(gallery))
    refs = np.array([x.reference for x in queries])
    indicators = np.stack([x.indicator(catalog.vocabulary) for x in queries])
    targets = np.array([x.target_labels for x in queries])
    ranking = top_k(manipulated(emb, refs, indicators), emb.whole[gallery], max(ks), exclude=position[refs])
    labels = catalog.labels[gallery]
    # A gallery smaller than k is ranked entirely: @k then means @(gallery size − 1).
    width = ranking.shape[1]
    out = {f"hit@{k}": ranking_metrics.manipulation_hit_rate(ranking, labels, targets, min(k, width)) for k in ks}
    out["ndcg@30"] = ranking_metrics.manipulation_ndcg(ranking, labels, targets, min(30, width))
    out["queries"] = len(queries)
    return out


def evaluate_conditional(emb: Embeddings, catalog: Catalog, split: str, queries: list[q.ConditionalQuery],
                         k: int = 10) -> dict[str, float]:
    gallery = catalog.indices(split)
    position = np.full(len(catalog), -1)
    position[gallery] = np.arange(len(gallery))
    labels = catalog.labels[gallery]
    out = {}
    for a, attribute in enumerate(catalog.vocabulary.attributes):
        refs = np.array([x.reference for x in queries if x.attribute == a])
        if len(refs) == 0:
            continue
        vectors = emb.attribute(a)
        ranking = top_k(vectors[refs], vectors[gallery], k, exclude=position[refs])
        values = catalog.labels[refs, a]
        # The query is not in its own ranking, so it is not one of the relevant items either.
        n_relevant = (labels[None, :, a] == values[:, None]).sum(1) - 1
        out[attribute.name] = ranking_metrics.conditional_map_at_k(ranking, labels, values, a, ranking.shape[1],
                                                           n_relevant)
    return out


def outfit_query(emb: Embeddings, catalog: Catalog, context: tuple[int, ...], target_category: int) -> np.ndarray:
    """A^T mean_i e_i: one vector whose dot product with e_y is y's score (any target category)."""
    return emb.outfit_bilinear.T @ emb.outfit[np.asarray(context)].mean(0)


def evaluate_outfits(emb: Embeddings, catalog: Catalog, split: str, seed: int,
                     ks: tuple[int, ...] = KS) -> dict[str, float]:
    out: dict[str, float] = {}
    fitb = q.fitb_questions(catalog, split, seed)
    if fitb:
        scores = np.array([[outfit_query(emb, catalog, x.context, int(catalog.labels[c, 0])) @ emb.outfit[c]
                            for c in x.candidates] for x in fitb])
        out["fitb"] = ranking_metrics.fitb_accuracy(scores, np.array([x.answer for x in fitb]))
        out["fitb_questions"] = len(fitb)
    comp = q.complementary_queries(catalog, split, seed)
    if comp:
        rankings = []
        for x in comp:
            gallery = q.category_rows(catalog, split, x.target_category)
            gallery = gallery[~np.isin(gallery, x.context)]
            query = outfit_query(emb, catalog, x.context, x.target_category)
            order = np.argsort(-(emb.outfit[gallery] @ query), kind="stable")[:max(ks)]
            ranked = gallery[order]
            rankings.append(np.pad(ranked, (0, max(ks) - len(ranked)), constant_values=-1))
        ranking, hidden = np.stack(rankings), np.array([x.hidden for x in comp])
        out.update({f"recall@{k}": ranking_metrics.recall_at_k(ranking, hidden, k) for k in ks})
        out["complementary_queries"] = len(comp)
    return out


def disentanglement(emb: Embeddings, catalog: Catalog, fit_split: str, test_split: str) -> dict[str, object]:
    """Nearest-centroid accuracy of chunk c for attribute b, centroids from fit_split.

    A disentangled chunk predicts its own attribute well (diagonal) and the others
    only as well as their correlation with it allows (off-diagonal). Only items the
    attribute applies to count (known and not "n/a": "n/a" follows from the category).
    """
    names = catalog.vocabulary.names
    fit, test = catalog.indices(fit_split), catalog.indices(test_split)
    n = len(names)
    acc = np.zeros((n, n))
    for c in range(n):
        vectors = l2_normalise(emb.attribute(c))
        for b in range(n):
            known_fit = fit[_applicable(catalog, fit, b)]
            known_test = test[_applicable(catalog, test, b)]
            values = np.unique(catalog.labels[known_fit, b])
            if len(known_test) == 0 or len(values) == 0:
                continue
            centroids = np.stack([vectors[known_fit[catalog.labels[known_fit, b] == v]].mean(0) for v in values])
            predicted = values[np.argmax(vectors[known_test] @ l2_normalise(centroids).T, axis=1)]
            acc[c, b] = float((predicted == catalog.labels[known_test, b]).mean())
    off = acc[~np.eye(n, dtype=bool)]
    return {"own": float(np.diag(acc).mean()), "others": float(off.mean()) if off.size else 0.0,
            "matrix": {names[c]: {names[b]: round(float(acc[c, b]), 4) for b in range(n)} for c in range(n)}}


def _applicable(catalog: Catalog, rows: np.ndarray, attribute: int) -> np.ndarray:
    """bool per row: the label of attribute is known and not "n/a"."""
    labels = catalog.labels[rows, attribute]
    out = labels != UNKNOWN
    values = catalog.vocabulary.attributes[attribute].values
    if q.NOT_APPLICABLE in values:
        out &= labels != values.index(q.NOT_APPLICABLE)
    return out


def evaluate(emb: Embeddings, catalog: Catalog, split: str = "test", seed: int = 0,
             max_queries: int = 2000, conditional_per_attribute: int = 200) -> dict[str, object]:
    """Every figure of the report for one split (it is both the query set and the gallery)."""
    single = q.manipulation_queries(catalog, split, seed, n_changes=1, max_queries=max_queries)
    multi = q.manipulation_queries(catalog, split, seed, n_changes=2, max_queries=max_queries)
    conditional = q.conditional_queries(catalog, split, seed, per_attribute=conditional_per_attribute)
    return {
        "split": split,
        "gallery": int(len(catalog.indices(split))),
        "manipulation_single": evaluate_manipulation(emb, catalog, split, single),
        "manipulation_multi": evaluate_manipulation(emb, catalog, split, multi),
        "conditional_map@10": evaluate_conditional(emb, catalog, split, conditional),
        "outfit": evaluate_outfits(emb, catalog, split, seed),
        "disentanglement": disentanglement(emb, catalog, "train", split),
    }


def model_embeddings(model: ADDE, images: torch.Tensor, device: torch.device,
                     rows: np.ndarray | None = None, cpu_bfloat16: bool = False) -> Embeddings:
    """Embeddings of an in-memory ADDE for the given rows of uint8 (N, 3, s, s) images.

    Rows not asked for stay zero (validation encodes only its split). cpu_bfloat16: encode
    under bfloat16 autocast on the CPU too, as an encoder with EncoderSettings.cpu_bfloat16 does.
    """
    n_rows = len(images)
    rows = np.arange(n_rows) if rows is None else np.asarray(rows)
    enc = encode_tensor(model, images[torch.as_tensor(rows, device=images.device)], device,
                        cpu_bfloat16=cpu_bfloat16)
    attributes = np.zeros((n_rows, *enc.attributes.shape[1:]), np.float32)
    outfit = np.zeros((n_rows, enc.outfit.shape[1]), np.float32)
    log_probs = np.zeros((n_rows, enc.log_probs.shape[1]), np.float32)
    attributes[rows], outfit[rows], log_probs[rows] = enc.attributes, enc.outfit, enc.log_probs
    with torch.no_grad():
        prototypes = model.memory.weight.detach().float().cpu().numpy()
        bilinear = model.outfit.bilinear.detach().float().cpu().numpy()
    return Embeddings(attributes=attributes, whole=attributes.reshape(len(attributes), -1), outfit=outfit,
                      prototypes=prototypes, outfit_bilinear=bilinear, log_probs=log_probs,
                      disentangled=model.config.disentangled)
