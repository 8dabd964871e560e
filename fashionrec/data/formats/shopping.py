"""Shopping100k / DeepFashion attribute split files, as published with Hou et al. 2021.

    DIR/
      attr_num.txt           number of values of each attribute (whitespace-separated ints)
      imgs_{train,test}.txt  image paths relative to the image root, one per line
      labels_{train,test}.txt one row per image: the attributes' one-hot blocks concatenated;
                             an all-zero block means "not known"
      triplet_train.txt      "reference positive negative" (line indices into labels_train.txt)
      triplet_train_ind.txt  the triplet's indicator: -1 at a changed attribute's current
                             value, +1 at the wanted value, 0 elsewhere
      ref_test.txt           per query, the reference (line index into labels_test.txt)
      indfull_test.txt       per query, its indicator
      gt_test.txt            per query, the target labels (one-hot blocks)

fashionrec's extensions, optional when reading: `imgs_val.txt`/`labels_val.txt` (a
validation split; without them the reader holds out VALIDATION_SHARE of train, fixed
by position), `vocabulary.json` (attribute and value names; without it attribute 0 is
"category", the others attr_1, attr_2, ..., values "<attribute>_<i>"), and the
pictures our writer stores as `images/<sku>.png`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.items import Item
from fashionrec.data.formats.lines import (MalformedFile, read_int_rows, read_json, read_lines,
                                           require, write_int_rows, write_json)
from fashionrec.data.formats.image_files import load_image_files
from fashionrec.data.images import encode_png
from fashionrec.vocab import UNKNOWN, Vocabulary

ATTR_NUM = "attr_num.txt"
VOCABULARY = "vocabulary.json"
VALIDATION_SHARE = 0.1
_FILE_SPLITS = (("train", "train"), ("val", "val"), ("test", "test"))


def is_dataset(directory: Path) -> bool:
    return (Path(directory) / ATTR_NUM).is_file()


def write(catalog: Catalog, directory: Path, seed: int = 0, n_triplets: int | None = None,
          max_queries: int | None = None) -> None:
    """The catalog as split files, with pictures, training triplets and test queries."""
    directory = Path(directory)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    vocabulary = catalog.vocabulary
    write_int_rows(directory / ATTR_NUM, np.array([len(a.values) for a in vocabulary.attributes]))
    write_json(directory / VOCABULARY, vocabulary.to_mapping())
    local = np.empty(len(catalog), np.int64)
    for split, name in _FILE_SPLITS:
        rows = catalog.indices(split)
        local[rows] = np.arange(len(rows))
        paths = [f"images/{catalog.items[r].sku}.png" for r in rows]
        for row, path in zip(rows, paths):
            (directory / path).write_bytes(encode_png(catalog.images[row]))
        (directory / f"imgs_{name}.txt").write_text("".join(p + "\n" for p in paths),
                                                    encoding="utf-8")
        write_int_rows(directory / f"labels_{name}.txt",
                       _multi_hot(catalog.labels[rows], vocabulary))
    triplets = q.manipulation_triplets(catalog, "train", seed,
                                       n_triplets or len(catalog.indices("train")))
    # Explicit shapes: a small catalog can have no triplet or no query, and np.array([]) is 1-D.
    n_values, n_attributes = vocabulary.total_values, len(vocabulary.attributes)
    write_int_rows(directory / "triplet_train.txt",
                   np.array([[local[t.reference], local[t.positive], local[t.negative]]
                             for t in triplets], np.int64).reshape(len(triplets), 3))
    write_int_rows(directory / "triplet_train_ind.txt",
                   np.array([_indicator(t.changes, vocabulary) for t in triplets], np.int64)
                   .reshape(len(triplets), n_values))
    queries = q.manipulation_queries(catalog, "test", seed, max_queries=max_queries)
    write_int_rows(directory / "ref_test.txt", np.array([local[x.reference] for x in queries], np.int64))
    write_int_rows(directory / "indfull_test.txt",
                   np.array([x.indicator(vocabulary) for x in queries], np.int64).reshape(len(queries), n_values))
    write_int_rows(directory / "gt_test.txt",
                   _multi_hot(np.array([x.target_labels for x in queries], np.int64)
                              .reshape(len(queries), n_attributes), vocabulary))


def read_catalog(directory: Path, image_root: Path | None = None, image_size: int = 64,
                 progress: bool = False) -> Catalog:
    """The split files and their pictures (resized to image_size) as a catalog.

    Rows are the lines of imgs_train, then imgs_val (if present), then imgs_test.
    """
    directory = Path(directory)
    root = Path(image_root) if image_root is not None else directory
    vocabulary = _vocabulary(directory)
    paths, labels, splits, sources = [], [], [], []
    for split, name in _FILE_SPLITS:
        imgs = directory / f"imgs_{name}.txt"
        if split == "val" and not imgs.is_file():
            continue
        listed = read_lines(imgs)
        found = _labels(directory / f"labels_{name}.txt", vocabulary, len(listed))
        paths += listed
        labels.append(found)
        sources += [(imgs, i + 1) for i in range(len(listed))]
        splits += [split] * len(listed)
    split_array = np.asarray(splits, dtype="<U5")
    if not (directory / "imgs_val.txt").is_file():
        train = np.flatnonzero(split_array == "train")
        held_out = np.random.default_rng(0).permutation(len(train))[
            : round(len(train) * VALIDATION_SHARE)]
        split_array[train[held_out]] = "val"
    label_array = np.concatenate(labels) if labels else np.zeros((0, 1), np.int64)
    images = load_image_files([root / p for p in paths], image_size, sources, progress)
    skus = _skus(paths)
    categories = vocabulary.attributes[0].values
    items = [Item(sku=sku, category=categories[c] if c != UNKNOWN else "", title=sku,
                      brand="", price=0.0, currency="", in_stock=True)
             for sku, c in zip(skus, label_array[:, 0].tolist())]
    return Catalog(vocabulary=vocabulary, images=images, labels=label_array, items=items,
                   splits=split_array, outfits=[],
                   provenance={"format": "shopping", "directory": str(directory)})


def read_queries(directory: Path, catalog: Catalog) -> list[q.ManipulationQuery]:
    """The test queries (ref_test, indfull_test, gt_test) over a catalog read from directory."""
    directory = Path(directory)
    vocabulary = catalog.vocabulary
    test = catalog.indices("test")
    refs = read_int_rows(directory / "ref_test.txt", width=1)[:, 0]
    indicators = read_int_rows(directory / "indfull_test.txt", width=vocabulary.total_values,
                               allowed=(-1, 0, 1))
    targets = _labels(directory / "gt_test.txt", vocabulary, len(refs))
    if len(indicators) != len(refs):
        raise MalformedFile(directory / "indfull_test.txt", None,
                            f"{len(indicators)} rows but ref_test.txt has {len(refs)}")
    out = []
    for i, (ref, indicator, target) in enumerate(zip(refs, indicators, targets)):
        reference = _row(directory / "ref_test.txt", i + 1, ref, test)
        changes = _changes(directory / "indfull_test.txt", i + 1, indicator, vocabulary)
        out.append(q.ManipulationQuery(reference, changes, tuple(int(x) for x in target)))
    return out


def read_triplets(directory: Path, catalog: Catalog) -> list[q.ManipulationTriplet]:
    """The training triplets (triplet_train, triplet_train_ind) over a catalog read from directory."""
    directory = Path(directory)
    vocabulary = catalog.vocabulary
    # Triplets index lines of labels_train.txt, which are the first rows of the catalog
    # whether or not part of them was held out for validation.
    n_train = len(read_lines(directory / "imgs_train.txt"))
    train = np.arange(n_train)
    triplets = read_int_rows(directory / "triplet_train.txt", width=3)
    indicators = read_int_rows(directory / "triplet_train_ind.txt",
                               width=vocabulary.total_values, allowed=(-1, 0, 1))
    if len(indicators) != len(triplets):
        raise MalformedFile(directory / "triplet_train_ind.txt", None,
                            f"{len(indicators)} rows but triplet_train.txt has {len(triplets)}")
    out = []
    for i, (triplet, indicator) in enumerate(zip(triplets, indicators)):
        rows = [_row(directory / "triplet_train.txt", i + 1, x, train) for x in triplet]
        changes = _changes(directory / "triplet_train_ind.txt", i + 1, indicator, vocabulary)
        out.append(q.ManipulationTriplet(rows[0], rows[1], rows[2], changes))
    return out


def _vocabulary(directory: Path) -> Vocabulary:
    path = directory / ATTR_NUM
    sizes = read_int_rows(require(path)).ravel()
    if sizes.size == 0 or (sizes < 1).any():
        raise MalformedFile(path, 1, "expected positive value counts")
    named = directory / VOCABULARY
    if named.is_file():
        vocabulary = Vocabulary.from_json(read_json(named))
        if [len(a.values) for a in vocabulary.attributes] != sizes.tolist() \
                or vocabulary.names[0] != "category":
            raise MalformedFile(named, None, f"does not match {ATTR_NUM} {sizes.tolist()} "
                                             "or attribute 0 is not 'category'")
        return vocabulary
    names = ["category"] + [f"attr_{i}" for i in range(1, len(sizes))]
    return Vocabulary.from_mapping({n: [f"{n}_{j}" for j in range(k)]
                                    for n, k in zip(names, sizes.tolist())})


def _multi_hot(labels: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    out = np.zeros((len(labels), vocabulary.total_values), np.int64)
    for a, offset in enumerate(vocabulary.offsets):
        known = labels[:, a] != UNKNOWN
        out[np.flatnonzero(known), offset + labels[known, a]] = 1
    return out


def _labels(path: Path, vocabulary: Vocabulary, expected_rows: int) -> np.ndarray:
    hot = read_int_rows(path, width=vocabulary.total_values, allowed=(0, 1))
    if len(hot) != expected_rows:
        raise MalformedFile(path, None, f"{len(hot)} rows, expected {expected_rows}")
    labels = np.full((len(hot), len(vocabulary.attributes)), UNKNOWN, np.int64)
    for a, (attribute, offset) in enumerate(zip(vocabulary.attributes, vocabulary.offsets)):
        block = hot[:, offset:offset + len(attribute.values)]
        counts = block.sum(axis=1)
        if (counts > 1).any():
            line = int(np.flatnonzero(counts > 1)[0]) + 1
            raise MalformedFile(path, line, f"attribute {attribute.name!r} has "
                                            f"{int(counts[line - 1])} values set, at most 1")
        labels[counts == 1, a] = block[counts == 1].argmax(axis=1)
    return labels


def _indicator(changes: tuple[q.AttributeChange, ...], vocabulary: Vocabulary) -> np.ndarray:
    return q.ManipulationQuery(0, changes, ()).indicator(vocabulary)


def _changes(path: Path, line: int, indicator: np.ndarray, vocabulary: Vocabulary
             ) -> tuple[q.AttributeChange, ...]:
    changes = []
    for a, (attribute, offset) in enumerate(zip(vocabulary.attributes, vocabulary.offsets)):
        block = indicator[offset:offset + len(attribute.values)]
        removed, added = np.flatnonzero(block == -1), np.flatnonzero(block == 1)
        if len(removed) > 1 or len(added) > 1 or len(removed) > len(added):
            raise MalformedFile(path, line, f"attribute {attribute.name!r} needs one +1 and "
                                            "at most one -1")
        if len(added):
            source = int(removed[0]) if len(removed) else UNKNOWN
            changes.append(q.AttributeChange(a, source, int(added[0])))
    if not changes:
        raise MalformedFile(path, line, "indicator changes no attribute")
    return tuple(changes)


def _row(path: Path, line: int, index: int, rows: np.ndarray) -> int:
    if not 0 <= index < len(rows):
        raise MalformedFile(path, line, f"index {index} out of range [0, {len(rows)})")
    return int(rows[index])


def _skus(paths: list[str]) -> list[str]:
    # File stems when they are unique (our writer's layout), else the path without suffix.
    stems = [Path(p).stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [str(Path(p).with_suffix("")) for p in paths]
