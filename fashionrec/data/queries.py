"""Benchmark query sets drawn from one split of a catalog; the split is also the gallery.

- Attribute manipulation (Hou et al. 2021): a reference item, changes
  (attribute, current value → wanted value) and the target label vector. As
  in the paper, every (reference, attribute, new value) is enumerated and a
  query is kept only when some gallery item has exactly the target labels;
  `n_changes=2` enumerates pairs of attributes the same way.
- Conditional similarity: a reference and an attribute; relevant items share
  the reference's value of it ("n/a" and unknown values are not asked).
- Fill in the blank: an outfit with one item hidden and four candidates of the
  hidden item's category; on synthetic catalogs the three wrong ones break an
  outfit rule with the rest of the outfit.
- Complementary retrieval: an outfit minus one item and the hidden item's
  category; the hidden item's rank among all items of that category counts.

All functions are deterministic in (catalog, split, seed).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from fashionrec.data.catalog import Catalog
from fashionrec.data.outfits import OutfitRules
from fashionrec.errors import FailedPrecondition, InvalidArgument
from fashionrec.vocab import UNKNOWN, Vocabulary

NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class AttributeChange:
    attribute: int  # position in the vocabulary
    source: int  # value index the reference has
    target: int  # value index wanted


@dataclass(frozen=True)
class ManipulationQuery:
    reference: int  # catalog row
    changes: tuple[AttributeChange, ...]
    target_labels: tuple[int, ...]  # full label vector a correct answer has

    def indicator(self, vocabulary: Vocabulary) -> np.ndarray:
        """int8 (S,): −1 at each changed attribute's current value, +1 at the wanted one."""
        out = np.zeros(vocabulary.total_values, np.int8)
        for change in self.changes:
            offset = vocabulary.offsets[change.attribute]
            out[offset + change.source] = -1
            out[offset + change.target] = 1
        return out


@dataclass(frozen=True)
class ManipulationTriplet:
    """A training example: the reference with the changes applied should be nearer to
    `positive` (exactly the target labels) than to `negative` (other labels)."""

    reference: int
    positive: int
    negative: int
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class ConditionalQuery:
    reference: int  # catalog row
    attribute: int  # position of the conditioning attribute


@dataclass(frozen=True)
class FitbQuestion:
    outfit_id: str
    context: tuple[int, ...]  # the outfit's other items (catalog rows)
    candidates: tuple[int, ...]  # rows, all of the hidden item's category
    answer: int  # index into candidates
    blank_position: int  # where the hidden item sat in the outfit


@dataclass(frozen=True)
class ComplementaryQuery:
    outfit_id: str
    context: tuple[int, ...]  # the outfit minus the hidden item
    target_category: int  # value index of the category attribute
    hidden: int  # the row that was removed


def manipulation_queries(catalog: Catalog, split: str, seed: int, n_changes: int = 1,
                         max_queries: int | None = None) -> list[ManipulationQuery]:
    """Valid manipulation queries over the split (all of them, or a sample of max_queries)."""
    gallery = catalog.indices(split)
    queries = [ManipulationQuery(int(gallery[i]), changes, target)
               for i, changes, target in _valid_manipulations(catalog.labels[gallery], n_changes)]
    return _sample(queries, max_queries, np.random.default_rng([seed, 10, n_changes]))


def manipulation_triplets(catalog: Catalog, split: str, seed: int, n_triplets: int,
                          n_changes: int = 1) -> list[ManipulationTriplet]:
    """Training triplets from valid manipulations of the split."""
    rng = np.random.default_rng([seed, 11, n_changes])
    rows = catalog.indices(split)
    labels = catalog.labels[rows]
    valid = list(_valid_manipulations(labels, n_changes))
    if not valid:
        raise FailedPrecondition(f"no valid manipulation in split {split!r}")
    by_labels: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(labels):
        by_labels[tuple(int(x) for x in row)].append(i)
    out = []
    for pick in rng.integers(len(valid), size=n_triplets):
        i, changes, target = valid[pick]
        positives = by_labels[target]
        negative = int(rng.integers(len(rows)))
        while tuple(int(x) for x in labels[negative]) == target:
            negative = int(rng.integers(len(rows)))
        positive = positives[int(rng.integers(len(positives)))]
        out.append(ManipulationTriplet(int(rows[i]), int(rows[positive]), int(rows[negative]),
                                       changes))
    return out


def conditional_queries(catalog: Catalog, split: str, seed: int,
                        per_attribute: int = 100) -> list[ConditionalQuery]:
    """Per attribute, up to per_attribute references whose value another gallery item shares."""
    rng = np.random.default_rng([seed, 12])
    gallery = catalog.indices(split)
    labels = catalog.labels[gallery]
    out = []
    for a, attribute in enumerate(catalog.vocabulary.attributes):
        values, counts = np.unique(labels[:, a], return_counts=True)
        shared = {int(v) for v, c in zip(values, counts) if c > 1 and v != UNKNOWN
                  and attribute.values[v] != NOT_APPLICABLE}
        candidates = [int(gallery[i]) for i in range(len(gallery)) if int(labels[i, a]) in shared]
        out += [ConditionalQuery(r, a) for r in _sample(candidates, per_attribute, rng)]
    return out


def fitb_questions(catalog: Catalog, split: str, seed: int,
                   n_candidates: int = 4) -> list[FitbQuestion]:
    """One question per outfit of the split that has enough same-category distractors."""
    rng = np.random.default_rng([seed, 13])
    rules = _rules(catalog)
    by_category = _rows_by_category(catalog, split)
    out = []
    for outfit in _outfits_to_complete(catalog, split):
        position, hidden, context = _hide_one(outfit, rng)
        pool = by_category[int(catalog.labels[hidden, 0])]
        pool = pool[~np.isin(pool, outfit.items)]
        if rules is not None:
            # Prefer distractors that break a rule, so the question has one right answer.
            bad = ~rules.compatible_with(catalog.labels, catalog.styles,
                                         np.asarray(context), pool)
            pool = pool[bad] if bad.sum() >= n_candidates - 1 else pool
        if len(pool) < n_candidates - 1:
            continue
        wrong = rng.choice(pool, size=n_candidates - 1, replace=False)
        answer = int(rng.integers(n_candidates))
        candidates = [int(w) for w in wrong]
        candidates.insert(answer, hidden)
        out.append(FitbQuestion(outfit.outfit_id, context, tuple(candidates), answer, position))
    return out


def complementary_queries(catalog: Catalog, split: str, seed: int) -> list[ComplementaryQuery]:
    """One query per outfit of the split with at least two items."""
    rng = np.random.default_rng([seed, 14])
    out = []
    for outfit in _outfits_to_complete(catalog, split):
        _, hidden, context = _hide_one(outfit, rng)
        out.append(ComplementaryQuery(outfit.outfit_id, context, int(catalog.labels[hidden, 0]), hidden))
    return out


def _outfits_to_complete(catalog: Catalog, split: str) -> list:
    """The split's outfits with at least two items: one can be hidden and one stays."""
    return [o for o in catalog.outfits_of(split) if len(o.items) >= 2]


def _hide_one(outfit, rng: np.random.Generator) -> tuple[int, int, tuple[int, ...]]:
    """(position, hidden row, the other rows) for one item of outfit drawn at random."""
    position = int(rng.integers(len(outfit.items)))
    return position, outfit.items[position], outfit.items[:position] + outfit.items[position + 1:]


def category_rows(catalog: Catalog, split: str, category: int) -> np.ndarray:
    """The gallery of a complementary query: all rows of the split with that category."""
    rows = catalog.indices(split)
    return rows[catalog.labels[rows, 0] == category]


def _valid_manipulations(labels: np.ndarray, n_changes: int):
    """(gallery position, changes, target labels) for every valid manipulation, in a fixed order."""
    n_attributes = labels.shape[1]
    if not 1 <= n_changes <= n_attributes:
        raise InvalidArgument.for_field("n_changes", f"must be in [1, {n_attributes}]")
    found = []
    for changed in combinations(range(n_attributes), n_changes):
        kept = [a for a in range(n_attributes) if a not in changed]
        # Items that agree on every kept attribute form a group; the value combinations of
        # the changed attributes present in a group are the reachable targets.
        _, group = np.unique(labels[:, kept], axis=0, return_inverse=True)
        group = group.ravel()
        present: dict[int, set[tuple[int, ...]]] = defaultdict(set)
        for i, g in enumerate(group.tolist()):
            values = tuple(int(labels[i, a]) for a in changed)
            if UNKNOWN not in values:
                present[g].add(values)
        for i, g in enumerate(group.tolist()):
            source = tuple(int(labels[i, a]) for a in changed)
            if UNKNOWN in source:
                continue
            for values in sorted(present[g]):
                if all(s != t for s, t in zip(source, values)):
                    target = [int(x) for x in labels[i]]
                    for a, t in zip(changed, values):
                        target[a] = t
                    changes = tuple(AttributeChange(a, s, t)
                                    for a, s, t in zip(changed, source, values))
                    found.append((i, changes, tuple(target)))
    found.sort(key=lambda f: (f[0], [(c.attribute, c.target) for c in f[1]]))
    return found


def _sample(items: list, limit: int | None, rng: np.random.Generator) -> list:
    if limit is None or len(items) <= limit:
        return list(items)
    keep = np.sort(rng.choice(len(items), size=limit, replace=False))
    return [items[i] for i in keep]


def _rules(catalog: Catalog) -> OutfitRules | None:
    try:
        return OutfitRules.for_catalog(catalog)
    except FailedPrecondition:
        return None


def _rows_by_category(catalog: Catalog, split: str) -> dict[int, np.ndarray]:
    rows = catalog.indices(split)
    categories = catalog.labels[rows, 0]
    return {int(c): rows[categories == c] for c in np.unique(categories)}
