"""Exact numpy search over a catalog held in memory: the ground truth for recall and the contract tests.

Written from the formulas (not from fashionrec.index.compose), so that the
comparison checks the composed query vectors as well as the engine:

  manipulate   cos(r + sum_changes (M[:, target] - M[:, current]), g)
  similar      cos(r, g)
  similar_by   sum_a w_a cos(q_a, g_a) / sum_a w_a
  outfit       mean_o sum_a W[cat(o), t, a] <o_a, c_a>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fashionrec.artifact import ModelArtifact
from fashionrec.index.compose import Change
from fashionrec.index.filters import Filters
from fashionrec.index.schema import IndexedItem


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class ExactCatalog:
    def __init__(self, artifact: ModelArtifact, items: Sequence[IndexedItem]) -> None:
        spec = artifact.spec
        self._artifact = artifact
        self._items = list(items)
        self._row = {e.item.sku: i for i, e in enumerate(self._items)}
        n, d = len(spec.attribute_names), spec.attribute_dim
        self._whole = np.stack([e.whole for e in self._items]).astype(np.float64)
        self._chunks = _unit_rows(self._whole.reshape(len(self._items), n, d))
        self._outfit = np.stack([e.outfit for e in self._items]).astype(np.float64).reshape(len(self._items), n, -1)
        self._category = np.array([spec.categories.index(e.item.category) for e in self._items])
        self._categories = np.array([e.item.category for e in self._items])
        self._brands = np.array([e.item.brand for e in self._items])
        self._prices = np.array([e.item.price for e in self._items])
        self._in_stock = np.array([e.item.in_stock for e in self._items])

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
        scores = np.where(mask, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self._items[i].item.sku, float(scores[i])) for i in order if np.isfinite(scores[i])]

    def _cos_whole(self, query: np.ndarray) -> np.ndarray:
        return _unit_rows(self._whole) @ (query / np.linalg.norm(query))

    def similar(self, sku: str, filters: Filters, k: int) -> list[tuple[str, float]]:
        return self._top(self._cos_whole(self._whole[self._row[sku]]), self._mask(filters, [sku]), k)

    def manipulate(
        self, sku: str, changes: Sequence[Change], filters: Filters, k: int, require_predicted_target: bool = False
    ) -> list[tuple[str, float]]:
        vocab = self._artifact.spec.vocabulary
        item = self._items[self._row[sku]].item
        query = self._whole[self._row[sku]].copy()
        for change in changes:
            query += self._artifact.prototypes[:, vocab.global_index(change.attribute, change.value)]
            current = item.labels.get(change.attribute) or item.predicted_labels.get(change.attribute)
            if current is not None:
                query -= self._artifact.prototypes[:, vocab.global_index(change.attribute, current)]
        mask = self._mask(filters, [sku])
        if require_predicted_target:
            for c in changes:
                mask &= np.array([e.item.predicted_labels.get(c.attribute) == c.value for e in self._items])
        return self._top(self._cos_whole(query), mask, k)

    def similar_by(self, sku: str, weights: Mapping[str, float], filters: Filters, k: int) -> list[tuple[str, float]]:
        positions = self._artifact.spec.vocabulary
        q = self._chunks[self._row[sku]]
        scores = np.zeros(len(self._items))
        for attribute, weight in weights.items():
            a = positions.position(attribute)
            scores += weight * (self._chunks[:, a, :] @ q[a])
        return self._top(scores / sum(weights.values()), self._mask(filters, [sku]), k)

    def complete_outfit(
        self, outfit_skus: Sequence[str], target: str, filters: Filters, k: int
    ) -> list[tuple[str, float]]:
        t = self._artifact.spec.categories.index(target)
        scores = np.zeros(len(self._items))
        for sku in outfit_skus:
            o = self._row[sku]
            w = self._artifact.outfit_weights[self._category[o], t]
            scores += np.einsum("a,nab,ab->n", w, self._outfit, self._outfit[o])
        mask = self._mask(filters, outfit_skus) & (self._category == t)
        return self._top(scores / len(outfit_skus), mask, k)
