"""Applies a batch of decoded catalog events to the index: the encoder's side of ingest.

Per batch: read the stored `updated_at` of the batch's SKUs and drop events
older than what is stored (or than an earlier event of the same SKU in the
batch); decode the upserts' images concurrently and encode them in one device
batch; then run the writes in stream order, consecutive events of one kind
as one bulk call, so per-SKU order holds. An event that can never be applied
(image unreadable or undecodable, unknown category or label value, patch of
an item that is not indexed) is returned as Rejected for the dead-letter
topic; an unreachable index raises Unavailable so the worker retries the
batch. Category and labels are checked against the model's vocabulary before
the image is read, so a bad event costs no decode or encode.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np
from opentelemetry import trace

from fashionrec.artifact import ModelSpec
from fashionrec.errors import InvalidArgument
from fashionrec.events.codec import updated_at_seconds
from fashionrec.events.image_refs import ImageReader
from fashionrec.events.ingest import ReceivedEvent, Rejected
from fashionrec.index import CatalogIndex, IndexedItem
from fashionrec.index.schema import check_item, check_vocabulary
from fashionrec.item_messages import item_from_upsert, patch_from_event
from fashionrec.telemetry.metrics import IngestMetrics


class EncodedImages(Protocol):
    whole: np.ndarray  # (B, whole_dim)
    outfit: np.ndarray  # (B, outfit_dim)
    labels: np.ndarray  # (B, n_attributes) predicted value index
    log_probs: np.ndarray  # (B, S) floored class log-posteriors


class ImageEncoder(Protocol):
    spec: ModelSpec
    device: object

    def encode(self, images: np.ndarray) -> EncodedImages: ...


ImageDecoder = Callable[[bytes, int], np.ndarray]


__all__ = ["EncodedImages", "ImageDecoder", "ImageEncoder", "IndexApplier"]


class IndexApplier:
    def __init__(
        self,
        index: CatalogIndex,
        encoder: ImageEncoder,
        decode_image: ImageDecoder,
        metrics: IngestMetrics,
        tracer: trace.Tracer,
        version: str | None = None,
        images: ImageReader | None = None,
        decode_threads: int = 4,
    ) -> None:
        self._index = index
        self._encoder = encoder
        self._decode_image = decode_image
        self._metrics = metrics
        self._tracer = tracer
        self._version = version
        # No reader: image references are refused (the default in deployments).
        self._images = images or ImageReader(None, 0)
        self._pool = ThreadPoolExecutor(max_workers=decode_threads, thread_name_prefix="decode")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def check(self) -> None:
        """Raises when the index does not answer (a failure is then not an event's fault)."""
        self._index.check_reachable()

    def apply(self, batch: Sequence[ReceivedEvent]) -> list[Rejected]:
        """Writes a batch's events to the index, in order, skipping those older than the stored item.

        Returns:
            The events refused, with their reasons, in batch order; every other event was applied.
        """
        version = self._version or self._index.live_version()
        fresh = self._drop_stale(batch, version)
        # Events are keyed by their position in `fresh` (the same event may not be hashable).
        rejected: dict[int, Rejected] = {}
        upserts: dict[int, ReceivedEvent] = {}
        for position, received in enumerate(fresh):
            if received.kind != "upsert":
                continue
            try:
                check_vocabulary(self._encoder.spec, item_from_upsert(received.event, {}), "upsert")
            except InvalidArgument as exc:
                rejected[position] = Rejected(received, "invalid_item", str(exc))
            else:
                upserts[position] = received
        items, refused = self._encode_upserts(upserts)
        rejected.update(refused)
        runnable = [(position, r) for position, r in enumerate(fresh) if position not in rejected]
        started = time.perf_counter()
        start_ns = time.time_ns()
        for kind, group in itertools.groupby(runnable, key=lambda pair: pair[1].kind):
            events = list(group)
            if kind == "upsert":
                self._index.upsert([items[position] for position, _ in events], version)
            elif kind == "patch":
                missing = set(self._index.patch([patch_from_event(r.event) for _, r in events], version))
                rejected.update({position: Rejected(r, "unknown_sku", f"patch for {r.event.sku!r}, which is not indexed")
                                 for position, r in events if r.event.sku in missing})
            elif kind == "delete":
                self._index.delete([r.event.sku for _, r in events], version)
        self._metrics.stage_latency.labels(stage="upsert").observe(time.perf_counter() - started)
        self._stage_spans("index.write", [r for _, r in runnable], start_ns)
        return [rejected[position] for position in sorted(rejected)]

    def _drop_stale(self, batch: Sequence[ReceivedEvent], version: str) -> list[ReceivedEvent]:
        latest = self._index.updated_at(sorted({r.event.sku for r in batch}), version)
        fresh = []
        for received in batch:
            stamp = updated_at_seconds(received.event)
            if stamp < latest.get(received.event.sku, float("-inf")):
                self._metrics.skipped.labels(type=received.kind).inc()
                received.span.set_attribute("fashionrec.skipped", "older than the stored item")
                continue
            latest[received.event.sku] = stamp
            fresh.append(received)
        return fresh

    def _encode_upserts(self, upserts: dict[int, ReceivedEvent]
                        ) -> tuple[dict[int, IndexedItem], dict[int, Rejected]]:
        """Decodes and encodes the upserts' images in one batch.

        Args:
            upserts: the upsert events by their position in the batch.

        Returns:
            The indexable items and the refused events, both by position.
        """
        items: dict[int, IndexedItem] = {}
        rejected: dict[int, Rejected] = {}
        if not upserts:
            return items, rejected
        spec = self._encoder.spec
        start_ns, started = time.time_ns(), time.perf_counter()
        decoded = dict(zip(upserts, self._pool.map(lambda r: self._load_image(r, spec.image_size), upserts.values())))
        self._stage_spans("image.decode", list(upserts.values()), start_ns)
        self._metrics.stage_latency.labels(stage="decode").observe(time.perf_counter() - started)
        rejected = {position: result for position, result in decoded.items() if isinstance(result, Rejected)}
        good = [position for position in upserts if position not in rejected]
        if not good:
            return items, rejected
        start_ns, started = time.time_ns(), time.perf_counter()
        encoded = self._encoder.encode(np.stack([decoded[position] for position in good]))
        self._stage_spans("model.encode", [upserts[position] for position in good], start_ns)
        self._metrics.stage_latency.labels(stage="encode").observe(time.perf_counter() - started)
        self._metrics.encoded_images.labels(device=str(self._encoder.device)).inc(len(good))
        for row, position in enumerate(good):
            received = upserts[position]
            predicted = {a.name: a.values[int(v)] for a, v in zip(spec.vocabulary.attributes, encoded.labels[row])}
            entry = IndexedItem(item_from_upsert(received.event, predicted), encoded.whole[row], encoded.outfit[row],
                                encoded.log_probs[row])
            try:
                items[position] = check_item(spec, entry, "upsert")
            except InvalidArgument as exc:
                rejected[position] = Rejected(received, "invalid_item", str(exc))
        return items, rejected

    def _load_image(self, received: ReceivedEvent, size: int) -> np.ndarray | Rejected:
        upsert = received.event.upsert
        try:
            if upsert.WhichOneof("image") == "image_uri":
                data = self._images.read(upsert.image_uri)
            else:
                data = upsert.image_bytes
        except InvalidArgument as exc:
            return Rejected(received, "image_unreadable", str(exc))
        except Exception as exc:  # never the event's bytes or the file's in the detail
            return Rejected(received, "image_unreadable", f"image_uri: {type(exc).__name__}")
        try:
            return self._decode_image(data, size)
        except InvalidArgument as exc:
            return Rejected(received, "image_undecodable", str(exc))
        except Exception as exc:
            return Rejected(received, "image_undecodable", f"image: {type(exc).__name__}")

    def _stage_spans(self, name: str, events: Sequence[ReceivedEvent], start_ns: int) -> None:
        """One span per event for a stage that ran batched, so each event's trace shows it."""
        end_ns = time.time_ns()
        for received in events:
            context = trace.set_span_in_context(received.span)
            self._tracer.start_span(name, context=context, start_time=start_ns).end(end_time=end_ns)
