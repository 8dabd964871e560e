"""What only the embedded backend has: a pointer file and shard directories that survive a restart."""

from __future__ import annotations

from pathlib import Path

from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, EdgeStore, IndexedItem
from fashionrec.index.schema import collection_name


def test_a_reopened_store_serves_the_same_live_version(
    qdrant_dir: Path, artifact: ModelArtifact, items: list[IndexedItem]
) -> None:
    index = CatalogIndex(EdgeStore(qdrant_dir))
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items[:50])
    before = index.similar("sku-0", k=5)
    index.close()
    assert (qdrant_dir / "LIVE").read_text().strip() == collection_name("fashionrec", "v1")

    reopened = CatalogIndex(EdgeStore(qdrant_dir))
    try:
        assert reopened.live_version() == "v1"
        assert reopened.similar("sku-0", k=5) == before
    finally:
        reopened.close()


def test_an_unfinished_version_is_not_listed_and_can_be_created_again(
    qdrant_dir: Path, artifact: ModelArtifact, items: list[IndexedItem]
) -> None:
    # A crash after the shard was made but before the model was stored leaves this behind.
    (qdrant_dir / "versions" / collection_name("fashionrec", "v1") / "shard" / "junk").mkdir(parents=True)
    store = EdgeStore(qdrant_dir)
    try:
        assert store.versions() == [] and store.live_version() is None
        index = CatalogIndex(store)
        index.create_version(artifact)
        index.set_live("v1")
        index.upsert(items[:10])
        assert index.versions() == ["v1"] and index.count() == 10
    finally:
        store.close()
