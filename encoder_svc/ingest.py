"""The ingest worker of the encoder service, on its own thread: Kafka → encoder → index.

A supervisor loop keeps a worker running: if one stops on an error (the
broker went away mid-commit, a bug), it is logged, counted
(`fashionrec_ingest_worker_restarts_total`) and replaced by a new worker with
a new consumer after a capped backoff; the failed-attempt counts per record
carry over, so a record that keeps killing workers is dead-lettered instead
of crash-looping. A monitor thread measures the group's lag with its own
consumer (so the lag gauge stays exported while the worker is dead or stuck,
and right after a restart) and turns `healthy()` false when the worker is not
running or has lag and made no progress for `stall_s`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from kafka import TopicPartition

from fashionrec.config import EncoderSettings, KafkaSettings
from fashionrec.events import kafka
from fashionrec.events.apply import ImageDecoder, ImageEncoder, IndexApplier
from fashionrec.events.codec import EventLimits
from fashionrec.events.dead_letter import DeadLetterWriter
from fashionrec.events.image_refs import ImageReader
from fashionrec.events.ingest import AttemptTracker, BackoffPolicy, IngestProgress, IngestWorker
from fashionrec.events.monitor import IngestHealth, IngestMonitor
from fashionrec.index import CatalogIndex
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.telemetry.metrics import IngestMetrics

__all__ = ["INGEST_HEALTH_SERVICE", "IngestOptions", "IngestThread"]

# The health service name of ingest, apart from the query services: a stalled ingest must not
# take the encoder's Encode RPC (or a balancer's view of it) down with it.
INGEST_HEALTH_SERVICE = "fashionrec.ingest"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    """How the ingest worker treats hostile input and how its health is judged.

    Attributes:
        image_root: the only directory `image_uri` may point into; None refuses every reference.
        image_read_timeout_s: the time reading one referenced file may take.
        limits: bounds on an event's fields (image bytes included).
        max_attempts: failures of one record (with the index up) before it is dead-lettered.
        stall_s: lag without a committed batch for this long turns ingest health NOT_SERVING.
        monitor_interval_s: how often lag and health are measured.
        backoff: between retries of a batch or a record.
        restart_backoff: between a worker that stopped on an error and its replacement.
    """

    image_root: Path | None = None
    image_read_timeout_s: float = 5.0
    limits: EventLimits = EventLimits()
    max_attempts: int = 3
    stall_s: float = 120.0
    monitor_interval_s: float = 5.0
    backoff: BackoffPolicy = BackoffPolicy()
    restart_backoff: BackoffPolicy = BackoffPolicy(initial_s=1.0, max_s=30.0)

    @classmethod
    def from_settings(cls, settings: EncoderSettings) -> "IngestOptions":
        """The options the encoder service's FASHIONREC_* variables ask for."""
        return cls(
            image_root=settings.image_root or None,
            image_read_timeout_s=settings.image_read_timeout_seconds,
            limits=dataclasses.replace(EventLimits(), max_image_bytes=settings.max_image_bytes,
                                       max_event_bytes=settings.max_image_bytes + 1024 * 1024),
            max_attempts=settings.ingest_max_attempts,
            stall_s=settings.ingest_stall_seconds,
        )


class IngestThread:
    """Runs IngestWorkers until stop(): the batch in hand finishes, is committed, and the group is left.

    Args:
        settings: broker and topics.
        index: where events are written.
        encoder: the model.
        decode_image: image bytes to model input pixels (bounded in pixels and concurrency).
        telemetry: metrics and tracing.
        version: the collection to write (default: the live one).
        group_id: the consumer group (default: settings.consumer_group).
        options: hostile-input bounds and health rules.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        index: CatalogIndex,
        encoder: ImageEncoder,
        decode_image: ImageDecoder,
        telemetry: Telemetry,
        version: str | None = None,
        group_id: str | None = None,
        options: IngestOptions = IngestOptions(),
    ) -> None:
        self.metrics = IngestMetrics(telemetry.registry)
        self._settings = settings
        self._group_id = group_id or settings.consumer_group
        self._options = options
        self._tracer = telemetry.tracer("fashionrec.ingest")
        self._producer = kafka.producer(settings)
        images = ImageReader(options.image_root, options.limits.max_image_bytes, options.image_read_timeout_s)
        self._applier = IndexApplier(index, encoder, decode_image, self.metrics, self._tracer, version, images)
        self._attempts = AttemptTracker()
        self.progress = IngestProgress()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="ingest", daemon=True)
        self._monitor = IngestMonitor(settings, self._group_id, self.progress, self.metrics, options.stall_s,
                                      options.monitor_interval_s, alive=self._thread.is_alive)

    def start(self) -> "IngestThread":
        self.progress.set_running(True)  # from now on: a thread that is not running is a failure
        self._thread.start()
        self._monitor.start()
        return self

    def assigned_partitions(self) -> int:
        return len(self.assignment())

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions the worker owns now."""
        return frozenset(self.progress.snapshot()[2])

    def lags(self) -> dict[TopicPartition, int]:
        """The monitor's last lag measurement per partition (see IngestMonitor.lags)."""
        return self._monitor.lags()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def health(self) -> IngestHealth:
        """The monitor's last verdict."""
        return self._monitor.health()

    def healthy(self) -> bool:
        return self.health().healthy

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._monitor.stop(timeout_s)
        self._applier.close()
        self._producer.close()

    def _new_worker(self) -> IngestWorker:
        return IngestWorker(
            kafka.consumer(self._settings, self._settings.catalog_topic, group_id=self._group_id),
            self._applier,
            DeadLetterWriter(self._producer, self._settings.dead_letter_topic),
            self.metrics,
            self._tracer,
            backoff=self._options.backoff,
            limits=self._options.limits,
            attempts=self._attempts,
            max_attempts=self._options.max_attempts,
            progress=self.progress,
        )

    def _supervise(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.progress.set_running(True)
            self.metrics.worker_running.set(1)
            try:
                self._new_worker().run(self._stop)
                return
            except Exception:
                if self._stop.is_set():
                    return  # stopping mid-retry: the uncommitted batch is redelivered
                _log.exception("ingest worker stopped on an error; restarting it "
                               "(uncommitted events will be redelivered)")
                self.metrics.worker_restarts.inc()
            finally:
                self.progress.set_running(False)
                self.metrics.worker_running.set(0)
            self._stop.wait(self._options.restart_backoff.delay(failures))
            failures = min(failures + 1, 16)
