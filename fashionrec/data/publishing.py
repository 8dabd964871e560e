"""A catalog's rows as a catalog system publishes them (what `make demo`, the tests and the benches send)."""

from __future__ import annotations

from collections.abc import Iterable

from fashionrec.data.catalog import Catalog
from fashionrec.data.images import encode_png
from fashionrec.events.publish import CatalogItem

__all__ = ["catalog_items"]


def catalog_items(catalog: Catalog, rows: Iterable[int]) -> list[CatalogItem]:
    """Catalog rows as items a catalog system would publish: PNG image, known labels, shop fields."""
    return [CatalogItem(catalog.items[row], encode_png(catalog.images[row])) for row in rows]
