"""Small helpers shared by the tests (imported as `tests.helpers`: the suite runs from the repo root)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fashionrec.data.catalog import Catalog
    from fashionrec_cli.dev_command import Stack


def wait_for(condition: Callable[[], object], timeout_s: float = 60.0, what: str = "condition") -> None:
    """Polls condition until it is truthy; fails the test after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def index_through_kafka(stack: "Stack", catalog: "Catalog") -> None:
    """Publishes every catalog row to the stack's catalog topic and waits until all are indexed."""
    from fashionrec.data.publishing import catalog_items
    from fashionrec.events import kafka
    from fashionrec.events.publish import publish, upsert_event

    producer = kafka.producer(stack.kafka)
    now = time.time()
    publish(producer, stack.kafka.catalog_topic,
            [upsert_event(item, now) for item in catalog_items(catalog, range(len(catalog)))])
    producer.close()
    wait_for(lambda: stack.index.count() == len(catalog), what="the catalog to be indexed")
