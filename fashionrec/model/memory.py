"""The prototype memory M and attribute manipulation r' = r + M·i.

M has one column per attribute value (global order of the Vocabulary) and one row
per dimension of the whole representation. Column j is the prototype of value j:
it lives in its attribute's slice of rows, and the memory loss keeps the other
rows at zero (block-diagonal), so adding M·i changes only the manipulated chunks.
"""

from __future__ import annotations

import torch
from torch import nn

from fashionrec.vocab import UNKNOWN, Vocabulary


def block_mask(vocabulary: Vocabulary, attribute_dim: int) -> torch.Tensor:
    """D: (n·d, S) float, 1 where row and column belong to the same attribute."""
    n, total = len(vocabulary.attributes), vocabulary.total_values
    mask = torch.zeros(n * attribute_dim, total)
    for a, (offset, attribute) in enumerate(zip(vocabulary.offsets, vocabulary.attributes)):
        mask[a * attribute_dim:(a + 1) * attribute_dim, offset:offset + len(attribute.values)] = 1.0
    return mask


def multi_hot(labels: torch.Tensor, vocabulary: Vocabulary) -> torch.Tensor:
    """Labels (B, n), UNKNOWN allowed → (B, S) with a 1 at each known value's global column."""
    offsets = torch.tensor(vocabulary.offsets, device=labels.device)
    known = labels != UNKNOWN
    columns = (labels.clamp(min=0) + offsets)[known]
    rows = torch.arange(labels.shape[0], device=labels.device).unsqueeze(1).expand_as(labels)[known]
    out = torch.zeros(labels.shape[0], vocabulary.total_values, device=labels.device)
    out[rows, columns] = 1.0
    return out


def manipulation_indicator(current: torch.Tensor, target: torch.Tensor, vocabulary: Vocabulary) -> torch.Tensor:
    """i ∈ {−1, 0, +1}^S: −1 at the current value and +1 at the target value of each changed attribute.

    current, target: labels (B, n); attributes where they agree (or either is UNKNOWN) are unchanged.
    """
    changed = (current != target) & (current != UNKNOWN) & (target != UNKNOWN)
    keep = torch.where(changed, current, torch.full_like(current, UNKNOWN))
    put = torch.where(changed, target, torch.full_like(target, UNKNOWN))
    return multi_hot(put, vocabulary) - multi_hot(keep, vocabulary)


class PrototypeMemory(nn.Module):
    def __init__(self, vocabulary: Vocabulary, attribute_dim: int) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.attribute_dim = attribute_dim
        n = len(vocabulary.attributes)
        self.weight = nn.Parameter(torch.zeros(n * attribute_dim, vocabulary.total_values))
        self.register_buffer("mask", block_mask(vocabulary, attribute_dim), persistent=False)

    @torch.no_grad()
    def initialise(self, chunks: torch.Tensor, labels: torch.Tensor, per_value: int = 100) -> None:
        """Set each value's prototype to the mean r_a of up to `per_value` items with that value.

        chunks: (N, n, d) attribute representations of training items; labels: (N, n).
        Values that no item has keep a zero prototype. Off-block entries become zero.
        """
        weight = torch.zeros_like(self.weight)
        d = self.attribute_dim
        for a, (offset, attribute) in enumerate(zip(self.vocabulary.offsets, self.vocabulary.attributes)):
            for v in range(len(attribute.values)):
                rows = torch.nonzero(labels[:, a] == v).flatten()[:per_value]
                if len(rows):
                    weight[a * d:(a + 1) * d, offset + v] = chunks[rows, a].float().mean(0).to(weight.device)
        self.weight.copy_(weight)

    def manipulate(self, whole: torch.Tensor, indicator: torch.Tensor) -> torch.Tensor:
        """r' = r + M·i for whole representations (B, n·d) and indicators (B, S)."""
        return whole + indicator.to(self.weight.dtype) @ self.weight.t()

    def compose(self, labels: torch.Tensor) -> torch.Tensor:
        """M·y: the sum of the prototypes of each item's known values, (B, n·d)."""
        return multi_hot(labels, self.vocabulary) @ self.weight.t()

    def off_block(self) -> torch.Tensor:
        """(1 − D) ⊙ M, the part the memory loss drives to zero."""
        return self.weight * (1.0 - self.mask)
