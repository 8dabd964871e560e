"""The demo picks queries whose effect shows in its pictures (no stack needed)."""

from __future__ import annotations

from fashionrec.data.synthetic import generate_catalog
from fashionrec_cli.demo_pictures import _manipulation_query_row, _outfit_query, _similar_query_row, _value


def test_the_demo_queries_show_their_effect() -> None:
    catalog = generate_catalog(150, seed=2026, image_size=32)
    row = _manipulation_query_row(catalog)
    assert _value(catalog, row, "pattern") not in ("solid", "n/a", None)  # the kept pattern is visible
    assert _value(catalog, row, "color") not in ("red", "pink", "orange")  # so is the change to red
    row = _similar_query_row(catalog)
    assert _value(catalog, row, "pattern") not in ("solid", "n/a", None) and catalog.items[row].in_stock
    outfit = _outfit_query(catalog)
    assert len(outfit.items) >= 3
