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

No single event stops the stream (the contract of a Kafka Connect sink with
`errors.tolerance=all`): a record that fails to decode is dead-lettered at
once; when the applier fails on a batch with anything but `Unavailable`, the
batch is retried record by record, and a record that keeps failing is
dead-lettered (`processing_failed`) after `max_attempts`, counted per
(topic, partition, offset) in an `AttemptTracker` that outlives a restarted
worker, so a redelivered batch cannot crash-loop on the same record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
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

__all__ = [
    "AttemptTracker", "BackoffPolicy", "BatchApplier", "IngestProgress", "IngestWorker", "ReceivedEvent", "Rejected",
]

_log = logging.getLogger(__name__)

# Why the worker itself dead-letters (the applier has its own reasons).
PROCESSING_FAILED = "processing_failed"


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

    def check(self) -> None:
        """Raises when a dependency is down: a failure is then not the event's fault."""


class AttemptTracker:
    """Failed attempts per source record, (topic, partition, offset): shared by successive workers.

    Bounded (oldest entries go first), since a record either succeeds, is dead-lettered or is
    redelivered soon; thread-safe, since the supervisor and the worker may both touch it.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._counts: OrderedDict[tuple[str, int, int], int] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def failed(self, source: SourceRecord) -> int:
        """Counts one more failure of source; returns how many it has had."""
        key = (source.topic, source.partition, source.offset)
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > self._max_entries:
                self._counts.popitem(last=False)
            return count

    def forget(self, source: SourceRecord) -> None:
        with self._lock:
            self._counts.pop((source.topic, source.partition, source.offset), None)


class IngestProgress:
    """What the worker last did, for the health monitor on another thread.

    Args:
        clock: monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._running = False
        self._progress_at = clock()
        self._assignment: frozenset[TopicPartition] = frozenset()

    def set_running(self, running: bool) -> None:
        with self._lock:
            self._running = running

    def progressed(self) -> None:
        """The worker committed a batch."""
        with self._lock:
            self._progress_at = self._clock()

    def set_assignment(self, partitions: frozenset[TopicPartition]) -> None:
        with self._lock:
            self._assignment = partitions

    def snapshot(self) -> tuple[bool, float, frozenset[TopicPartition]]:
        """(running, monotonic time of the last progress, partitions owned)."""
        with self._lock:
            return self._running, self._progress_at, self._assignment


@dataclass(frozen=True)
class BackoffPolicy:
    initial_s: float = 0.2
    max_s: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * 2 ** attempt)


class IngestWorker:
    """Consumes the catalog topic in batches and applies them, committing after each.

    Args:
        consumer: a subscribed group consumer with manual commits.
        applier: writes decoded events to the index.
        dead_letters: where events that cannot be processed go.
        metrics: the ingest metrics.
        tracer: for one span per event.
        backoff: pause between retries of a batch or a record.
        poll_timeout_ms: how long one poll waits for records.
        clock: wall-clock seconds, for freshness.
        limits: bounds on an event's fields.
        attempts: failed attempts per record, shared with the worker that replaces this one.
        max_attempts: failures of one record (when its dependencies are up) before it is dead-lettered.
        progress: where the worker reports that it is alive and progressing.
    """

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
        limits: codec.EventLimits = codec.EventLimits(),
        attempts: AttemptTracker | None = None,
        max_attempts: int = 3,
        progress: IngestProgress | None = None,
    ) -> None:
        self._consumer = consumer
        self._applier = applier
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._tracer = tracer
        self._backoff = backoff
        self._poll_timeout_ms = poll_timeout_ms
        self._clock = clock
        self._limits = limits
        self._attempts = attempts or AttemptTracker()
        self._max_attempts = max_attempts
        self._progress = progress or IngestProgress()

    def run(self, stop: threading.Event) -> None:
        """Processes batches until stop is set, then commits and leaves the group."""
        try:
            while not stop.is_set():
                self.run_once(stop)
        finally:
            self._consumer.close(autocommit=False)

    def assigned_partitions(self) -> int:
        """How many partitions this member owns now (0 before it joined the group)."""
        return len(self._progress.snapshot()[2])

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Polls one batch and processes it to a commit; returns the number of records."""
        polled = self._consumer.poll(timeout_ms=self._poll_timeout_ms)
        self._progress.set_assignment(frozenset(self._consumer.assignment()))
        records = [r for batch in polled.values() for r in batch]
        if not records:
            return 0
        self._metrics.batch_size.observe(len(records))
        received = self._decode(records)
        try:
            self._apply(received, stop)
        finally:
            for item in received:
                item.span.end()
        self._commit(records)
        for item in received:
            self._attempts.forget(item.source)
        self._progress.progressed()
        return len(records)

    def _decode(self, records: list) -> list[ReceivedEvent]:
        started = time.perf_counter()
        received = []
        for record in records:
            source = SourceRecord(record.topic, record.partition, record.offset, record.key,
                                  record.value, list(record.headers or []))
            try:
                event = codec.decode(record.value, record.headers, self._limits)
                context = context_from_headers(record.headers)
            except codec.MalformedEvent as exc:
                self._metrics.consumed.labels(type="malformed").inc()
                self._dead_letter(source, exc.reason, exc.detail)
                continue
            except Exception as exc:  # whatever its bytes, one record never stops the stream
                self._metrics.consumed.labels(type="malformed").inc()
                self._dead_letter(source, "undecodable", f"{type(exc).__name__}: {exc}")
                continue
            span = self._tracer.start_span(
                "catalog.ingest", context=context, kind=trace.SpanKind.CONSUMER,
                attributes={"fashionrec.sku": event.sku, "messaging.kafka.offset": record.offset},
            )
            item = ReceivedEvent(event, source, span)
            self._metrics.consumed.labels(type=item.kind).inc()
            received.append(item)
        self._metrics.stage_latency.labels(stage="decode").observe(time.perf_counter() - started)
        return received

    def _apply(self, received: list[ReceivedEvent], stop: threading.Event | None) -> None:
        """Applies the batch; on an unexpected failure, record by record to isolate the culprit."""
        try:
            rejected = self._apply_with_backoff(received, stop)
        except Unavailable:
            raise
        except Exception as exc:
            _log.warning("a batch of %d events failed (%s: %s); retrying it event by event",
                         len(received), type(exc).__name__, exc)
            rejected = []
            for item in received:
                rejected += self._apply_isolated(item, stop)
        self._finish(received, rejected)

    def _apply_isolated(self, item: ReceivedEvent, stop: threading.Event | None) -> list[Rejected]:
        while True:
            try:
                return self._apply_with_backoff([item], stop)
            except Unavailable:
                raise
            except Exception as exc:
                attempts = self._attempts.failed(item.source)
                if attempts >= self._max_attempts and self._dependencies_up():
                    _log.exception("event %s failed %d times; dead-lettering it", item.event.sku, attempts)
                    return [Rejected(item, PROCESSING_FAILED,
                                     f"{type(exc).__name__}: {exc} (failed {attempts} times)")]
                if stop is not None and stop.is_set():
                    raise  # uncommitted: redelivered, and the attempt count goes on
                self._metrics.event_retries.inc()
                self._wait_in_group(self._backoff.delay(min(attempts, 8)))

    def _dependencies_up(self) -> bool:
        """Whether the index (and what else the applier needs) answers: else the failure is not the event's."""
        try:
            self._applier.check()
        except Exception as exc:
            _log.warning("dependencies down (%s); not blaming the event", exc)
            return False
        return True

    def _apply_with_backoff(self, received: list[ReceivedEvent], stop: threading.Event | None) -> list[Rejected]:
        attempt = 0
        while True:
            try:
                return self._applier.apply(received)
            except Unavailable as exc:
                if stop is not None and stop.is_set():
                    raise  # uncommitted: redelivered to whoever owns the partitions next
                delay = self._backoff.delay(attempt)
                attempt += 1
                self._metrics.backoff.labels(dependency="index").inc()
                _log.warning("index unavailable (%s); retrying batch in %.1fs", exc, delay)
                self._wait_in_group(delay)

    def _finish(self, received: list[ReceivedEvent], rejected: list[Rejected]) -> None:
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
