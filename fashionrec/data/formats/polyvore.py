"""Polyvore Outfits (Vasileva et al. 2018), in its published layout.

    DIR/
      images/<item_id>.jpg
      polyvore_item_metadata.json  {item_id: {"url_name", "description", "categories", "title",
                                    "related", "category_id", "semantic_category"}}
      {disjoint,nondisjoint}/
        {train,valid,test}.json    [{"set_id", "items": [{"item_id", "index"}, ...]}, ...]
        fill_in_blank_{split}.json [{"question": ["<set_id>_<index>", ...],
                                     "answers": [4 of them], "blank_position": n}, ...]
        compatibility_{split}.txt  "<1|0> <set_id>_<index> ..." per line

An item is addressed as "<set_id>_<index>" (its outfit and its 1-based index there);
the right FITB answer is the one from the question's outfit. A catalog read from
Polyvore has the items of the variant's outfits, its split is the first split whose
outfits use it (disjoint: the only one), and its labels are the semantic category and
the fine category ("type"). fashionrec's extensions, optional when reading: a
"fashionrec" entry in an item's metadata (attribute values, shop fields, split, hidden
style) and `fashionrec.json` (vocabulary and style names), so our own catalogs survive
a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog, Outfit
from fashionrec.items import Item
from fashionrec.data.formats.lines import (MalformedFile, read_json, read_json_records,
                                           read_lines, require, write_json)
from fashionrec.data.formats.image_files import load_image_files
from fashionrec.data.images import encode_jpeg
from fashionrec.data.taxonomy import GROUP
from fashionrec.errors import InvalidArgument
from fashionrec.vocab import UNKNOWN, Vocabulary

METADATA = "polyvore_item_metadata.json"
SIDECAR = "fashionrec.json"
VARIANTS = ("disjoint", "nondisjoint")
_FILE_SPLIT = {"train": "train", "val": "valid", "test": "test"}


@dataclass(frozen=True)
class CompatibilityQuestion:
    label: int  # 1: a real outfit, 0: random items of the same categories
    items: tuple[int, ...]  # catalog rows


def is_dataset(directory: Path) -> bool:
    directory = Path(directory)
    return (directory / METADATA).is_file() and any(
        (directory / v / "train.json").is_file() for v in VARIANTS)


def default_variant(directory: Path) -> str:
    for variant in VARIANTS:
        if (Path(directory) / variant / "train.json").is_file():
            return variant
    raise MalformedFile(Path(directory) / VARIANTS[0] / "train.json", None, "missing")


def write(catalog: Catalog, directory: Path, seed: int = 0, variant: str = "disjoint") -> None:
    """The catalog's outfits, items and pictures (JPEG), FITB and compatibility questions."""
    directory = Path(directory)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    (directory / variant).mkdir(exist_ok=True)
    categories = catalog.vocabulary.attributes[0].values
    metadata = {}
    for row, item in enumerate(catalog.items):
        category = categories[catalog.labels[row, 0]]
        metadata[item.sku] = {
            "url_name": item.title.lower(), "description": "", "categories": [],
            "title": item.title, "related": [], "category_id": str(catalog.labels[row, 0]),
            "semantic_category": GROUP.get(category, category),
            "fashionrec": _extension(catalog, row),
        }
        (directory / "images" / f"{item.sku}.jpg").write_bytes(encode_jpeg(catalog.images[row]))
    write_json(directory / METADATA, metadata)
    write_json(directory / SIDECAR, {"vocabulary": catalog.vocabulary.to_mapping(),
                                     "style_names": list(catalog.style_names)})
    address = {}
    for outfit in catalog.outfits:
        for i, row in enumerate(outfit.items):
            address.setdefault(row, f"{outfit.outfit_id}_{i + 1}")
    for split, name in _FILE_SPLIT.items():
        outfits = catalog.outfits_of(split)
        write_json(directory / variant / f"{name}.json", [
            {"set_id": o.outfit_id,
             "items": [{"item_id": catalog.items[r].sku, "index": i + 1}
                       for i, r in enumerate(o.items)]} for o in outfits])
        write_json(directory / variant / f"fill_in_blank_{name}.json",
                   _fitb_records(catalog, split, seed, address))
        lines = [f"{c.label} " + " ".join(address[r] for r in c.items)
                 for c in _compatibility(catalog, split, seed, address)]
        (directory / variant / f"compatibility_{name}.txt").write_text(
            "".join(line + "\n" for line in lines), encoding="utf-8")


def read_catalog(directory: Path, variant: str | None = None, image_size: int = 64,
                 progress: bool = False) -> Catalog:
    """The variant's outfits and their items' pictures (resized to image_size) as a catalog."""
    directory = Path(directory)
    variant = variant or default_variant(directory)
    metadata = read_json_records(directory / METADATA)
    sidecar = read_json(directory / SIDECAR) if (directory / SIDECAR).is_file() else None
    item_rows = {key: i for i, (_, key, _) in enumerate(metadata)}
    outfit_lists = {split: _read_outfits(directory / variant / f"{name}.json", item_rows)
                    for split, name in _FILE_SPLIT.items()}
    first_split: dict[int, str] = {}
    for split in _FILE_SPLIT:
        for _, _, rows, _ in outfit_lists[split]:
            for r in rows:
                first_split.setdefault(r, split)
    for i, (line, key, meta) in enumerate(metadata):
        if not isinstance(meta, dict):
            raise MalformedFile(directory / METADATA, line, f"item {key!r}: expected an object")
        own = meta.get("fashionrec", {}).get("split")
        if own is not None and i not in first_split:
            first_split[i] = own
    kept = sorted(first_split)
    new_row = {old: new for new, old in enumerate(kept)}
    vocabulary, labels, styles, style_names = _labels(directory, metadata, kept, sidecar)
    items = [_item_meta(directory / METADATA, *metadata[i]) for i in kept]
    sources = [(directory / METADATA, metadata[i][0]) for i in kept]
    images = load_image_files([directory / "images" / f"{metadata[i][1]}.jpg" for i in kept],
                              image_size, sources, progress)
    outfits = [Outfit(set_id, tuple(new_row[r] for r in rows), split)
               for split in _FILE_SPLIT for set_id, _, rows, _ in outfit_lists[split]]
    return Catalog(vocabulary=vocabulary, images=images, labels=labels, items=items,
                   splits=np.asarray([first_split[i] for i in kept], dtype="<U5"),
                   outfits=outfits, styles=styles, style_names=style_names,
                   provenance={"format": "polyvore", "variant": variant,
                               "directory": str(directory)})


def read_fitb(directory: Path, catalog: Catalog, split: str,
              variant: str | None = None) -> list[q.FitbQuestion]:
    """The split's fill-in-the-blank questions over a catalog read from directory."""
    path, address = _questions_path(directory, catalog, split, variant, "fill_in_blank_{}.json")
    out = []
    for line, _, record in read_json_records(path):
        if not isinstance(record, dict) or not {"question", "answers", "blank_position"} <= set(
                record):
            raise MalformedFile(path, line, "expected question, answers and blank_position")
        context = [_resolve(path, line, a, address) for a in record["question"]]
        candidates = [_resolve(path, line, a, address) for a in record["answers"]]
        set_id = _set_id(path, line, record["question"][0])
        right = [i for i, a in enumerate(record["answers"]) if _set_id(path, line, a) == set_id]
        if len(right) != 1:
            raise MalformedFile(path, line, f"{len(right)} answers come from outfit {set_id}, "
                                            "expected exactly 1")
        out.append(q.FitbQuestion(set_id, tuple(context), tuple(candidates), right[0],
                                  int(record["blank_position"]) - 1))
    return out


def read_compatibility(directory: Path, catalog: Catalog, split: str,
                       variant: str | None = None) -> list[CompatibilityQuestion]:
    path, address = _questions_path(directory, catalog, split, variant, "compatibility_{}.txt")
    out = []
    for number, line in enumerate(read_lines(path), start=1):
        label, *names = line.split()
        if label not in ("0", "1") or not names:
            raise MalformedFile(path, number, "expected '<0|1> <set_id>_<index> ...'")
        out.append(CompatibilityQuestion(int(label),
                                         tuple(_resolve(path, number, n, address) for n in names)))
    return out


def _extension(catalog: Catalog, row: int) -> dict[str, Any]:
    item = catalog.items[row]
    out: dict[str, Any] = {
        "attributes": {a.name: catalog.value_name(row, i)
                       for i, a in enumerate(catalog.vocabulary.attributes)},
        "category": item.category, "brand": item.brand, "price": item.price,
        "currency": item.currency, "in_stock": item.in_stock, "split": str(catalog.splits[row]),
    }
    if catalog.styles is not None:
        out["style"] = catalog.style_names[int(catalog.styles[row])]
    return out


def _read_outfits(path: Path, item_rows: dict[str, int]
                  ) -> list[tuple[str, int, list[int], dict[str, int]]]:
    """(set_id, line, item rows in index order, {address: row}) per outfit of a split file."""
    out = []
    for line, _, record in read_json_records(path):
        try:
            set_id = str(record["set_id"])
            entries = sorted((int(e["index"]), str(e["item_id"])) for e in record["items"])
        except (KeyError, TypeError, ValueError):
            raise MalformedFile(path, line, "expected {set_id, items: [{item_id, index}]}"
                                ) from None
        missing = [item for _, item in entries if item not in item_rows]
        if missing:
            raise MalformedFile(path, line, f"item {missing[0]!r} is not in {METADATA}")
        rows = [item_rows[item] for _, item in entries]
        out.append((set_id, line, rows,
                    {f"{set_id}_{index}": item_rows[item] for index, item in entries}))
    return out


def _questions_path(directory: Path, catalog: Catalog, split: str, variant: str | None,
                    pattern: str) -> tuple[Path, dict[str, int]]:
    directory = Path(directory)
    variant = variant or default_variant(directory)
    skus = {item.sku: row for row, item in enumerate(catalog.items)}
    address: dict[str, int] = {}
    for name in _FILE_SPLIT.values():
        listing = directory / variant / f"{name}.json"
        if listing.is_file():
            for _, _, _, found in _read_outfits(listing, skus):
                address.update(found)
    return require(directory / variant / pattern.format(_FILE_SPLIT[split])), address


def _resolve(path: Path, line: int, name: Any, address: dict[str, int]) -> int:
    if not isinstance(name, str) or name not in address:
        raise MalformedFile(path, line, f"{name!r} is no item of an outfit")
    return address[name]


def _set_id(path: Path, line: int, name: Any) -> str:
    if not isinstance(name, str) or "_" not in name:
        raise MalformedFile(path, line, f"{name!r} is not '<set_id>_<index>'")
    return name.rsplit("_", 1)[0]


def _labels(directory: Path, metadata: list, kept: list[int], sidecar: dict | None):
    if sidecar is not None:
        vocabulary = Vocabulary.from_json(sidecar["vocabulary"])
        style_names = tuple(sidecar.get("style_names", ()))
    else:
        semantic = sorted({str(metadata[i][2].get("semantic_category", "")) for i in kept} - {""})
        kinds = sorted({str(metadata[i][2].get("category_id", "")) for i in kept} - {""},
                       key=lambda s: (len(s), s))
        vocabulary = Vocabulary.from_mapping({"category": semantic, "type": kinds})
        style_names = ()
    labels = np.full((len(kept), len(vocabulary.attributes)), UNKNOWN, np.int64)
    styles = np.zeros(len(kept), np.int64) if style_names else None
    for n, i in enumerate(kept):
        line, key, meta = metadata[i]
        if sidecar is not None:
            values = meta.get("fashionrec", {}).get("attributes", {})
        else:
            values = {"category": meta.get("semantic_category"), "type": meta.get("category_id")}
        try:
            for a, attribute in enumerate(vocabulary.attributes):
                value = values.get(attribute.name)
                if value not in (None, ""):
                    labels[n, a] = attribute.index(str(value))
            if styles is not None:
                styles[n] = style_names.index(meta["fashionrec"]["style"])
        except (InvalidArgument, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedFile(directory / METADATA, line, f"item {key!r}: {exc}") from None
    return vocabulary, labels, styles, style_names


def _item_meta(path: Path, line: int, key: str, meta: dict) -> Item:
    own = meta.get("fashionrec", {})
    title = str(meta.get("title") or meta.get("url_name") or key)
    try:
        return Item(sku=key, category=str(own.get("category",
                                                      meta.get("semantic_category", ""))),
                        title=title, brand=str(own.get("brand", "")),
                        price=float(own.get("price", 0.0)), currency=str(own.get("currency", "")),
                        in_stock=bool(own.get("in_stock", True)))
    except (TypeError, ValueError) as exc:
        raise MalformedFile(path, line, f"item {key!r}: {exc}") from None


def _fitb_records(catalog: Catalog, split: str, seed: int, address: dict[int, str]
                  ) -> list[dict[str, Any]]:
    """FITB questions addressed as Polyvore does: the question's items and the right answer
    through the question's outfit, the wrong answers through any outfit of theirs."""
    records = []
    for f in q.fitb_questions(catalog, split, seed):
        slots = [f"{f.outfit_id}_{i + 1}" for i in range(len(f.context) + 1)]
        wrong = [r for i, r in enumerate(f.candidates) if i != f.answer]
        if not all(r in address for r in wrong):
            continue
        answers = [address[r] for r in wrong]
        answers.insert(f.answer, slots[f.blank_position])
        records.append({"question": slots[:f.blank_position] + slots[f.blank_position + 1:],
                        "answers": answers, "blank_position": f.blank_position + 1})
    return records


def _compatibility(catalog: Catalog, split: str, seed: int, address: dict[int, str]
                   ) -> list[CompatibilityQuestion]:
    """Each outfit (label 1) and, per outfit, random outfit items of the same categories (0)."""
    rng = np.random.default_rng([seed, 20])
    addressed = np.array(sorted(r for r in address if catalog.splits[r] == split), np.int64)
    out = []
    for outfit in catalog.outfits_of(split):
        out.append(CompatibilityQuestion(1, outfit.items))
        fake = []
        for row in outfit.items:
            pool = addressed[catalog.labels[addressed, 0] == catalog.labels[row, 0]]
            fake.append(int(pool[rng.integers(len(pool))]))
        out.append(CompatibilityQuestion(0, tuple(fake)))
    return out
