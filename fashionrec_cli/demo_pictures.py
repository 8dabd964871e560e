"""The demo's queries and their pictures: one query of each kind over gRPC, drawn with Pillow.

Each picture reads on its own: a title saying what was asked, the query, then the results,
each captioned with the attributes that matter for the query, marked against what was asked
(the changed attribute highlighted; kept ones shown the same or different from the query's),
a one-line tally and a legend. The queries are chosen so the effect is visible: a patterned
item for the color change (its pattern must survive), a non-solid pattern for pattern
similarity, an outfit whose held-out item the catalog knows.

- 1-manipulate-color-red.png: query → the model's preview of "this, but red" (when the model
  has a preview decoder; with what its classifiers read off it) → results;
- 2-similar-pattern.png: items like the query in pattern alone, in stock;
- 3-complete-outfit.png: outfit items → candidates of the missing category with the model's
  compatibility score (mean, and with each outfit item) and whether each one follows the
  catalog's outfit rules (colors that go together, at most one loud pattern).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fashionrec.data.catalog import Catalog
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc

_TILE, _COLUMN, _PAD, _LINE = 128, 168, 12, 18
_INK, _MUTED, _PAPER = (25, 25, 25), (110, 110, 110), (252, 252, 250)
_ACCENT, _HIGHLIGHT = (196, 30, 58), (255, 236, 150)
_YES, _NO = (30, 150, 70), (205, 45, 45)
_K = 8
_TARGET = "red"
# Colors a change to red is plainly visible from (not red itself, nor its neighbours).
_FAR_FROM_RED = ("black", "white", "gray", "navy", "beige", "blue", "green", "yellow")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable font without font files


@dataclass(frozen=True)
class _Line:
    text: str
    mark: bool | None = None  # True: as asked (green dot), False: not (red dot), None: no mark
    highlight: bool = False  # the attribute the query is about


@dataclass
class _Column:
    image: Image.Image
    header: str
    lines: list[_Line] = field(default_factory=list)
    frame: tuple[int, int, int] | None = None
    header_color: tuple[int, int, int] = _INK


def run_demo_queries(channel: grpc.Channel, catalog: Catalog, out: Path) -> list[Path]:
    """Runs Manipulate (with its preview), SimilarBy and Complete on the catalog; writes one PNG per query."""
    out.mkdir(parents=True, exist_ok=True)
    rows = {item.sku: row for row, item in enumerate(catalog.items)}
    return [
        _manipulate(channel, catalog, rows, out / f"1-manipulate-color-{_TARGET}.png"),
        _similar(channel, catalog, rows, out / "2-similar-pattern.png"),
        _outfit(channel, catalog, rows, out / "3-complete-outfit.png"),
    ]


# -- the three queries ----------------------------------------------------------------------------


def _manipulate(channel: grpc.Channel, catalog: Catalog, rows: dict[str, int], path: Path) -> Path:
    query = _manipulation_query_row(catalog)
    sku = catalog.items[query].sku
    item = common_pb2.ItemRef(sku=sku)
    changes = [common_pb2.AttributeChange(attribute="color", value=_TARGET)]
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    request = retrieval_pb2.ManipulateRequest(item=item, changes=changes, k=_K, include_preview=True)
    try:
        reply = stub.Manipulate(request, timeout=60)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        request.include_preview = False  # a model without a preview decoder: results only
        reply = stub.Manipulate(request, timeout=60)
    color, pattern, category = (_value(catalog, query, a) for a in ("color", "pattern", "category"))

    def lines(values: dict[str, str | None], asked: bool = True) -> list[_Line]:
        return [_Line(f"color: {values['color']}", values["color"] == _TARGET if asked else None, highlight=True),
                _Line(f"pattern: {values['pattern']}", values["pattern"] == pattern if asked else None),
                _Line(f"category: {values['category']}", values["category"] == category if asked else None)]

    columns = [[_Column(_tile(catalog.images[query]), "query", lines(
        {"color": color, "pattern": pattern, "category": category}, asked=False))]]
    if reply.preview_png:
        read = _read_back(channel, item, changes)
        preview = _Column(_tile(_png(reply.preview_png)), "preview of r + M.i",
                          [_Line("the model reads:", None), *lines(read)])
    else:
        preview = _Column(_placeholder("no preview decoder\nin this model"), "preview", [])
    columns.append([preview])
    hits = []
    for rank, hit in enumerate(reply.hits, 1):
        row = rows[hit.sku]
        values = {a: _value(catalog, row, a) for a in ("color", "pattern", "category")}
        hits.append(_Column(_tile(catalog.images[row]), f"#{rank}   score {hit.score:.3f}", lines(values)))
    columns.append(hits)
    tally = _tally(reply.hits, rows, catalog, [("color", _TARGET, f"color {_TARGET}"),
                                               ("pattern", pattern, f"kept pattern {pattern}"),
                                               ("category", category, f"kept category {category}")])
    _draw_sheet(
        f"Manipulate: this {category}, but {_TARGET}",
        f"query {sku}: {color} {pattern} {category}; change color -> {_TARGET}; top {_K} of the catalog. {tally}",
        columns,
        [(_Line("changed attribute", None, highlight=True), ""),
         (_Line("as asked", True), "the new value, or the query's own value kept"),
         (_Line("not as asked", False), ""),
         (_Line("score", None), "cosine to the composed query r + M.i plus the posterior term; higher is better")],
        path)
    return path


def _similar(channel: grpc.Channel, catalog: Catalog, rows: dict[str, int], path: Path) -> Path:
    query = _similar_query_row(catalog)
    sku = catalog.items[query].sku
    pattern = _value(catalog, query, "pattern")
    reply = retrieval_pb2_grpc.RetrievalServiceStub(channel).SimilarBy(retrieval_pb2.SimilarByRequest(
        item=common_pb2.ItemRef(sku=sku), weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1.0)],
        filters=common_pb2.Filters(in_stock=True), k=_K), timeout=60)

    def lines(row: int, asked: bool = True) -> list[_Line]:
        return [_Line(f"pattern: {_value(catalog, row, 'pattern')}",
                      _value(catalog, row, "pattern") == pattern if asked else None, highlight=True),
                _Line(f"color: {_value(catalog, row, 'color')}"),
                _Line(f"category: {_value(catalog, row, 'category')}"),
                _Line("in stock" if catalog.items[row].in_stock else "out of stock",
                      catalog.items[row].in_stock if asked else None)]

    columns = [[_Column(_tile(catalog.images[query]), "query", lines(query, asked=False))],
               [_Column(_tile(catalog.images[rows[h.sku]]), f"#{rank}   score {h.score:.3f}", lines(rows[h.sku]))
                for rank, h in enumerate(reply.hits, 1)]]
    tally = _tally(reply.hits, rows, catalog, [("pattern", pattern, f"pattern {pattern}")])
    categories = len({_value(catalog, rows[h.sku], "category") for h in reply.hits})
    colors = len({_value(catalog, rows[h.sku], "color") for h in reply.hits})
    _draw_sheet(
        f"SimilarBy: items like this one in pattern ({pattern}) alone, in stock",
        f"query {sku}: {_value(catalog, query, 'color')} {pattern} {_value(catalog, query, 'category')}; "
        f"weights pattern=1, filter in_stock. {tally}; color and category free ({colors} colors, "
        f"{categories} categories among the results)",
        columns,
        [(_Line("the attribute asked for", None, highlight=True), ""),
         (_Line("as asked", True), "the query's pattern; in stock"),
         (_Line("not as asked", False), ""),
         (_Line("unmarked", None), "free to differ"),
         (_Line("score", None), "similarity of the pattern embeddings; higher is better")],
        path)
    return path


def _outfit(channel: grpc.Channel, catalog: Catalog, rows: dict[str, int], path: Path) -> Path:
    outfit = _outfit_query(catalog)
    *given, hidden = outfit.items
    target = catalog.items[hidden].category
    stub = outfit_pb2_grpc.OutfitServiceStub(channel)
    given_skus = [catalog.items[r].sku for r in given]
    reply = stub.Complete(outfit_pb2.CompleteRequest(outfit_skus=given_skus, target_category=target, k=_K), timeout=60)
    rules = _outfit_rules(catalog)

    def fits(row: int) -> tuple[bool | None, bool | None]:
        """(colors go with every outfit item, at most one loud pattern in the outfit) under the catalog rules."""
        if rules is None:
            return None, None
        colors_ok = all(rules.color_ok[catalog.labels[row, 1], catalog.labels[g, 1]] for g in given)
        loud = sum(bool(rules.loud[catalog.labels[r, 2]]) for r in (*given, row))
        return bool(colors_ok), loud <= 1

    columns = [[_Column(_tile(catalog.images[g]), "outfit item",
                        [_Line(f"color: {_value(catalog, g, 'color')}", highlight=True),
                         _Line(f"pattern: {_value(catalog, g, 'pattern')}", highlight=True),
                         _Line(f"category: {_value(catalog, g, 'category')}")]) for g in given]]
    hits, good = [], 0
    for rank, hit in enumerate(reply.hits, 1):
        row = rows[hit.sku]
        colors_ok, quiet = fits(row)
        good += bool(colors_ok and quiet)
        scored = stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=[*given_skus, hit.sku]), timeout=60)
        with_each = {p.sku_a if p.sku_b == hit.sku else p.sku_b: p.score for p in scored.pairs
                     if hit.sku in (p.sku_a, p.sku_b)}
        held_out = hit.sku == catalog.items[hidden].sku
        hits.append(_Column(
            _tile(catalog.images[row]), f"#{rank}   compat {hit.score:.3f}",
            [_Line(f"color: {_value(catalog, row, 'color')}", colors_ok, highlight=True),
             _Line(f"pattern: {_value(catalog, row, 'pattern')}", quiet, highlight=True),
             _Line("each: " + " ".join(f"{with_each[s]:+.2f}" for s in given_skus)),
             *([_Line("held-out item", None)] if held_out else [])],
            frame=_ACCENT if held_out else None))
    columns.append(hits)
    outfit_desc = ", ".join(f"{_value(catalog, g, 'color')} {_value(catalog, g, 'pattern')} "
                            f"{_value(catalog, g, 'category')}" for g in given)
    tally = "" if rules is None else f"{good}/{len(reply.hits)} follow the catalog's outfit rules"
    _draw_sheet(
        f"Complete this outfit with: {target}",
        f"outfit {outfit.outfit_id}: {outfit_desc}; its {target} held out. {tally}",
        columns,
        [(_Line("why it fits", None, highlight=True), "the candidate's color and pattern against the outfit's"),
         (_Line("goes", True), "color compatible with every outfit item; at most one loud pattern"),
         (_Line("clashes", False), "by the catalog's outfit rules"),
         (_Line("compat", None), "the model's mean compatibility with the outfit items; "
                                 "'each': with each outfit item, left to right; higher is better"),
         (_Line("red frame", None), "the item the catalog's outfit actually had")],
        path)
    return path


# -- choosing queries that show the effect --------------------------------------------------------


def _manipulation_query_row(catalog: Catalog) -> int:
    """A patterned item far from red whose category and pattern exist in red: the change, and what
    it keeps, are then both visible in the results."""
    def count(row: int) -> int:
        return sum(1 for r in range(len(catalog)) if r != row and _value(catalog, r, "color") == _TARGET
                   and _value(catalog, r, "pattern") == _value(catalog, row, "pattern")
                   and catalog.items[r].category == catalog.items[row].category)

    candidates = [r for r in range(len(catalog)) if _value(catalog, r, "color") in _FAR_FROM_RED
                  and _value(catalog, r, "pattern") not in (None, "n/a", "solid")]
    if not candidates:
        candidates = [r for r in range(len(catalog)) if _value(catalog, r, "color") not in (None, "n/a", _TARGET)]
    return max(candidates[:300], key=count)


def _similar_query_row(catalog: Catalog) -> int:
    """An in-stock item with a non-solid pattern that many in-stock items of other categories share."""
    def spread(row: int) -> tuple[int, int]:
        pattern = _value(catalog, row, "pattern")
        same = [r for r in range(len(catalog)) if r != row and catalog.items[r].in_stock
                and _value(catalog, r, "pattern") == pattern]
        return min(len(same), 2 * _K), len({catalog.items[r].category for r in same})

    candidates = [r for r in range(len(catalog)) if catalog.items[r].in_stock
                  and _value(catalog, r, "pattern") not in (None, "n/a", "solid")]
    return max(candidates[:200] or [0], key=spread)


def _outfit_query(catalog: Catalog):
    """An outfit of at least three items whose held-out category has enough candidates to choose from,
    preferably with one patterned item among the given ones (a patterned candidate would then clash)."""
    outfits = [o for o in catalog.outfits if len(o.items) >= 3]
    counts: dict[str, int] = {}
    for item in catalog.items:
        counts[item.category] = counts.get(item.category, 0) + 1
    enough = [o for o in outfits if counts[catalog.items[o.items[-1]].category] >= 2 * _K] or outfits
    patterned = [o for o in enough
                 if sum(_value(catalog, r, "pattern") not in (None, "n/a", "solid") for r in o.items[:-1]) == 1]
    return (patterned or enough)[0]


def _outfit_rules(catalog: Catalog):
    from fashionrec.data.outfits import OutfitRules
    from fashionrec.errors import FailedPrecondition

    try:
        return OutfitRules.for_catalog(catalog)
    except FailedPrecondition:
        return None


# -- helpers --------------------------------------------------------------------------------------


def _value(catalog: Catalog, row: int, attribute: str) -> str | None:
    return catalog.value_name(row, catalog.vocabulary.position(attribute))


def _tally(hits: Sequence[common_pb2.SearchHit], rows: dict[str, int], catalog: Catalog,
           checks: list[tuple[str, str | None, str]]) -> str:
    parts = [f"{sum(_value(catalog, rows[h.sku], a) == v for h in hits)}/{len(hits)} {what}" for a, v, what in checks]
    return "Results: " + ", ".join(parts)


def _read_back(channel: grpc.Channel, item: common_pb2.ItemRef,
               changes: list[common_pb2.AttributeChange]) -> dict[str, str | None]:
    reply = encoder_pb2_grpc.EncoderServiceStub(channel).Preview(
        encoder_pb2.PreviewRequest(item=item, changes=changes), timeout=60)
    read = {p.attribute: p.value for p in reply.read_back}
    return {a: read.get(a) for a in ("color", "pattern", "category")}


def _png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _tile(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels).resize((_TILE, _TILE), Image.Resampling.LANCZOS)


def _placeholder(text: str) -> Image.Image:
    tile = Image.new("RGB", (_TILE, _TILE), (235, 235, 232))
    ImageDraw.Draw(tile).multiline_text((8, _TILE // 2 - 16), text, fill=_MUTED, font=_font(12))
    return tile


def _wrap(text: str, font, width: int, draw: ImageDraw.ImageDraw) -> list[str]:
    lines, current = [], ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return lines + [current] if current else lines


def _draw_line(draw: ImageDraw.ImageDraw, font, x: int, y: int, line: _Line) -> int:
    """Draws a caption line at (x, y); returns the x after it."""
    text_x = x
    if line.mark is not None:
        draw.ellipse((x, y + 4, x + 9, y + 13), fill=_YES if line.mark else _NO)
        text_x = x + 14
    width = int(draw.textlength(line.text, font=font))
    if line.highlight:
        draw.rectangle((text_x - 2, y, text_x + width + 2, y + _LINE - 2), fill=_HIGHLIGHT)
    draw.text((text_x, y + 1), line.text, fill=_INK if line.mark is not False else _NO, font=font)
    return text_x + width


def _draw_sheet(title: str, subtitle: str, groups: list[list[_Column]],
                legend: list[tuple[_Line, str]], path: Path) -> None:
    """Groups of columns left to right with an arrow between groups; a title, subtitle and legend."""
    title_font, font, small = _font(20), _font(14), _font(13)
    n_columns = sum(len(g) for g in groups)
    arrow = 36
    width = _PAD + n_columns * (_COLUMN + _PAD) + (len(groups) - 1) * arrow + _PAD
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    subtitle_lines = _wrap(subtitle, small, width - 2 * _PAD, probe)
    caption_lines = max(len(c.lines) for g in groups for c in g)
    top = _PAD + 28 + len(subtitle_lines) * _LINE + _PAD
    legend_top = top + _LINE + _TILE + 6 + caption_lines * _LINE + _PAD
    height = legend_top + 8 + len(legend) * _LINE + _PAD
    sheet = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, _PAD), title, fill=_INK, font=title_font)
    for i, line in enumerate(subtitle_lines):
        draw.text((_PAD, _PAD + 30 + i * _LINE), line, fill=_MUTED, font=small)
    x = _PAD
    for g, group in enumerate(groups):
        if g:
            middle = top + _LINE + _TILE // 2
            draw.line((x + 4, middle, x + arrow - 10, middle), fill=_INK, width=3)
            draw.polygon([(x + arrow - 6, middle), (x + arrow - 14, middle - 7), (x + arrow - 14, middle + 7)],
                         fill=_INK)
            x += arrow
        for column in group:
            draw.text((x, top), column.header, fill=column.header_color, font=font)
            image_y = top + _LINE
            sheet.paste(column.image, (x, image_y))
            if column.frame is not None:
                draw.rectangle((x - 3, image_y - 3, x + _TILE + 2, image_y + _TILE + 2), outline=column.frame, width=3)
            for i, line in enumerate(column.lines):
                _draw_line(draw, small, x, image_y + _TILE + 6 + i * _LINE, line)
            x += _COLUMN + _PAD
    draw.line((_PAD, legend_top, width - _PAD, legend_top), fill=(220, 220, 215))
    for i, (key, text) in enumerate(legend):
        y = legend_top + 8 + i * _LINE
        end = _draw_line(draw, small, _PAD, y, key)
        if text:
            draw.text((end + 10, y + 1), text, fill=_MUTED, font=small)
    sheet.save(path)
