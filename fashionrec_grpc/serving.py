"""Wires a gRPC server: the services, health, reflection, interceptors, graceful stop.

Every service process (and `fashionrec dev`, which hosts all three on one
port) starts its server through `start_server`, so health and reflection are
never forgotten and shutdown always drains the same way.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


from fashionrec.config import ServerSettings
from fashionrec_grpc.options import server_options
from fashionrec_grpc.interceptors import ServiceInterceptor
from fashionrec.ports import require_free_port
from fashionrec_grpc.probes import ProbeHealthServicer
from fashionrec.telemetry.logs import configure_logging
from fashionrec.telemetry.metrics import MetricsEndpoint, serve_metrics
from fashionrec.telemetry.process_telemetry import Telemetry


@dataclass(frozen=True)
class Service:
    """One gRPC service implementation and how to register it."""

    full_name: str
    add_to_server: Callable[[Any, grpc.Server], None]
    servicer: Any

    @classmethod
    def from_descriptor(
        cls,
        file: FileDescriptor,
        name: str,
        add_to_server: Callable[[Any, grpc.Server], None],
        servicer: Any,
    ) -> "Service":
        return cls(file.services_by_name[name].full_name, add_to_server, servicer)


@dataclass
class RunningServer:
    server: grpc.Server
    health: ProbeHealthServicer
    port: int
    service_names: tuple[str, ...]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_names):
            self.health.set(name, status)

    def set_component(self, name: str, serving: bool) -> None:
        """The health of one part of the process (e.g. Kafka ingest) under its own service name.

        Apart from set_serving: queries keep being served while a component is NOT_SERVING.
        """
        self.health.set(name, health_pb2.HealthCheckResponse.SERVING if serving
                        else health_pb2.HealthCheckResponse.NOT_SERVING)

    def stop(self, drain_seconds: float = 0.0, grace_seconds: float = 5.0) -> None:
        """NOT_SERVING first so balancers stop sending, then let in-flight calls finish.

        `server.stop` refuses new calls at once, hence the drain delay before it.
        """
        self.set_serving(False)
        if drain_seconds > 0:
            time.sleep(drain_seconds)
        self.server.stop(grace_seconds).wait()


def start_server(
    services: Sequence[Service],
    settings: ServerSettings,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> RunningServer:
    """Starts a server with the services plus grpc.health.v1 (readiness and liveness, see
    fashionrec_grpc.probes) and reflection; returns it SERVING.

    Keepalive, connection age and the concurrency limit come from settings (fashionrec_grpc.options).
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="grpc"),
        interceptors=list(interceptors),
        options=server_options(settings),
        # Beyond this, calls are refused with RESOURCE_EXHAUSTED instead of queueing without bound.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    health_servicer = ProbeHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in services:
        service.add_to_server(service.servicer, server)
    names = tuple(s.full_name for s in services)
    reflection.enable_server_reflection(
        (*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    require_free_port(settings.host, settings.grpc_port, "gRPC", "--grpc-port or FASHIONREC_GRPC_PORT")
    port = server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
    if port == 0:
        raise OSError(f"cannot bind gRPC port {settings.host}:{settings.grpc_port}")
    server.start()
    running = RunningServer(server, health_servicer, port, names)
    running.set_serving(True)
    return running


def wait_for_shutdown_signal() -> None:
    """Blocks until SIGTERM or SIGINT (Ctrl-C)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def server_interceptors(telemetry: Telemetry, settings: ServerSettings) -> list[grpc.ServerInterceptor]:
    """OpenTelemetry's gRPC server instrumentation (the server span, continuing the caller's
    trace; probes and reflection left out) when spans are exported, then auth, errors and metrics."""
    ours = ServiceInterceptor(telemetry.rpc, settings.auth_token)
    if not telemetry.exporting:
        return [ours]
    from opentelemetry.instrumentation.grpc import filters, server_interceptor

    untraced = filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection"))
    return [server_interceptor(tracer_provider=telemetry.provider, filter_=filters.negate(untraced)), ours]


def client_interceptor(telemetry: Telemetry) -> Any:
    """OpenTelemetry's gRPC client instrumentation: a client span, and its context sent along.

    A grpcext interceptor (not a grpc.UnaryUnaryClientInterceptor): wrap a channel with
    fashionrec_grpc.options.intercept_channel, not grpc.intercept_channel (TypeError)."""
    from opentelemetry.instrumentation.grpc import client_interceptor as otel_client_interceptor

    return otel_client_interceptor(tracer_provider=telemetry.provider)


class HealthWatch:
    """Turns health NOT_SERVING while check() raises (e.g. Qdrant is down), SERVING once it passes.

    Each component (health service name -> is it healthy) is reported under its own name only.
    """

    def __init__(self, running: RunningServer, check: Callable[[], object] | None, interval_s: float = 2.0,
                 components: Mapping[str, Callable[[], bool]] | None = None) -> None:
        self._running = running
        self._check = check
        self._interval_s = interval_s
        self._components = dict(components or {})
        self._watch_components()  # the names exist from the start: a probe never gets NOT_FOUND
        self._last_run = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health-watch", daemon=True)
        self._thread.start()

    def alive(self, stale_s: float) -> bool:
        """Whether the watch loop ran within stale_s: the liveness probe's "not wedged"."""
        return time.monotonic() - self._last_run < stale_s

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._last_run = time.monotonic()
            self._watch_components()
            if self._check is None:
                continue
            try:
                self._check()
            except Exception:
                self._running.set_serving(False)
            else:
                self._running.set_serving(True)

    def add_component(self, name: str, is_healthy: Callable[[], bool]) -> None:
        """Reports is_healthy() under the health service name from now on."""
        self._components = {**self._components, name: is_healthy}  # a new dict: the loop may be iterating
        self._watch_components()

    def _watch_components(self) -> None:
        for name, is_healthy in list(self._components.items()):
            try:
                healthy = bool(is_healthy())
            except Exception:
                healthy = False
            self._running.set_component(name, healthy)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for name in self._components:
            self._running.set_component(name, False)


@dataclass
class ServiceProcess:
    """A started gRPC server with its /metrics endpoint and health watch."""

    server: RunningServer
    metrics: MetricsEndpoint
    health: HealthWatch | None
    telemetry: Telemetry

    def stop(self, drain_seconds: float, grace_seconds: float) -> None:
        if self.health is not None:
            self.health.stop()
        self.server.stop(drain_seconds, grace_seconds)
        self.metrics.stop()
        self.telemetry.provider.shutdown()  # flushes spans still batched for the collector


def start_service_process(
    services: Sequence[Service],
    settings: ServerSettings,
    telemetry: Telemetry,
    health_check: Callable[[], object] | None = None,
    components: Mapping[str, Callable[[], bool]] | None = None,
) -> ServiceProcess:
    """The gRPC server behind the interceptor, plus /metrics and the health watch.

    components: health service name -> is that part healthy (the encoder's Kafka ingest), each
    reported under its own name so that queries keep being served while it is NOT_SERVING.
    """
    require_free_port(settings.host, settings.metrics_port, "/metrics", "--metrics-port or FASHIONREC_METRICS_PORT")
    running = start_server(services, settings, interceptors=server_interceptors(telemetry, settings))
    try:
        metrics = serve_metrics(telemetry.registry, settings.host, settings.metrics_port)
    except BaseException:
        running.server.stop(0)  # a failed start leaves nothing running behind it
        raise
    watched = health_check is not None or components
    health = HealthWatch(running, health_check, components=components) if watched else None
    if health is not None:
        running.health.set_liveness(lambda: health.alive(settings.liveness_stale_seconds))
    return ServiceProcess(running, metrics, health, telemetry)


def serve_until_signal(
    name: str,
    services: Sequence[Service],
    settings: ServerSettings,
    telemetry: Telemetry,
    health_check: Callable[[], object] | None = None,
    before_stop: Callable[[], None] | None = None,
    components: Mapping[str, Callable[[], bool]] | None = None,
) -> None:
    """A service process's main loop: start, announce, wait for SIGTERM/SIGINT, drain, stop.

    before_stop runs first on shutdown (the encoder finishes and commits its ingest batch there).
    """
    configure_logging(settings.log_level)
    process = start_service_process(services, settings, telemetry, health_check, components)
    print(f"{name} serving gRPC on {settings.host}:{process.server.port}, "
          f"metrics on http://{settings.host}:{process.metrics.port}/metrics", flush=True)
    wait_for_shutdown_signal()
    if before_stop is not None:
        before_stop()
    process.stop(settings.drain_seconds, settings.grace_seconds)
