"""The ingest worker end to end: real broker, real Qdrant engine, the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from encoder_svc.ingest import IngestThread
from fashionrec.config import KafkaSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import decode_image, encode_png
from fashionrec.errors import Unavailable
from fashionrec.events import dead_letter, kafka
from fashionrec.items import Item
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import CatalogItem, delete_event, patch_event, publish, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec.index.schema import point_id
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1.catalog_pb2 import CatalogEvent
from tests.helpers import wait_for


def _ingest(settings: KafkaSettings, index: CatalogIndex, encoder, telemetry: Telemetry | None = None) -> IngestThread:
    return IngestThread(settings, index, encoder, decode_image, telemetry or Telemetry.create("test")).start()


def _send(settings: KafkaSettings, events: list[CatalogEvent], raw: list[bytes] = ()) -> None:
    producer = kafka.producer(settings)
    publish(producer, settings.catalog_topic, events)
    for value in raw:
        producer.send(settings.catalog_topic, key=b"raw", value=value).get(timeout=10)
    producer.close()


def _value(telemetry: Telemetry, name: str, **labels: str) -> float:
    return telemetry.registry.get_sample_value(name, labels) or 0.0


def test_n_events_make_n_points_and_a_replay_changes_nothing(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    items = catalog_items(small_catalog, range(len(small_catalog)))
    events = [upsert_event(item, 1_700_000_000 + i) for i, item in enumerate(items)]
    _send(kafka_settings, events)
    telemetry = Telemetry.create("test")
    worker = _ingest(kafka_settings, index, encoder, telemetry)
    try:
        wait_for(lambda: index.count() == len(items), what="every item indexed")
        _send(kafka_settings, events)  # the same events again: a replay
        wait_for(lambda: _value(telemetry, "fashionrec_ingest_events_consumed_total", type="upsert") == 2 * len(items),
                 what="the replay consumed")
        wait_for(lambda: _value(telemetry, "fashionrec_ingest_events_indexed_total", type="upsert") == 2 * len(items),
                 what="the replay applied")
    finally:
        worker.stop()
    assert index.count() == len(items)

    [stored] = index.get_items([items[7].sku])
    assert stored.item.price == pytest.approx(items[7].item.price)
    assert dict(stored.item.labels) == dict(items[7].item.labels)
    assert stored.item.updated_at == pytest.approx(1_700_000_007)
    expected = encoder.encode(decode_image(items[7].image_png, encoder.spec.image_size)[None])
    np.testing.assert_allclose(stored.whole, expected.whole[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(stored.outfit, expected.outfit[0], rtol=1e-4, atol=1e-4)


def test_patches_and_deletes_apply_in_order_and_older_events_are_skipped(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    a, b, c = catalog_items(small_catalog, range(3))
    events = [
        upsert_event(a, 100), upsert_event(b, 100), upsert_event(c, 100),
        patch_event(a.sku, 200, price=11.0, in_stock=False),
        patch_event(a.sku, 150, price=99.0),  # older than the stored one: skipped
        delete_event(b.sku, 200),
        patch_event(c.sku, 300, title="renamed"), delete_event(c.sku, 400), upsert_event(c, 500),
    ]
    _send(kafka_settings, events)
    telemetry = Telemetry.create("test")
    worker = _ingest(kafka_settings, index, encoder, telemetry)
    try:
        wait_for(lambda: _value(telemetry, "fashionrec_ingest_events_consumed_total", type="patch")
                 + _value(telemetry, "fashionrec_ingest_events_consumed_total", type="delete")
                 + _value(telemetry, "fashionrec_ingest_events_consumed_total", type="upsert") == len(events),
                 what="every event consumed")
        wait_for(lambda: _value(telemetry, "fashionrec_ingest_events_skipped_total", type="patch") == 1,
                 what="the stale patch skipped")
        wait_for(lambda: index.count() == 2, what="the delete applied")
    finally:
        worker.stop()
    [stored_a, stored_c] = index.get_items([a.sku, c.sku])
    assert (stored_a.item.price, stored_a.item.in_stock) == (11.0, False)
    assert stored_c.item.title == c.item.title and stored_c.item.updated_at == 500


def test_poison_events_go_to_the_dead_letter_topic_and_good_ones_are_indexed(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    good = catalog_items(small_catalog, range(4))
    bad_image = CatalogItem(Item("bad-image", good[0].item.category), b"definitely not a png")
    bad_category = CatalogItem(Item("bad-category", "spaceship"), encode_png(small_catalog.images[0]))
    events = [upsert_event(i, 10) for i in good[:2]] + [upsert_event(bad_image, 10), upsert_event(bad_category, 10)]
    events += [upsert_event(i, 10) for i in good[2:]] + [patch_event("never-indexed", 10, price=1.0)]
    _send(kafka_settings, events, raw=[b"\x00\x01garbage"])
    kafka.ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})
    telemetry = Telemetry.create("test")
    worker = _ingest(kafka_settings, index, encoder, telemetry)
    try:
        wait_for(lambda: index.count() == len(good), what="the good items indexed")
        wait_for(lambda: sum(_value(telemetry, "fashionrec_ingest_events_dead_lettered_total", reason=r)
                             for r in ("undecodable", "image_undecodable", "invalid_item", "unknown_sku")) == 4,
                 what="four dead letters")
    finally:
        worker.stop()
    reader = kafka.consumer(kafka_settings, kafka_settings.dead_letter_topic, group_id="dlq-reader")
    records = []
    wait_for(lambda: records.extend(r for b in reader.poll(timeout_ms=200).values() for r in b) or len(records) >= 4,
             what="dead letters readable")
    reader.close()
    reasons = {dict(r.headers)[dead_letter.REASON].decode(): r.key for r in records}
    assert reasons == {"undecodable": b"raw", "image_undecodable": b"bad-image",
                       "invalid_item": b"bad-category", "unknown_sku": b"never-indexed"}


def test_two_workers_in_one_group_share_the_partitions(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    items = catalog_items(small_catalog, range(len(small_catalog)))
    first, second = Telemetry.create("a"), Telemetry.create("b")
    workers = [_ingest(kafka_settings, index, encoder, first), _ingest(kafka_settings, index, encoder, second)]
    try:
        wait_for(lambda: all(w.assigned_partitions() for w in workers), what="both workers assigned", timeout_s=60)
        _send(kafka_settings, [upsert_event(item, 1) for item in items])
        wait_for(lambda: index.count() == len(items), what="every item indexed")
    finally:
        for w in workers:
            w.stop()
    consumed = [_value(t, "fashionrec_ingest_events_consumed_total", type="upsert") for t in (first, second)]
    assert all(n > 0 for n in consumed) and sum(consumed) >= len(items)


class _FlakyStore:
    """The real store, failing its first upserts as an unreachable Qdrant would."""

    def __init__(self, inner, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    def upsert(self, version, points):
        if self.failures > 0:
            self.failures -= 1
            raise Unavailable("Qdrant server unreachable (injected)")
        return self._inner.upsert(version, points)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_an_index_outage_is_survived_without_loss(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    flaky = _FlakyStore(index._store, failures=3)
    items = catalog_items(small_catalog, range(20))
    _send(kafka_settings, [upsert_event(item, 1) for item in items])
    telemetry = Telemetry.create("test")
    worker = _ingest(kafka_settings, CatalogIndex(flaky), encoder, telemetry)
    try:
        wait_for(lambda: index.count() == len(items), what="every item indexed after the outage")
    finally:
        worker.stop()
    assert flaky.failures == 0
    assert _value(telemetry, "fashionrec_ingest_backoff_total", dependency="index") == 3
    assert {e.item.sku for e in index.get_items([i.sku for i in items])} == {i.sku for i in items}
    assert index.get_items([items[0].sku])[0].item.sku == items[0].sku and point_id(items[0].sku)
