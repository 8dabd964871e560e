"""Exact-search scoring shared by validation during training and by `fashionrec eval`."""

from __future__ import annotations

import numpy as np


def l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def top_k(queries: np.ndarray, gallery: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Exact cosine search: (Q, k) gallery indices, best first.

    exclude (Q,): a gallery index per query that must not be returned (the query item
    itself), or -1 for none.
    """
    scores = l2_normalise(queries.astype(np.float32)) @ l2_normalise(gallery.astype(np.float32)).T
    if exclude is not None:
        rows = np.flatnonzero(exclude >= 0)
        scores[rows, exclude[rows]] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def manipulation_hit_rate(ranked_labels: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Share of queries with an item of exactly the target label vector in the top k.

    ranked_labels (Q, K≥k, n): label vectors of the ranked gallery items; targets (Q, n).
    """
    match = (ranked_labels[:, :k] == targets[:, None, :]).all(-1)
    return float(match.any(1).mean()) if len(targets) else 0.0
