"""Publishing catalog items as events: what a catalog system does, and what `make demo` does."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaProducer

from fashionrec import item_messages
from fashionrec.events import codec
from fashionrec.item_messages import delete_event, patch_event
from fashionrec.items import Item
from fashionrec.telemetry.tracing import headers_with_context
from fashionrec.v1.catalog_pb2 import CatalogEvent


@dataclass(frozen=True)
class CatalogItem:
    """An item as a catalog system publishes it: the item and its picture (PNG bytes)."""

    item: Item
    image_png: bytes

    @property
    def sku(self) -> str:
        return self.item.sku


def upsert_event(item: CatalogItem, updated_at: float) -> CatalogEvent:
    """The upsert event for a published item, stamped with updated_at (seconds since the epoch)."""
    return item_messages.upsert_event(item.item, item.image_png, updated_at)


def publish(producer: KafkaProducer, topic: str, events: Iterable[CatalogEvent],
            content_type: str = codec.PROTOBUF) -> int:
    """Sends events keyed by SKU (with the current trace context) and waits until all are acknowledged."""
    futures = []
    for event in events:
        value, headers = codec.encode(event, content_type)
        futures.append(producer.send(topic, key=event.sku.encode(), value=value, headers=headers_with_context(headers)))
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    return len(futures)
