"""The demo's queries and their pictures: one query of each kind over gRPC, drawn with Pillow."""

from __future__ import annotations

from pathlib import Path

import grpc
from PIL import Image, ImageDraw, ImageFont

from fashionrec.data.catalog import Catalog
from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc

_TILE, _PAD, _TEXT = 96, 8, 14
_INK, _PAPER, _ACCENT = (20, 20, 20), (250, 250, 248), (200, 40, 40)


def run_demo_queries(channel: grpc.Channel, catalog: Catalog, out: Path) -> list[Path]:
    """Runs Manipulate, SimilarBy and Complete on the catalog; writes one PNG per query."""
    out.mkdir(parents=True, exist_ok=True)
    rows = {item.sku: row for row, item in enumerate(catalog.items)}
    retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    outfits = outfit_pb2_grpc.OutfitServiceStub(channel)
    color = catalog.vocabulary.position("color")
    query_row = next(r for r in range(len(catalog)) if catalog.value_name(r, color) not in (None, "n/a", "red"))
    sku = catalog.items[query_row].sku
    written = []

    reply = retrieval.Manipulate(retrieval_pb2.ManipulateRequest(
        item=common_pb2.ItemRef(sku=sku), changes=[common_pb2.AttributeChange(attribute="color", value="red")],
        k=8), timeout=30)
    written.append(_sheet(catalog, rows, [query_row], "Manipulate: this item, but red", reply.hits,
                          out / "1-manipulate-color-red.png"))

    reply = retrieval.SimilarBy(retrieval_pb2.SimilarByRequest(
        item=common_pb2.ItemRef(sku=sku), weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1.0)],
        filters=common_pb2.Filters(in_stock=True), k=8), timeout=30)
    written.append(_sheet(catalog, rows, [query_row], "SimilarBy: same pattern, in stock", reply.hits,
                          out / "2-similar-pattern.png", shown=("category", "pattern")))

    outfit = next(o for o in catalog.outfits if len(o.items) >= 3)
    *given, hidden = outfit.items
    target = catalog.items[hidden].category
    reply = outfits.Complete(outfit_pb2.CompleteRequest(
        outfit_skus=[catalog.items[r].sku for r in given], target_category=target, k=8), timeout=30)
    written.append(_sheet(catalog, rows, list(given), f"Complete this outfit with: {target}", reply.hits,
                          out / "3-complete-outfit.png", expected=catalog.items[hidden].sku))
    return written


def _sheet(catalog: Catalog, rows: dict[str, int], query_rows: list[int], title: str,
           hits: list[common_pb2.SearchHit], path: Path, expected: str | None = None,
           shown: tuple[str, ...] = ("category", "color")) -> Path:
    """One row: the query items, an arrow, the hits with score and the `shown` labels;
    the item the catalog expects (the hidden outfit item) framed in red."""
    font = ImageFont.load_default(size=11)
    columns = len(query_rows) + 1 + len(hits)
    width = _PAD + columns * (_TILE + _PAD)
    height = _PAD + _TEXT + _TILE + 4 * _TEXT + _PAD
    sheet = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, _PAD), title, fill=_INK, font=font)
    y = _PAD + _TEXT
    x = _PAD
    for row in query_rows:
        sheet.paste(_tile(catalog, row), (x, y))
        _caption(draw, font, x, y, ["query", *_labels(catalog, row, shown)])
        x += _TILE + _PAD
    draw.text((x + _TILE // 2 - 6, y + _TILE // 2 - 6), "->", fill=_INK, font=font)
    x += _TILE + _PAD
    for hit in hits:
        row = rows[hit.sku]
        sheet.paste(_tile(catalog, row), (x, y))
        if hit.sku == expected:
            draw.rectangle((x - 2, y - 2, x + _TILE + 1, y + _TILE + 1), outline=_ACCENT, width=2)
        _caption(draw, font, x, y, [f"{hit.score:.3f}", *_labels(catalog, row, shown)])
        x += _TILE + _PAD
    sheet.save(path)
    return path


def _tile(catalog: Catalog, row: int) -> Image.Image:
    return Image.fromarray(catalog.images[row]).resize((_TILE, _TILE), Image.Resampling.NEAREST)


def _labels(catalog: Catalog, row: int, names: tuple[str, ...]) -> list[str]:
    return [v for v in (catalog.value_name(row, catalog.vocabulary.position(n)) for n in names) if v and v != "n/a"]


def _caption(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont, x: int, y: int, lines: list[str]) -> None:
    for i, line in enumerate(lines):
        draw.text((x, y + _TILE + 2 + i * _TEXT), line, fill=_INK, font=font)
