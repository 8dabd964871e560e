from __future__ import annotations

import numpy as np
import pytest

from fashionrec.data import Catalog
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
