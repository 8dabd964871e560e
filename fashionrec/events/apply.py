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
from fashionrec.index import CatalogIndex, IndexedItem, Item, ItemPatch
from fashionrec.index.schema import check_item, check_vocabulary
from fashionrec.telemetry.metrics import IngestMetrics
from fashionrec.v1.catalog_pb2 import ItemUpsert


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
        self._index.count()

    def apply(self, batch: Sequence[ReceivedEvent]) -> list[Rejected]:
        version = self._version or self._index.live_version()
        fresh = self._drop_stale(batch, version)
        rejected: list[Rejected] = []
        upserts = []
        for received in fresh:
            if received.kind != "upsert":
                continue
            try:
                check_vocabulary(self._encoder.spec, _item(received, {}), "upsert")
            except InvalidArgument as exc:
                rejected.append(Rejected(received, "invalid_item", str(exc)))
            else:
                upserts.append(received)
        items = self._encode_upserts(upserts, rejected)
        rejected_ids = {id(r.received) for r in rejected}
        runnable = [r for r in fresh if id(r) not in rejected_ids]
        started = time.perf_counter()
        start_ns = time.time_ns()
        for kind, group in itertools.groupby(runnable, key=lambda r: r.kind):
            events = list(group)
            if kind == "upsert":
                self._index.upsert([items[id(r)] for r in events], version)
            elif kind == "patch":
                missing = set(self._index.patch([_patch(r) for r in events], version))
                rejected += [Rejected(r, "unknown_sku", f"patch for {r.event.sku!r}, which is not indexed")
                             for r in events if r.event.sku in missing]
            elif kind == "delete":
                self._index.delete([r.event.sku for r in events], version)
        self._metrics.stage_latency.labels(stage="upsert").observe(time.perf_counter() - started)
        self._stage_spans("index.write", runnable, start_ns)
        return rejected

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

    def _encode_upserts(self, upserts: list[ReceivedEvent], rejected: list[Rejected]) -> dict[int, IndexedItem]:
        if not upserts:
            return {}
        spec = self._encoder.spec
        start_ns, started = time.time_ns(), time.perf_counter()
        decoded = list(self._pool.map(lambda r: self._load_image(r, spec.image_size), upserts))
        self._stage_spans("image.decode", upserts, start_ns)
        self._metrics.stage_latency.labels(stage="decode").observe(time.perf_counter() - started)
        good = []
        for received, result in zip(upserts, decoded):
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                good.append((received, result))
        if not good:
            return {}
        start_ns, started = time.time_ns(), time.perf_counter()
        encoded = self._encoder.encode(np.stack([image for _, image in good]))
        self._stage_spans("model.encode", [r for r, _ in good], start_ns)
        self._metrics.stage_latency.labels(stage="encode").observe(time.perf_counter() - started)
        self._metrics.encoded_images.labels(device=str(self._encoder.device)).inc(len(good))
        items: dict[int, IndexedItem] = {}
        for row, (received, _) in enumerate(good):
            predicted = {a.name: a.values[int(v)] for a, v in zip(spec.vocabulary.attributes, encoded.labels[row])}
            entry = IndexedItem(_item(received, predicted), encoded.whole[row], encoded.outfit[row],
                                encoded.log_probs[row])
            try:
                items[id(received)] = check_item(spec, entry, "upsert")
            except InvalidArgument as exc:
                rejected.append(Rejected(received, "invalid_item", str(exc)))
        return items

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


def _item(received: ReceivedEvent, predicted: dict[str, str]) -> Item:
    event, upsert = received.event, received.event.upsert
    return Item(
        sku=event.sku,
        category=upsert.category,
        labels=dict(upsert.labels),
        predicted_labels=predicted,
        title=upsert.title,
        brand=upsert.brand,
        price=upsert.price,
        currency=upsert.currency,
        in_stock=upsert.in_stock,
        updated_at=updated_at_seconds(received.event),
        image_uri=upsert.image_uri,
    )


def _patch(received: ReceivedEvent) -> ItemPatch:
    patch = received.event.patch
    fields = {name: getattr(patch, name) for name in ("price", "currency", "in_stock", "title", "brand")
              if patch.HasField(name)}
    return ItemPatch(sku=received.event.sku, updated_at=updated_at_seconds(received.event), **fields)
