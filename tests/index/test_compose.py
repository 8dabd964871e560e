from __future__ import annotations

import numpy as np
import pytest

from fashionrec.artifact import ModelSpec
from fashionrec.index.compose import Change, indicator, normalised_weights, weighted_query
from fashionrec.index.synthetic import synthetic_artifact


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


def test_one_weighted_attribute_searches_its_own_vector(spec: ModelSpec) -> None:
    whole = np.arange(1, spec.whole_dim + 1, dtype=np.float32)
    using, vector = weighted_query(spec, whole, {"attr2": 1.0})
    assert using == "attr_attr2"
    d = spec.attribute_dim
    np.testing.assert_allclose(vector, whole[2 * d:3 * d] / np.linalg.norm(whole[2 * d:3 * d]), rtol=1e-6)
    using, vector = weighted_query(spec, whole, {"attr1": 0.5, "attr2": 0.5})
    assert using == "chunks" and np.count_nonzero(vector) == 2 * d
