"""The benchmark's queries answered by the running services (`fashionrec eval --through-services`).

Starts the embedded stack in-process (broker, Qdrant engine, encoder ingest, retrieval and
outfit servicers: fashionrec_cli.dev_command.embedded_stack) on free ports and a temporary data
directory, publishes the gallery rows of the catalog to Kafka as catalog item events,
waits until every one is indexed, then asks over gRPC:

- manipulation: Manipulate(sku, changes, k);
- conditional similarity: SimilarBy(sku, one attribute with weight 1, k);
- outfits: Complete(context skus, target category, k); FITB: ScoreOutfit(context skus +
  candidate) for each of the 4 candidates (the "FITB pairs" figure: ScoreOutfit's symmetric
  pair scores, beside the same figure computed offline).

The replies (SKUs) go back to catalog rows and through the same metrics as the offline
rows (fashionrec.model.benchmark). The served path differs from the offline one only in
what serving does differently (PNG round trip and resize at ingest, the index's vectors
and composed queries), which is what the comparison is for.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.progress import progress_bar, set_counter

_log = logging.getLogger(__name__)

TIMEOUT_S = 60.0


class ServedClient:
    """Implements fashionrec.model.benchmark.ServedQueries over one gRPC channel."""

    def __init__(self, channel: Any, catalog: Catalog, k: int, facts: dict[str, Any]) -> None:
        from fashionrec.v1 import outfit_pb2_grpc, retrieval_pb2_grpc

        self.k = k
        self._catalog = catalog
        self._rows = {item.sku: row for row, item in enumerate(catalog.items)}
        self._retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        self._outfits = outfit_pb2_grpc.OutfitServiceStub(channel)
        self._facts = facts
        self._calls = 0
        self._errors = 0
        self._seconds: list[float] = []

    def _ask(self, method: Any, request: Any, exclude: int | None = None) -> list[int]:
        import grpc

        started = time.monotonic()
        try:
            reply = method(request, timeout=TIMEOUT_S)
        except grpc.RpcError as error:  # counted and reported: a failed call ranks nothing
            self._errors += 1
            _log.warning("served query failed: %s", error)
            return []
        finally:
            self._calls += 1
            self._seconds.append(time.monotonic() - started)
        rows = [self._rows.get(hit.sku, -1) for hit in reply.hits]
        return [r for r in rows if r != exclude]

    def manipulate(self, reference: int, changes: Sequence[q.AttributeChange]) -> list[int]:
        from fashionrec.v1 import common_pb2, retrieval_pb2

        attributes = self._catalog.vocabulary.attributes
        request = retrieval_pb2.ManipulateRequest(
            item=common_pb2.ItemRef(sku=self._catalog.items[reference].sku),
            changes=[common_pb2.AttributeChange(attribute=attributes[c.attribute].name,
                                                value=attributes[c.attribute].values[c.target]) for c in changes],
            k=self.k)
        return self._ask(self._retrieval.Manipulate, request, exclude=reference)

    def similar(self, reference: int, attribute: int) -> list[int]:
        from fashionrec.v1 import common_pb2, retrieval_pb2

        name = self._catalog.vocabulary.attributes[attribute].name
        request = retrieval_pb2.SimilarByRequest(
            item=common_pb2.ItemRef(sku=self._catalog.items[reference].sku),
            weights=[retrieval_pb2.AttributeWeight(attribute=name, weight=1.0)], k=self.k)
        return self._ask(self._retrieval.SimilarBy, request, exclude=reference)

    def complete(self, context: Sequence[int], target_category: int) -> list[int]:
        from fashionrec.v1 import outfit_pb2

        category = self._catalog.vocabulary.attributes[0].values[target_category]
        request = outfit_pb2.CompleteRequest(outfit_skus=[self._catalog.items[r].sku for r in context],
                                             target_category=category, k=self.k)
        return self._ask(self._outfits.Complete, request)

    def score_outfit(self, rows: Sequence[int]) -> float:
        import grpc

        from fashionrec.v1 import outfit_pb2

        request = outfit_pb2.ScoreOutfitRequest(skus=[self._catalog.items[r].sku for r in rows])
        started = time.monotonic()
        try:
            return float(self._outfits.ScoreOutfit(request, timeout=TIMEOUT_S).score)
        except grpc.RpcError as error:  # counted and reported: a failed call scores nothing
            self._errors += 1
            _log.warning("served ScoreOutfit failed: %s", error)
            return float("nan")
        finally:
            self._calls += 1
            self._seconds.append(time.monotonic() - started)

    def facts(self) -> dict[str, Any]:
        seconds = np.array(self._seconds) * 1000.0
        latency = ({"p50_ms": round(float(np.percentile(seconds, 50)), 2),
                    "p99_ms": round(float(np.percentile(seconds, 99)), 2)} if len(seconds) else {})
        return {**self._facts, "k": self.k, "calls": self._calls, "failed_calls": self._errors, **latency}


@contextlib.contextmanager
def served_stack(model_dir: Path, catalog: Catalog, gallery: str, k: int = 100,
                 progress: bool | None = None, index_timeout_s: float = 3600.0,
                 stall_s: float = 300.0) -> Iterator[ServedClient]:
    """The embedded stack with the gallery rows of catalog published and indexed; yields a client."""
    import grpc

    from fashionrec_cli.dev_command import embedded_stack
    from fashionrec.events import kafka
    from fashionrec.data.publishing import catalog_items
    from fashionrec.events.publish import publish, upsert_event

    rows = q.split_rows(catalog, gallery)
    with tempfile.TemporaryDirectory(prefix="fashionrec-eval-") as directory:
        args = argparse.Namespace(data_dir=Path(directory), grpc_port=0, metrics_port=0, broker_port=0,
                                  model=Path(model_dir), fresh=True)
        with embedded_stack(args) as stack:
            started = time.monotonic()
            producer = kafka.producer(stack.kafka)
            published = 0
            with progress_bar(total=len(rows), desc="publishing", unit="item", enabled=progress) as bar:
                for start in range(0, len(rows), 1000):
                    part = rows[start:start + 1000]
                    now = time.time()
                    published += publish(producer, stack.kafka.catalog_topic,
                                         [upsert_event(item, now) for item in catalog_items(catalog, part)])
                    bar.update(len(part))
            producer.close()
            publish_s = time.monotonic() - started
            last, last_change = -1, time.monotonic()
            with progress_bar(total=len(rows), desc="indexing", unit="item", enabled=progress) as bar:
                while (indexed := stack.index.count()) < len(rows):
                    if not stack.ingest.alive:
                        raise RuntimeError("the ingest worker stopped before the gallery was indexed")
                    now = time.monotonic()
                    if indexed != last:
                        last, last_change = indexed, now
                    if now - started > index_timeout_s or now - last_change > stall_s:
                        raise TimeoutError(f"{indexed} of {len(rows)} items indexed after {now - started:.0f} s "
                                           "(events dead-lettered? see the log)")
                    set_counter(bar, indexed)
                    time.sleep(0.5)
                set_counter(bar, indexed)
            facts = {"model_version": stack.model_version, "published": published,
                     "publish_seconds": round(publish_s, 1),
                     "publish_and_index_seconds": round(time.monotonic() - started, 1)}
            with grpc.insecure_channel(stack.grpc_address) as channel:
                yield ServedClient(channel, catalog, k, facts)
