"""Benchmark query sets drawn from one split of a catalog (or all of it); that is also the gallery.

`split` is "train", "val", "test" or ALL ("all": every row and every outfit of the
catalog, the catalog-scale benchmark of `fashionrec eval --gallery all`).

- Attribute manipulation (Hou et al. 2021): a reference item, changes
  (attribute, current value → wanted value) and the target label vector. As
  in the paper, every (reference, attribute, new value) is enumerated and a
  query is kept only when some gallery item has exactly the target labels;
  `n_changes=2` enumerates pairs of attributes the same way. The enumeration is
  vectorised per set of changed attributes (24,000 items: about a second). Options:
  `exclude_not_applicable` leaves out changes from or to "n/a" (a dress has no
  sleeve length to change); `balanced` samples each set of changed attributes
  (each attribute, each pair) an equal share of max_queries instead of sampling
  the enumeration uniformly (which follows the attributes' value counts: 66% of
  the synthetic single changes are color changes).
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
ALL = "all"  # the whole catalog as query set and gallery


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
                         max_queries: int | None = None, *, balanced: bool = False,
                         exclude_not_applicable: bool = False) -> list[ManipulationQuery]:
    """Valid manipulation queries over the split (all of them, or a sample of max_queries).

    balanced: each set of changed attributes gets an equal share of max_queries (a set with
    fewer valid queries gives all it has, the rest goes to the others); otherwise the
    sample is uniform over all valid queries. exclude_not_applicable: no change from or to
    "n/a". Sorted by (reference, changes); deterministic in (catalog, split, seed, options).
    """
    gallery = split_rows(catalog, split)
    labels = catalog.labels[gallery]
    rng = np.random.default_rng([seed, 10, n_changes])
    blocked = _not_applicable_mask(catalog) if exclude_not_applicable else None
    per_set = [(changed, *_manipulations_for(labels, changed, blocked))
               for changed in _changed_sets(labels.shape[1], n_changes)]
    if balanced and max_queries is not None:
        quotas = _water_fill([len(found) for _, found, _ in per_set], max_queries)
        per_set = [(changed, found[keep], values[keep])
                   for (changed, found, values), quota in zip(per_set, quotas)
                   for keep in [np.sort(rng.choice(len(found), size=quota, replace=False))]]
    queries = _as_queries(labels, gallery, per_set)
    return queries if balanced else _sample(queries, max_queries, rng)


def manipulation_triplets(catalog: Catalog, split: str, seed: int, n_triplets: int,
                          n_changes: int = 1) -> list[ManipulationTriplet]:
    """Training triplets from valid manipulations of the split."""
    rng = np.random.default_rng([seed, 11, n_changes])
    rows = catalog.indices(split)
    labels = catalog.labels[rows]
    valid = _valid_manipulations(labels, n_changes)
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
    """Per attribute, up to per_attribute references whose value another gallery item shares.

    References with an unknown or "n/a" value of the attribute are never asked.
    """
    rng = np.random.default_rng([seed, 12])
    gallery = split_rows(catalog, split)
    labels = catalog.labels[gallery]
    out = []
    for a, attribute in enumerate(catalog.vocabulary.attributes):
        values, counts = np.unique(labels[:, a], return_counts=True)
        shared = [int(v) for v, c in zip(values, counts) if c > 1 and v != UNKNOWN
                  and attribute.values[v] != NOT_APPLICABLE]
        candidates = gallery[np.isin(labels[:, a], shared)].tolist()
        out += [ConditionalQuery(r, a) for r in _sample(candidates, per_attribute, rng)]
    return out


def fitb_questions(catalog: Catalog, split: str, seed: int,
                   n_candidates: int = 4, max_questions: int | None = None) -> list[FitbQuestion]:
    """One question per outfit of the split that has enough same-category distractors.

    max_questions: ask only a sample of that many outfits (drawn before the questions are made).
    """
    rng = np.random.default_rng([seed, 13])
    rules = _rules(catalog)
    by_category = _rows_by_category(catalog, split)
    out = []
    outfits = _sample(_outfits_to_complete(catalog, split), max_questions, np.random.default_rng([seed, 15]))
    for outfit in outfits:
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


def complementary_queries(catalog: Catalog, split: str, seed: int,
                          max_queries: int | None = None) -> list[ComplementaryQuery]:
    """One query per outfit of the split with at least two items (or a sample of max_queries)."""
    rng = np.random.default_rng([seed, 14])
    out = []
    outfits = _sample(_outfits_to_complete(catalog, split), max_queries, np.random.default_rng([seed, 16]))
    for outfit in outfits:
        _, hidden, context = _hide_one(outfit, rng)
        out.append(ComplementaryQuery(outfit.outfit_id, context, int(catalog.labels[hidden, 0]), hidden))
    return out


def _outfits_to_complete(catalog: Catalog, split: str) -> list:
    """The split's outfits with at least two items: one can be hidden and one stays."""
    outfits = catalog.outfits if split == ALL else catalog.outfits_of(split)
    return [o for o in outfits if len(o.items) >= 2]


def _hide_one(outfit, rng: np.random.Generator) -> tuple[int, int, tuple[int, ...]]:
    """(position, hidden row, the other rows) for one item of outfit drawn at random."""
    position = int(rng.integers(len(outfit.items)))
    return position, outfit.items[position], outfit.items[:position] + outfit.items[position + 1:]


def category_rows(catalog: Catalog, split: str, category: int) -> np.ndarray:
    """The gallery of a complementary query: all rows of the split with that category."""
    rows = split_rows(catalog, split)
    return rows[catalog.labels[rows, 0] == category]


def split_rows(catalog: Catalog, split: str) -> np.ndarray:
    """Row indices of a split, or every row for ALL."""
    return np.arange(len(catalog)) if split == ALL else catalog.indices(split)


def _changed_sets(n_attributes: int, n_changes: int) -> list[tuple[int, ...]]:
    if not 1 <= n_changes <= n_attributes:
        raise InvalidArgument.for_field("n_changes", f"must be in [1, {n_attributes}]")
    return list(combinations(range(n_attributes), n_changes))


def _not_applicable_mask(catalog: Catalog) -> np.ndarray:
    """bool (n_attributes, max values + 1): [a, v] is "n/a"; the last column stands for UNKNOWN."""
    attributes = catalog.vocabulary.attributes
    out = np.zeros((len(attributes), max(len(a.values) for a in attributes) + 1), bool)
    for a, attribute in enumerate(attributes):
        out[a, :len(attribute.values)] = [v == NOT_APPLICABLE for v in attribute.values]
    return out


def _manipulations_for(labels: np.ndarray, changed: tuple[int, ...],
                       blocked: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Every valid manipulation that changes exactly `changed`: (positions (m,), new values (m, c)).

    Items that agree on every kept attribute form a group; the value combinations of the
    changed attributes present in a group are the reachable targets of its members that
    differ from them in every changed attribute. Sorted by (position, new values).
    """
    n_attributes = labels.shape[1]
    kept = [a for a in range(n_attributes) if a not in changed]
    if kept:
        _, group = np.unique(labels[:, kept], axis=0, return_inverse=True)
        group = group.ravel()
    else:
        group = np.zeros(len(labels), np.int64)
    values = labels[:, list(changed)]
    usable = (values != UNKNOWN).all(axis=1)
    if blocked is not None:
        usable &= ~blocked[list(changed), values].any(axis=1)
    sources = np.flatnonzero(usable)
    if len(sources) == 0:
        return np.zeros(0, np.int64), np.zeros((0, len(changed)), np.int64)
    present = np.unique(np.column_stack([group[sources], values[sources]]), axis=0)
    n_groups = int(group.max()) + 1
    starts = np.searchsorted(present[:, 0], np.arange(n_groups), side="left")
    ends = np.searchsorted(present[:, 0], np.arange(n_groups), side="right")
    first, counts = starts[group[sources]], (ends - starts)[group[sources]]
    repeated = np.repeat(sources, counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    targets = present[np.repeat(first, counts) + within, 1:]
    differs = (targets != values[repeated]).all(axis=1)
    return repeated[differs], targets[differs]


def _as_queries(labels: np.ndarray, gallery: np.ndarray,
                per_set: list[tuple[tuple[int, ...], np.ndarray, np.ndarray]]) -> list[ManipulationQuery]:
    """ManipulationQuery objects sorted by (reference, [(attribute, target), ...])."""
    entries = []
    for changed, found, values in per_set:
        for i, new in zip(found.tolist(), values.tolist()):
            source = labels[i]
            target = source.tolist()
            for a, t in zip(changed, new):
                target[a] = t
            changes = tuple(AttributeChange(a, int(source[a]), t) for a, t in zip(changed, new))
            entries.append((i, [(a, t) for a, t in zip(changed, new)],
                            ManipulationQuery(int(gallery[i]), changes, tuple(target))))
    entries.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in entries]


def _valid_manipulations(labels: np.ndarray, n_changes: int) -> list:
    """(gallery position, changes, target labels) for every valid manipulation, in a fixed order."""
    per_set = [(changed, *_manipulations_for(labels, changed, None))
               for changed in _changed_sets(labels.shape[1], n_changes)]
    gallery = np.arange(len(labels))
    return [(x.reference, x.changes, x.target_labels) for x in _as_queries(labels, gallery, per_set)]


def _water_fill(available: list[int], total: int) -> list[int]:
    """Equal shares of total over the sets, capped by what each has; leftovers go to the others."""
    quotas = [0] * len(available)
    open_sets = [j for j, n in enumerate(available) if n > 0]
    left = total
    while left > 0 and open_sets:
        share, extra = divmod(left, len(open_sets))
        for rank, j in enumerate(open_sets):
            quotas[j] += min(share + (1 if rank < extra else 0), available[j] - quotas[j])
        left = total - sum(quotas)
        open_sets = [j for j in open_sets if quotas[j] < available[j]]
    return quotas


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
    rows = split_rows(catalog, split)
    categories = catalog.labels[rows, 0]
    return {int(c): rows[categories == c] for c in np.unique(categories)}
