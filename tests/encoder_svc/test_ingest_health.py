"""Ingest that never crash-loops and whose health tells the truth: real broker, engine, model and gRPC health."""

from __future__ import annotations

import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from encoder_svc.ingest import INGEST_HEALTH_SERVICE, IngestOptions, IngestThread
from fashionrec.config import KafkaSettings, ServerSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import BoundedDecoder
from fashionrec.events import dead_letter, kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec_grpc.serving import start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from tests.helpers import wait_for

FAST = IngestOptions(monitor_interval_s=0.2, stall_s=1.5)


class _Store:
    """The real store, with a fault injected into upsert for chosen SKUs or until released."""

    def __init__(self, inner, poison_sku: str | None = None, hold: threading.Event | None = None) -> None:
        self._inner = inner
        self._poison_sku = poison_sku
        self._hold = hold
        self.poison_calls = 0

    def upsert(self, version, points):
        if self._hold is not None:
            self._hold.wait()
        if self._poison_sku and any(p.payload.get("sku") == self._poison_sku for p in points):
            self.poison_calls += 1
            raise RuntimeError("injected: the engine refused this point")
        return self._inner.upsert(version, points)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _value(telemetry: Telemetry, name: str, **labels: str) -> float:
    return telemetry.registry.get_sample_value(name, labels) or 0.0


def test_an_event_that_fails_unexpectedly_is_dead_lettered_after_bounded_attempts(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    items = catalog_items(small_catalog, range(12))
    culprit = items[4].sku
    producer = kafka.producer(kafka_settings)
    publish(producer, topic, [upsert_event(item, 1) for item in items])
    producer.close()
    kafka.ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})
    store = _Store(index._store, poison_sku=culprit)
    telemetry = Telemetry.create("test")
    ingest = IngestThread(kafka_settings, CatalogIndex(store), encoder, BoundedDecoder(), telemetry,
                          options=FAST).start()
    try:
        wait_for(lambda: index.count() == len(items) - 1, what="every other item indexed")
        wait_for(lambda: _value(telemetry, "fashionrec_ingest_events_dead_lettered_total",
                                reason="processing_failed") == 1, what="the culprit dead-lettered")
        wait_for(ingest.healthy, what="ingest healthy again")
    finally:
        ingest.stop()
    assert store.poison_calls >= FAST.max_attempts  # the batch, then the event alone until it is given up
    assert _value(telemetry, "fashionrec_ingest_worker_restarts_total") == 0
    reader = kafka.consumer(kafka_settings, kafka_settings.dead_letter_topic, group_id="dlq-reader")
    records: list = []
    wait_for(lambda: records.extend(r for b in reader.poll(timeout_ms=200).values() for r in b) or records,
             what="the dead letter readable")
    reader.close()
    [record] = records
    headers = dict(record.headers)
    assert record.key == culprit.encode()
    assert headers[dead_letter.REASON] == b"processing_failed"
    assert b"RuntimeError: injected" in headers[dead_letter.DETAIL]

    # A restarted worker (same group) finds nothing left: the culprit was committed past, not redelivered.
    again = Telemetry.create("again")
    second = IngestThread(kafka_settings, index, encoder, BoundedDecoder(), again, options=FAST).start()
    try:
        wait_for(lambda: second.assigned_partitions() > 0, what="the second worker assigned")
        wait_for(lambda: _value(again, "fashionrec_ingest_healthy") == 1, what="a health verdict")
    finally:
        second.stop()
    assert _value(again, "fashionrec_ingest_events_consumed_total", type="upsert") == 0


def _health(channel: grpc.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_a_stalled_worker_turns_ingest_health_not_serving_while_queries_stay_serving(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog
) -> None:
    hold = threading.Event()
    store = _Store(index._store, hold=hold)
    telemetry = Telemetry.create("test")
    ingest = IngestThread(kafka_settings, CatalogIndex(store), encoder, BoundedDecoder(), telemetry,
                          options=FAST).start()
    process = start_service_process([], ServerSettings(grpc_port=0, metrics_port=0), telemetry,
                                    health_check=index.check_reachable, components={INGEST_HEALTH_SERVICE: ingest.healthy})
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        with grpc.insecure_channel(process.server.address) as channel:
            wait_for(lambda: ingest.assigned_partitions() > 0, what="the worker assigned")
            wait_for(lambda: _health(channel, INGEST_HEALTH_SERVICE) == serving, what="ingest SERVING when idle")
            producer = kafka.producer(kafka_settings)
            publish(producer, topic, [upsert_event(item, 1) for item in catalog_items(small_catalog, range(8))])
            producer.close()
            # The write hangs: lag stays, nothing is committed.
            wait_for(lambda: _health(channel, INGEST_HEALTH_SERVICE) == not_serving, what="ingest NOT_SERVING")
            assert _health(channel, "") == serving  # queries are still served
            assert _value(telemetry, "fashionrec_ingest_healthy") == 0
            lag = sum(s.value for f in ingest.metrics.lag.collect() for s in f.samples)
            assert lag == 8  # exported and current while stalled
            assert ingest.health().reason.startswith("stalled")
            hold.set()
            wait_for(lambda: _health(channel, INGEST_HEALTH_SERVICE) == serving, what="ingest SERVING again")
            wait_for(lambda: sum(s.value for f in ingest.metrics.lag.collect() for s in f.samples) == 0,
                     what="lag back to 0")
    finally:
        hold.set()
        ingest.stop()
        process.stop(0.0, 1.0)
    assert index.count() == 8
