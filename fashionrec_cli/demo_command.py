"""`fashionrec demo` (what `make demo` runs): the whole product on the embedded stack.

Starts the stack with the shipped model, publishes a synthetic catalog through
Kafka, waits until it is indexed, runs one query of each kind over gRPC, and
writes `demo-output/` with one picture per query (the query, for Manipulate the
model's preview of the change, then the results captioned with the attributes
that matter and marked against what was asked, a tally and a legend; see
fashionrec_cli.demo_pictures). Then serves until Ctrl-C (`--once`: exits after the queries).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fashionrec_cli.dev_command import add_stack_arguments

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `fashionrec demo`."""
    parser = subparsers.add_parser("demo", help="publish a sample catalog, query it, write demo-output/")
    add_stack_arguments(parser)
    parser.add_argument("--items", type=int, default=600, help="size of the sample catalog")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the sample catalog")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where the pictures go")
    parser.add_argument("--once", action="store_true", help="exit after the queries instead of serving")
    parser.set_defaults(handler=run, fresh=True)


def run(args: argparse.Namespace) -> int:
    """Publishes, waits for the index (with a progress bar), queries, writes the pictures."""
    import grpc

    from fashionrec_cli.dev_command import embedded_stack
    from fashionrec.data.synthetic import generate_catalog
    from fashionrec.events import kafka
    from fashionrec.data.publishing import catalog_items
    from fashionrec.events.publish import publish, upsert_event
    from fashionrec.progress import progress_bar, set_counter
    from fashionrec_grpc.serving import wait_for_shutdown_signal

    args.fresh = True  # the demo's index holds exactly the catalog it publishes
    catalog = generate_catalog(args.items, seed=args.seed, image_size=64, progress=None)
    with embedded_stack(args) as stack:
        started = time.monotonic()
        producer = kafka.producer(stack.kafka)
        published = publish(producer, stack.kafka.catalog_topic,
                            [upsert_event(item, time.time()) for item in catalog_items(catalog, range(len(catalog)))])
        producer.close()
        print(f"published {published} catalog events to {stack.kafka.catalog_topic}", flush=True)
        with progress_bar(total=len(catalog), desc="indexing", unit="item") as bar:
            while (indexed := stack.index.count()) < len(catalog):
                if not stack.ingest.alive:
                    raise SystemExit("fashionrec demo: error: the ingest worker stopped; see the log above")
                set_counter(bar, indexed)
                time.sleep(0.25)
            set_counter(bar, indexed)
        print(f"indexed {len(catalog)} items in {time.monotonic() - started:.1f}s", flush=True)
        with grpc.insecure_channel(stack.grpc_address) as channel:
            from fashionrec_cli.demo_pictures import run_demo_queries

            for path in run_demo_queries(channel, catalog, args.out):
                print(f"wrote {path}")
        print(f"fashionrec demo: ready on {stack.grpc_address} (metrics {stack.metrics_url}); "
              f"try `fashionrec query --address {stack.grpc_address} manipulate --sku {catalog.items[0].sku} "
              f"--change color=red`", flush=True)
        if not args.once:
            wait_for_shutdown_signal()
    return 0
