"""Wires a gRPC server: the services, health, reflection, interceptors, graceful stop.

Every service process (and `fashionrec dev`, which hosts all three on one
port) starts its server through `start_server`, so health and reflection are
never forgotten and shutdown always drains the same way.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from fashionrec.config import ServerSettings


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
    health: health.HealthServicer
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
    max_workers: int = 16,
) -> RunningServer:
    """Starts a server with the services plus grpc.health.v1 and reflection; returns it SERVING."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
        ],
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in services:
        service.add_to_server(service.servicer, server)
    names = tuple(s.full_name for s in services)
    reflection.enable_server_reflection(
        (*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
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


def serve_until_signal(name: str, services: Sequence[Service], settings: ServerSettings) -> None:
    """A service process's main loop: start, announce, wait for SIGTERM/SIGINT, drain, stop."""
    running = start_server(services, settings)
    print(f"{name} serving gRPC on {settings.host}:{running.port}", flush=True)
    wait_for_shutdown_signal()
    running.stop(settings.drain_seconds, settings.grace_seconds)
