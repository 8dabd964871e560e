"""A tiny synthetic catalog shared by the data tests (200 items at 32×32, ~0.2 s)."""

from __future__ import annotations

import pytest

from fashionrec.data.catalog import Catalog

from fashionrec.data.synthetic import generate_catalog

TINY_ITEMS = 200
TINY_SIZE = 32
TINY_SEED = 7


@pytest.fixture(scope="session")
def tiny() -> Catalog:
    return generate_catalog(TINY_ITEMS, TINY_SEED, TINY_SIZE)
