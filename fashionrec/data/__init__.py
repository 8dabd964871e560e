"""Data: the catalog (synthetic or read from a published data set), its query sets for the
benchmarks, and image decoding. See docs/data.md."""

from fashionrec.data.catalog import (Catalog, ItemMeta, Outfit, generate_catalog, load_catalog,
                                     save_catalog)
from fashionrec.data.datasets import detect_format, open_dataset

__all__ = ["Catalog", "ItemMeta", "Outfit", "detect_format", "generate_catalog", "load_catalog",
           "open_dataset", "save_catalog"]
