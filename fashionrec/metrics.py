"""Retrieval and outfit metrics, independent of any model (numpy only).

Every function takes what a retrieval produced (a ranking: row indices into
a gallery, best first) and the ground truth, and returns the mean over
queries as a float in [0, 1].

- Manipulation (Hou et al. 2021 protocol): a query hits at k when one of its
  top-k items has exactly the target's full label vector (UNKNOWN must match
  UNKNOWN, as missing one-hot blocks do in the published files). NDCG@k
  takes as gain the share of attributes on which an item agrees with the
  target, and is normalised, as in the paper's code, by k items that agree
  on everything.
- Conditional similarity: mAP@k, where an item is relevant when it has the
  query's value of the conditioning attribute. AP@k = (1 / min(R, k)) ·
  Σ_{i≤k} precision@i · rel_i, with R the number of relevant gallery items.
- Outfits: FITB accuracy (the best-scored candidate is the answer) and
  Recall@k (the hidden item is in the top k).
"""

from __future__ import annotations

import numpy as np

from fashionrec.errors import InvalidArgument


def manipulation_hit_rate(ranking: np.ndarray, gallery_labels: np.ndarray,
                          targets: np.ndarray, k: int) -> float:
    """Share of queries with an item of exactly the target label vector in the top k."""
    top = _top(ranking, k, len(targets))
    exact = (gallery_labels[top] == targets[:, None, :]).all(axis=2)
    return float(exact.any(axis=1).mean()) if len(top) else 0.0


def manipulation_ndcg(ranking: np.ndarray, gallery_labels: np.ndarray, targets: np.ndarray,
                      k: int) -> float:
    """NDCG@k with gain = share of attributes equal to the target's (paper normalisation)."""
    top = _top(ranking, k, len(targets))
    gains = (gallery_labels[top] == targets[:, None, :]).mean(axis=2)
    return ndcg_at_k(gains, k, ideal=np.ones_like(gains))


def ndcg_at_k(gains: np.ndarray, k: int, ideal: np.ndarray | None = None) -> float:
    """Mean NDCG@k of graded gains (Q, >=k) in ranked order, DCG = Σ (2^g − 1) / log2(i + 1).

    The ideal is the best ordering of `ideal` (default: of the gains themselves); a query
    whose ideal DCG is 0 scores 0.
    """
    gains = np.asarray(gains, np.float64)
    if gains.ndim != 2 or gains.shape[1] < k or k < 1:
        raise InvalidArgument.for_field("k", f"need gains of shape (Q, >={k}), got {gains.shape}")
    ideal = gains if ideal is None else np.asarray(ideal, np.float64)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = ((2.0 ** gains[:, :k] - 1) * discount).sum(axis=1)
    best = -np.sort(-ideal, axis=1)[:, :k]
    idcg = ((2.0 ** best - 1) * discount).sum(axis=1)
    scores = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
    return float(scores.mean()) if len(scores) else 0.0


def mean_average_precision_at_k(relevant: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """mAP@k of boolean relevance (Q, >=k) in ranked order; n_relevant = R per query.

    Queries with R = 0 have no defined AP and are left out of the mean.
    """
    relevant = np.asarray(relevant, bool)
    n_relevant = np.asarray(n_relevant)
    if relevant.ndim != 2 or relevant.shape[1] < k or k < 1:
        raise InvalidArgument.for_field("k", f"need relevance of shape (Q, >={k}), "
                                             f"got {relevant.shape}")
    if n_relevant.shape != (relevant.shape[0],):
        raise InvalidArgument.for_field("n_relevant", f"expected ({relevant.shape[0]},), got "
                                                      f"{n_relevant.shape}")
    hits = relevant[:, :k]
    precision = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    defined = n_relevant > 0
    ap = (precision * hits).sum(axis=1)[defined] / np.minimum(n_relevant[defined], k)
    return float(ap.mean()) if ap.size else 0.0


def conditional_map_at_k(ranking: np.ndarray, gallery_labels: np.ndarray,
                         query_values: np.ndarray, attribute: int, k: int,
                         n_relevant: np.ndarray | None = None) -> float:
    """mAP@k of rankings that should put items with the query's value of `attribute` first.

    The ranking should not contain the query item itself. `n_relevant` defaults to the
    number of gallery items with the query's value.
    """
    top = _top(ranking, k, len(query_values))
    values = gallery_labels[:, attribute]
    relevant = values[top] == query_values[:, None]
    if n_relevant is None:
        n_relevant = (values[None, :] == query_values[:, None]).sum(axis=1)
    return mean_average_precision_at_k(relevant, n_relevant, k)


def fitb_accuracy(scores: np.ndarray, answers: np.ndarray) -> float:
    """Share of questions whose highest-scored candidate is the answer (first one wins ties)."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or np.shape(answers) != (scores.shape[0],):
        raise InvalidArgument.for_field("scores", f"expected (Q, C) scores and (Q,) answers, "
                                                  f"got {scores.shape} and {np.shape(answers)}")
    return float((scores.argmax(axis=1) == np.asarray(answers)).mean()) if len(scores) else 0.0


def recall_at_k(ranking: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Share of queries whose target row is among the top k of their ranking."""
    top = _top(ranking, k, len(targets))
    return float((top == np.asarray(targets)[:, None]).any(axis=1).mean()) if len(top) else 0.0


def _top(ranking: np.ndarray, k: int, n_queries: int) -> np.ndarray:
    ranking = np.asarray(ranking)
    if ranking.ndim != 2 or ranking.shape[0] != n_queries:
        raise InvalidArgument.for_field("ranking", f"expected ({n_queries}, K) row indices, "
                                                   f"got {ranking.shape}")
    if k < 1 or ranking.shape[1] < k:
        raise InvalidArgument.for_field("k", f"must be in [1, {ranking.shape[1]}], got {k}")
    return ranking[:, :k]
