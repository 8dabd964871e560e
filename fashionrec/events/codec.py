"""Catalog events on the wire: protobuf by default, the protobuf JSON mapping on request.

The record's `content-type` header picks the decoder, so ordinary Kafka tools
can publish JSON. Decoding also validates what the ingest worker relies on;
anything it rejects goes to the dead-letter topic with the `reason` below.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from fashionrec.index.schema import MAX_SKU_CHARS
from fashionrec.v1.catalog_pb2 import CatalogEvent

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPE_HEADER = "content-type"
TRACEPARENT_HEADER = "traceparent"

Headers = list[tuple[str, bytes]]

# google.protobuf.Timestamp's documented range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z:
# a stamp outside it is stored fine but cannot be turned back into a Timestamp when a query returns
# the item (every such query failed with INTERNAL).
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799

__all__ = [
    "CONTENT_TYPE_HEADER", "JSON", "PROTOBUF", "TRACEPARENT_HEADER", "EventLimits", "Headers",
    "MalformedEvent", "decode", "encode", "header", "updated_at", "updated_at_seconds",
]


@dataclass(frozen=True)
class EventLimits:
    """Bounds on what one event may carry, checked before anything is decoded, read or encoded.

    Strings are bounded so that a payload (and the dead-letter detail that names it) stays small;
    prices so that they are finite numbers the index accepts.
    """

    max_event_bytes: int = 6 * 1024 * 1024
    max_image_bytes: int = 4 * 1024 * 1024
    max_sku_chars: int = MAX_SKU_CHARS
    max_text_chars: int = 1024  # title, brand
    max_short_chars: int = 64  # currency, category, label names and values
    max_uri_chars: int = 4096
    max_labels: int = 64
    max_price: float = 1e12


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


def decode(value: bytes | None, headers: Iterable[tuple[str, bytes]] | None,
           limits: EventLimits = EventLimits()) -> CatalogEvent:
    """Parses and validates one record.

    Args:
        value: the record value.
        headers: the record headers (`content-type` picks the decoder).
        limits: the bounds every field is checked against.

    Returns:
        The event, with every field within limits.

    Raises:
        MalformedEvent: saying what is wrong (reason `too_large`, `undecodable`, `invalid_field`, ...).
    """
    content_type = (header(headers, CONTENT_TYPE_HEADER) or PROTOBUF).split(";")[0].strip().lower()
    if not value:
        raise MalformedEvent("empty", "the record has no value")
    if len(value) > limits.max_event_bytes:
        raise MalformedEvent("too_large", f"the record is {len(value)} bytes; the limit is {limits.max_event_bytes}")
    event = CatalogEvent()
    if content_type in (PROTOBUF, "application/protobuf"):
        try:
            event.ParseFromString(value)
        except (DecodeError, RecursionError) as exc:
            raise MalformedEvent("undecodable", f"not a protobuf CatalogEvent: {exc}") from None
    elif content_type == JSON:
        try:
            json_format.Parse(value, event)
        # json_format raises plain ValueError/TypeError/RecursionError on some hostile inputs.
        except (json_format.ParseError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
            raise MalformedEvent("undecodable", f"not a JSON CatalogEvent: {exc}") from None
    else:
        raise MalformedEvent("content_type", f"unsupported content-type {content_type!r}; use {PROTOBUF} or {JSON}")
    _validate(event, limits)
    return event


def updated_at(event: CatalogEvent) -> datetime:
    """When the catalog changed the item, as an aware UTC datetime."""
    return event.updated_at.ToDatetime(tzinfo=timezone.utc)


def updated_at_seconds(event: CatalogEvent) -> float:
    """updated_at as seconds since the Unix epoch: how the index stores and compares it."""
    return event.updated_at.seconds + event.updated_at.nanos / 1e9


def _validate(event: CatalogEvent, limits: EventLimits) -> None:
    if not event.sku:
        raise MalformedEvent("missing_field", "sku is required")
    _check_chars("sku", event.sku, limits.max_sku_chars, "")
    sku = event.sku
    _check_chars("event_id", event.event_id, limits.max_sku_chars, sku)
    if not event.HasField("updated_at"):
        raise MalformedEvent("missing_field", f"updated_at is required (sku {sku})")
    stamp = event.updated_at
    if not (MIN_TIMESTAMP_SECONDS <= stamp.seconds <= MAX_TIMESTAMP_SECONDS and 0 <= stamp.nanos <= 999_999_999):
        raise MalformedEvent("invalid_field", f"updated_at ({stamp.seconds} s, {stamp.nanos} ns) is outside "
                                              f"0001-01-01..9999-12-31 (sku {sku})")
    kind = event.WhichOneof("kind")
    if kind is None:
        raise MalformedEvent("missing_field", f"one of upsert, patch, delete is required (sku {sku})")
    if kind == "upsert":
        _validate_upsert(event, limits)
    if kind == "patch":
        patch = event.patch
        if not any(patch.HasField(f) for f in ("price", "currency", "in_stock", "title", "brand")):
            raise MalformedEvent("missing_field", f"patch sets no field (sku {sku})")
        if patch.HasField("price"):
            _check_price(patch.price, limits, sku)
        _check_shop_strings(patch, limits, sku)


def _validate_upsert(event: CatalogEvent, limits: EventLimits) -> None:
    upsert, sku = event.upsert, event.sku
    image_field = upsert.WhichOneof("image")
    # An empty oneof member still counts as set in proto3: check the content too.
    if image_field is None or not getattr(upsert, image_field):
        raise MalformedEvent("missing_field", f"upsert needs image_bytes or image_uri (sku {sku})")
    if len(upsert.image_bytes) > limits.max_image_bytes:
        raise MalformedEvent("too_large", f"image_bytes is {len(upsert.image_bytes)} bytes; "
                                          f"the limit is {limits.max_image_bytes} (sku {sku})")
    _check_chars("image_uri", upsert.image_uri, limits.max_uri_chars, sku)
    if not upsert.category:
        raise MalformedEvent("missing_field", f"upsert needs a category (sku {sku})")
    _check_chars("category", upsert.category, limits.max_short_chars, sku)
    if len(upsert.labels) > limits.max_labels:
        raise MalformedEvent("invalid_field", f"{len(upsert.labels)} labels; at most {limits.max_labels} (sku {sku})")
    for name, value in upsert.labels.items():
        _check_chars("labels key", name, limits.max_short_chars, sku)
        _check_chars(f"labels[{name}]", value, limits.max_short_chars, sku)
    _check_price(upsert.price, limits, sku)
    _check_shop_strings(upsert, limits, sku)


def _check_price(price: float, limits: EventLimits, sku: str) -> None:
    # NaN compares False with everything, so `price < 0` alone let it through to the index, which refused it.
    if not math.isfinite(price) or not 0 <= price <= limits.max_price:
        raise MalformedEvent("invalid_field", f"price must be a finite number in [0, {limits.max_price:g}], "
                                              f"not {price} (sku {sku})")


def _check_shop_strings(message: object, limits: EventLimits, sku: str) -> None:
    for name, limit in (("title", limits.max_text_chars), ("brand", limits.max_text_chars),
                        ("currency", limits.max_short_chars)):
        _check_chars(name, getattr(message, name), limit, sku)


def _check_chars(name: str, value: str, limit: int, sku: str) -> None:
    if len(value) > limit:
        where = f" (sku {sku[:64]})" if sku else ""
        raise MalformedEvent("invalid_field", f"{name} has {len(value)} characters; at most {limit}{where}")
