from __future__ import annotations

import uuid

import numpy as np
import pytest

from fashionrec.artifact import ModelSpec
from fashionrec.index.schema import (ItemPatch, attribute_slices, check_spec, collection_name, point_id, point_vectors,
                                     vector_dims)
from fashionrec.index.synthetic_vectors import synthetic_artifact
from fashionrec.vocab import Vocabulary


def test_point_ids_are_fixed_uuids_of_the_sku() -> None:
    assert point_id("SKU-1") == point_id("SKU-1") != point_id("SKU-2")
    assert uuid.UUID(point_id("SKU-1")).version == 5
    # Pinned: a different id would orphan every point already indexed.
    assert point_id("SKU-1") == "91902dc3-0bf1-514c-ab8a-13112b20e37b"


def test_collection_names_stay_distinct_when_slugs_collide() -> None:
    a, b = collection_name("fr", "ADDE v1"), collection_name("fr", "adde-v1")
    assert a.startswith("fr_items_adde_v1_") and b.startswith("fr_items_adde_v1_") and a != b


def test_attribute_names_must_be_usable_as_vector_names() -> None:
    spec = ModelSpec("v", Vocabulary.from_mapping({"category": ["a"], "neck.line": ["v"]}), 4, 2, 64)
    with pytest.raises(ValueError, match="neck.line"):
        check_spec(spec)


def test_vectors_are_unit_where_cosine_is_meant() -> None:
    artifact = synthetic_artifact("v", seed=3)
    spec = artifact.spec
    whole = np.arange(1, spec.whole_dim + 1, dtype=np.float32)
    log_probs = np.full(spec.vocabulary.total_values, -1.0, np.float32)
    vectors = point_vectors(spec, whole, np.ones(spec.outfit_dim, np.float32), log_probs)
    assert set(vectors) == set(vector_dims(spec))
    assert {name: len(v) for name, v in vectors.items()} == vector_dims(spec)
    chunks = np.asarray(vectors["chunks"])
    for name, part in attribute_slices(spec).items():
        assert np.linalg.norm(chunks[part]) == pytest.approx(1.0, rel=1e-6)
        assert vectors[f"attr_{name}"] == pytest.approx(chunks[part].tolist())
    manipulation = np.asarray(vectors["manipulation"])
    np.testing.assert_allclose(manipulation[:spec.whole_dim], whole / np.linalg.norm(whole), rtol=1e-6)  # L2n(r)
    s = spec.vocabulary.total_values
    np.testing.assert_array_equal(manipulation[spec.whole_dim:spec.whole_dim + s], log_probs)  # ℓ stored verbatim
    np.testing.assert_array_equal(manipulation[spec.whole_dim + s:], vectors["outfit"])  # then e
    assert vectors["outfit"] == [1.0] * spec.outfit_dim  # stored as given


def test_a_patch_sets_only_its_fields() -> None:
    assert ItemPatch("s", updated_at=5.0, in_stock=False).to_payload() == {"updated_at": 5.0, "in_stock": 0}
    assert ItemPatch("s", 6.0, price=3, title="t").to_payload() == {"updated_at": 6.0, "price": 3.0, "title": "t"}
