from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog
from fashionrec.data import queries as q
from fashionrec.data.formats import MalformedFile, shopping
from fashionrec.errors import NotFound


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, tiny: Catalog) -> Path:
    directory = tmp_path_factory.mktemp("shopping")
    shopping.write(tiny, directory, seed=0, n_triplets=40)
    return directory


def _copy(written: Path, tmp_path: Path) -> Path:
    for path in written.glob("*.*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "images").symlink_to(written / "images")
    return tmp_path


def _by_sku(catalog: Catalog) -> dict[str, int]:
    return {item.sku: row for row, item in enumerate(catalog.items)}


def test_round_trip(written: Path, tiny: Catalog) -> None:
    back = shopping.read_catalog(written, image_size=tiny.image_size)
    rows = [_by_sku(tiny)[item.sku] for item in back.items]
    assert back.vocabulary == tiny.vocabulary
    assert np.array_equal(back.labels, tiny.labels[rows])
    assert np.array_equal(back.images, tiny.images[rows])  # PNG: lossless
    assert np.array_equal(back.splits, tiny.splits[rows])

    original = {(tiny.items[x.reference].sku, x.changes, x.target_labels)
                for x in q.manipulation_queries(tiny, "test", seed=0)}
    read = [(back.items[x.reference].sku, x.changes, x.target_labels)
            for x in shopping.read_queries(written, back)]
    assert read and set(read) == original

    triplets = shopping.read_triplets(written, back)
    assert len(triplets) == 40
    for t in triplets:
        target = back.labels[t.reference].copy()
        for change in t.changes:
            target[change.attribute] = change.target
        assert (back.labels[t.positive] == target).all()


def test_published_layout_without_our_extensions(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    for name in ("vocabulary.json", "imgs_val.txt", "labels_val.txt"):
        (directory / name).unlink()
    back = shopping.read_catalog(directory, image_size=16)
    assert back.vocabulary.names[:2] == ("category", "attr_1")
    n_train = len((directory / "imgs_train.txt").read_text().splitlines())
    assert (back.splits[:n_train] == "val").sum() == round(n_train * shopping.VALIDATION_SHARE)
    # Triplets still index lines of labels_train.txt.
    assert len(shopping.read_triplets(directory, back)) == 40


def test_unknown_labels(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    labels = directory / "labels_test.txt"
    rows = labels.read_text().splitlines()
    rows[0] = " ".join(["0"] * len(rows[0].split()))
    labels.write_text("\n".join(rows) + "\n")
    back = shopping.read_catalog(directory, image_size=16)
    assert (back.labels[back.indices("test")[0]] == -1).all()


@pytest.mark.parametrize("name, line_no, edit, message", [
    ("labels_train.txt", 3, lambda s: s.replace("1", "2", 1), r"value 2 not in \[0, 1\]"),
    ("labels_train.txt", 2, lambda s: s + " 0", "values, expected"),
    ("labels_train.txt", 5, lambda s: "1 1 " + s[4:], "'category' has 2 values set"),
    ("ref_test.txt", 1, lambda s: "x", "'x' is not an integer"),
    ("ref_test.txt", 2, lambda s: "100000", "out of range"),
    ("indfull_test.txt", 1, lambda s: " ".join(["0"] * len(s.split())), "changes no attribute"),
    ("triplet_train.txt", 4, lambda s: "1 2", "2 values, expected 3"),
    ("attr_num.txt", 1, lambda s: "0", "positive"),
])
def test_malformed_files_name_file_and_line(written: Path, tmp_path: Path, name: str,
                                            line_no: int, edit, message: str) -> None:
    directory = _copy(written, tmp_path)
    path = directory / name
    lines = path.read_text().splitlines()
    lines[line_no - 1] = edit(lines[line_no - 1])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MalformedFile, match=message) as err:
        back = shopping.read_catalog(directory, image_size=16)
        shopping.read_queries(directory, back)
        shopping.read_triplets(directory, back)
    assert (err.value.path.name, err.value.line) == (name, line_no)
    assert f"{name}, line {line_no}: " in str(err.value)


def test_missing_image_names_the_listing_line(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    listing = directory / "imgs_test.txt"
    lines = listing.read_text().splitlines()
    lines[1] = "images/nowhere.png"
    listing.write_text("\n".join(lines) + "\n")
    with pytest.raises(MalformedFile, match=r"imgs_test.txt, line 2: cannot read image"):
        shopping.read_catalog(directory, image_size=16)


def test_missing_file_is_not_found(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    (directory / "labels_test.txt").unlink()
    with pytest.raises(NotFound, match="labels_test.txt"):
        shopping.read_catalog(directory, image_size=16)


@pytest.mark.parametrize(("n_items", "seed"), [(80, 2), (100, 0)])
def test_a_small_catalog_without_test_queries_exports_and_reads_back(tmp_path: Path, n_items: int, seed: int) -> None:
    from fashionrec.data.synthetic import generate_catalog

    catalog = generate_catalog(n_items, seed=seed, image_size=32)
    assert q.manipulation_queries(catalog, "test", 0) == []  # the case that raised IndexError
    shopping.write(catalog, tmp_path)
    back = shopping.read_catalog(tmp_path, image_size=32)
    assert len(back) == n_items
    assert shopping.read_queries(tmp_path, back) == []
