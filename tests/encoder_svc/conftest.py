from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from encoder_svc.server import prepare_index
from fashionrec.data.catalog import Catalog
from fashionrec.data.synthetic import generate_catalog
from fashionrec.index import CatalogIndex, EdgeStore
from fashionrec.model.inference import Encoder


@pytest.fixture(scope="session")
def small_catalog() -> Catalog:
    return generate_catalog(60, seed=5, image_size=64)


@pytest.fixture(scope="session")
def encoder(model_dir: Path) -> Encoder:
    return Encoder.load(model_dir, "cpu")


@pytest.fixture
def index(tmp_path: Path, model_dir: Path) -> Iterator[CatalogIndex]:
    index = CatalogIndex(EdgeStore(tmp_path / "index"))
    prepare_index(index, model_dir)
    yield index
    index.close()

