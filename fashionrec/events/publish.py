"""Publishing catalog items as events: what a catalog system does, and what `make demo` does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaProducer

from fashionrec.events import codec
from fashionrec.telemetry.tracing import headers_with_context
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemDelete, ItemPatch, ItemUpsert

if TYPE_CHECKING:
    from fashionrec.data.catalog import Catalog


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    image_png: bytes
    category: str
    labels: Mapping[str, str]
    title: str = ""
    brand: str = ""
    price: float = 0.0
    currency: str = "EUR"
    in_stock: bool = True


def _stamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def upsert_event(item: CatalogItem, updated_at: float) -> CatalogEvent:
    return CatalogEvent(
        sku=item.sku,
        updated_at=_stamp(updated_at),
        upsert=ItemUpsert(
            image_bytes=item.image_png, category=item.category, labels=dict(item.labels), title=item.title,
            brand=item.brand, price=item.price, currency=item.currency, in_stock=item.in_stock,
        ),
    )


def patch_event(sku: str, updated_at: float, **fields: object) -> CatalogEvent:
    return CatalogEvent(sku=sku, updated_at=_stamp(updated_at), patch=ItemPatch(**fields))  # type: ignore[arg-type]


def delete_event(sku: str, updated_at: float) -> CatalogEvent:
    return CatalogEvent(sku=sku, updated_at=_stamp(updated_at), delete=ItemDelete())


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


def catalog_items(catalog: "Catalog", rows: Iterable[int]) -> list[CatalogItem]:
    """Catalog rows as items a catalog system would publish: PNG image, known labels, shop fields."""
    from fashionrec.data.images import encode_png

    out = []
    for row in rows:
        meta = catalog.items[row]
        labels = {a.name: catalog.value_name(row, p) for p, a in enumerate(catalog.vocabulary.attributes)}
        out.append(CatalogItem(
            sku=meta.sku, image_png=encode_png(catalog.images[row]), category=meta.category,
            labels={k: v for k, v in labels.items() if v is not None},
            title=meta.title, brand=meta.brand, price=meta.price, currency=meta.currency, in_stock=meta.in_stock,
        ))
    return out
