from __future__ import annotations

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog
from fashionrec.data import queries as q
from fashionrec.data.outfits import OutfitRules
from fashionrec.errors import InvalidArgument


@pytest.mark.parametrize("n_changes", [1, 2])
def test_manipulation_queries_have_a_target_in_the_gallery(tiny: Catalog, n_changes: int) -> None:
    queries = q.manipulation_queries(tiny, "train", seed=0, n_changes=n_changes)
    assert queries
    gallery = tiny.labels[tiny.indices("train")]
    for query in queries:
        assert str(tiny.splits[query.reference]) == "train"
        assert len(query.changes) == n_changes
        reference = tiny.labels[query.reference]
        expected = reference.copy()
        for change in query.changes:
            assert reference[change.attribute] == change.source != change.target
            expected[change.attribute] = change.target
        assert tuple(expected.tolist()) == query.target_labels
        assert (gallery == expected).all(axis=1).any()


def test_manipulation_queries_are_deterministic_and_sampled(tiny: Catalog) -> None:
    everything = q.manipulation_queries(tiny, "train", seed=0)
    sample = q.manipulation_queries(tiny, "train", seed=3, max_queries=10)
    assert sample == q.manipulation_queries(tiny, "train", seed=3, max_queries=10)
    assert len(sample) == 10 and set(sample) <= set(everything)
    with pytest.raises(InvalidArgument, match="n_changes"):
        q.manipulation_queries(tiny, "train", seed=0, n_changes=7)


def test_indicator_marks_source_and_target(tiny: Catalog) -> None:
    query = q.manipulation_queries(tiny, "train", seed=0, n_changes=2)[0]
    indicator = query.indicator(tiny.vocabulary)
    assert indicator.sum() == 0 and (indicator != 0).sum() == 4
    for change in query.changes:
        offset = tiny.vocabulary.offsets[change.attribute]
        assert indicator[offset + change.source] == -1
        assert indicator[offset + change.target] == 1


def test_triplets(tiny: Catalog) -> None:
    for t in q.manipulation_triplets(tiny, "train", seed=0, n_triplets=50):
        target = tiny.labels[t.reference].copy()
        for change in t.changes:
            target[change.attribute] = change.target
        assert (tiny.labels[t.positive] == target).all()
        assert not (tiny.labels[t.negative] == target).all()


def test_conditional_queries_skip_not_applicable(tiny: Catalog) -> None:
    queries = q.conditional_queries(tiny, "train", seed=0, per_attribute=20)
    assert {x.attribute for x in queries} == set(range(6))
    for x in queries:
        assert tiny.value_name(x.reference, x.attribute) != "n/a"


def test_fitb_questions(tiny: Catalog) -> None:
    rules = OutfitRules.for_catalog(tiny)
    questions = q.fitb_questions(tiny, "train", seed=0)
    assert questions
    outfits = {o.outfit_id: o for o in tiny.outfits}
    for f in questions:
        outfit = outfits[f.outfit_id]
        hidden = f.candidates[f.answer]
        assert outfit.items[f.blank_position] == hidden
        assert set(f.context) | {hidden} == set(outfit.items)
        assert len(f.candidates) == 4 == len(set(f.candidates))
        assert len({int(tiny.labels[c, 0]) for c in f.candidates}) == 1
        wrong = np.array([c for c in f.candidates if c != hidden])
        assert not rules.compatible_with(tiny.labels, tiny.styles, np.array(f.context),
                                         wrong).any()


def test_complementary_queries(tiny: Catalog) -> None:
    queries = q.complementary_queries(tiny, "val", seed=0)
    assert len(queries) == len(tiny.outfits_of("val"))
    for x in queries:
        gallery = q.category_rows(tiny, "val", x.target_category)
        assert x.hidden in gallery and x.hidden not in x.context


def _brute_force(catalog: Catalog, rows: np.ndarray, n_changes: int, skip_na: bool) -> set:
    """Every valid manipulation by plain enumeration: (reference, ((attr, src, dst), ...), target)."""
    from itertools import combinations, product

    labels = catalog.labels[rows]
    na = [a.values.index("n/a") if "n/a" in a.values else -2 for a in catalog.vocabulary.attributes]
    present = {tuple(x) for x in labels.tolist()}
    out = set()
    for i, source in enumerate(labels.tolist()):
        for changed in combinations(range(labels.shape[1]), n_changes):
            if any(source[a] == -1 or (skip_na and source[a] == na[a]) for a in changed):
                continue
            choices = [range(len(catalog.vocabulary.attributes[a].values)) for a in changed]
            for new in product(*choices):
                if any(t == source[a] or (skip_na and t == na[a]) for a, t in zip(changed, new)):
                    continue
                target = list(source)
                for a, t in zip(changed, new):
                    target[a] = t
                if tuple(target) in present:
                    out.add((int(rows[i]), tuple((a, source[a], t) for a, t in zip(changed, new)), tuple(target)))
    return out


def _as_set(queries) -> set:
    return {(x.reference, tuple((c.attribute, c.source, c.target) for c in x.changes), x.target_labels)
            for x in queries}


@pytest.mark.parametrize("n_changes", [1, 2])
@pytest.mark.parametrize("skip_na", [False, True])
def test_vectorised_enumeration_matches_brute_force(tiny: Catalog, n_changes: int, skip_na: bool) -> None:
    queries = q.manipulation_queries(tiny, "train", seed=0, n_changes=n_changes, exclude_not_applicable=skip_na)
    assert _as_set(queries) == _brute_force(tiny, tiny.indices("train"), n_changes, skip_na)
    keys = [(x.reference, [(c.attribute, c.target) for c in x.changes]) for x in queries]
    assert keys == sorted(keys)


def test_not_applicable_is_never_changed(tiny: Catalog) -> None:
    vocab = tiny.vocabulary
    with_na = q.manipulation_queries(tiny, q.ALL, seed=0, n_changes=2)
    without = q.manipulation_queries(tiny, q.ALL, seed=0, n_changes=2, exclude_not_applicable=True)
    names = lambda c: (vocab.attributes[c.attribute].values[c.source], vocab.attributes[c.attribute].values[c.target])
    assert any("n/a" in names(c) for x in with_na for c in x.changes)
    assert without and not any("n/a" in names(c) for x in without for c in x.changes)
    assert set(without) < set(with_na)


def test_balanced_sampling_gives_each_attribute_an_equal_share(tiny: Catalog) -> None:
    from collections import Counter

    everything = q.manipulation_queries(tiny, q.ALL, seed=0, exclude_not_applicable=True)
    available = Counter(x.changes[0].attribute for x in everything)
    assert max(available.values()) > 3 * min(available.values())  # the uniform sample is skewed
    sample = q.manipulation_queries(tiny, q.ALL, seed=1, max_queries=120, balanced=True,
                                    exclude_not_applicable=True)
    assert len(sample) == 120 and set(sample) <= set(everything)
    counts = Counter(x.changes[0].attribute for x in sample)
    # Attributes with fewer than 20 valid queries give all they have; the rest share the remainder.
    for a, n in available.items():
        if n < 20:
            assert counts[a] == n
    rich = [counts[a] for a, n in available.items() if n >= 20]
    assert max(rich) - min(rich) <= 1
    assert sample == q.manipulation_queries(tiny, q.ALL, seed=1, max_queries=120, balanced=True,
                                            exclude_not_applicable=True)
    pairs = q.manipulation_queries(tiny, q.ALL, seed=1, n_changes=2, max_queries=150, balanced=True,
                                   exclude_not_applicable=True)
    pair_counts = Counter(tuple(c.attribute for c in x.changes) for x in pairs)
    assert len(pairs) == 150 and len(pair_counts) > 5


def test_water_fill() -> None:
    assert q._water_fill([100, 100, 100], 30) == [10, 10, 10]
    assert q._water_fill([2, 100, 100], 30) == [2, 14, 14]
    assert q._water_fill([2, 0, 5], 30) == [2, 0, 5]
    assert q._water_fill([10, 10, 10], 31) == [10, 10, 10]
    assert sum(q._water_fill([7, 50, 3, 40], 41)) == 41


def test_the_whole_catalog_as_gallery(tiny: Catalog) -> None:
    assert q.split_rows(tiny, q.ALL).tolist() == list(range(len(tiny)))
    comp = q.complementary_queries(tiny, q.ALL, seed=0)
    assert len(comp) == sum(len(o.items) >= 2 for o in tiny.outfits)
    assert len(q.complementary_queries(tiny, q.ALL, seed=0, max_queries=5)) == 5
    fitb = q.fitb_questions(tiny, q.ALL, seed=0, max_questions=6)
    assert 0 < len(fitb) <= 6
    for f in fitb:
        assert len({int(tiny.labels[c, 0]) for c in f.candidates}) == 1
    cond = q.conditional_queries(tiny, q.ALL, seed=0, per_attribute=10)
    assert len(cond) == 60
