"""Hostile catalog events through an independent client (confluent-kafka), on the real broker, engine and model.

Each poison event must land in the dead-letter topic with its reason and
source coordinates, the good events published around them must be indexed,
and ingest health must stay SERVING; no dead-letter detail may quote a file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer
from google.protobuf.timestamp_pb2 import Timestamp
from PIL import Image

from encoder_svc.ingest import IngestOptions, IngestThread
from fashionrec.config import KafkaSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import BoundedDecoder, encode_png
from fashionrec.errors import InvalidArgument
from fashionrec.events import codec, dead_letter, kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import patch_event, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemUpsert
from tests.helpers import wait_for

SECRET = b"root:x:0:0:this-line-must-never-reach-the-dlq\n"


def bomb_png(side: int = 9_400) -> bytes:
    """A 1-bit grey PNG of side² pixels, ~11 KB: Pillow's bomb guard lets it through (< 89 Mpx)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    raw = zlib.compress(row * side, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _independent_producer(settings: KafkaSettings) -> Producer:
    # A publisher with a larger request limit than ours: it can put records on the topic that
    # kafka-python could not copy to the dead-letter topic whole.
    return Producer({"bootstrap.servers": settings.bootstrap_servers, "message.max.bytes": 8 * 1024 * 1024,
                     "linger.ms": 5})


def _send(producer: Producer, topic: str, key: bytes, value: bytes, content_type: str = codec.PROTOBUF) -> None:
    producer.produce(topic, key=key, value=value, headers=[("content-type", content_type.encode())])


def _upsert(sku: str, image: bytes = b"", uri: str = "", category: str = "", labels: dict | None = None,
            stamp: Timestamp | None = None, **fields) -> CatalogEvent:
    upsert = ItemUpsert(category=category, labels=labels or {}, **fields)
    if uri:
        upsert.image_uri = uri
    else:
        upsert.image_bytes = image
    return CatalogEvent(sku=sku, updated_at=stamp or Timestamp(seconds=1_700_000_000), upsert=upsert)


def _dead_letters(settings: KafkaSettings, expected: int) -> list:
    reader = kafka.consumer(settings, settings.dead_letter_topic, group_id=f"{settings.consumer_group}-dlq")
    records: list = []
    try:
        wait_for(lambda: records.extend(r for b in reader.poll(timeout_ms=200).values() for r in b)
                 or len(records) >= expected, what=f"{expected} dead letters")
    finally:
        reader.close()
    return records


def test_every_kind_of_poison_is_dead_lettered_and_good_events_around_it_are_indexed(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog, tmp_path: Path
) -> None:
    root = tmp_path / "images"
    root.mkdir()
    good_items = catalog_items(small_catalog, range(6))
    (root / "good.png").write_bytes(good_items[5].image_png)
    os.mkfifo(root / "pipe.png")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    (root / "link.png").symlink_to(secret)
    (root / "big.png").write_bytes(b"\x89PNG" + b"\x00" * (5 * 1024 * 1024))
    category, labels = good_items[0].item.category, dict(good_items[0].item.labels)
    png = good_items[0].image_png
    truncated = png[: len(png) // 2]

    poison: list[tuple[str, bytes, str, str]] = [  # (key, value, content type, expected reason)
        ("nan-price", _upsert("nan-price", png, category=category, price=float("nan")).SerializeToString(),
         codec.PROTOBUF, "invalid_field"),
        ("inf-price-json", json.dumps({"sku": "inf-price-json", "updatedAt": "2026-01-01T00:00:00Z",
                                       "upsert": {"imageUri": "good.png", "category": category,
                                                  "price": "Infinity"}}).encode(), codec.JSON, "invalid_field"),
        ("neg-inf-price", _upsert("neg-inf-price", png, category=category, price=float("-inf")).SerializeToString(),
         codec.PROTOBUF, "invalid_field"),
        ("nan-patch", patch_event(good_items[0].sku, 1_800_000_000, price=float("nan")).SerializeToString(),
         codec.PROTOBUF, "invalid_field"),
        ("year-10000", _upsert("year-10000", png, category=category,
                               stamp=Timestamp(seconds=253_402_300_800)).SerializeToString(), codec.PROTOBUF,
         "invalid_field"),
        ("year-minus", _upsert("year-minus", png, category=category,
                               stamp=Timestamp(seconds=-70_000_000_000)).SerializeToString(), codec.PROTOBUF,
         "invalid_field"),
        ("long-title", _upsert("long-title", png, category=category, title="x" * 5000).SerializeToString(),
         codec.PROTOBUF, "invalid_field"),
        ("bad-label", _upsert("bad-label", png, category=category, labels={"color": "ultraviolet"}).SerializeToString(),
         codec.PROTOBUF, "invalid_item"),
        ("fifo", _upsert("fifo", uri="pipe.png", category=category).SerializeToString(), codec.PROTOBUF,
         "image_unreadable"),
        ("outside-root", _upsert("outside-root", uri=f"file://{secret}", category=category).SerializeToString(),
         codec.PROTOBUF, "image_unreadable"),
        ("dotdot", _upsert("dotdot", uri="../secret.txt", category=category).SerializeToString(), codec.PROTOBUF,
         "image_unreadable"),
        ("symlink-out", _upsert("symlink-out", uri="link.png", category=category).SerializeToString(),
         codec.PROTOBUF, "image_unreadable"),
        ("over-size-file", _upsert("over-size-file", uri="big.png", category=category).SerializeToString(),
         codec.PROTOBUF, "image_unreadable"),
        ("missing-file", _upsert("missing-file", uri="nope.png", category=category).SerializeToString(),
         codec.PROTOBUF, "image_unreadable"),
        ("bomb", _upsert("bomb", bomb_png(), category=category).SerializeToString(), codec.PROTOBUF,
         "image_undecodable"),
        ("truncated", _upsert("truncated", truncated, category=category).SerializeToString(), codec.PROTOBUF,
         "image_undecodable"),
        ("random-image", _upsert("random-image", np.random.default_rng(1).bytes(3000),
                                 category=category).SerializeToString(), codec.PROTOBUF, "image_undecodable"),
        # 1.5 MiB of junk in a valid event: too large for kafka-python to copy to the DLQ whole.
        ("huge-image", _upsert("huge-image", np.random.default_rng(2).bytes(1_500_000),
                               category=category).SerializeToString(), codec.PROTOBUF, "image_undecodable"),
        ("huge-raw", np.random.default_rng(3).bytes(7 * 1024 * 1024), codec.PROTOBUF, "too_large"),
        ("random-bytes", np.random.default_rng(4).bytes(500), codec.PROTOBUF, "undecodable"),
        ("truncated-proto", _upsert("truncated-proto", png, category=category).SerializeToString()[:-7],
         codec.PROTOBUF, "undecodable"),
        ("not-json", b'{"sku": "x", "upsert": ', codec.JSON, "undecodable"),
        ("deep-json", b"[" * 100_000, codec.JSON, "undecodable"),
        ("empty", b"", codec.PROTOBUF, "empty"),
        ("unknown-type", b"sku,price", "text/csv", "content_type"),
    ]
    producer = _independent_producer(kafka_settings)
    good_events = [upsert_event(item, 1_700_000_000) for item in good_items[:5]]
    for event in good_events[:3]:
        _send(producer, topic, event.sku.encode(), event.SerializeToString())
    for key, value, content_type, _ in poison:
        _send(producer, topic, key.encode(), value, content_type)
    for event in good_events[3:]:
        _send(producer, topic, event.sku.encode(), event.SerializeToString())
    by_uri = _upsert(good_items[5].sku, uri="good.png", category=good_items[5].item.category,
                     labels=dict(good_items[5].item.labels))
    _send(producer, topic, by_uri.sku.encode(), by_uri.SerializeToString())
    assert producer.flush(30) == 0
    kafka.ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})

    telemetry = Telemetry.create("test")
    options = IngestOptions(image_root=root, monitor_interval_s=0.3, stall_s=60.0)
    ingest = IngestThread(kafka_settings, index, encoder, BoundedDecoder(), telemetry, options=options).start()
    try:
        wait_for(lambda: index.count() == len(good_items), what="the good events indexed")
        records = _dead_letters(kafka_settings, len(poison))
        wait_for(lambda: telemetry.registry.get_sample_value("fashionrec_ingest_healthy") == 1
                 and sum(s.value for f in ingest.metrics.lag.collect() for s in f.samples) == 0,
                 what="ingest healthy with no lag")
        assert ingest.healthy()
        assert telemetry.registry.get_sample_value("fashionrec_ingest_worker_restarts_total") == 0
    finally:
        ingest.stop()

    reasons = {r.key.decode(): {k: v for k, v in r.headers} for r in records}
    assert {key: h[dead_letter.REASON].decode() for key, h in reasons.items()} == {k: r for k, _, _, r in poison}
    for record in records:
        headers = dict(record.headers)
        assert headers[dead_letter.SOURCE_TOPIC].decode() == topic
        assert int(headers[dead_letter.SOURCE_OFFSET]) >= 0
        assert SECRET.strip() not in headers[dead_letter.DETAIL]
        assert b"root:" not in headers[dead_letter.DETAIL]
    assert b"not a regular file" in reasons["fifo"][dead_letter.DETAIL]
    assert b"outside the allowed image root" in reasons["symlink-out"][dead_letter.DETAIL]
    assert b"over the limit" in reasons["bomb"][dead_letter.DETAIL]
    huge = next(r for r in records if r.key == b"huge-image")
    assert int(dict(huge.headers)[dead_letter.TRUNCATED]) > len(huge.value) > 0
    assert [i.item.sku for i in index.get_items([by_uri.sku])] == [by_uri.sku]
    tried, dead = len(poison) + len(good_items), len(records)
    print(f"\npoison test: {tried} events tried, {dead} dead-lettered, {index.count()} indexed")


def test_image_references_are_refused_without_a_root(tmp_path: Path) -> None:
    from fashionrec.events.image_refs import ImageReader

    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(InvalidArgument, match="disabled"):
        ImageReader(None, 1024).read(str(tmp_path / "a.png"))
    assert ImageReader(tmp_path, 1024).read("a.png") == b"x"
    with pytest.raises(InvalidArgument, match="scheme"):
        ImageReader(tmp_path, 1024).read("http://example.com/a.png")
