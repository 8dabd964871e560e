"""`fashionrec dev`: the whole stack on one machine, no Docker.

Starts the embedded Kafka-compatible broker, opens the embedded Qdrant
engine, creates the catalog and dead-letter topics, serves the three gRPC
services on one port with health and reflection, prints the addresses and a
ready line, and serves until interrupted (`--once`: exits after ready).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

from fashionrec import config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dev", help="run the embedded stack (broker, Qdrant, services)")
    parser.add_argument("--data-dir", type=Path, default=Path(".fashionrec/dev"),
                        help="where the embedded Qdrant engine keeps its shard")
    parser.add_argument("--grpc-port", type=int, default=None,
                        help="gRPC port for all services (default: FASHIONREC_GRPC_PORT)")
    parser.add_argument("--fresh", action="store_true", help="delete --data-dir first")
    parser.add_argument("--once", action="store_true", help="exit once the stack is ready")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import encoder_svc.server
    import outfit_svc.server
    import retrieval_svc.server
    from fashionrec.embedded import EmbeddedBroker, open_edge_shard
    from fashionrec.events.kafka import ensure_topics
    from fashionrec.serving import start_server, wait_for_shutdown_signal

    settings = config.load_or_exit(config.EncoderSettings)
    server_settings = settings.server
    if args.grpc_port is not None:
        server_settings = dataclasses.replace(server_settings, grpc_port=args.grpc_port)
    if args.fresh and args.data_dir.exists():
        shutil.rmtree(args.data_dir)

    with EmbeddedBroker() as broker:
        kafka = dataclasses.replace(settings.kafka, bootstrap_servers=broker.bootstrap_servers)
        ensure_topics(kafka, {kafka.catalog_topic: 4, kafka.dead_letter_topic: 1})
        shard = open_edge_shard(args.data_dir / "qdrant", {"whole": 1})
        services = [
            *encoder_svc.server.services(settings),
            *retrieval_svc.server.services(config.load_or_exit(config.RetrievalSettings)),
            *outfit_svc.server.services(config.load_or_exit(config.OutfitSettings)),
        ]
        running = start_server(services, server_settings)
        try:
            print(f"kafka    {broker.bootstrap_servers}  topics: {kafka.catalog_topic}, "
                  f"{kafka.dead_letter_topic}")
            print(f"qdrant   embedded engine at {args.data_dir / 'qdrant'}")
            print(f"grpc     {server_settings.host}:{running.port}  "
                  f"services: {', '.join(running.service_names)}")
            print("fashionrec dev: ready", flush=True)
            if not args.once:
                wait_for_shutdown_signal()
        finally:
            running.stop(0.0, server_settings.grace_seconds)
            shard.close()
    return 0
