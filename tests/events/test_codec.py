import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from fashionrec.events import codec
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemDelete, ItemPatch, ItemUpsert


def _upsert(**overrides) -> CatalogEvent:
    fields = dict(image_bytes=b"\x89PNG...", category="dress", labels={"color": "red"},
                  title="Red dress", brand="Acme", price=49.5, currency="EUR", in_stock=True)
    fields.update(overrides)
    return CatalogEvent(sku="sku-1", updated_at=Timestamp(seconds=1_700_000_000), upsert=ItemUpsert(**fields))


@pytest.mark.parametrize("content_type", [codec.PROTOBUF, codec.JSON])
def test_round_trip_in_both_encodings(content_type: str) -> None:
    event = _upsert()
    value, headers = codec.encode(event, content_type)
    assert codec.header(headers, "content-type") == content_type
    assert codec.decode(value, headers) == event


def test_missing_content_type_means_protobuf() -> None:
    event = CatalogEvent(sku="s", updated_at=Timestamp(seconds=1), delete=ItemDelete())
    assert codec.decode(event.SerializeToString(), None) == event


def test_json_published_by_hand_is_accepted() -> None:
    value = b'{"sku": "s9", "updatedAt": "2026-01-02T03:04:05Z", "patch": {"price": 12.5, "inStock": false}}'
    event = codec.decode(value, [("Content-Type", b"application/json")])
    assert event.sku == "s9" and event.patch.price == 12.5
    assert event.patch.HasField("in_stock") and not event.patch.in_stock
    assert codec.updated_at(event).year == 2026


@pytest.mark.parametrize(("value", "headers", "reason", "fragment"), [
    (b"", None, "empty", "no value"),
    (b"\xff\xff\xff", None, "undecodable", "not a protobuf"),
    (b"{not json", [("content-type", b"application/json")], "undecodable", "not a JSON"),
    (b"x", [("content-type", b"text/csv")], "content_type", "text/csv"),
    (CatalogEvent(updated_at=Timestamp(seconds=1), delete=ItemDelete()).SerializeToString(), None,
     "missing_field", "sku is required"),
    (CatalogEvent(sku="s", delete=ItemDelete()).SerializeToString(), None, "missing_field", "updated_at"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=1)).SerializeToString(), None,
     "missing_field", "one of upsert, patch, delete"),
    (_upsert(image_bytes=b"").SerializeToString(), None, "missing_field", "image_bytes or image_uri"),
    (_upsert(category="").SerializeToString(), None, "missing_field", "category"),
    (_upsert(price=-1).SerializeToString(), None, "invalid_field", "price"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=1), patch=ItemPatch()).SerializeToString(), None,
     "missing_field", "patch sets no field"),
])
def test_malformed_events_say_why(value, headers, reason, fragment) -> None:
    with pytest.raises(codec.MalformedEvent) as info:
        codec.decode(value, headers)
    assert info.value.reason == reason
    assert fragment in str(info.value)


@pytest.mark.parametrize(("event", "fragment"), [
    (_upsert(price=float("nan")), "price"),
    (_upsert(price=float("inf")), "price"),
    (_upsert(price=float("-inf")), "price"),
    (_upsert(price=1e300), "price"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=1), patch=ItemPatch(price=float("nan"))), "price"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=253_402_300_800), delete=ItemDelete()), "updated_at"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=-62_135_596_801), delete=ItemDelete()), "updated_at"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=1, nanos=-1), delete=ItemDelete()), "updated_at"),
    (CatalogEvent(sku="s" * 300, updated_at=Timestamp(seconds=1), delete=ItemDelete()), "sku"),
    (_upsert(title="t" * 2000), "title"),
    (CatalogEvent(sku="s", updated_at=Timestamp(seconds=1), patch=ItemPatch(brand="b" * 2000)), "brand"),
    (_upsert(labels={f"a{i}": "v" for i in range(100)}), "labels"),
    (_upsert(labels={"color": "r" * 100}), "labels[color]"),
    (_upsert(image_bytes=b"", image_uri="u" * 5000), "image_uri"),
])
def test_every_field_is_bounded(event: CatalogEvent, fragment: str) -> None:
    with pytest.raises(codec.MalformedEvent) as info:
        codec.decode(event.SerializeToString(), None)
    assert info.value.reason == "invalid_field"
    assert fragment in str(info.value)


def test_json_infinity_is_refused() -> None:
    value = b'{"sku": "s", "updatedAt": "2026-01-02T03:04:05Z", "patch": {"price": "Infinity"}}'
    with pytest.raises(codec.MalformedEvent, match="price"):
        codec.decode(value, [("content-type", b"application/json")])


def test_oversized_events_and_images_are_refused_before_parsing() -> None:
    limits = codec.EventLimits(max_event_bytes=1000, max_image_bytes=100)
    with pytest.raises(codec.MalformedEvent) as info:
        codec.decode(b"\x00" * 1001, None, limits)
    assert info.value.reason == "too_large"
    with pytest.raises(codec.MalformedEvent) as info:
        codec.decode(_upsert(image_bytes=b"x" * 101).SerializeToString(), None, limits)
    assert info.value.reason == "too_large"


def test_deeply_nested_json_is_undecodable_not_a_crash() -> None:
    with pytest.raises(codec.MalformedEvent) as info:
        codec.decode(b"[" * 100_000, [("content-type", b"application/json")])
    assert info.value.reason == "undecodable"


def test_unknown_encoding_is_refused_when_publishing() -> None:
    with pytest.raises(ValueError, match="content type"):
        codec.encode(_upsert(), "text/plain")
