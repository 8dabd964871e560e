"""What every benchmark method shares: method names, the gallery prepared once, exact top-k.

Part of the catalog-scale benchmark (fashionrec.model.benchmark, whose docstring defines
the methods and figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fashionrec import ranking_metrics
from fashionrec.data.catalog import Catalog
from fashionrec.model.evaluation import Embeddings, l2_normalise
from fashionrec.vocab import UNKNOWN

__all__ = ["BETA_ZERO", "CHANGE_IGNORED", "CHUNK", "CLASSIFIER_SOFT", "CONDITIONAL_K", "CONDITIONAL_METHODS",
           "GAMMA_ZERO", "Gallery", "HARD_FILTER", "MANIPULATION_KS", "MANIPULATION_METHODS", "MODEL", "NDCG_K", "STYLE_KS", "OUTFIT_KS",
           "OUTFIT_METHODS", "POSTERIOR_ONLY", "RANDOM", "SERVED", "W_ZERO", "figure", "prepare_gallery",
           "rows_of", "served_positions", "target_onehot", "top_positions"]

# hit@1 and the style-keeping hit (benchmark_methods.manipulation_figures) are there because a
# good model saturates hit@10 at catalog scale (0.999 for model and classifier soft alike).
MANIPULATION_KS = (1, 10, 30, 50)
STYLE_KS = (1, 10)
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
GAMMA_ZERO = "ablation γ=0"
W_ZERO = "ablation w=0"
POSTERIOR_ONLY = "posterior only (w=1)"
SERVED = "served (gRPC)"

MANIPULATION_METHODS = (MODEL, GAMMA_ZERO, BETA_ZERO, CHANGE_IGNORED, HARD_FILTER, CLASSIFIER_SOFT, RANDOM)
CONDITIONAL_METHODS = (MODEL, W_ZERO, POSTERIOR_ONLY, RANDOM)
OUTFIT_METHODS = (MODEL, RANDOM)


def figure(values: np.ndarray, binary: bool | None = None) -> dict[str, float]:
    """{"mean", "se", "n"} of per-query values."""
    mean, se = ranking_metrics.mean_and_se(values, binary)
    return {"mean": mean, "se": se, "n": int(np.asarray(values).size)}


@dataclass
class Gallery:
    """The gallery rows and what every method needs of them, computed once."""

    rows: np.ndarray
    position: np.ndarray  # catalog row → gallery position, −1 outside
    labels: np.ndarray
    whole: np.ndarray  # L2n(r)
    log_probs: np.ndarray | None
    predicted_onehot: np.ndarray | None  # (G, S) 1 at each attribute's argmax value
    outfit: np.ndarray | None = None  # (G, D) the style embeddings e (unit)
    extra: dict[str, Any] = field(default_factory=dict)


def prepare_gallery(emb: Embeddings, catalog: Catalog, rows: np.ndarray) -> Gallery:
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
    return Gallery(rows, position, catalog.labels[rows], l2_normalise(emb.whole[rows].astype(np.float32)),
                   log_probs, onehot, emb.outfit[rows].astype(np.float32))





def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
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


def target_onehot(catalog: Catalog, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, S) 1 at each known target value, and the number of known targets per query."""
    vocab = catalog.vocabulary
    out = np.zeros((len(targets), vocab.total_values), np.float32)
    for a in range(targets.shape[1]):
        known = targets[:, a] != UNKNOWN
        out[np.flatnonzero(known), vocab.offsets[a] + targets[known, a]] = 1.0
    return out, (targets != UNKNOWN).sum(axis=1)


def served_positions(rankings: list[list[int]], gallery: Gallery, k: int) -> np.ndarray:
    """Catalog rows (ragged) → (Q, k) gallery positions, −1 padding and for rows outside the gallery."""
    out = np.full((len(rankings), k), -1, np.int64)
    for i, rows in enumerate(rankings):
        rows = np.asarray(rows[:k], np.int64)
        out[i, :len(rows)] = gallery.position[rows] if len(rows) else []
    return out


def rows_of(positions: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.where(positions >= 0, gallery[np.maximum(positions, 0)], -1)
