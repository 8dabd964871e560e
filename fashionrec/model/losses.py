"""The training losses of ADDE (and of the outfit head), on plain tensors.

Every loss ignores what it cannot use: unknown labels (fashionrec.vocab.UNKNOWN)
drop out of classification, of the triplets of their attribute and of the
consistency terms; a batch with nothing to compare gives a zero that still
carries a graph, so the training loop needs no special cases.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fashionrec.vocab import UNKNOWN

LABEL_MARGIN = 0.5


def _zero_like_graph(t: torch.Tensor) -> torch.Tensor:
    return t.sum() * 0.0


def classification_loss(logits: list[torch.Tensor], labels: torch.Tensor,
                        class_weights: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Σ_a CE(logits_a, labels[:, a]), each averaged over the items whose label is known.

    Args:
        logits: per attribute (B, |values_a|).
        labels: (B, n) value indices, UNKNOWN where not known.
        class_weights: per attribute (|values_a|,), or None for the plain mean. With weights
            each attribute's CE is the weighted mean Σ w_y·CE / Σ w_y (torch's convention).
    """
    total = _zero_like_graph(logits[0])
    for a, lg in enumerate(logits):
        known = labels[:, a] != UNKNOWN
        if known.any():
            weight = None if class_weights is None else class_weights[a].to(lg.device)
            total = total + F.cross_entropy(lg[known].float(), labels[known, a], weight=weight)
    return total


def balanced_class_weights(labels: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Per attribute, w_v = n / (K·n_v) over the known labels (sklearn's "balanced"); 1 for unseen values.

    Why: "n/a" is a value, and for neckline it is 70% of the items (every category but
    tops and dresses), read off the category for free. A plain mean then spends most of
    the neckline gradient on that, and the shipped encoder's neckline stayed at chance
    (0.35 on applicable items) while a network trained on necklines alone reached 0.90.

    Args:
        labels: (N, n) training labels, UNKNOWN where not known.
        sizes: the number of values of each attribute.
    """
    weights = []
    for a, size in enumerate(sizes):
        column = labels[:, a][labels[:, a] != UNKNOWN]
        counts = torch.bincount(column, minlength=size).double()
        seen = counts > 0
        w = torch.ones(size, dtype=torch.float64)
        if seen.any():
            w[seen] = counts.sum() / (seen.sum() * counts[seen])
        weights.append(w.float())
    return weights


def same_labels(labels: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: rows with identical label vectors (labels (B,) or (B, k), compared exactly)."""
    if labels.dim() == 1:
        labels = labels.unsqueeze(1)
    return (labels.unsqueeze(1) == labels.unsqueeze(0)).all(-1)


def semi_hard_triplet_loss(embeddings: torch.Tensor, same: torch.Tensor, valid: torch.Tensor | None = None,
                           margin: float = LABEL_MARGIN) -> torch.Tensor:
    """Batch-online semi-hard triplet loss (FaceNet; TensorFlow's `triplet_semihard_loss`).

    Every (anchor, positive) pair with `same` true is a triplet; its negative is the
    closest negative farther from the anchor than the positive (semi-hard), or, when
    none is, the farthest negative. Distances are Euclidean on the given embeddings.
    Items with valid false take no part. Mean of max(0, d(a,p) − d(a,n) + margin).
    """
    b = embeddings.shape[0]
    if valid is None:
        valid = torch.ones(b, dtype=torch.bool, device=embeddings.device)
    both = valid.unsqueeze(0) & valid.unsqueeze(1)
    eye = torch.eye(b, dtype=torch.bool, device=embeddings.device)
    positive = same & both & ~eye
    negative = ~same & both
    x = embeddings.float()
    sq = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1)
    # sqrt has an infinite gradient at 0 (an item and itself, or duplicates).
    dist = torch.sqrt(sq.clamp(min=1e-12))
    d_ap = dist.unsqueeze(2)  # (a, p, 1)
    d_an = dist.unsqueeze(1)  # (a, 1, n)
    neg = negative.unsqueeze(1)  # (a, 1, n)
    inf = torch.tensor(float("inf"), device=x.device)
    outside = torch.where(neg & (d_an > d_ap), d_an, inf).amin(-1)  # semi-hard: (a, p)
    farthest = torch.where(neg, d_an, -inf).amax(-1).expand(b, b)
    chosen = torch.where(torch.isfinite(outside), outside, farthest)
    pairs = positive & negative.any(1, keepdim=True)
    if not pairs.any():
        return _zero_like_graph(embeddings)
    return F.relu(dist[pairs] - chosen[pairs] + margin).mean()


def attribute_triplet_loss(chunks: torch.Tensor, labels: torch.Tensor, margin: float = LABEL_MARGIN) -> torch.Tensor:
    """Σ_a semi-hard triplet on L2n(r_a), positives = same known value of attribute a."""
    total = _zero_like_graph(chunks)
    for a in range(chunks.shape[1]):
        known = labels[:, a] != UNKNOWN
        total = total + semi_hard_triplet_loss(
            F.normalize(chunks[:, a].float(), dim=-1), same_labels(labels[:, a]), known, margin)
    return total


def label_triplet_loss(whole: torch.Tensor, labels: torch.Tensor, margin: float = LABEL_MARGIN) -> torch.Tensor:
    """Semi-hard triplet on L2n(r), positives = identical full label vectors (no hashing)."""
    return semi_hard_triplet_loss(F.normalize(whole.float(), dim=-1), same_labels(labels), None, margin)


def compositional_triplet_loss(manipulated: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                               margin: float = LABEL_MARGIN) -> torch.Tensor:
    """mean max(0, ‖r̂' − r̂_p‖ − ‖r̂' − r̂_n‖ + margin) on L2-normalised whole vectors."""
    q = F.normalize(manipulated.float(), dim=-1)
    p = F.normalize(positive.float(), dim=-1)
    n = F.normalize(negative.float(), dim=-1)
    return F.relu((q - p).norm(dim=-1) - (q - n).norm(dim=-1) + margin).mean()


def consistency_loss(composed: torch.Tensor, representation: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L1(M·y, r): mean absolute difference over the chunks whose label is known.

    composed, representation: (B, n·d); labels (B, n) say which chunks count.
    """
    b, n = labels.shape
    known = (labels != UNKNOWN).unsqueeze(-1).to(composed.dtype)  # (B, n, 1)
    diff = (composed.float() - representation.float()).abs().view(b, n, -1) * known
    count = known.sum() * diff.shape[-1]
    if count == 0:
        return _zero_like_graph(diff)
    return diff.sum() / count


def memory_loss(off_block: torch.Tensor) -> torch.Tensor:
    """‖(1 − D) ⊙ M‖₁: the L1 norm of the memory outside its attribute blocks."""
    return off_block.abs().sum()


def outfit_infonce_loss(scores: torch.Tensor, target: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of picking each outfit's true item among its allowed candidates.

    scores (B, U): compatibility of every encoded item with each outfit (higher is better);
    target (B,): the column of each outfit's held-out item; allowed (B, U): the candidates
    (the held-out item and its negatives), the rest are left out of the softmax.
    Every negative contributes, weighted by how close it comes; the hardest-negative hinge
    it replaces stopped learning at its margin (training loss exactly 0.300, FITB 0.31).
    """
    return F.cross_entropy(scores.masked_fill(~allowed, float("-inf")), target)
