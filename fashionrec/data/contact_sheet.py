"""Contact sheets, so that a person can look at a catalog: items with their labels, and
outfits one per row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fashionrec.data.catalog import Catalog

_TEXT_LINE = 11
_PAD = 4
_BACKGROUND = (255, 255, 255)
_INK = (20, 20, 20)


def write_sheets(catalog: Catalog, out: Path, n_items: int = 48, n_outfits: int = 12,
                 tile: int = 96) -> list[Path]:
    """OUT (items with labels) and OUT-outfits.png beside it (when there are outfits)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = np.arange(min(n_items, len(catalog)))
    item_sheet(catalog, rows, tile).save(out)
    written = [out]
    if catalog.outfits:
        outfit_path = out.with_name(f"{out.stem}-outfits{out.suffix or '.png'}")
        outfit_sheet(catalog, catalog.outfits[:n_outfits], tile).save(outfit_path)
        written.append(outfit_path)
    return written


def item_sheet(catalog: Catalog, rows: np.ndarray, tile: int = 96, columns: int = 8
               ) -> Image.Image:
    """A grid of items, each captioned with its known, applicable labels."""
    captions = [_caption(catalog, int(r)) for r in rows]
    lines = max((len(c) for c in captions), default=0)
    cell_w, cell_h = tile + _PAD, tile + _PAD + lines * _TEXT_LINE
    n_rows = -(-len(rows) // columns)
    sheet = Image.new("RGB", (columns * cell_w + _PAD, n_rows * cell_h + _PAD), _BACKGROUND)
    draw, font = ImageDraw.Draw(sheet), _font()
    for i, (row, caption) in enumerate(zip(rows, captions)):
        x, y = _PAD + (i % columns) * cell_w, _PAD + (i // columns) * cell_h
        sheet.paste(_tile(catalog, int(row), tile), (x, y))
        for j, text in enumerate(caption):
            draw.text((x, y + tile + 1 + j * _TEXT_LINE), text, fill=_INK, font=font)
    return sheet


def outfit_sheet(catalog: Catalog, outfits: list, tile: int = 96) -> Image.Image:
    """One outfit per row: its id, split and (synthetic) style, then its items."""
    label_w = 120
    widest = max((len(o.items) for o in outfits), default=1)
    cell = tile + _PAD
    sheet = Image.new("RGB", (label_w + widest * cell + _PAD, len(outfits) * cell + _PAD),
                      _BACKGROUND)
    draw, font = ImageDraw.Draw(sheet), _font()
    for i, outfit in enumerate(outfits):
        y = _PAD + i * cell
        text = [outfit.outfit_id, outfit.split]
        if catalog.styles is not None:
            text.append(f"style: {catalog.style_names[int(catalog.styles[outfit.items[0]])]}")
        for j, line in enumerate(text):
            draw.text((_PAD, y + j * _TEXT_LINE), line, fill=_INK, font=font)
        for j, row in enumerate(outfit.items):
            sheet.paste(_tile(catalog, row, tile), (label_w + j * cell, y))
    return sheet


def _tile(catalog: Catalog, row: int, size: int) -> Image.Image:
    return Image.fromarray(catalog.images[row]).resize((size, size), Image.Resampling.NEAREST)


def _caption(catalog: Catalog, row: int) -> list[str]:
    lines = []
    for a, attribute in enumerate(catalog.vocabulary.attributes):
        value = catalog.value_name(row, a)
        if value is not None and value != "n/a":
            lines.append(value if a == 0 else f"{attribute.name[:6]}: {value}")
    return lines


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=10)
