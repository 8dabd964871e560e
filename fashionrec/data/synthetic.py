"""The synthetic catalog: sample items (hidden style first, then labels that the
style biases), shop metadata, splits, pictures (render.py) and outfits
(outfits.py).

Deterministic: every random stream is seeded from (seed, purpose[, batch]),
and each render batch has its own stream, so the threads that render batches
in parallel cannot change the result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fashionrec.data import taxonomy as tx
from fashionrec.data.catalog import Catalog
from fashionrec.items import Item
from fashionrec.data.outfits import build_outfits
from fashionrec.data.render import batch_size, render
from fashionrec.progress import progress_bar
from fashionrec.errors import InvalidArgument

SPLIT_SHARES = (("train", 0.7), ("val", 0.15), ("test", 0.15))
MIN_ITEMS = 40
# Threads that render batches; numpy releases the GIL in the array kernels.
RENDER_THREADS = 2

_BRANDS = {"classic": ("Harwick & Lowe", "Maison Calder", "Ostrava"),
           "sporty": ("Stride", "Kinetica", "Velo Athletic"),
           "boho": ("Wildflower", "Sienna Rose", "Terra Loom"),
           "street": ("Concrete", "NXT Block", "Urban Static")}
_BASE_PRICE = {"tshirt": 19, "sweater": 49, "trousers": 59, "skirt": 45, "dress": 79,
               "coat": 149, "sneakers": 89, "boots": 129, "handbag": 99, "backpack": 69}
_NOUN = {"tshirt": "t-shirt"}
_PATTERN_WORD = {"solid": "", "stripes": "striped", "dots": "polka-dot", "checks": "checked",
                 "zigzag": "zigzag", "floral": "floral"}
_SLEEVE_WORD = {"sleeveless": "sleeveless", "short": "short-sleeve",
                "three-quarter": "three-quarter-sleeve", "long": "long-sleeve"}
_LENGTH_WORD = {"short": "short", "knee": "knee-length", "midi": "midi", "long": "long"}
_NECK_WORD = {"round": "crew-neck", "v-neck": "v-neck", "square": "square-neck",
              "turtleneck": "turtleneck"}


def generate_catalog(n_items: int, seed: int, image_size: int = 64, progress: bool | None = False) -> Catalog:
    if n_items < MIN_ITEMS:
        raise InvalidArgument.for_field("n_items", f"at least {MIN_ITEMS} items are needed for "
                                                   f"three splits with outfits; got {n_items}")
    if not 16 <= image_size <= 512:
        raise InvalidArgument.for_field("image_size", f"must be in [16, 512]; got {image_size}")
    rng = np.random.default_rng([seed, 0])
    styles = rng.integers(len(tx.STYLES), size=n_items)
    labels = _sample_labels(styles, rng)
    items = _metadata(labels, styles, seed, np.random.default_rng([seed, 3]))
    splits = _assign_splits(n_items, np.random.default_rng([seed, 4]))
    images = _render_all(labels, styles, image_size, seed, progress)
    outfits = build_outfits(labels, styles, splits, seed)
    return Catalog(vocabulary=tx.vocabulary(), images=images, labels=labels, items=items,
                   splits=splits, outfits=outfits, styles=styles, style_names=tx.STYLES,
                   provenance={"generator": "fashionrec.data.synthetic", "seed": seed,
                               "n_items": n_items, "image_size": image_size})


def _sample_labels(styles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(styles)
    labels = np.zeros((n, 6), np.int64)
    for s in range(len(tx.STYLES)):
        rows = np.flatnonzero(styles == s)
        for column, weights in ((0, tx.STYLE_CATEGORY_WEIGHTS), (1, tx.STYLE_COLOR_WEIGHTS),
                                (2, tx.STYLE_PATTERN_WEIGHTS)):
            labels[rows, column] = rng.choice(weights.shape[1], size=rows.size,
                                              p=weights[s] / weights[s].sum())
    for c, category in enumerate(tx.CATEGORIES):
        rows = np.flatnonzero(labels[:, 0] == c)
        for column, values, allowed in ((3, tx.SLEEVES, tx.SLEEVES_OF),
                                        (4, tx.LENGTHS, tx.LENGTHS_OF),
                                        (5, tx.NECKLINES, tx.NECKLINES_OF)):
            options = [values.index(v) for v in allowed.get(category, (tx.NA,))]
            labels[rows, column] = rng.choice(options, size=rows.size)
    return labels


def _metadata(labels: np.ndarray, styles: np.ndarray, seed: int,
              rng: np.random.Generator) -> list[Item]:
    n = len(labels)
    brand_pick = rng.integers(3, size=n)
    factor = rng.lognormal(0.0, 0.3, size=n) * (1 + 0.25 * brand_pick)
    in_stock = rng.uniform(size=n) < 0.85
    items = []
    for i in range(n):
        category = tx.CATEGORIES[labels[i, 0]]
        brand = _BRANDS[tx.STYLES[styles[i]]][brand_pick[i]]
        price = max(4.99, round(_BASE_PRICE[category] * factor[i]) - 0.01)
        items.append(Item(sku=f"SYN{seed}-{i:06d}", category=category,
                              title=_title(labels[i], brand), brand=brand,
                              price=round(price, 2), currency="EUR", in_stock=bool(in_stock[i])))
    return items


def _title(label: np.ndarray, brand: str) -> str:
    category = tx.CATEGORIES[label[0]]
    words = [brand, tx.COLORS[label[1]], _PATTERN_WORD[tx.PATTERNS[label[2]]]]
    for value, names in ((tx.LENGTHS[label[4]], _LENGTH_WORD), (tx.SLEEVES[label[3]], _SLEEVE_WORD),
                         (tx.NECKLINES[label[5]], _NECK_WORD)):
        words.append(names.get(value, ""))
    words.append(_NOUN.get(category, category))
    return " ".join(w for w in words if w)


def _assign_splits(n: int, rng: np.random.Generator) -> np.ndarray:
    order = rng.permutation(n)
    splits = np.empty(n, dtype="<U5")
    start = 0
    for i, (name, share) in enumerate(SPLIT_SHARES):
        end = n if i == len(SPLIT_SHARES) - 1 else start + round(n * share)
        splits[order[start:end]] = name
        start = end
    return splits


def _render_all(labels: np.ndarray, styles: np.ndarray, image_size: int, seed: int,
                progress: bool | None) -> np.ndarray:
    n = len(labels)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    step = batch_size(image_size)
    starts = range(0, n, step)

    def one(b: int) -> int:
        start = starts[b]
        rows = slice(start, min(n, start + step))
        images[rows] = render(labels[rows], styles[rows], image_size,
                              np.random.default_rng([seed, 1, b]))
        return rows.stop - rows.start

    with ThreadPoolExecutor(RENDER_THREADS) as pool, \
            progress_bar(total=n, desc="rendering", unit="item", enabled=progress) as bar:
        for done in pool.map(one, range(len(starts))):
            bar.update(done)
    return images
