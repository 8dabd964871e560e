"""The in-memory catalog every trainer, evaluator and exporter works on, and its files.

A catalog is a set of items (image, attribute labels, shop metadata), a
train/val/test split of those items, and outfits over them. The generator
(`fashionrec.data.synthetic.generate_catalog`) makes one; the format readers
(`fashionrec.data.formats`) build one from the published data sets.

    DIR/
      catalog.json   format marker, vocabulary, image size, style names, generator settings
      images.npy     uint8 (N, H, W, 3)
      items.csv      one row per item: sku, split, category, title, brand, price, currency,
                     in_stock, style, then one column per attribute ("attr:<name>") holding
                     the value name (empty: not known)
      outfits.json   [{"outfit_id", "split", "items": [row, ...]}, ...]

Everything is written in a fixed order with fixed formatting, so the same
catalog always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.errors import InvalidArgument, NotFound
from fashionrec.items import Item
from fashionrec.vocab import UNKNOWN, Vocabulary

SPLITS = ("train", "val", "test")
CATALOG_FORMAT = "fashionrec-catalog"
CATALOG_VERSION = 1
CATALOG_FILE = "catalog.json"
IMAGES_FILE = "images.npy"
ITEMS_FILE = "items.csv"
OUTFITS_FILE = "outfits.json"
_ATTR_PREFIX = "attr:"
_ITEM_COLUMNS = ("sku", "split", "category", "title", "brand", "price", "currency", "in_stock",
                 "style")


@dataclass(frozen=True)
class Outfit:
    outfit_id: str
    items: tuple[int, ...]  # row indices into the catalog
    split: str  # "train" | "val" | "test"


@dataclass
class Catalog:
    vocabulary: Vocabulary  # attribute 0 is "category"
    images: np.ndarray  # uint8 (N, H, W, 3)
    labels: np.ndarray  # int64 (N, n_attributes): value index per attribute; UNKNOWN = not known
    # The shop's fields per row; their `labels` are filled from `labels` (known values by name).
    items: list[Item]
    splits: np.ndarray  # (N,) of "train" | "val" | "test"
    outfits: list[Outfit]
    # The generator's hidden style per item (index into style_names); None for real data
    # sets. Not a label: it only drives the outfit rules and lets analyses check them.
    styles: np.ndarray | None = None
    style_names: tuple[str, ...] = ()
    # How the catalog was made (generator seed and sizes, or the source directory).
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.items)
        if self.images.ndim != 4 or self.images.shape[0] != n or self.images.shape[3] != 3:
            raise InvalidArgument.for_field(
                "images", f"expected ({n}, H, W, 3), got {self.images.shape}")
        if self.labels.shape != (n, len(self.vocabulary.attributes)):
            raise InvalidArgument.for_field(
                "labels", f"expected ({n}, {len(self.vocabulary.attributes)}), "
                          f"got {self.labels.shape}")
        if self.splits.shape != (n,):
            raise InvalidArgument.for_field("splits", f"expected ({n},), got {self.splits.shape}")
        bad = sorted(set(self.splits.tolist()) - set(SPLITS))
        if bad:
            raise InvalidArgument.for_field("splits", f"unknown split names {bad}")
        if not self.vocabulary.attributes or self.vocabulary.names[0] != "category":
            raise InvalidArgument.for_field("vocabulary", "attribute 0 must be 'category'")
        self.items = [item if item.labels else replace(item, labels=self.given_labels(row))
                      for row, item in enumerate(self.items)]

    def given_labels(self, row: int) -> dict[str, str]:
        """The known attribute values of a row, by name (unknown ones left out)."""
        names = (self.value_name(row, a) for a in range(len(self.vocabulary.attributes)))
        return {a.name: value for a, value in zip(self.vocabulary.attributes, names) if value is not None}

    def __len__(self) -> int:
        return len(self.items)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    def indices(self, split: str) -> np.ndarray:
        """Row indices of that split, in row order."""
        if split not in SPLITS:
            raise InvalidArgument.for_field("split", f"unknown split {split!r}; known: "
                                                     f"{', '.join(SPLITS)}")
        return np.flatnonzero(self.splits == split)

    def outfits_of(self, split: str) -> list[Outfit]:
        return [o for o in self.outfits if o.split == split]

    def value_name(self, row: int, attribute: int) -> str | None:
        """The label of an item as a value name; None when not known."""
        value = int(self.labels[row, attribute])
        if value == UNKNOWN:
            return None
        return self.vocabulary.attributes[attribute].values[value]


def save_catalog(catalog: Catalog, directory: Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header = {
        "format": CATALOG_FORMAT,
        "version": CATALOG_VERSION,
        "n_items": len(catalog),
        "image_size": catalog.image_size,
        "vocabulary": catalog.vocabulary.to_mapping(),
        "style_names": list(catalog.style_names),
        "provenance": catalog.provenance,
    }
    _write_json(directory / CATALOG_FILE, header)
    np.save(directory / IMAGES_FILE, np.ascontiguousarray(catalog.images, dtype=np.uint8))
    (directory / ITEMS_FILE).write_text(_items_csv(catalog), encoding="utf-8")
    _write_json(directory / OUTFITS_FILE, [
        {"outfit_id": o.outfit_id, "split": o.split, "items": list(o.items)}
        for o in catalog.outfits
    ])


def load_catalog(directory: Path) -> Catalog:
    directory = Path(directory)
    header_path = directory / CATALOG_FILE
    if not header_path.is_file():
        raise NotFound(f"{header_path}: no catalog here (expected {CATALOG_FILE})")
    header = json.loads(header_path.read_text(encoding="utf-8"))
    if header.get("format") != CATALOG_FORMAT:
        raise InvalidArgument(f"{header_path}: not a fashionrec catalog "
                              f"(format {header.get('format')!r})")
    vocabulary = Vocabulary.from_mapping(header["vocabulary"])
    items, labels, splits, styles = _parse_items_csv(directory / ITEMS_FILE, vocabulary,
                                                     tuple(header.get("style_names", ())))
    images = np.load(directory / IMAGES_FILE)
    outfits = [Outfit(str(o["outfit_id"]), tuple(int(i) for i in o["items"]), str(o["split"]))
               for o in json.loads((directory / OUTFITS_FILE).read_text(encoding="utf-8"))]
    return Catalog(vocabulary=vocabulary, images=images, labels=labels, items=items,
                   splits=splits, outfits=outfits, styles=styles,
                   style_names=tuple(header.get("style_names", ())),
                   provenance=dict(header.get("provenance", {})))


def _write_json(path: Path, data: Any) -> None:
    # Insertion order, not sorted keys: the vocabulary's order is the model's column order.
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _items_csv(catalog: Catalog) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = catalog.vocabulary.names
    writer.writerow([*_ITEM_COLUMNS, *(_ATTR_PREFIX + n for n in names)])
    for row, item in enumerate(catalog.items):
        style = "" if catalog.styles is None else catalog.style_names[int(catalog.styles[row])]
        values = [catalog.value_name(row, a) or "" for a in range(len(names))]
        writer.writerow([item.sku, str(catalog.splits[row]), item.category, item.title,
                         item.brand, f"{item.price:.2f}", item.currency, int(item.in_stock),
                         style, *values])
    return out.getvalue()


def _parse_items_csv(path: Path, vocabulary: Vocabulary, style_names: tuple[str, ...]
                     ) -> tuple[list[Item], np.ndarray, np.ndarray, np.ndarray | None]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    expected = [*_ITEM_COLUMNS, *(_ATTR_PREFIX + n for n in vocabulary.names)]
    if not rows or rows[0] != expected:
        raise InvalidArgument(f"{path}, line 1: header must be {','.join(expected)}")
    items, splits, styles = [], [], []
    labels = np.full((len(rows) - 1, len(expected) - len(_ITEM_COLUMNS)), UNKNOWN, np.int64)
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(expected):
            raise InvalidArgument(f"{path}, line {line}: {len(row)} fields, "
                                  f"expected {len(expected)}")
        sku, split, category, title, brand, price, currency, in_stock, style = \
            row[:len(_ITEM_COLUMNS)]
        try:
            items.append(Item(sku=sku, category=category, title=title, brand=brand, price=float(price),
                              currency=currency, in_stock=bool(int(in_stock))))
            for a, value in enumerate(row[len(_ITEM_COLUMNS):]):
                if value:
                    labels[i, a] = vocabulary.attributes[a].index(value)
            styles.append(style_names.index(style) if style else -1)
        except (ValueError, InvalidArgument) as exc:
            raise InvalidArgument(f"{path}, line {line}: {exc}") from None
        splits.append(split)
    style_array = np.asarray(styles, np.int64) if style_names else None
    return items, labels, np.asarray(splits, dtype="<U5"), style_array
