from __future__ import annotations

from pathlib import Path

from PIL import Image

from fashionrec.data.catalog import Catalog
from fashionrec.data.contact_sheet import write_sheets


def test_writes_an_item_and_an_outfit_sheet(tmp_path: Path, tiny: Catalog) -> None:
    paths = write_sheets(tiny, tmp_path / "sheet.png", n_items=16, n_outfits=3, tile=48)
    assert [p.name for p in paths] == ["sheet.png", "sheet-outfits.png"]
    items, outfits = (Image.open(p) for p in paths)
    assert items.width > 8 * 48 and items.height > 2 * 48
    assert outfits.height > 3 * 48
