"""Which items go into a training batch: label-paired batches for the triplet losses,
(reference, positive, negative, indicator) manipulation triplets, and outfit questions.

All samplers draw from a numpy Generator they are given, so an epoch is reproducible
from (seed, stage, epoch) alone and a resumed run sees the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fashionrec.vocab import UNKNOWN


def _groups(labels: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unique full label vectors among rows, and the rows holding each."""
    unique, inverse = np.unique(labels[rows], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1]
    return unique, np.split(rows[order], bounds)


def labelled_batches(labels: np.ndarray, rows: np.ndarray, batch_size: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches over `rows` for the batch-online triplets.

    Random batches of a large label space rarely hold two items with the same full
    label vector, which leaves the label triplet nothing to pull together; so half of
    each batch is pairs of items that share their label vector, the rest is the epoch's
    shuffled rows (every row is seen once per epoch).
    """
    _, members = _groups(labels, rows)
    paired = [m for m in members if len(m) >= 2]
    order = rng.permutation(rows)
    n_random = max(1, batch_size // 2)
    batches = []
    for start in range(0, len(order), n_random):
        part = [order[start:start + n_random]]
        if paired:
            for g in rng.choice(len(paired), size=(batch_size - n_random) // 2):
                part.append(rng.choice(paired[g], size=2, replace=False))
        batches.append(np.unique(np.concatenate(part)))
    return batches


@dataclass(frozen=True)
class ManipulationTriplets:
    reference: np.ndarray  # (B,) rows
    positive: np.ndarray  # (B,) rows whose full label vector is the target
    negative: np.ndarray  # (B,) rows whose label vector is not the target
    target: np.ndarray  # (B, n) target label vectors


class ManipulationSampler:
    """Draws manipulation triplets from the items of one split.

    A target is an existing label vector that differs from the reference's in one or two
    known attributes, so every query has at least one correct answer. Half of the
    negatives are hard: they miss the target in exactly one attribute (often the
    reference's own vector); the others are any item with a different label vector.
    """

    def __init__(self, labels: np.ndarray, rows: np.ndarray, max_changes: int = 2) -> None:
        self.labels = labels
        self.rows = np.asarray(rows)
        self.max_changes = max_changes
        self.vectors, self.members = _groups(labels, self.rows)
        self._known = self.vectors != UNKNOWN

    def _differences(self, vector: np.ndarray) -> np.ndarray:
        """Per unique vector: attributes that differ from `vector`; -1 where a side is unknown."""
        differ = (self.vectors != vector) & self._known & (vector != UNKNOWN)
        unknown_change = (self.vectors != vector) & ~(self._known & (vector != UNKNOWN))
        return np.where(unknown_change.any(1), -1, differ.sum(1))

    def sample(self, size: int, rng: np.random.Generator) -> ManipulationTriplets:
        refs, pos, neg, targets = [], [], [], []
        while len(refs) < size:
            q = int(rng.choice(self.rows))
            diff = self._differences(self.labels[q])
            changes = int(rng.integers(1, self.max_changes + 1))
            candidates = np.flatnonzero(diff == changes)
            if len(candidates) == 0:
                candidates = np.flatnonzero(diff == 1)
                if len(candidates) == 0:
                    continue
            t = int(rng.choice(candidates))
            target = self.vectors[t]
            near = np.flatnonzero(self._differences(target) == 1)
            if rng.random() < 0.5 and len(near):
                n = int(rng.choice(self.members[int(rng.choice(near))]))
            else:
                while True:
                    n = int(rng.choice(self.rows))
                    if not np.array_equal(self.labels[n], target):
                        break
            refs.append(q)
            pos.append(int(rng.choice(self.members[t])))
            neg.append(n)
            targets.append(target)
        return ManipulationTriplets(np.array(refs), np.array(pos), np.array(neg), np.stack(targets))


@dataclass(frozen=True)
class OutfitBatch:
    items: np.ndarray  # (B, m) rows of the outfit's remaining items, padded with -1
    positive: np.ndarray  # (B,) the held-out item
    negatives: np.ndarray  # (B, K) items of the held-out item's category from other outfits


def outfit_batches(outfits: list[tuple[int, ...]], categories: np.ndarray, rows: np.ndarray,
                   batch_size: int, n_negatives: int, rng: np.random.Generator) -> list[OutfitBatch]:
    """One epoch over the outfits: each holds out one random item, with sampled negatives."""
    rows = np.asarray(rows)
    by_category = {int(c): rows[categories[rows] == c] for c in np.unique(categories[rows])}
    usable = [o for o in outfits if len(o) >= 2]
    width = max((len(o) for o in usable), default=2) - 1
    order = rng.permutation(len(usable))
    batches = []
    for start in range(0, len(usable), batch_size):
        items, positive, negatives = [], [], []
        for k in order[start:start + batch_size]:
            outfit = usable[int(k)]
            held = int(rng.integers(len(outfit)))
            rest = [r for i, r in enumerate(outfit) if i != held]
            pool = by_category.get(int(categories[outfit[held]]), rows)
            pool = pool[~np.isin(pool, outfit)]
            if len(pool) == 0:
                continue
            items.append(rest + [-1] * (width - len(rest)))
            positive.append(outfit[held])
            negatives.append(rng.choice(pool, size=n_negatives, replace=len(pool) < n_negatives))
        if items:
            batches.append(OutfitBatch(np.array(items), np.array(positive), np.stack(negatives)))
    return batches
