"""The ingest worker: Kafka catalog events in, index writes out, offsets committed after.

One loop, per polled batch:

1. decode every record; a record that does not decode goes to the dead-letter
   topic (confirmed by the broker) and counts as handled;
2. hand the decoded events to a `BatchApplier` (encode images, write the
   index); events it rejects (an image that does not decode, ...) are
   dead-lettered too;
3. commit the batch's offsets, only after the index confirmed the writes.

So delivery is at-least-once and writes must be idempotent (the applier skips
events older than the stored item). If the applier raises `Unavailable`
(Qdrant down), the worker pauses its partitions, keeps polling so that it
stays in its group, and retries the same batch with capped exponential
backoff. A stop request (SIGTERM) finishes the batch, commits, and leaves the
group; so does a rebalance, since revocation happens inside `poll()`, after
the previous batch was committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from opentelemetry import trace

from fashionrec.errors import Unavailable
from fashionrec.events import codec
from fashionrec.events.dead_letter import DeadLetterWriter, SourceRecord
from fashionrec.telemetry.metrics import IngestMetrics
from fashionrec.telemetry.tracing import context_from_headers
from fashionrec.v1.catalog_pb2 import CatalogEvent

_log = logging.getLogger(__name__)


@dataclass
class ReceivedEvent:
    """A decoded event, where it came from, and its span in the publisher's trace."""

    event: CatalogEvent
    source: SourceRecord
    span: trace.Span

    @property
    def kind(self) -> str:
        return self.event.WhichOneof("kind") or "unknown"


@dataclass(frozen=True)
class Rejected:
    received: ReceivedEvent
    reason: str
    detail: str


class BatchApplier(Protocol):
    def apply(self, batch: Sequence[ReceivedEvent]) -> list[Rejected]:
        """Applies the events in order; returns the ones that cannot ever be applied.

        Raises Unavailable when a dependency is down (the batch is retried).
        """


@dataclass(frozen=True)
class BackoffPolicy:
    initial_s: float = 0.2
    max_s: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * 2 ** attempt)


class IngestWorker:
    def __init__(
        self,
        consumer: KafkaConsumer,
        applier: BatchApplier,
        dead_letters: DeadLetterWriter,
        metrics: IngestMetrics,
        tracer: trace.Tracer,
        backoff: BackoffPolicy = BackoffPolicy(),
        poll_timeout_ms: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._consumer = consumer
        self._applier = applier
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._tracer = tracer
        self._backoff = backoff
        self._poll_timeout_ms = poll_timeout_ms
        self._clock = clock

    def run(self, stop: threading.Event) -> None:
        """Processes batches until stop is set, then commits and leaves the group."""
        try:
            while not stop.is_set():
                self.run_once(stop)
        finally:
            self._consumer.close(autocommit=False)

    def assigned_partitions(self) -> int:
        """How many partitions this member owns now (0 before it joined the group)."""
        return len(self._consumer.assignment())

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Polls one batch and processes it to a commit; returns the number of records."""
        polled = self._consumer.poll(timeout_ms=self._poll_timeout_ms)
        records = [r for batch in polled.values() for r in batch]
        if not records:
            self._report_lag()
            return 0
        self._metrics.batch_size.observe(len(records))
        received = self._decode(records)
        try:
            self._apply_with_backoff(received, stop)
        finally:
            for item in received:
                item.span.end()
        self._commit(records)
        self._report_lag()
        return len(records)

    def _decode(self, records: list) -> list[ReceivedEvent]:
        started = time.perf_counter()
        received = []
        for record in records:
            source = SourceRecord(record.topic, record.partition, record.offset, record.key,
                                  record.value, list(record.headers or []))
            try:
                event = codec.decode(record.value, record.headers)
            except codec.MalformedEvent as exc:
                self._metrics.consumed.labels(type="malformed").inc()
                self._dead_letter(source, exc.reason, exc.detail)
                continue
            span = self._tracer.start_span(
                "catalog.ingest", context=context_from_headers(record.headers), kind=trace.SpanKind.CONSUMER,
                attributes={"fashionrec.sku": event.sku, "messaging.kafka.offset": record.offset},
            )
            item = ReceivedEvent(event, source, span)
            self._metrics.consumed.labels(type=item.kind).inc()
            received.append(item)
        self._metrics.stage_latency.labels(stage="decode").observe(time.perf_counter() - started)
        return received

    def _apply_with_backoff(self, received: list[ReceivedEvent], stop: threading.Event | None) -> None:
        attempt = 0
        while True:
            try:
                rejected = self._applier.apply(received)
                break
            except Unavailable as exc:
                if stop is not None and stop.is_set():
                    raise  # uncommitted: redelivered to whoever owns the partitions next
                delay = self._backoff.delay(attempt)
                attempt += 1
                self._metrics.backoff.labels(dependency="index").inc()
                _log.warning("index unavailable (%s); retrying batch in %.1fs", exc, delay)
                self._wait_in_group(delay)
        rejected_ids = {id(r.received) for r in rejected}
        for item in rejected:
            self._dead_letter(item.received.source, item.reason, item.detail)
            item.received.span.set_status(trace.Status(trace.StatusCode.ERROR, item.reason))
        now = self._clock()
        for item in received:
            if id(item) in rejected_ids:
                continue
            self._metrics.indexed.labels(type=item.kind).inc()
            self._metrics.freshness.observe(max(0.0, now - codec.updated_at_seconds(item.event)))

    def _wait_in_group(self, delay_s: float) -> None:
        """Sleeps while polling paused partitions, so the group keeps this member."""
        assignment = self._consumer.assignment()
        self._consumer.pause(*assignment)
        deadline = time.monotonic() + delay_s
        try:
            while time.monotonic() < deadline:
                leftover = self._consumer.poll(timeout_ms=int(min(200, delay_s * 1000)))
                if any(leftover.values()):  # paused partitions return nothing; be safe anyway
                    raise RuntimeError("poll returned records from paused partitions")
        finally:
            self._consumer.resume(*assignment)

    def _dead_letter(self, source: SourceRecord, reason: str, detail: str) -> None:
        self._dead_letters.send(source, reason, detail)
        self._metrics.dead_lettered.labels(reason=reason).inc()
        _log.warning("dead-lettered %s[%d]@%d: %s: %s", source.topic, source.partition, source.offset, reason, detail)

    def _commit(self, records: list) -> None:
        started = time.perf_counter()
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp not in offsets or offsets[tp].offset <= record.offset:
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        self._consumer.commit(offsets)
        self._metrics.stage_latency.labels(stage="commit").observe(time.perf_counter() - started)

    def _report_lag(self) -> None:
        # Tansu's end_offsets are wrong; highwater() from fetch responses is right on both brokers.
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            lag = max(0, highwater - self._consumer.position(tp))
            self._metrics.lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)
