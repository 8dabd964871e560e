"""`fashionrec dev`: the whole stack on one machine, no Docker.

Starts the embedded Kafka-compatible broker, opens the embedded Qdrant engine
with the model's collection live, runs the ingest worker, serves the three
gRPC services on one port (with health, reflection and the interceptor) and
/metrics, prints the addresses and a ready line, and serves until
interrupted (`--once`: exits after the ready line).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fashionrec import config

if TYPE_CHECKING:
    from encoder_svc.ingest import IngestThread
    from fashionrec.index import CatalogIndex


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dev", help="run the embedded stack (broker, Qdrant, services)")
    add_stack_arguments(parser)
    parser.add_argument("--once", action="store_true", help="exit once the stack is ready")
    parser.set_defaults(handler=run)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path(".fashionrec/dev"),
                        help="where the embedded Qdrant engine keeps its shards")
    parser.add_argument("--grpc-port", type=int, default=None,
                        help="gRPC port for all services (default: FASHIONREC_GRPC_PORT)")
    parser.add_argument("--metrics-port", type=int, default=None,
                        help="/metrics port (default: FASHIONREC_METRICS_PORT)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: FASHIONREC_MODEL_DIR)")
    parser.add_argument("--fresh", action="store_true", help="delete --data-dir first")


@dataclass
class Stack:
    """The running embedded stack, as `fashionrec dev` and `fashionrec demo` use it."""

    kafka: config.KafkaSettings
    grpc_address: str
    metrics_url: str
    model_version: str
    index: "CatalogIndex"
    ingest: "IngestThread"


@contextlib.contextmanager
def embedded_stack(args: argparse.Namespace) -> Iterator[Stack]:
    import encoder_svc.server
    import outfit_svc.server
    import retrieval_svc.server
    from encoder_svc.ingest import INGEST_HEALTH_SERVICE, IngestOptions, IngestThread
    from encoder_svc.photos import LocalPhotoEncoder
    from fashionrec.embedded import EmbeddedBroker
    from fashionrec.events.kafka import ensure_topics
    from fashionrec.index import open_index
    from fashionrec.serving import Telemetry, start_service_process

    settings = config.load_or_exit(config.EncoderSettings)
    server = settings.server
    if args.grpc_port is not None:
        server = dataclasses.replace(server, grpc_port=args.grpc_port)
    if args.metrics_port is not None:
        server = dataclasses.replace(server, metrics_port=args.metrics_port)
    model_dir = args.model or settings.model_dir
    if args.fresh and args.data_dir.exists():
        shutil.rmtree(args.data_dir)

    with EmbeddedBroker() as broker:
        kafka = dataclasses.replace(settings.kafka, bootstrap_servers=broker.bootstrap_servers)
        ensure_topics(kafka, {kafka.catalog_topic: 4, kafka.dead_letter_topic: 1})
        telemetry = Telemetry.create("fashionrec-dev")
        index = open_index(dataclasses.replace(settings.qdrant, url="", path=args.data_dir / "qdrant"),
                           observe=telemetry.rpc.observe_backend)
        try:
            version = encoder_svc.server.prepare_index(index, model_dir)
            encoder = encoder_svc.server.load_encoder(settings, model_dir)
            decode_image = encoder_svc.server.image_decoder(settings)  # one decode budget for the process
            ingest = IngestThread(kafka, index, encoder, decode_image, telemetry, version=version,
                                  options=IngestOptions.from_settings(settings)).start()
            services = [
                *encoder_svc.server.services(settings, encoder, decode_image),
                *retrieval_svc.server.services(index, LocalPhotoEncoder(encoder, decode_image)),
                *outfit_svc.server.services(index),
            ]
            process = start_service_process(services, server, telemetry, health_check=index.count,
                                            components={INGEST_HEALTH_SERVICE: ingest.healthy})
            try:
                yield Stack(kafka, f"127.0.0.1:{process.server.port}",
                            f"http://{server.host}:{process.metrics.port}/metrics", version, index, ingest)
            finally:
                ingest.stop()  # first: its spans go out before the tracer provider shuts down
                process.stop(0.0, server.grace_seconds)
        finally:
            index.close()


def run(args: argparse.Namespace) -> int:
    from fashionrec.serving import wait_for_shutdown_signal

    with embedded_stack(args) as stack:
        print(f"kafka    {stack.kafka.bootstrap_servers}  topics: {stack.kafka.catalog_topic}, "
              f"{stack.kafka.dead_letter_topic}")
        print(f"qdrant   embedded engine at {args.data_dir / 'qdrant'}  live model: {stack.model_version}")
        print(f"grpc     {stack.grpc_address}  EncoderService, RetrievalService, OutfitService, health, reflection")
        print(f"metrics  {stack.metrics_url}")
        print("fashionrec dev: ready", flush=True)
        if not args.once:
            wait_for_shutdown_signal()
    return 0
