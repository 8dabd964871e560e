"""The worker's Kafka semantics on the real broker, with a recording applier standing in for encoder + index."""

import threading
import time

from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from fashionrec.config import KafkaSettings
from fashionrec.errors import Unavailable
from fashionrec.events import codec, dead_letter
from fashionrec.events.ingest import BackoffPolicy, IngestWorker, Rejected
from fashionrec.events.kafka import consumer, ensure_topics, producer
from fashionrec.telemetry.metrics import IngestMetrics
from fashionrec.telemetry.tracing import headers_with_context, tracer_provider
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemPatch


class RecordingApplier:
    def __init__(self, failures: int = 0, reject_sku: str | None = None) -> None:
        self.applied: list[CatalogEvent] = []
        self.failures = failures
        self.reject_sku = reject_sku

    def apply(self, batch):
        if self.failures:
            self.failures -= 1
            raise Unavailable("qdrant is down")
        self.applied.extend(r.event for r in batch if r.event.sku != self.reject_sku)
        return [Rejected(r, "image_undecodable", "not an image") for r in batch if r.event.sku == self.reject_sku]


def _patch(sku: str, price: float, seconds: int = 1_700_000_000) -> CatalogEvent:
    return CatalogEvent(sku=sku, updated_at=Timestamp(seconds=seconds), patch=ItemPatch(price=price))


def _publish(settings: KafkaSettings, events, raw=(), headers=None) -> None:
    send = producer(settings)
    for event in events:
        value, event_headers = codec.encode(event, codec.JSON if event.sku.endswith("j") else codec.PROTOBUF)
        send.send(settings.catalog_topic, key=event.sku.encode(), value=value, headers=(headers or []) + event_headers)
    for value in raw:
        send.send(settings.catalog_topic, key=b"poison", value=value)
    send.flush()
    send.close()


def _worker(settings: KafkaSettings, applier, registry=None, tracer=None):
    registry = registry or CollectorRegistry()
    send = producer(settings)
    worker = IngestWorker(
        consumer(settings, settings.catalog_topic),
        applier,
        dead_letter.DeadLetterWriter(send, settings.dead_letter_topic),
        IngestMetrics(registry),
        tracer or tracer_provider("test").get_tracer("test"),
        backoff=BackoffPolicy(initial_s=0.05, max_s=0.2),
        poll_timeout_ms=200,
    )
    return worker, registry


def _run_until(worker, done, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        worker.run_once()


def _read_all(settings: KafkaSettings, topic: str, expected: int) -> list:
    reader = consumer(settings, topic, group_id=f"{settings.consumer_group}-reader")
    records: list = []
    deadline = time.monotonic() + 20
    while len(records) < expected and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)
    reader.close()
    return records


def test_events_are_applied_in_order_per_sku_and_committed(kafka_settings: KafkaSettings, topic: str) -> None:
    events = [_patch(f"sku-{i % 5}", float(i)) for i in range(30)] + [_patch("sku-j", 1.0)]
    _publish(kafka_settings, events)
    applier = RecordingApplier()
    worker, registry = _worker(kafka_settings, applier)
    _run_until(worker, lambda: len(applier.applied) == len(events))
    worker.run(_set_event())

    assert sorted(e.SerializeToString() for e in applier.applied) == sorted(e.SerializeToString() for e in events)
    for sku in {e.sku for e in events}:
        assert [e.patch.price for e in applier.applied if e.sku == sku] == [e.patch.price for e in events if e.sku == sku]
    assert registry.get_sample_value("fashionrec_ingest_events_indexed_total", {"type": "patch"}) == len(events)

    # Everything was committed: a new member of the group gets nothing.
    again = RecordingApplier()
    second, _ = _worker(kafka_settings, again)
    for _ in range(5):
        second.run_once()
    second.run(_set_event())
    assert again.applied == []


def _set_event() -> threading.Event:
    stop = threading.Event()
    stop.set()
    return stop


def test_poison_and_rejected_events_go_to_the_dead_letter_topic(kafka_settings: KafkaSettings, topic: str) -> None:
    ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})
    good = [_patch("a", 1.0), _patch("bad-image", 2.0), _patch("b", 3.0)]
    _publish(kafka_settings, good, raw=[b"\x00garbage"])
    applier = RecordingApplier(reject_sku="bad-image")
    worker, registry = _worker(kafka_settings, applier)
    _run_until(worker, lambda: registry.get_sample_value(
        "fashionrec_ingest_events_consumed_total", {"type": "patch"}) == 3 and registry.get_sample_value(
        "fashionrec_ingest_events_consumed_total", {"type": "malformed"}) == 1)
    worker.run(_set_event())

    assert {e.sku for e in applier.applied} == {"a", "b"}
    dead = _read_all(kafka_settings, kafka_settings.dead_letter_topic, 2)
    reasons = {dict(r.headers)[dead_letter.REASON].decode(): r for r in dead}
    assert set(reasons) == {"undecodable", "image_undecodable"}
    poison = reasons["undecodable"]
    assert poison.value == b"\x00garbage" and poison.key == b"poison"
    assert dict(poison.headers)[dead_letter.SOURCE_TOPIC].decode() == kafka_settings.catalog_topic
    assert registry.get_sample_value("fashionrec_ingest_events_dead_lettered_total", {"reason": "undecodable"}) == 1


def test_an_index_outage_is_retried_without_loss(kafka_settings: KafkaSettings, topic: str) -> None:
    events = [_patch(f"s{i}", float(i)) for i in range(10)]
    _publish(kafka_settings, events)
    applier = RecordingApplier(failures=3)
    worker, registry = _worker(kafka_settings, applier)
    _run_until(worker, lambda: len(applier.applied) == len(events))
    worker.run(_set_event())
    assert {e.sku for e in applier.applied} == {e.sku for e in events}
    assert registry.get_sample_value("fashionrec_ingest_backoff_total", {"dependency": "index"}) == 3


def test_trace_context_in_headers_continues_in_the_worker(kafka_settings: KafkaSettings, topic: str) -> None:
    exporter = InMemorySpanExporter()
    tracer = tracer_provider("test", exporter).get_tracer("test")
    with tracer.start_as_current_span("publish") as publish:
        headers = headers_with_context()
    _publish(kafka_settings, [_patch("traced", 1.0)], headers=headers)
    applier = RecordingApplier()
    worker, _ = _worker(kafka_settings, applier, tracer=tracer)
    _run_until(worker, lambda: applier.applied)
    worker.run(_set_event())
    [ingest] = [s for s in exporter.get_finished_spans() if s.name == "catalog.ingest"]
    assert ingest.context.trace_id == publish.context.trace_id
    assert ingest.attributes["fashionrec.sku"] == "traced"
