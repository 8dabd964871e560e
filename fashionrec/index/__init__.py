"""The vector index: Qdrant schema, the two backends, query composition.

    from fashionrec.index import open_index
    index = open_index(settings.qdrant)        # server when url is set, else embedded
    index.manipulate("SKU-1", [Change("color", "red")], Filters(in_stock=True), k=10)

See docs/index.md for the schema, the query math and measured recall.
"""

from __future__ import annotations

import dataclasses

from qdrant_client import QdrantClient

from fashionrec.config import QdrantSettings
from fashionrec.index.catalog_index import CatalogIndex, Hit, OutfitScore, PairScore, SearchResult, VectorQuery
from fashionrec.index.compose import Change
from fashionrec.index.edge_store import EdgeStore
from fashionrec.index.filters import Filters
from fashionrec.index.schema import IndexedItem, ItemPatch, point_id
from fashionrec.index.server_store import ServerStore
from fashionrec.index.store import IndexSettings, VectorStore
from fashionrec.index.timed import Observer, TimedStore
from fashionrec.items import Item

__all__ = [
    "CatalogIndex", "Change", "EdgeStore", "Filters", "Hit", "IndexSettings", "IndexedItem", "Item", "ItemPatch",
    "OutfitScore", "PairScore", "SearchResult", "ServerStore", "VectorQuery", "VectorStore", "open_index", "open_store",
    "point_id",
]


def open_store(settings: QdrantSettings, index_settings: IndexSettings = IndexSettings()) -> VectorStore:
    """The Qdrant server at settings.url, or the embedded engine at settings.path when url is empty."""
    if settings.url:
        index_settings = dataclasses.replace(
            index_settings,
            shard_number=settings.shard_number or None,
            replication_factor=settings.replication_factor or None,
            write_consistency_factor=settings.write_consistency_factor or None,
        )
        client = QdrantClient(
            url=settings.url,
            api_key=settings.api_key or None,
            prefer_grpc=settings.prefer_grpc,
            timeout=int(settings.timeout_seconds),
        )
        return ServerStore(client, index_settings)
    return EdgeStore(settings.path, index_settings)


def open_index(
    settings: QdrantSettings,
    index_settings: IndexSettings = IndexSettings(),
    max_k: int = 200,
    observe: Observer | None = None,
    max_outfit_items: int = 16,
) -> CatalogIndex:
    """The index over open_store; observe(operation, seconds) is told the latency of each engine call."""
    store = open_store(settings, index_settings)
    return CatalogIndex(TimedStore(store, observe) if observe else store, max_k=max_k,
                        max_outfit_items=max_outfit_items)
