"""`fashionrec dev`: the whole stack on one machine, no Docker, from any directory.

Starts the embedded Kafka-compatible broker, opens the embedded Qdrant engine
with the model's collection live, serves the three gRPC services on one port
(with health, reflection and the interceptor) and /metrics, runs the ingest
worker, prints the addresses and a ready line, and serves until interrupted
(`--once`: exits after the ready line).

Every part started is stopped when a later one fails to start, so a failed
start exits instead of leaving a broker or a worker thread behind; the broker
also dies with this process when it is killed (see fashionrec.embedded.broker).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fashionrec import config, paths

if TYPE_CHECKING:
    from encoder_svc.ingest import IngestThread
    from fashionrec.index import CatalogIndex

__all__ = ["Stack", "add_stack_arguments", "data_dir", "embedded_stack", "register", "run"]

_log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `fashionrec dev`."""
    parser = subparsers.add_parser("dev", help="run the embedded stack (broker, Qdrant, services)")
    add_stack_arguments(parser)
    parser.add_argument("--once", action="store_true", help="exit once the stack is ready")
    parser.set_defaults(handler=run)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `dev` and `demo` share."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the embedded Qdrant engine keeps its shards "
                             "(default: $XDG_STATE_HOME/fashionrec/dev, i.e. ~/.local/state/fashionrec/dev)")
    parser.add_argument("--grpc-port", type=int, default=None,
                        help="gRPC port for all services; 0 picks a free one (default: FASHIONREC_GRPC_PORT, 50051)")
    parser.add_argument("--metrics-port", type=int, default=None,
                        help="/metrics port; 0 picks a free one (default: FASHIONREC_METRICS_PORT, 9464)")
    parser.add_argument("--broker-port", type=int, default=0,
                        help="port of the embedded Kafka broker on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (default: FASHIONREC_MODEL_DIR, else the shipped "
                             "models/adde-synthetic)")
    parser.add_argument("--fresh", action="store_true", help="delete --data-dir first")


def data_dir(args: argparse.Namespace) -> Path:
    """--data-dir, or the documented default under the user's state directory."""
    return args.data_dir if args.data_dir is not None else paths.state_dir() / "dev"


@dataclass
class Stack:
    """The running embedded stack, as `fashionrec dev` and `fashionrec demo` use it."""

    kafka: config.KafkaSettings
    grpc_address: str
    metrics_url: str
    model_version: str
    index: "CatalogIndex"
    ingest: "IngestThread"
    data_dir: Path


@contextlib.contextmanager
def embedded_stack(args: argparse.Namespace) -> Iterator[Stack]:
    """Starts the stack; stops every started part on exit, or as soon as a later part fails to start.

    Args:
        args: data_dir, grpc_port, metrics_port, broker_port, model, fresh (see add_stack_arguments).

    Yields:
        The running stack.

    Raises:
        NotFound: no model at the model directory.
        PortInUse: a configured port is taken.
    """
    import encoder_svc.server
    import outfit_svc.server
    import retrieval_svc.server
    from encoder_svc.ingest import INGEST_HEALTH_SERVICE, IngestOptions, IngestThread
    from encoder_svc.local_photos import LocalPhotoEncoder
    from encoder_svc.preview import LocalPreview, PreviewRenderer
    from fashionrec.artifact import load_spec
    from fashionrec.embedded import EmbeddedBroker
    from fashionrec.events.kafka import ensure_topics
    from fashionrec.index import open_index
    from fashionrec.ports import require_free_port
    from fashionrec_grpc.serving import start_service_process
    from fashionrec.telemetry.process_telemetry import Telemetry
    from fashionrec.telemetry.metrics import set_model_info

    settings = config.load_or_exit(config.EncoderSettings)
    server = settings.server
    if args.grpc_port is not None:
        server = dataclasses.replace(server, grpc_port=args.grpc_port)
    if args.metrics_port is not None:
        server = dataclasses.replace(server, metrics_port=args.metrics_port)
    model_dir = args.model or settings.model_dir
    # What the user can get wrong is checked before anything starts: no broker noise on a typo.
    load_spec(model_dir)
    require_free_port(server.host, server.grpc_port, "gRPC", "--grpc-port or FASHIONREC_GRPC_PORT")
    require_free_port(server.host, server.metrics_port, "/metrics", "--metrics-port or FASHIONREC_METRICS_PORT")
    directory = data_dir(args)
    if args.fresh and directory.exists():
        shutil.rmtree(directory)

    with contextlib.ExitStack() as started:  # unwinds in reverse: ingest, servers, index, broker
        broker = started.enter_context(EmbeddedBroker(port=args.broker_port or None))
        _log.info("embedded broker on %s (pid %s)", broker.bootstrap_servers, broker.pid)
        kafka = dataclasses.replace(settings.kafka, bootstrap_servers=broker.bootstrap_servers)
        ensure_topics(kafka, {kafka.catalog_topic: 4, kafka.dead_letter_topic: 1})
        telemetry = Telemetry.create("fashionrec-dev")
        index = open_index(dataclasses.replace(settings.qdrant, url="", path=directory / "qdrant"),
                           observe=telemetry.rpc.observe_backend)
        started.callback(index.close)
        version = encoder_svc.server.prepare_index(index, model_dir)
        _log.info("model %s from %s; index at %s", version, model_dir, directory / "qdrant")
        set_model_info(telemetry.registry, version)
        encoder = encoder_svc.server.load_encoder(settings, model_dir)
        decode_image = encoder_svc.server.image_decoder(settings)  # one decode budget for the process
        services = [
            *encoder_svc.server.services(settings, encoder, decode_image, index),
            *retrieval_svc.server.services(
                index, LocalPhotoEncoder(encoder, decode_image),
                LocalPreview(PreviewRenderer(encoder, decode_image, index, settings.max_image_bytes))),
            *outfit_svc.server.services(index),
        ]
        process = start_service_process(services, server, telemetry, health_check=index.check_reachable)
        started.callback(process.stop, 0.0, server.grace_seconds)
        ingest = IngestThread(kafka, index, encoder, decode_image, telemetry, version=version,
                              options=IngestOptions.from_settings(settings)).start()
        process.health.add_component(INGEST_HEALTH_SERVICE, ingest.healthy)
        # Stopped before the servers: its spans go out before the tracer provider shuts down.
        started.callback(ingest.stop)
        maintainer = encoder_svc.server.start_index_maintainer(index, settings.qdrant, telemetry)
        started.callback(maintainer.stop)
        yield Stack(kafka, f"127.0.0.1:{process.server.port}",
                    f"http://{server.host}:{process.metrics.port}/metrics", version, index, ingest, directory)


def run(args: argparse.Namespace) -> int:
    """Serves the embedded stack until SIGTERM/SIGINT (or returns once ready with --once)."""
    from fashionrec_grpc.serving import wait_for_shutdown_signal

    with embedded_stack(args) as stack:
        print(f"kafka    {stack.kafka.bootstrap_servers}  topics: {stack.kafka.catalog_topic}, "
              f"{stack.kafka.dead_letter_topic}")
        print(f"qdrant   embedded engine at {stack.data_dir / 'qdrant'}  live model: {stack.model_version}")
        print(f"grpc     {stack.grpc_address}  EncoderService, RetrievalService, OutfitService, health, reflection")
        print(f"metrics  {stack.metrics_url}")
        print("fashionrec dev: ready", flush=True)
        if not args.once:
            wait_for_shutdown_signal()
    return 0
