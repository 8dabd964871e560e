import math

import pytest
import torch

from fashionrec.model import losses
from fashionrec.vocab import UNKNOWN


def test_classification_ignores_unknown_labels_and_empty_attributes():
    logits = [torch.tensor([[0.0, 0.0], [5.0, -5.0]]), torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])]
    labels = torch.tensor([[0, UNKNOWN], [UNKNOWN, UNKNOWN]])
    # Only item 0 / attribute 0 is known: CE of uniform logits over 2 classes.
    assert losses.classification_loss(logits, labels).item() == pytest.approx(math.log(2))


def test_semi_hard_triplet_on_points_of_a_line():
    # x = 0, 1 (class A) and 1.5, 3 (class B). Pairs (0,1), (1,0), (3,2) have a semi-hard
    # negative beyond the margin; pair (2,3) has none farther than d=1.5, so it takes the
    # farthest negative (item 0, d=1.5): loss 1.5 − 1.5 + 0.5 = 0.5. Mean over 4 pairs.
    x = torch.tensor([[0.0], [1.0], [1.5], [3.0]])
    same = losses.same_labels(torch.tensor([0, 0, 1, 1]))
    assert losses.semi_hard_triplet_loss(x, same, margin=0.5).item() == pytest.approx(0.125)


def test_semi_hard_triplet_leaves_out_invalid_items():
    # Without item 3: pair (0,1) → negative 2 at 1.5 > 1: loss 0; pair (1,0) → only negative
    # 2 at 0.5 < 1, farthest is 0.5: loss 1 − 0.5 + 0.5 = 1. Mean 0.5.
    x = torch.tensor([[0.0], [1.0], [1.5], [3.0]])
    same = losses.same_labels(torch.tensor([0, 0, 1, 1]))
    valid = torch.tensor([True, True, True, False])
    assert losses.semi_hard_triplet_loss(x, same, valid, margin=0.5).item() == pytest.approx(0.5)


def test_semi_hard_triplet_without_pairs_is_a_zero_with_a_graph():
    x = torch.randn(3, 4, requires_grad=True)
    loss = losses.semi_hard_triplet_loss(x, losses.same_labels(torch.tensor([0, 1, 2])))
    assert loss.item() == 0.0
    loss.backward()
    assert x.grad is not None


def test_full_label_vectors_are_compared_exactly():
    labels = torch.tensor([[1, 2, 3], [1, 2, 3], [1, 2, 4], [3, 2, 1]])
    same = losses.same_labels(labels)
    assert same.tolist() == [
        [True, True, False, False],
        [True, True, False, False],
        [False, False, True, False],
        [False, False, False, True],
    ]


def test_attribute_triplet_uses_each_chunk_with_its_own_labels():
    # Attribute 0: chunks (1,0), (1,0), (0,1) with labels 0, 0, 1 → already separated by
    # √2 > 0.5: zero. Attribute 1: the same chunks with labels 0, 1, 1: anchor 1 and
    # positive 2 are √2 apart, the negative (item 0) is at 0: loss √2 + 0.5 for pair (1,2),
    # and for pair (2,1) the negative 0 is at √2, not farther: farthest = √2, loss 0.5.
    chunk = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    chunks = torch.stack([chunk, chunk], dim=1)
    labels = torch.tensor([[0, 0], [0, 1], [1, 1]])
    expected = ((math.sqrt(2) + 0.5) + 0.5) / 2
    assert losses.attribute_triplet_loss(chunks, labels).item() == pytest.approx(expected, rel=1e-5)


def test_compositional_triplet_normalises_and_hinges():
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    p = torch.tensor([[0.0, 1.0], [3.0, 0.0]])
    n = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    # Row 0: √2 − 0 + 0.5; row 1: 0 − √2 + 0.5 < 0 → 0.
    expected = (math.sqrt(2) + 0.5) / 2
    assert losses.compositional_triplet_loss(q, p, n).item() == pytest.approx(expected, rel=1e-6)


def test_consistency_counts_only_known_chunks():
    composed = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    representation = torch.zeros(1, 4)
    labels = torch.tensor([[0, UNKNOWN]])
    assert losses.consistency_loss(composed, representation, labels).item() == pytest.approx(1.5)


def test_memory_loss_is_the_l1_norm_of_the_off_block_part():
    off_block = torch.tensor([[0.0, 0.0, 3.0], [-4.0, 5.0, 0.0]])
    assert losses.memory_loss(off_block).item() == pytest.approx(12.0)


def test_outfit_infonce_is_the_cross_entropy_of_the_true_item_among_the_allowed():
    scores = torch.tensor([[1.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    allowed = torch.tensor([[True, True, True, False], [True, True, True, True]])
    target = torch.tensor([0, 3])
    # Row 0: −log(e / (e + 2)) (column 3 is not a candidate); row 1: all four equal, −log(1/4).
    expected = (math.log(math.e + 2) - 1.0 + math.log(4.0)) / 2
    assert losses.outfit_infonce_loss(scores, target, allowed).item() == pytest.approx(expected, rel=1e-6)
    # Every negative counts: a lower second negative lowers the loss (a hinge on the hardest would not move).
    one = torch.ones(1, 3, dtype=torch.bool)
    assert (losses.outfit_infonce_loss(torch.tensor([[1.0, 0.5, -1.0]]), torch.tensor([0]), one)
            < losses.outfit_infonce_loss(torch.tensor([[1.0, 0.5, 0.0]]), torch.tensor([0]), one))


def test_balanced_class_weights_follow_n_over_k_times_count_and_ignore_unknown():
    # attribute 0: values 0,0,0,1 (n=4, K=2) → 4/(2·3), 4/(2·1); value 2 never seen → 1.
    # attribute 1: one unknown dropped; values 1,1,1 → only value 1 seen: 3/(1·3) = 1.
    labels = torch.tensor([[0, 1], [0, 1], [0, UNKNOWN], [1, 1]])
    w0, w1 = losses.balanced_class_weights(labels, [3, 2])
    torch.testing.assert_close(w0, torch.tensor([4 / 6, 2.0, 1.0]))
    torch.testing.assert_close(w1, torch.tensor([1.0, 1.0]))


def test_weighted_classification_is_the_weighted_mean_of_the_item_losses():
    logits = [torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])]
    labels = torch.tensor([[0], [1], [0]])
    weights = [torch.tensor([0.5, 3.0])]
    per_item = torch.nn.functional.cross_entropy(logits[0], labels[:, 0], reduction="none")
    w = weights[0][labels[:, 0]]
    expected = (w * per_item).sum() / w.sum()
    torch.testing.assert_close(losses.classification_loss(logits, labels, weights), expected)
    plain = losses.classification_loss(logits, labels)
    torch.testing.assert_close(plain, per_item.mean())
