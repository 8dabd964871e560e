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

Each figure also has a per-query form (`*_per_query`: one value per query) from which the
mean and its standard error follow: `binomial_se` for hit rates and accuracies (a share of
n Bernoulli outcomes), `mean_se` for averages of graded values (AP, NDCG). A ranking may
hold −1 for an empty slot (a filter that returned fewer than k items): it is never
relevant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fashionrec.errors import InvalidArgument


def manipulation_hits(ranking: np.ndarray, gallery_labels: np.ndarray, targets: np.ndarray,
                      k: int, gallery_groups: np.ndarray | None = None,
                      query_groups: np.ndarray | None = None) -> np.ndarray:
    """bool (Q,): whether an item of exactly the target label vector is in the top k.

    Args:
        ranking: (Q, >=k) gallery positions, −1 for an empty slot.
        gallery_labels: (G, n) label vectors.
        targets: (Q, n) target label vectors.
        k: the cut-off.
        gallery_groups, query_groups: (G,) and (Q,) — when given, a hit must also share the
            query's group (e.g. the reference item's hidden style: "this dress in red" should
            stay the same kind of dress in what no label names).
    """
    top = _top(ranking, k, len(targets))
    safe = np.maximum(top, 0)
    agree = (gallery_labels[safe] == np.asarray(targets)[:, None, :]).all(axis=2) & (top >= 0)
    if gallery_groups is not None:
        agree &= np.asarray(gallery_groups)[safe] == np.asarray(query_groups)[:, None]
    return agree.any(axis=1)


def manipulation_hit_rate(ranking: np.ndarray, gallery_labels: np.ndarray,
                          targets: np.ndarray, k: int) -> float:
    """Share of queries with an item of exactly the target label vector in the top k."""
    hits = manipulation_hits(ranking, gallery_labels, targets, k)
    return float(hits.mean()) if len(hits) else 0.0


def manipulation_ndcg_per_query(ranking: np.ndarray, gallery_labels: np.ndarray, targets: np.ndarray,
                                k: int) -> np.ndarray:
    """NDCG@k per query, gain = share of attributes equal to the target's (paper normalisation)."""
    top = _top(ranking, k, len(targets))
    gains = (gallery_labels[np.maximum(top, 0)] == np.asarray(targets)[:, None, :]).mean(axis=2)
    gains = np.where(top >= 0, gains, 0.0)
    return ndcg_per_query(gains, k, ideal=np.ones_like(gains))


def manipulation_ndcg(ranking: np.ndarray, gallery_labels: np.ndarray, targets: np.ndarray,
                      k: int) -> float:
    """NDCG@k with gain = share of attributes equal to the target's (paper normalisation)."""
    scores = manipulation_ndcg_per_query(ranking, gallery_labels, targets, k)
    return float(scores.mean()) if len(scores) else 0.0


def ndcg_at_k(gains: np.ndarray, k: int, ideal: np.ndarray | None = None) -> float:
    """Mean NDCG@k of graded gains (Q, >=k) in ranked order, DCG = Σ (2^g − 1) / log2(i + 1).

    The ideal is the best ordering of `ideal` (default: of the gains themselves); a query
    whose ideal DCG is 0 scores 0.
    """
    scores = ndcg_per_query(gains, k, ideal)
    return float(scores.mean()) if len(scores) else 0.0


def ndcg_per_query(gains: np.ndarray, k: int, ideal: np.ndarray | None = None) -> np.ndarray:
    """NDCG@k of each query (see ndcg_at_k)."""
    gains = np.asarray(gains, np.float64)
    if gains.ndim != 2 or gains.shape[1] < k or k < 1:
        raise InvalidArgument.for_field("k", f"need gains of shape (Q, >={k}), got {gains.shape}")
    ideal = gains if ideal is None else np.asarray(ideal, np.float64)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = ((2.0 ** gains[:, :k] - 1) * discount).sum(axis=1)
    best = -np.sort(-ideal, axis=1)[:, :k]
    idcg = ((2.0 ** best - 1) * discount).sum(axis=1)
    return np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)


def mean_average_precision_at_k(relevant: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """mAP@k of boolean relevance (Q, >=k) in ranked order; n_relevant = R per query.

    Queries with R = 0 have no defined AP and are left out of the mean.
    """
    ap = average_precision_per_query(relevant, n_relevant, k)
    return float(ap.mean()) if ap.size else 0.0


def average_precision_per_query(relevant: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """AP@k of each query with R > 0 (queries with R = 0 are left out)."""
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
    return (precision * hits).sum(axis=1)[defined] / np.minimum(n_relevant[defined], k)


def conditional_ap_per_query(ranking: np.ndarray, gallery_labels: np.ndarray,
                             query_values: np.ndarray, attribute: int, k: int,
                             n_relevant: np.ndarray | None = None) -> np.ndarray:
    """AP@k per query (queries without a relevant gallery item left out); see conditional_map_at_k."""
    top = _top(ranking, k, len(query_values))
    values = gallery_labels[:, attribute]
    relevant = (values[np.maximum(top, 0)] == np.asarray(query_values)[:, None]) & (top >= 0)
    if n_relevant is None:
        n_relevant = (values[None, :] == np.asarray(query_values)[:, None]).sum(axis=1)
    return average_precision_per_query(relevant, n_relevant, k)


def conditional_map_at_k(ranking: np.ndarray, gallery_labels: np.ndarray,
                         query_values: np.ndarray, attribute: int, k: int,
                         n_relevant: np.ndarray | None = None) -> float:
    """mAP@k of rankings that should put items with the query's value of `attribute` first.

    The ranking should not contain the query item itself. `n_relevant` defaults to the
    number of gallery items with the query's value.
    """
    ap = conditional_ap_per_query(ranking, gallery_labels, query_values, attribute, k, n_relevant)
    return float(ap.mean()) if ap.size else 0.0


def fitb_correct(scores: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """bool (Q,): whether the highest-scored candidate is the answer (first one wins ties)."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or np.shape(answers) != (scores.shape[0],):
        raise InvalidArgument.for_field("scores", f"expected (Q, C) scores and (Q,) answers, "
                                                  f"got {scores.shape} and {np.shape(answers)}")
    if not len(scores):
        return np.zeros(0, bool)
    return scores.argmax(axis=1) == np.asarray(answers)


def fitb_accuracy(scores: np.ndarray, answers: np.ndarray) -> float:
    """Share of questions whose highest-scored candidate is the answer (first one wins ties)."""
    correct = fitb_correct(scores, answers)
    return float(correct.mean()) if len(correct) else 0.0


def recall_hits(ranking: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """bool (Q,): whether the query's target row is among the top k of its ranking."""
    top = _top(ranking, k, len(targets))
    targets = np.asarray(targets)
    return ((top == targets[:, None]) & (top >= 0)).any(axis=1)


def recall_at_k(ranking: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Share of queries whose target row is among the top k of their ranking."""
    hits = recall_hits(ranking, targets, k)
    return float(hits.mean()) if len(hits) else 0.0


def binomial_se(successes: np.ndarray) -> float:
    """Standard error of a share: sqrt(p (1 − p) / n) of n Bernoulli outcomes (0 when n = 0)."""
    successes = np.asarray(successes, np.float64)
    n = successes.size
    if n == 0:
        return 0.0
    p = float(successes.mean())
    return float(np.sqrt(p * (1.0 - p) / n))


def mean_se(values: Sequence[float] | np.ndarray) -> float:
    """Standard error of a mean: sample standard deviation (n − 1) / sqrt(n); 0 when n < 2."""
    values = np.asarray(values, np.float64)
    n = values.size
    if n < 2:
        return 0.0
    return float(values.std(ddof=1) / np.sqrt(n))


def mean_and_se(values: np.ndarray, binary: bool | None = None) -> tuple[float, float]:
    """(mean, standard error) of per-query values: binomial for booleans, else of the mean.

    `binary` overrides the guess from the dtype.
    """
    values = np.asarray(values)
    binary = values.dtype == bool if binary is None else binary
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean()), binomial_se(values) if binary else mean_se(values)


def _top(ranking: np.ndarray, k: int, n_queries: int) -> np.ndarray:
    ranking = np.asarray(ranking)
    if ranking.ndim != 2 or ranking.shape[0] != n_queries:
        raise InvalidArgument.for_field("ranking", f"expected ({n_queries}, K) row indices, "
                                                   f"got {ranking.shape}")
    if k < 1 or ranking.shape[1] < k:
        raise InvalidArgument.for_field("k", f"must be in [1, {ranking.shape[1]}], got {k}")
    return ranking[:, :k]
