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


def test_unknown_encoding_is_refused_when_publishing() -> None:
    with pytest.raises(ValueError, match="content type"):
        codec.encode(_upsert(), "text/plain")
