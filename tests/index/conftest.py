"""Both index backends on real engines: qdrant-edge in a temporary directory, and
qdrant-client's local mode standing in for a Qdrant server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, EdgeStore, IndexedItem, ServerStore, VectorStore
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items

BACKENDS = ("edge", "server")
CATALOG_SIZE = 300
MAX_K = 50


def make_store(backend: str, directory: Path) -> VectorStore:
    if backend == "edge":
        return EdgeStore(directory)
    # alias_ttl 0: every read resolves the alias, so a switch is seen at once.
    return ServerStore(QdrantClient(location=":memory:"), alias_ttl_seconds=0.0)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, qdrant_dir: Path) -> Iterator[VectorStore]:
    store = make_store(request.param, qdrant_dir)
    yield store
    store.close()


@pytest.fixture(scope="session")
def artifact() -> ModelArtifact:
    return synthetic_artifact("v1", seed=0)


@pytest.fixture(scope="session")
def items(artifact: ModelArtifact) -> list[IndexedItem]:
    return synthetic_items(artifact, CATALOG_SIZE, seed=0)


def _load(store: VectorStore, artifact: ModelArtifact, items: list[IndexedItem]) -> CatalogIndex:
    index = CatalogIndex(store, max_k=MAX_K)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items)
    index.optimize()
    return index


@pytest.fixture
def index(store: VectorStore, artifact: ModelArtifact, items: list[IndexedItem]) -> CatalogIndex:
    """A fresh catalog of CATALOG_SIZE items in version v1, live: for tests that write."""
    return _load(store, artifact, items)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    artifact: ModelArtifact, items: list[IndexedItem],
) -> Iterator[CatalogIndex]:
    """The same catalog shared by a module's tests that only read (or are refused before writing)."""
    store = make_store(request.param, tmp_path_factory.mktemp("qdrant"))
    yield _load(store, artifact, items)
    store.close()
