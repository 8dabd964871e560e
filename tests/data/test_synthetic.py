from __future__ import annotations

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog

from fashionrec.data.synthetic import generate_catalog
from fashionrec.data import taxonomy as tx
from fashionrec.errors import InvalidArgument


def test_labels_follow_the_applicability_tables(tiny: Catalog) -> None:
    vocab = tiny.vocabulary
    for row in range(len(tiny)):
        category = tiny.value_name(row, 0)
        for name, table in (("sleeve_length", tx.SLEEVES_OF), ("length", tx.LENGTHS_OF),
                            ("neckline", tx.NECKLINES_OF)):
            value = tiny.value_name(row, vocab.position(name))
            assert value in table.get(category, (tx.NA,)), (row, category, name, value)


def test_labels_are_complete_and_images_vary(tiny: Catalog) -> None:
    assert (tiny.labels >= 0).all()
    assert tiny.images.dtype == np.uint8 and tiny.images.shape[1:] == (32, 32, 3)
    # Pose, background and noise differ between any two pictures.
    flat = tiny.images.reshape(len(tiny), -1)
    assert len({row.tobytes() for row in flat}) == len(tiny)


def test_the_vocabulary_is_as_documented(tiny: Catalog) -> None:
    vocab = tiny.vocabulary
    assert vocab.names == ("category", "color", "pattern", "sleeve_length", "length", "neckline")
    assert len(vocab.attribute("category").values) >= 8
    assert len(vocab.attribute("color").values) >= 12
    assert len(vocab.attribute("pattern").values) >= 6


def test_metadata_is_usable_for_filters(tiny: Catalog) -> None:
    skus = [item.sku for item in tiny.items]
    assert len(set(skus)) == len(skus)
    for row, item in enumerate(tiny.items):
        assert item.category == tiny.value_name(row, 0)
        assert item.price > 0 and item.currency == "EUR"
        assert tiny.value_name(row, 1) in item.title


def test_too_few_items_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="n_items"):
        generate_catalog(5, 0)
