from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog, load_catalog, save_catalog

from fashionrec.data.synthetic import generate_catalog
from fashionrec.data.catalog import ITEMS_FILE
from fashionrec.errors import InvalidArgument, NotFound


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_the_same_bytes(tmp_path: Path, tiny: Catalog) -> None:
    again = generate_catalog(len(tiny), tiny.provenance["seed"], tiny.image_size)
    save_catalog(tiny, tmp_path / "a")
    save_catalog(again, tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_another_seed_gives_another_catalog(tiny: Catalog) -> None:
    other = generate_catalog(len(tiny), tiny.provenance["seed"] + 1, tiny.image_size)
    assert not np.array_equal(other.images, tiny.images)
    assert not np.array_equal(other.labels, tiny.labels)


def test_save_and_load_round_trip(tmp_path: Path, tiny: Catalog) -> None:
    save_catalog(tiny, tmp_path)
    back = load_catalog(tmp_path)
    assert back.vocabulary == tiny.vocabulary
    assert np.array_equal(back.images, tiny.images)
    assert np.array_equal(back.labels, tiny.labels)
    assert back.items == tiny.items
    assert np.array_equal(back.splits, tiny.splits)
    assert back.outfits == tiny.outfits
    assert np.array_equal(back.styles, tiny.styles)
    assert back.style_names == tiny.style_names
    assert back.provenance == tiny.provenance


def test_indices_partition_the_rows(tiny: Catalog) -> None:
    parts = [tiny.indices(s) for s in ("train", "val", "test")]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(tiny)))
    assert all(len(p) for p in parts)
    with pytest.raises(InvalidArgument, match="unknown split"):
        tiny.indices("dev")


def test_load_names_the_bad_line(tmp_path: Path, tiny: Catalog) -> None:
    save_catalog(tiny, tmp_path)
    path = tmp_path / ITEMS_FILE
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",polo-neck"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidArgument, match=r"items.csv, line 4: .*'polo-neck'"):
        load_catalog(tmp_path)


def test_load_of_a_missing_catalog_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="catalog.json"):
        load_catalog(tmp_path)


def test_a_catalog_checks_its_shapes(tiny: Catalog) -> None:
    with pytest.raises(InvalidArgument, match="labels"):
        Catalog(tiny.vocabulary, tiny.images, tiny.labels[:, :3], tiny.items, tiny.splits, [])
