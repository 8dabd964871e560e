from __future__ import annotations

from pathlib import Path

import pytest

from fashionrec.data.catalog import Catalog, save_catalog

from fashionrec.data.datasets import detect_format, open_dataset
from fashionrec.data.formats import polyvore, shopping
from fashionrec.errors import InvalidArgument, NotFound


def test_detects_every_format(tmp_path: Path, tiny: Catalog) -> None:
    save_catalog(tiny, tmp_path / "own")
    shopping.write(tiny, tmp_path / "shop")
    polyvore.write(tiny, tmp_path / "poly")
    assert [detect_format(tmp_path / d) for d in ("own", "shop", "poly")] == \
        ["fashionrec", "shopping", "polyvore"]
    for d in ("own", "shop", "poly"):
        catalog = open_dataset(tmp_path / d, image_size=16)
        assert len(catalog) == len(tiny) and catalog.vocabulary == tiny.vocabulary


def test_unknown_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="attr_num.txt"):
        open_dataset(tmp_path)
    with pytest.raises(NotFound):
        open_dataset(tmp_path / "missing")
