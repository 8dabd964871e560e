from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog
from fashionrec.data import queries as q
from fashionrec.data.formats import MalformedFile, polyvore


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, tiny: Catalog) -> Path:
    directory = tmp_path_factory.mktemp("polyvore")
    polyvore.write(tiny, directory, seed=0)
    return directory


def _copy(written: Path, tmp_path: Path) -> Path:
    for path in written.rglob("*"):
        if path.is_file() and "images" not in path.parts[-2:-1]:
            target = tmp_path / path.relative_to(written)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (tmp_path / "images").symlink_to(written / "images")
    return tmp_path


def test_round_trip(written: Path, tiny: Catalog) -> None:
    back = polyvore.read_catalog(written, image_size=tiny.image_size)
    assert back.vocabulary == tiny.vocabulary
    assert np.array_equal(back.labels, tiny.labels)
    assert back.items == tiny.items
    assert back.outfits == tiny.outfits
    assert np.array_equal(back.splits, tiny.splits)
    assert np.array_equal(back.styles, tiny.styles)
    # Pictures travel as JPEG, as Polyvore ships them: close, not equal.
    assert np.abs(back.images.astype(int) - tiny.images).mean() < 8

    # Questions whose wrong answers are in no outfit cannot be addressed and are left out.
    read = polyvore.read_fitb(written, back, "train")
    assert read and set(read) <= set(q.fitb_questions(tiny, "train", seed=0))
    questions = polyvore.read_compatibility(written, back, "train")
    assert [c.items for c in questions if c.label == 1] == \
        [o.items for o in tiny.outfits_of("train")]


def test_published_layout_without_our_extensions(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    (directory / polyvore.SIDECAR).unlink()
    metadata = json.loads((directory / polyvore.METADATA).read_text())
    for meta in metadata.values():
        del meta["fashionrec"]
    (directory / polyvore.METADATA).write_text(json.dumps(metadata, indent=1))
    back = polyvore.read_catalog(directory, image_size=16)
    assert back.vocabulary.names == ("category", "type")
    assert set(back.vocabulary.attributes[0].values) <= {"tops", "bottoms", "all-body",
                                                         "outerwear", "shoes", "bags"}
    # Only items that some outfit uses are part of the catalog.
    used = {r for o in back.outfits for r in o.items}
    assert used == set(range(len(back))) and back.styles is None


def _edit_json(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines()
    assert old in lines[line_no - 1], lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")


def test_unknown_item_in_an_outfit(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    path = directory / "disjoint" / "valid.json"
    lines = path.read_text().splitlines()
    line_no = next(i for i, s in enumerate(lines, 1) if '"item_id"' in s and i > 10)
    _edit_json(path, line_no, '"item_id": "', '"item_id": "ghost-')
    with pytest.raises(MalformedFile, match=r"valid.json, line \d+: item 'ghost-"):
        polyvore.read_catalog(directory, image_size=16)


def test_invalid_json_names_the_line(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    path = directory / "disjoint" / "test.json"
    _edit_json(path, 3, '"', "'")
    with pytest.raises(MalformedFile, match=r"test.json, line 3: invalid JSON") as err:
        polyvore.read_catalog(directory, image_size=16)
    assert err.value.line == 3


def test_fitb_with_two_right_answers(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    back = polyvore.read_catalog(directory, image_size=16)
    path = directory / "disjoint" / "fill_in_blank_train.json"
    records = json.loads(path.read_text())
    first = records[0]
    wrong = next(i for i, a in enumerate(first["answers"])
                 if a.rsplit("_", 1)[0] != first["question"][0].rsplit("_", 1)[0])
    first["answers"][wrong] = first["question"][0]
    path.write_text(json.dumps(records, indent=1))
    with pytest.raises(MalformedFile, match=r"fill_in_blank_train.json, line 2: 2 answers"):
        polyvore.read_fitb(directory, back, "train")


def test_compatibility_line_errors(written: Path, tmp_path: Path) -> None:
    directory = _copy(written, tmp_path)
    back = polyvore.read_catalog(directory, image_size=16)
    path = directory / "disjoint" / "compatibility_valid.txt"
    lines = path.read_text().splitlines()
    lines[1] = "2 " + lines[1][2:]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MalformedFile, match=r"compatibility_valid.txt, line 2: expected"):
        polyvore.read_compatibility(directory, back, "val")
