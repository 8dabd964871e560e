"""`fashionrec catalog` end to end, in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashionrec_cli import main
from fashionrec.data.catalog import load_catalog
from fashionrec.data.datasets import open_dataset


def test_generate_preview_export(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cat"
    assert main(["catalog", "generate", "--out", str(out), "--items", "120", "--seed", "3",
                 "--image-size", "32", "--quiet"]) == 0
    catalog = load_catalog(out)
    assert len(catalog) == 120 and catalog.image_size == 32
    assert "120 items" in capsys.readouterr().out

    assert main(["catalog", "preview", str(out), "--out", str(tmp_path / "sheet.png")]) == 0
    assert (tmp_path / "sheet.png").is_file() and (tmp_path / "sheet-outfits.png").is_file()

    assert main(["catalog", "export", str(out), "--format", "shopping",
                 "--out", str(tmp_path / "shop")]) == 0
    back = open_dataset(tmp_path / "shop", image_size=32)
    assert np.array_equal(np.sort(back.labels, axis=0), np.sort(catalog.labels, axis=0))

    assert main(["catalog", "info", str(out)]) == 0
    assert "manipulation queries" in capsys.readouterr().out
