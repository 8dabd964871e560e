"""The ingest worker of the encoder service, on its own thread: Kafka → encoder → index."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from fashionrec.config import KafkaSettings
from fashionrec.events import kafka
from fashionrec.events.apply import ImageDecoder, ImageEncoder, IndexApplier
from fashionrec.events.dead_letter import DeadLetterWriter
from fashionrec.events.ingest import IngestWorker
from fashionrec.index import CatalogIndex
from fashionrec.serving import Telemetry
from fashionrec.telemetry.metrics import IngestMetrics

_log = logging.getLogger(__name__)


class IngestThread:
    """Runs an IngestWorker until stop(): the batch in hand finishes, is committed, and the group is left."""

    def __init__(
        self,
        settings: KafkaSettings,
        index: CatalogIndex,
        encoder: ImageEncoder,
        decode_image: ImageDecoder,
        telemetry: Telemetry,
        version: str | None = None,
        group_id: str | None = None,
        image_root: Path | None = None,
    ) -> None:
        self.metrics = IngestMetrics(telemetry.registry)
        tracer = telemetry.tracer("fashionrec.ingest")
        self._producer = kafka.producer(settings)
        self._applier = IndexApplier(index, encoder, decode_image, self.metrics, tracer, version, image_root)
        self._worker = IngestWorker(
            kafka.consumer(settings, settings.catalog_topic, group_id=group_id),
            self._applier,
            DeadLetterWriter(self._producer, settings.dead_letter_topic),
            self.metrics,
            tracer,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)

    def start(self) -> "IngestThread":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._worker.run(self._stop)
        except Exception:
            _log.exception("ingest worker stopped on an error; uncommitted events will be redelivered")
            raise

    def assigned_partitions(self) -> int:
        return self._worker.assigned_partitions()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._applier.close()
        self._producer.close()
