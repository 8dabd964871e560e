"""A small monitored stack for the live Prometheus test, from the project's real parts.

Two processes' worth of metrics, each on its own `/metrics` endpoint:

* an outfit service: a real gRPC server behind `ServiceInterceptor`, whose
  handler searches a real (embedded) Qdrant shard and, on cue, is slow,
  fails (INTERNAL) or does not find the item (NOT_FOUND);
* an encoder: a real `IngestWorker` consuming the session's Tansu broker,
  whose applier stands in for the encoder + index (the image "encoding" is a
  hash, the upsert goes to the real shard). It reports the stages and
  counters the real applier owns (encode, upsert, images by device) so the
  dashboard's ingest panels have data, meets one index outage (backoff), one
  undecodable record and one undecodable image (dead letters), and consumes
  slower than the publisher sends, so the lag grows. Its worker stops when the
  traffic ends, and the ingest monitor reports it (ingest health 0).

The retrieval job points at a port where nothing listens: a service down.
`MonitoredStack` is what the test needs; the full embedded stack
(`fashionrec dev`) can replace this stand-in by providing the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import qdrant_edge as edge
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import CollectorRegistry

from fashionrec import config
from fashionrec.index.edge_shard import open_edge_shard
from fashionrec.errors import NotFound, Unavailable
from fashionrec.events import codec
from fashionrec.events.dead_letter import DeadLetterWriter
from fashionrec.events.ingest import BackoffPolicy, IngestProgress, IngestWorker, ReceivedEvent, Rejected
from fashionrec.events.monitor import IngestMonitor
from fashionrec.events.kafka import consumer, ensure_topics, producer
from fashionrec_grpc.interceptors import ServiceInterceptor
from fashionrec_grpc.serving import RunningServer, Service, start_server
from fashionrec.telemetry.metrics import IndexMetrics, IngestMetrics, MetricsEndpoint, RpcMetrics, serve_metrics
from fashionrec.telemetry.tracing import tracer_provider
from fashionrec.v1 import outfit_pb2, outfit_pb2_grpc
from fashionrec.v1.catalog_pb2 import CatalogEvent, ItemPatch, ItemUpsert

from tests.deploy.prometheus_process import free_port

DIM = 8
SLOW_S = 0.06  # over the 50 ms latency objective
# Query mix: 25% slow (latency budget burns), 10% INTERNAL (error ratio), 5% NOT_FOUND.
QUERY_MIX = ["ok"] * 12 + ["slow"] * 5 + ["bug"] * 2 + ["missing"]
# The publisher sends about 4 times what the throttled worker takes (at most
# WORKER_BATCH records per APPLY_DELAY_S): the lag grows steadily.
PUBLISH_BURST, PUBLISH_EVERY_S = 10, 0.05
WORKER_BATCH = 5
APPLY_DELAY_S = 0.25


@dataclass
class MonitoredStack:
    """What the live test needs of a running stack."""

    targets: dict[str, list[str]]  # scrape job -> host:port serving /metrics
    drive: Callable[[float], None]  # query traffic and catalog events for that many seconds


def _vector(key: str) -> list[float]:
    digest = hashlib.sha256(key.encode()).digest()
    return [b / 255.0 + 0.01 for b in digest[:DIM]]


def _timed(metrics: RpcMetrics, operation: str, call: Callable[[], object]) -> object:
    started = time.perf_counter()
    try:
        return call()
    finally:
        metrics.backend_latency.labels(operation=operation).observe(time.perf_counter() - started)


class _ScriptedOutfits(outfit_pb2_grpc.OutfitServiceServicer):
    def __init__(self, shard: edge.EdgeShard, metrics: RpcMetrics) -> None:
        self._shard = shard
        self._metrics = metrics

    def ScoreOutfit(self, request, context):
        behaviour = request.skus[0]
        if behaviour == "missing":
            raise NotFound("no item with sku 'missing'")
        if behaviour == "bug":
            raise RuntimeError("a bug")
        if behaviour == "slow":
            time.sleep(SLOW_S)
        hits = _timed(self._metrics, "search", lambda: self._shard.query(
            edge.QueryRequest(limit=3, query=edge.Query.Nearest(_vector(request.skus[1]), using="whole"))))
        return outfit_pb2.ScoreOutfitResponse(score=float(len(hits)))


class _StandInApplier:
    """Encoder + index stand-in: the first batch meets an index outage, then it applies."""

    def __init__(self, shard: edge.EdgeShard, ingest: IngestMetrics, rpc: RpcMetrics, index: IndexMetrics) -> None:
        self._shard = shard
        self._ingest = ingest
        self._rpc = rpc
        self._index = index
        self._outage_left = 1

    def apply(self, batch: Sequence[ReceivedEvent]) -> list[Rejected]:
        if self._outage_left:
            self._outage_left -= 1
            raise Unavailable("qdrant is starting")
        started = time.perf_counter()
        rejected = [Rejected(r, "image_undecodable", "not an image") for r in batch if r.event.sku == "bad-image"]
        upserts = [r for r in batch if r.kind == "upsert" and r.event.sku != "bad-image"]
        points = [edge.Point(str(uuid.uuid5(uuid.NAMESPACE_URL, r.event.sku)), {"whole": _vector(r.event.sku)},
                             {"sku": r.event.sku}) for r in upserts]
        self._ingest.encoded_images.labels(device="cpu").inc(len(points))
        time.sleep(APPLY_DELAY_S)  # the throttle that makes the lag grow
        self._ingest.stage_latency.labels(stage="encode").observe(time.perf_counter() - started)
        started = time.perf_counter()
        if points:
            _timed(self._rpc, "upsert", lambda: self._shard.update(edge.UpdateOperation.upsert_points(points)))
        self._ingest.stage_latency.labels(stage="upsert").observe(time.perf_counter() - started)
        self.report_index()
        return rejected

    def report_index(self) -> None:
        """What the encoder's index maintainer reports: the share outside the graphs (none built here)."""
        info = self._shard.info()
        self._index.points.set(info.points_count)
        self._index.unindexed_ratio.set(1 - info.indexed_vectors_count / max(1, info.points_count))


def _event(n: int) -> CatalogEvent:
    now = Timestamp()
    now.GetCurrentTime()
    sku = "bad-image" if n == 7 else f"sku-{n % 300}"
    if n % 3:
        return CatalogEvent(sku=sku, updated_at=now, upsert=ItemUpsert(image_bytes=b"\x89PNG", category="dress"))
    return CatalogEvent(sku=sku, updated_at=now, patch=ItemPatch(price=float(n)))


class StandInStack:
    def __init__(self, bootstrap_servers: str, workdir: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self._kafka = dataclasses.replace(
            config.KafkaSettings(), bootstrap_servers=bootstrap_servers,
            catalog_topic=f"deploy-catalog-{suffix}", dead_letter_topic=f"deploy-catalog-{suffix}.dlq",
            consumer_group=f"deploy-{suffix}", max_poll_records=WORKER_BATCH,
            # Joins the group in about a second on Tansu (see tests/conftest.py).
            session_timeout_ms=2000, heartbeat_interval_ms=500,
        )
        ensure_topics(self._kafka, {self._kafka.catalog_topic: 4, self._kafka.dead_letter_topic: 1})
        self._shard = open_edge_shard(workdir / "qdrant", {"whole": DIM})
        self._shard.update(edge.UpdateOperation.upsert_points([edge.Point(1, {"whole": _vector("seed")}, {})]))
        tracer = tracer_provider("deploy-test").get_tracer("deploy-test")

        query_registry, encoder_registry = CollectorRegistry(), CollectorRegistry()
        query_rpc = RpcMetrics(query_registry)
        self._encoder_rpc, self._ingest = RpcMetrics(encoder_registry), IngestMetrics(encoder_registry)
        self._index_metrics = IndexMetrics(encoder_registry)
        self._tracer = tracer
        service = Service.from_descriptor(outfit_pb2.DESCRIPTOR, "OutfitService",
                                          outfit_pb2_grpc.add_OutfitServiceServicer_to_server,
                                          _ScriptedOutfits(self._shard, query_rpc))
        server_settings = config.load(config.OutfitSettings, {"FASHIONREC_GRPC_PORT": "0"}).server
        self._server: RunningServer = start_server([service], server_settings,
                                                   interceptors=[ServiceInterceptor(query_rpc)])
        self._endpoints: list[MetricsEndpoint] = [serve_metrics(r, "127.0.0.1", 0)
                                                  for r in (query_registry, encoder_registry)]
        outfit_metrics, encoder_metrics = (f"127.0.0.1:{e.port}" for e in self._endpoints)
        self.monitored = MonitoredStack(
            targets={
                "fashionrec-encoder": [encoder_metrics],
                "fashionrec-outfit": [outfit_metrics],
                "fashionrec-retrieval": [f"127.0.0.1:{free_port()}"],  # nothing listens: down
            },
            drive=self.drive,
        )

    def drive(self, seconds: float) -> None:
        """Publishes events, runs the ingest worker and sends queries, all for `seconds`."""
        stop = threading.Event()
        progress = IngestProgress()
        progress.set_running(True)
        # The lag gauge and ingest health come from the monitor, as in the encoder service.
        monitor = IngestMonitor(self._kafka, self._kafka.consumer_group, progress, self._ingest, stall_s=600,
                                interval_s=1.0).start()
        applier = _StandInApplier(self._shard, self._ingest, self._encoder_rpc, self._index_metrics)
        applier.report_index()  # from the start, as the maintainer's first look
        worker = IngestWorker(
            # Small fetches: the worker's lag gauge reads the high watermark of the
            # last fetch, which a large prefetch buffer keeps stale for long.
            consumer(self._kafka, self._kafka.catalog_topic, max_partition_fetch_bytes=1024, fetch_max_bytes=1024),
            applier,
            DeadLetterWriter(producer(self._kafka), self._kafka.dead_letter_topic),
            self._ingest, self._tracer, backoff=BackoffPolicy(initial_s=0.1, max_s=0.5), poll_timeout_ms=100,
            progress=progress,
        )
        threads = [threading.Thread(target=worker.run, args=(stop,), name="ingest"),
                   threading.Thread(target=self._publish, args=(stop,), name="publish")]
        for thread in threads:
            thread.start()
        try:
            self._query(time.monotonic() + seconds)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            progress.set_running(False)  # the worker has stopped: the monitor must say so
            deadline = time.monotonic() + 10
            while monitor.health().healthy and time.monotonic() < deadline:
                time.sleep(0.1)
            monitor.stop()

    def _publish(self, stop: threading.Event) -> None:
        send = producer(self._kafka)
        send.send(self._kafka.catalog_topic, key=b"poison", value=b"\x00garbage")
        events = (_event(n) for n in itertools.count())
        while not stop.wait(PUBLISH_EVERY_S):
            for event in itertools.islice(events, PUBLISH_BURST):
                value, headers = codec.encode(event)
                send.send(self._kafka.catalog_topic, key=event.sku.encode(), value=value, headers=headers)
        send.flush()
        send.close()

    def _query(self, deadline: float) -> None:
        with grpc.insecure_channel(self._server.address) as channel:
            stub = outfit_pb2_grpc.OutfitServiceStub(channel)

            def call(behaviour: str) -> None:
                try:
                    stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=[behaviour, "sku-1"]), timeout=5)
                except grpc.RpcError:
                    pass  # the failures are the point; the interceptor counts them

            with ThreadPoolExecutor(max_workers=4) as pool:
                for behaviour in itertools.cycle(QUERY_MIX):
                    if time.monotonic() > deadline:
                        break
                    pool.submit(call, behaviour)
                    time.sleep(0.01)

    def close(self) -> None:
        self._server.stop(0, 0)
        for endpoint in self._endpoints:
            endpoint.stop()
        self._shard.close()
