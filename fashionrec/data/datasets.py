"""One entry point that opens any supported data set directory as a Catalog."""

from __future__ import annotations

from pathlib import Path

from fashionrec.data.catalog import CATALOG_FILE, Catalog, load_catalog
from fashionrec.data.formats import polyvore, shopping
from fashionrec.errors import InvalidArgument, NotFound
from fashionrec.progress import progress_enabled

FORMATS = ("fashionrec", "shopping", "polyvore")


def detect_format(path: Path) -> str:
    """Which format a directory holds: our saved catalog, Shopping/DeepFashion split files, or
    Polyvore Outfits."""
    path = Path(path)
    if not path.is_dir():
        raise NotFound(f"{path}: no such data set directory")
    if (path / CATALOG_FILE).is_file():
        return "fashionrec"
    if shopping.is_dataset(path):
        return "shopping"
    if polyvore.is_dataset(path):
        return "polyvore"
    raise InvalidArgument(
        f"{path}: not a data set: expected {CATALOG_FILE} (fashionrec catalog), "
        f"{shopping.ATTR_NUM} (Shopping100k/DeepFashion splits) or {polyvore.METADATA} with "
        "disjoint/ or nondisjoint/train.json (Polyvore Outfits)")


def open_dataset(path: Path, image_size: int = 64, image_root: Path | None = None,
                 progress: bool | None = None) -> Catalog:
    """The catalog in a directory of any supported format.

    Pictures of the real formats are read from their image files and resized to
    image_size (a saved fashionrec catalog keeps its own size); image_root is where
    Shopping/DeepFashion image paths are relative to (default: the directory itself).
    progress: a bar while the image files are read; None draws it when a person watches
    (fashionrec.progress.progress_enabled).
    """
    kind = detect_format(path)
    progress = progress_enabled(progress)
    if kind == "fashionrec":
        return load_catalog(path)
    if kind == "shopping":
        return shopping.read_catalog(path, image_root=image_root, image_size=image_size,
                                     progress=progress)
    return polyvore.read_catalog(path, image_size=image_size, progress=progress)
