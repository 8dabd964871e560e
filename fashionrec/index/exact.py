"""Exact numpy search over a catalog held in memory: the ground truth for recall and the contract tests.

Written from the formulas (not from fashionrec.index.compose), so that the
comparison checks the composed query vectors as well as the engine. Everything a query
does not change is computed once (unit rows, √posteriors, masks per filter field) in
float32, and the top k comes from argpartition: the bench's "exact numpy" column is then
what a practitioner's exact search costs, not a strawman (it normalised every row and
sorted the whole catalog per query).


  manipulate   cos(r + sum_changes (M[:, target] - M[:, current]), g) + β sum_a log p_g(t_a) + γ e·e_g
  similar      cos(r, g)
  similar_by   sum_a w_a [(1 - ω) cos(q_a, g_a) + ω sum_v sqrt(p_qa(v) p_ga(v))] / sum_a w_a
  outfit       mean_o e_o^T A e_c
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fashionrec.artifact import ModelArtifact
from fashionrec.index.compose import Change
from fashionrec.index.filters import Filters
from fashionrec.index.schema import IndexedItem


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class ExactCatalog:
    def __init__(self, artifact: ModelArtifact, items: Sequence[IndexedItem]) -> None:
        spec = artifact.spec
        self._artifact = artifact
        self._items = list(items)
        self._row = {e.item.sku: i for i, e in enumerate(self._items)}
        n, d = len(spec.attribute_names), spec.attribute_dim
        self._whole = np.stack([e.whole for e in self._items]).astype(np.float32)
        self._unit_whole = _unit_rows(self._whole)
        self._chunks = _unit_rows(self._whole.reshape(len(self._items), n, d))
        log_probs = np.stack([e.log_probs for e in self._items]).astype(np.float64)
        self._log_probs = log_probs.astype(np.float32)
        # Per attribute (N, n_values_a) in attribute order: the Bhattacharyya term's factor.
        self._sqrt_posteriors = [self._sqrt_posterior(log_probs, a) for a in range(n)]
        self._outfit = np.stack([e.outfit for e in self._items]).astype(np.float32)
        self._predicted = {a: np.array([e.item.predicted_labels.get(a) for e in self._items], dtype=object)
                           for a in spec.attribute_names}
        self._category = np.array([spec.categories.index(e.item.category) for e in self._items])
        self._categories = np.array([e.item.category for e in self._items])
        self._brands = np.array([e.item.brand for e in self._items])
        self._prices = np.array([e.item.price for e in self._items])
        self._in_stock = np.array([e.item.in_stock for e in self._items])

    def _sqrt_posterior(self, log_probs: np.ndarray, a: int) -> np.ndarray:
        vocab = self._artifact.spec.vocabulary
        values = slice(vocab.offsets[a], vocab.offsets[a] + len(vocab.attributes[a].values))
        p = np.exp(log_probs[:, values])
        return np.sqrt(p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def _mask(self, filters: Filters, exclude: Sequence[str]) -> np.ndarray:
        mask = np.ones(len(self._items), dtype=bool)
        if filters.categories:
            mask &= np.isin(self._categories, list(filters.categories))
        if filters.brands:
            mask &= np.isin(self._brands, list(filters.brands))
        if filters.min_price is not None:
            mask &= self._prices >= filters.min_price
        if filters.max_price is not None:
            mask &= self._prices <= filters.max_price
        if filters.in_stock is not None:
            mask &= self._in_stock == filters.in_stock
        for sku in exclude:
            mask[self._row[sku]] = False
        return mask

    def _top(self, scores: np.ndarray, mask: np.ndarray, k: int) -> list[tuple[str, float]]:
        candidates = np.flatnonzero(mask)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self._items[i].item.sku, float(scores[i])) for i in order if np.isfinite(scores[i])]

    def _cos_whole(self, query: np.ndarray) -> np.ndarray:
        return self._unit_whole @ (query / np.linalg.norm(query)).astype(np.float32)

    def similar(self, sku: str, filters: Filters, k: int) -> list[tuple[str, float]]:
        return self._top(self._cos_whole(self._whole[self._row[sku]]), self._mask(filters, [sku]), k)

    def manipulate(
        self, sku: str, changes: Sequence[Change], filters: Filters, k: int, require_predicted_target: bool = False
    ) -> list[tuple[str, float]]:
        spec = self._artifact.spec
        vocab = spec.vocabulary
        item = self._items[self._row[sku]].item
        query = self._whole[self._row[sku]].copy()
        target = {a: item.labels.get(a) or item.predicted_labels.get(a) for a in spec.attribute_names}
        for change in changes:
            query += self._artifact.prototypes[:, vocab.global_index(change.attribute, change.value)]
            current = item.labels.get(change.attribute) or item.predicted_labels.get(change.attribute)
            if current is not None:
                query -= self._artifact.prototypes[:, vocab.global_index(change.attribute, current)]
            target[change.attribute] = change.value
        columns = [vocab.global_index(a, v) for a, v in target.items() if v is not None]
        posterior = self._log_probs[:, columns].sum(axis=1)
        mask = self._mask(filters, [sku])
        if require_predicted_target:
            for c in changes:
                mask &= self._predicted[c.attribute] == c.value
        style = self._outfit @ (np.float32(spec.style_weight) * self._outfit[self._row[sku]])
        return self._top(self._cos_whole(query) + spec.posterior_weight * posterior + style, mask, k)

    def similar_by(self, sku: str, weights: Mapping[str, float], filters: Filters, k: int) -> list[tuple[str, float]]:
        spec = self._artifact.spec
        vocab, omega = spec.vocabulary, spec.similarity_posterior_weight
        row = self._row[sku]
        q = self._chunks[row]
        scores = np.zeros(len(self._items), dtype=np.float32)
        for attribute, weight in weights.items():
            a = vocab.position(attribute)
            root = self._sqrt_posteriors[a]
            overlap = root @ root[row]
            scores += weight * ((1 - omega) * (self._chunks[:, a, :] @ q[a]) + omega * overlap)
        return self._top(scores / sum(weights.values()), self._mask(filters, [sku]), k)

    def complete_outfit(
        self, outfit_skus: Sequence[str], target: str, filters: Filters, k: int
    ) -> list[tuple[str, float]]:
        t = self._artifact.spec.categories.index(target)
        context = np.mean([self._outfit[self._row[sku]] for sku in outfit_skus], axis=0)
        scores = self._outfit @ (context @ self._artifact.outfit_bilinear).astype(np.float32)
        mask = self._mask(filters, outfit_skus) & (self._category == t)
        return self._top(scores, mask, k)
