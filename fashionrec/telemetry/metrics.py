"""Prometheus metrics, each set bound to a registry passed in (no process-global state).

Metric names are the contract with deploy/ (dashboard and alert rules): change
them there too.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (GCCollector, CollectorRegistry, Counter, Gauge, Histogram, Info,
                               PlatformCollector, ProcessCollector, start_http_server)

# Around the latency goals of a query (p99 < 50 ms on the embedded stack).
RPC_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGE_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FRESHNESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# Why an event goes to the dead-letter topic (fashionrec.events.codec and .apply).
DEAD_LETTER_REASONS = ("empty", "undecodable", "content_type", "missing_field", "invalid_field", "too_large",
                       "image_unreadable", "image_undecodable", "invalid_item", "unknown_sku", "processing_failed")


class RpcMetrics:
    """Server RPC metrics under the names of the gRPC convention (go-grpc-prometheus, grpc-ecosystem):
    grpc_server_started_total, grpc_server_handled_total{grpc_code}, grpc_server_handling_seconds,
    labelled grpc_type, grpc_service (the full name, e.g. fashionrec.v1.RetrievalService), grpc_method.
    Calls in flight are started minus handled."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["grpc_type", "grpc_service", "grpc_method"]
        self.started = Counter(
            "grpc_server_started", "RPCs started on the server.", labels, registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled", "RPCs completed on the server, regardless of success or failure.",
            [*labels, "grpc_code"], registry=registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds", "Response latency of RPCs handled by the server.",
            labels, buckets=RPC_LATENCY_BUCKETS, registry=registry,
        )
        self.backend_latency = Histogram(
            "fashionrec_qdrant_latency_seconds", "Latency of calls to Qdrant, by operation.",
            ["operation"], buckets=RPC_LATENCY_BUCKETS, registry=registry,
        )

    def observe_backend(self, operation: str, seconds: float) -> None:
        self.backend_latency.labels(operation=operation).observe(seconds)


class IngestMetrics:
    """What the Kafka ingest worker did, how fast, and how far behind it is."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "fashionrec_ingest_events_consumed", "Catalog events read from Kafka, by type.",
            ["type"], registry=registry,
        )
        self.indexed = Counter(
            "fashionrec_ingest_events_indexed", "Catalog events applied to the index, by type.",
            ["type"], registry=registry,
        )
        self.skipped = Counter(
            "fashionrec_ingest_events_skipped", "Events older than the stored item, by type.",
            ["type"], registry=registry,
        )
        self.dead_lettered = Counter(
            "fashionrec_ingest_events_dead_lettered", "Events sent to the dead-letter topic, by reason.",
            ["reason"], registry=registry,
        )
        # Series exist from the start, so increase() also counts the first dead letter.
        for reason in DEAD_LETTER_REASONS:
            self.dead_lettered.labels(reason=reason)
        self.batch_size = Histogram(
            "fashionrec_ingest_batch_size", "Records per polled batch.",
            buckets=BATCH_SIZE_BUCKETS, registry=registry,
        )
        self.stage_latency = Histogram(
            "fashionrec_ingest_stage_seconds", "Time per batch in each stage (decode, encode, upsert, commit).",
            ["stage"], buckets=STAGE_LATENCY_BUCKETS, registry=registry,
        )
        self.encoded_images = Counter(
            "fashionrec_encoder_images", "Images encoded, by device.", ["device"], registry=registry,
        )
        self.lag = Gauge(
            "fashionrec_ingest_consumer_lag", "Records not yet consumed, per partition.",
            ["topic", "partition"], registry=registry,
        )
        self.freshness = Histogram(
            "fashionrec_ingest_freshness_seconds", "From the event's updated_at to searchable.",
            buckets=FRESHNESS_BUCKETS, registry=registry,
        )
        self.backoff = Counter(
            "fashionrec_ingest_backoff", "Pauses because a dependency was unavailable.",
            ["dependency"], registry=registry,
        )
        self.backoff.labels(dependency="index")  # at 0 from the start, like the dead letters
        self.event_retries = Counter(
            "fashionrec_ingest_event_retries", "Retries of one event after it failed unexpectedly.",
            registry=registry,
        )
        self.worker_restarts = Counter(
            "fashionrec_ingest_worker_restarts", "Times the ingest worker stopped on an error and was restarted.",
            registry=registry,
        )
        self.worker_running = Gauge(
            "fashionrec_ingest_worker_running", "1 while the ingest worker runs, 0 while it is down.",
            registry=registry,
        )
        self.healthy = Gauge(
            "fashionrec_ingest_healthy",
            "1 when the ingest worker runs and makes progress on its lag, 0 when it is down or stalled.",
            registry=registry,
        )
        self.since_progress = Gauge(
            "fashionrec_ingest_seconds_since_progress",
            "Seconds since the worker last committed a batch, while it has lag (0 when caught up).",
            registry=registry,
        )


class IndexMetrics:
    """How much of the live index the search graphs cover, and the builds that extend them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.points = Gauge("fashionrec_index_points", "Points in the live index.", registry=registry)
        self.unindexed_ratio = Gauge(
            "fashionrec_index_unindexed_ratio",
            "Share of the live index's vectors outside the search graphs (searched by an exact scan).",
            registry=registry,
        )
        self.scan_table_points = Gauge(
            "fashionrec_index_scan_table_points",
            "Points the embedded store's scan table holds in memory; below fashionrec_index_points while it "
            "fills after a start (the small vectors' searches go to the engine until it holds them all).",
            registry=registry,
        )
        self.builds = Counter(
            "fashionrec_index_builds", "Builds of the search graphs started by the index maintainer, by outcome.",
            ["outcome"], registry=registry,
        )
        self.build_seconds = Histogram(
            "fashionrec_index_build_seconds", "Wall time of one build of the search graphs.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600), registry=registry,
        )


@dataclass
class MetricsEndpoint:
    server: WSGIServer
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def register_process_collectors(registry: CollectorRegistry, model_version: str | None = None) -> None:
    """The standard process_* (CPU, memory, open files), python_info and python_gc_* collectors, and
    fashionrec_build_info (plus fashionrec_model_info when the process serves a model) on registry.

    Args:
        registry: the process's registry.
        model_version: the model this process serves, if it loads one.
    """
    from fashionrec import __version__

    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    Info("fashionrec_build", "The fashionrec release this process runs.", registry=registry).info(
        {"version": __version__, "python": platform.python_version()})
    if model_version is not None:
        set_model_info(registry, model_version)


def set_model_info(registry: CollectorRegistry, model_version: str) -> None:
    """fashionrec_model_info{model_version}: the model the process serves (1 for the current one)."""
    Info("fashionrec_model", "The model this process serves.", registry=registry).info(
        {"model_version": model_version})


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> MetricsEndpoint:
    """Serves registry at http://host:port/metrics (port 0 picks a free one)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return MetricsEndpoint(server, server.server_port)
