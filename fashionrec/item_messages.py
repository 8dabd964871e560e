"""Items to and from protobuf messages: the API's `Item` and the catalog events.

The one module where an item's fields are spelled out against the wire formats
(fashionrec.v1.common_pb2.Item, fashionrec.v1.catalog_pb2.CatalogEvent); the index
payload is fashionrec.index.schema's. Protobuf only: no gRPC, no torch.
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from fashionrec.events.codec import updated_at_seconds
from fashionrec.index.schema import ItemPatch
from fashionrec.items import Item
from fashionrec.v1 import common_pb2
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemDelete, ItemUpsert
from fashionrec.v1.catalog_pb2 import ItemPatch as ItemPatchMessage

__all__ = [
    "fill_item", "item_to_proto", "item_from_upsert", "patch_from_event", "upsert_event", "patch_event", "delete_event",
    "timestamp",
]

# The shop fields a patch event may set (ItemPatch's optional fields, in the message's order).
PATCH_FIELDS = ("price", "currency", "in_stock", "title", "brand")


def timestamp(seconds: float) -> Timestamp:
    """Seconds since the Unix epoch as a protobuf Timestamp."""
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def item_to_proto(item: Item) -> common_pb2.Item:
    """The API's view of an indexed item."""
    message = common_pb2.Item()
    fill_item(message, item)
    return message


def fill_item(message: common_pb2.Item, item: Item) -> None:
    """Sets the API's view of an item on a message in place.

    In place because a nested message passed to a constructor is copied: building a
    SearchResponse's ten hits in place took about half the time of constructing each hit
    around an item_to_proto (bench/call_overhead.py's `response` step).
    """
    message.sku = item.sku
    message.category = item.category
    message.title = item.title
    message.brand = item.brand
    message.price = item.price
    message.currency = item.currency
    message.in_stock = item.in_stock
    message.labels.update(item.labels)
    message.predicted_labels.update(item.predicted_labels)
    message.image_uri = item.image_uri
    message.model_version = item.model_version
    message.updated_at.FromNanoseconds(int(item.updated_at * 1e9))


def item_from_upsert(event: CatalogEvent, predicted_labels: dict[str, str]) -> Item:
    """The item an upsert event describes, with the model's predicted labels."""
    upsert = event.upsert
    return Item(
        sku=event.sku,
        category=upsert.category,
        labels=dict(upsert.labels),
        predicted_labels=predicted_labels,
        title=upsert.title,
        brand=upsert.brand,
        price=upsert.price,
        currency=upsert.currency,
        in_stock=upsert.in_stock,
        updated_at=updated_at_seconds(event),
        image_uri=upsert.image_uri,
    )


def patch_from_event(event: CatalogEvent) -> ItemPatch:
    """The payload change a patch event asks for: only the fields it sets."""
    fields = {name: getattr(event.patch, name) for name in PATCH_FIELDS if event.patch.HasField(name)}
    return ItemPatch(sku=event.sku, updated_at=updated_at_seconds(event), **fields)


def upsert_event(item: Item, image_png: bytes, updated_at: float) -> CatalogEvent:
    """The event a catalog system publishes for a new or changed item (its picture inline)."""
    return CatalogEvent(
        sku=item.sku,
        updated_at=timestamp(updated_at),
        upsert=ItemUpsert(
            image_bytes=image_png, category=item.category, labels=dict(item.labels), title=item.title,
            brand=item.brand, price=item.price, currency=item.currency, in_stock=item.in_stock,
        ),
    )


def patch_event(sku: str, updated_at: float, **fields: object) -> CatalogEvent:
    """A patch event setting the given shop fields (PATCH_FIELDS)."""
    return CatalogEvent(sku=sku, updated_at=timestamp(updated_at), patch=ItemPatchMessage(**fields))  # type: ignore[arg-type]


def delete_event(sku: str, updated_at: float) -> CatalogEvent:
    """A delete event."""
    return CatalogEvent(sku=sku, updated_at=timestamp(updated_at), delete=ItemDelete())
