"""Catalog events on the wire: protobuf by default, the protobuf JSON mapping on request.

The record's `content-type` header picks the decoder, so ordinary Kafka tools
can publish JSON. Decoding also validates what the ingest worker relies on;
anything it rejects goes to the dead-letter topic with the `reason` below.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from fashionrec.v1.catalog_pb2 import CatalogEvent

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPE_HEADER = "content-type"
TRACEPARENT_HEADER = "traceparent"

Headers = list[tuple[str, bytes]]


class MalformedEvent(ValueError):
    """An event the worker cannot process; `reason` is a short label for metrics and the DLQ."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The first value of a record header, decoded as UTF-8 (names compare case-insensitively)."""
    for key, value in headers or ():
        if key.lower() == name:
            return value.decode("utf-8", errors="replace") if value is not None else None
    return None


def encode(event: CatalogEvent, content_type: str = PROTOBUF) -> tuple[bytes, Headers]:
    """The record value and headers that publish event."""
    if content_type == PROTOBUF:
        value = event.SerializeToString(deterministic=True)
    elif content_type == JSON:
        value = json_format.MessageToJson(event, indent=None).encode()
    else:
        raise ValueError(f"content type must be {PROTOBUF} or {JSON}, not {content_type!r}")
    return value, [(CONTENT_TYPE_HEADER, content_type.encode())]


def decode(value: bytes | None, headers: Iterable[tuple[str, bytes]] | None) -> CatalogEvent:
    """Parses and validates one record; raises MalformedEvent saying what is wrong."""
    content_type = (header(headers, CONTENT_TYPE_HEADER) or PROTOBUF).split(";")[0].strip().lower()
    if not value:
        raise MalformedEvent("empty", "the record has no value")
    event = CatalogEvent()
    if content_type in (PROTOBUF, "application/protobuf"):
        try:
            event.ParseFromString(value)
        except DecodeError as exc:
            raise MalformedEvent("undecodable", f"not a protobuf CatalogEvent: {exc}") from None
    elif content_type == JSON:
        try:
            json_format.Parse(value, event)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise MalformedEvent("undecodable", f"not a JSON CatalogEvent: {exc}") from None
    else:
        raise MalformedEvent("content_type", f"unsupported content-type {content_type!r}; use {PROTOBUF} or {JSON}")
    _validate(event)
    return event


def updated_at(event: CatalogEvent) -> datetime:
    """When the catalog changed the item, as an aware UTC datetime."""
    return event.updated_at.ToDatetime(tzinfo=timezone.utc)


def updated_at_seconds(event: CatalogEvent) -> float:
    """updated_at as seconds since the Unix epoch: how the index stores and compares it."""
    return event.updated_at.seconds + event.updated_at.nanos / 1e9


def _validate(event: CatalogEvent) -> None:
    if not event.sku:
        raise MalformedEvent("missing_field", "sku is required")
    if not event.HasField("updated_at"):
        raise MalformedEvent("missing_field", f"updated_at is required (sku {event.sku})")
    kind = event.WhichOneof("kind")
    if kind is None:
        raise MalformedEvent("missing_field", f"one of upsert, patch, delete is required (sku {event.sku})")
    if kind == "upsert":
        upsert = event.upsert
        image_field = upsert.WhichOneof("image")
        # An empty oneof member still counts as set in proto3: check the content too.
        if image_field is None or not getattr(upsert, image_field):
            raise MalformedEvent("missing_field", f"upsert needs image_bytes or image_uri (sku {event.sku})")
        if not upsert.category:
            raise MalformedEvent("missing_field", f"upsert needs a category (sku {event.sku})")
        if upsert.price < 0:
            raise MalformedEvent("invalid_field", f"price must be >= 0, not {upsert.price} (sku {event.sku})")
    if kind == "patch":
        patch = event.patch
        if not any(patch.HasField(f) for f in ("price", "currency", "in_stock", "title", "brand")):
            raise MalformedEvent("missing_field", f"patch sets no field (sku {event.sku})")
        if patch.HasField("price") and patch.price < 0:
            raise MalformedEvent("invalid_field", f"price must be >= 0, not {patch.price} (sku {event.sku})")
