"""What the gRPC benches share (run as scripts: `python bench/NAME.py`): a demo catalog
published into the embedded stack and indexed, and per-call wall times."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fashionrec_cli.dev_command import embedded_stack
from fashionrec.data.catalog import Catalog
from fashionrec.data.synthetic import generate_catalog
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event

__all__ = ["indexed_stack", "time_calls"]


@contextmanager
def indexed_stack(model: Path, items: int, data_dir: Path) -> Iterator[tuple[object, Catalog]]:
    """The embedded stack (fresh state in data_dir) with a seed-2026 demo catalog of `items`
    published through Kafka, indexed and optimised: yields (stack, catalog)."""
    catalog = generate_catalog(items, seed=2026, image_size=64)
    stack_args = argparse.Namespace(data_dir=data_dir, grpc_port=0, metrics_port=0, broker_port=0,
                                    model=model, fresh=True)
    with embedded_stack(stack_args) as stack:
        producer = kafka.producer(stack.kafka)
        publish(producer, stack.kafka.catalog_topic,
                [upsert_event(i, time.time()) for i in catalog_items(catalog, range(len(catalog)))])
        producer.close()
        while stack.index.count() < len(catalog):
            time.sleep(0.2)
        stack.index.optimize()
        yield stack, catalog


def time_calls(call: Callable, requests: Iterable, timeout_s: float = 30) -> np.ndarray:
    """Wall milliseconds of each call(request, timeout=timeout_s), one after another."""
    out = []
    for request in requests:
        started = time.perf_counter()
        call(request, timeout=timeout_s)
        out.append(time.perf_counter() - started)
    return np.array(out) * 1000
