"""fashionrec.ranking_metrics on hand-made rankings whose values are worked out by hand.

(Named test_retrieval_metrics.py, not test_metrics.py: tests/telemetry/test_metrics.py
already owns that module name, and the tests directories are not packages.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fashionrec import ranking_metrics
from fashionrec.errors import InvalidArgument

# Five gallery items, two attributes each.
GALLERY = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 1]])


def test_manipulation_hit_rate() -> None:
    ranking = np.array([[0, 1, 2], [4, 3, 2], [0, 2, 1]])
    targets = np.array([[1, 1], [1, 1], [2, 1]])
    # Query 0 finds [1, 1] nowhere in its top 3; query 1 at rank 2; query 2 never.
    assert ranking_metrics.manipulation_hit_rate(ranking, GALLERY, targets, k=1) == 0.0
    assert ranking_metrics.manipulation_hit_rate(ranking, GALLERY, targets, k=2) == pytest.approx(1 / 3)
    assert ranking_metrics.manipulation_hit_rate(ranking, GALLERY, targets, k=3) == pytest.approx(1 / 3)


def test_unknown_must_match_unknown() -> None:
    gallery = np.array([[0, -1], [0, 1]])
    assert ranking_metrics.manipulation_hit_rate(np.array([[0]]), gallery, np.array([[0, -1]]), 1) == 1.0
    assert ranking_metrics.manipulation_hit_rate(np.array([[1]]), gallery, np.array([[0, -1]]), 1) == 0.0


def test_manipulation_ndcg_by_hand() -> None:
    # Target [1, 1]; ranked items agree on 1/2, 2/2 attributes.
    ranking = np.array([[2, 3]])
    dcg = (2 ** 0.5 - 1) / math.log2(2) + (2 ** 1.0 - 1) / math.log2(3)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ranking_metrics.manipulation_ndcg(ranking, GALLERY, np.array([[1, 1]]), 2) == \
        pytest.approx(dcg / ideal)


def test_ndcg_uses_the_best_ordering_of_the_gains() -> None:
    assert ranking_metrics.ndcg_at_k(np.array([[1.0, 0.0, 0.0]]), 3) == 1.0
    expected = (1 / math.log2(3)) / 1.0
    assert ranking_metrics.ndcg_at_k(np.array([[0.0, 1.0, 0.0]]), 3) == pytest.approx(expected)
    assert ranking_metrics.ndcg_at_k(np.array([[0.0, 0.0]]), 2) == 0.0


def test_average_precision_by_hand() -> None:
    relevant = np.array([[True, False, True, False], [False, True, False, False]])
    # Query 0: (1/1 + 2/3) / min(3, 4); query 1: (1/2) / min(1, 4).
    expected = ((1 + 2 / 3) / 3 + 0.5 / 1) / 2
    assert ranking_metrics.mean_average_precision_at_k(relevant, np.array([3, 1]), 4) == \
        pytest.approx(expected)
    # R = 0 has no AP and is left out.
    assert ranking_metrics.mean_average_precision_at_k(relevant, np.array([3, 0]), 4) == \
        pytest.approx((1 + 2 / 3) / 3)


def test_conditional_map_counts_relevant_items_in_the_gallery() -> None:
    # Condition on attribute 1; query value 1 is held by items 1, 3, 4.
    ranking = np.array([[3, 0, 1]])
    expected = (1 / 1 + 2 / 3) / 3
    assert ranking_metrics.conditional_map_at_k(ranking, GALLERY, np.array([1]), 1, 3) == \
        pytest.approx(expected)


def test_fitb_accuracy() -> None:
    scores = np.array([[0.1, 0.9, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    assert ranking_metrics.fitb_accuracy(scores, np.array([1, 2, 1])) == pytest.approx(1 / 3)


def test_recall_at_k() -> None:
    ranking = np.array([[5, 7, 9], [1, 2, 3]])
    assert ranking_metrics.recall_at_k(ranking, np.array([7, 4]), 1) == 0.0
    assert ranking_metrics.recall_at_k(ranking, np.array([7, 4]), 2) == 0.5
    assert ranking_metrics.recall_at_k(ranking, np.array([7, 3]), 3) == 1.0


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="k"):
        ranking_metrics.recall_at_k(np.array([[1, 2]]), np.array([1]), 3)
    with pytest.raises(InvalidArgument, match="ranking"):
        ranking_metrics.recall_at_k(np.array([1, 2]), np.array([1]), 1)
    with pytest.raises(InvalidArgument, match="scores"):
        ranking_metrics.fitb_accuracy(np.zeros((2, 4)), np.zeros(3))


def test_per_query_forms_agree_with_the_means() -> None:
    ranking = np.array([[0, 1, 2], [4, 3, 2], [0, 2, 1]])
    targets = np.array([[1, 1], [1, 1], [2, 1]])
    hits = ranking_metrics.manipulation_hits(ranking, GALLERY, targets, k=2)
    assert hits.tolist() == [False, True, False]
    ndcg = ranking_metrics.manipulation_ndcg_per_query(ranking, GALLERY, targets, 3)
    assert ndcg.shape == (3,)
    assert ndcg.mean() == pytest.approx(ranking_metrics.manipulation_ndcg(ranking, GALLERY, targets, 3))


def test_a_group_constraint_needs_the_target_labels_and_the_querys_group() -> None:
    gallery = np.array([[0, 0], [1, 1], [0, 1], [1, 1]])
    groups = np.array([0, 5, 0, 7])  # rows 1 and 3 both carry [1, 1]; row 3 is of group 7
    ranking = np.array([[1, 3], [1, 3], [1, 0]])
    targets = np.array([[1, 1], [1, 1], [1, 1]])
    query_groups = np.array([7, 5, 7])
    assert ranking_metrics.manipulation_hits(ranking, gallery, targets, 2).tolist() == [True, True, True]
    kept = ranking_metrics.manipulation_hits(ranking, gallery, targets, 2, groups, query_groups)
    assert kept.tolist() == [True, True, False]  # query 3's only label match (row 1) is of group 5
    at_one = ranking_metrics.manipulation_hits(ranking, gallery, targets, 1, groups, query_groups)
    assert at_one.tolist() == [False, True, False]


def test_empty_slots_are_never_relevant() -> None:
    # −1 = a filter returned fewer items; it must not read the last gallery row ([2, 1]).
    ranking = np.array([[-1, -1], [2, -1]])
    targets = np.array([[2, 1], [1, 0]])
    assert ranking_metrics.manipulation_hits(ranking, GALLERY, targets, 2).tolist() == [False, True]
    ndcg = ranking_metrics.manipulation_ndcg_per_query(ranking, GALLERY, targets, 2)
    assert ndcg[0] == 0.0 and ndcg[1] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ranking_metrics.recall_hits(np.array([[-1, 3]]), np.array([4]), 2).tolist() == [False]
    ap = ranking_metrics.conditional_ap_per_query(np.array([[-1, 4]]), GALLERY, np.array([2]), 0, 2,
                                          n_relevant=np.array([1]))
    assert ap.tolist() == [0.5]  # the relevant item at rank 2: precision 1/2


def test_recall_hits_and_fitb_correct() -> None:
    ranking = np.array([[3, 1, 2], [0, 4, 1]])
    assert ranking_metrics.recall_hits(ranking, np.array([2, 4]), 2).tolist() == [False, True]
    assert ranking_metrics.recall_hits(ranking, np.array([2, 4]), 3).tolist() == [True, True]
    scores = np.array([[0.1, 0.9, 0.2, 0.0], [0.5, 0.5, 0.1, 0.0]])
    assert ranking_metrics.fitb_correct(scores, np.array([1, 1])).tolist() == [True, False]  # first wins ties


def test_conditional_ap_per_query_by_hand() -> None:
    # Query value 1 of attribute 1: relevant items are 1, 3, 4 (R = 3).
    ranking = np.array([[1, 0, 3], [0, 2, 4]])
    ap = ranking_metrics.conditional_ap_per_query(ranking, GALLERY, np.array([1, 1]), 1, 3)
    assert ap == pytest.approx([(1 + 2 / 3) / 3, (1 / 3) / 3])
    assert ap.mean() == pytest.approx(ranking_metrics.conditional_map_at_k(ranking, GALLERY, np.array([1, 1]), 1, 3))


def test_standard_errors_by_hand() -> None:
    hits = np.array([True, False, False, True])
    assert ranking_metrics.binomial_se(hits) == pytest.approx(math.sqrt(0.5 * 0.5 / 4))
    assert ranking_metrics.binomial_se(np.array([True] * 10)) == 0.0
    assert ranking_metrics.binomial_se(np.array([], bool)) == 0.0
    values = np.array([0.2, 0.4, 0.9])
    sd = math.sqrt(((0.2 - 0.5) ** 2 + (0.4 - 0.5) ** 2 + (0.9 - 0.5) ** 2) / 2)
    assert ranking_metrics.mean_se(values) == pytest.approx(sd / math.sqrt(3))
    assert ranking_metrics.mean_se(np.array([0.3])) == 0.0
    assert ranking_metrics.mean_and_se(hits) == pytest.approx((0.5, 0.25))
    assert ranking_metrics.mean_and_se(values) == pytest.approx((0.5, sd / math.sqrt(3)))
    assert ranking_metrics.mean_and_se(np.array([1.0, 0.0]), binary=True) == pytest.approx((0.5, math.sqrt(0.25 / 2)))
