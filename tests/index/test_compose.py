from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fashionrec.artifact import ModelSpec
from fashionrec.artifact import ModelArtifact
from fashionrec.index.compose import (Change, indicator, manipulation_query, normalised_weights, outfit_query,
                                      pair_score, target_labels, weighted_query)
from fashionrec.index.schema import attribute_slices, point_vectors
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return synthetic_artifact("v", seed=2).spec


def test_the_indicator_moves_from_the_current_value_to_the_target(spec: ModelSpec) -> None:
    vocab = spec.vocabulary
    current = {"attr1": "a1v0", "attr2": "a2v4"}.get
    i = indicator(spec, [Change("attr1", "a1v3"), Change("attr2", "a2v4"), Change("attr3", "a3v1")], current)
    expected = np.zeros(vocab.total_values)
    expected[vocab.global_index("attr1", "a1v0")] = -1
    expected[vocab.global_index("attr1", "a1v3")] = 1
    # attr2 already has the target value: no move. attr3 has no known value: only the +1.
    expected[vocab.global_index("attr3", "a3v1")] = 1
    np.testing.assert_array_equal(i, expected)


def test_weights_are_normalised_and_zero_weights_dropped(spec: ModelSpec) -> None:
    assert normalised_weights(spec, [("attr1", 3.0), ("attr2", 1.0), ("attr3", 0.0)]) == {"attr1": 0.75, "attr2": 0.25}


def _uniform_log_probs(spec: ModelSpec) -> np.ndarray:
    return np.concatenate([np.full(len(a.values), -np.log(len(a.values))) for a in spec.vocabulary.attributes])


def test_one_weighted_attribute_searches_its_own_vector(spec: ModelSpec) -> None:
    whole = np.arange(1, spec.whole_dim + 1, dtype=np.float32)
    log_probs = _uniform_log_probs(spec)
    using, vector = weighted_query(spec, whole, log_probs, {"attr2": 1.0})
    assert using == "attr_attr2"
    d, w = spec.attribute_dim, spec.similarity_posterior_weight
    chunk = whole[2 * d:3 * d] / np.linalg.norm(whole[2 * d:3 * d])
    np.testing.assert_allclose(vector[:d], np.sqrt(1 - w) * chunk, rtol=1e-6)
    assert np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-6)
    using, vector = weighted_query(spec, whole, log_probs, {"attr1": 0.5, "attr2": 0.5})
    slices = attribute_slices(spec)
    assert using == "chunks"
    assert np.count_nonzero(vector) == (slices["attr1"].stop - slices["attr1"].start) * 2


@pytest.fixture(scope="module")
def artifact() -> ModelArtifact:
    return synthetic_artifact("v", seed=4)


def test_the_target_is_the_items_labels_moved_by_the_changes(spec: ModelSpec) -> None:
    vocab = spec.vocabulary
    labels = {"category": "cat1", "attr1": "a1v0", "attr2": "a2v4"}
    i = indicator(spec, [Change("attr1", "a1v3"), Change("attr3", "a3v1")], labels.get)
    t = target_labels(spec, i, labels.get)
    expected = {("category", "cat1"), ("attr1", "a1v3"), ("attr2", "a2v4"), ("attr3", "a3v1")}
    assert {(a, v) for a in spec.attribute_names for v in vocab.attribute(a).values
            if t[vocab.global_index(a, v)] == 1} == expected
    assert t.sum() == len(expected)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_composed_manipulation_query_is_cosine_plus_weighted_log_posteriors_plus_style(artifact: ModelArtifact,
                                                                                          seed: int) -> None:
    spec = artifact.spec
    assert spec.style_weight > 0
    query, gallery = synthetic_items(artifact, 2, seed=seed)
    i = indicator(spec, [Change("attr2", "a2v1")], query.item.current_value)
    t = target_labels(spec, i, query.item.current_value)
    vector = manipulation_query(artifact, query.whole, i, t, query.outfit)
    stored = np.asarray(point_vectors(spec, gallery.whole, gallery.outfit, gallery.log_probs)["manipulation"])
    moved = query.whole + artifact.prototypes @ i
    cosine = moved @ gallery.whole / np.linalg.norm(moved) / np.linalg.norm(gallery.whole)
    labels = cosine + spec.posterior_weight * gallery.log_probs[t == 1].sum()
    expected = labels + spec.style_weight * query.outfit @ gallery.outfit
    assert vector @ stored == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # Without the query's style embedding (a photo encoded without it) the style term is left out.
    assert manipulation_query(artifact, query.whole, i, t) @ stored == pytest.approx(labels, rel=1e-5, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_attribute_vectors_mix_chunk_cosine_and_posterior_overlap(artifact: ModelArtifact, seed: int) -> None:
    spec = artifact.spec
    a, b = synthetic_items(artifact, 2, seed=seed)
    va = np.asarray(point_vectors(spec, a.whole, a.outfit, a.log_probs)["attr_attr3"])
    vb = np.asarray(point_vectors(spec, b.whole, b.outfit, b.log_probs)["attr_attr3"])
    d, w = spec.attribute_dim, spec.similarity_posterior_weight
    pos, offset = spec.vocabulary.position("attr3"), spec.vocabulary.offsets[spec.vocabulary.position("attr3")]
    ra, rb = a.whole[pos * d:(pos + 1) * d], b.whole[pos * d:(pos + 1) * d]
    size = len(spec.vocabulary.attributes[pos].values)
    pa, pb = np.exp(a.log_probs[offset:offset + size]), np.exp(b.log_probs[offset:offset + size])
    pa, pb = pa / pa.sum(), pb / pb.sum()
    expected = (1 - w) * ra @ rb / np.linalg.norm(ra) / np.linalg.norm(rb) + w * np.sqrt(pa * pb).sum()
    # abs: float32 rounding (about 1e-7 at unit scale) when cosine and overlap nearly cancel; every
    # seed of the strategy is within 5.1e-8 (66 of them outside rel=1e-5 alone, e.g. seed 932).
    assert va @ vb == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_the_outfit_query_scores_by_the_mean_bilinear_form(artifact: ModelArtifact) -> None:
    items = synthetic_items(artifact, 4, seed=1)
    context, candidate = [e.outfit for e in items[:3]], items[3].outfit
    form = artifact.outfit_bilinear
    expected = np.mean([e @ form @ candidate for e in context])
    assert outfit_query(artifact, context) @ candidate == pytest.approx(expected, rel=1e-5)
    assert pair_score(artifact, context[0], candidate) == pytest.approx(pair_score(artifact, candidate, context[0]))
