"""The embedded stack (`fashionrec dev` in-process) fed a small synthetic catalog through Kafka."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from fashionrec.cli.dev import Stack, embedded_stack
from fashionrec.data.catalog import Catalog, generate_catalog
from fashionrec.events import kafka
from fashionrec.events.publish import catalog_items, publish, upsert_event
from tests.helpers import wait_for

CATALOG_ITEMS = 240



@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return generate_catalog(CATALOG_ITEMS, seed=11, image_size=64)


@pytest.fixture(scope="session")
def stack(catalog: Catalog, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    args = argparse.Namespace(data_dir=tmp_path_factory.mktemp("stack"), grpc_port=0, metrics_port=0,
                              model=model_dir, fresh=False)
    with embedded_stack(args) as running:
        producer = kafka.producer(running.kafka)
        now = time.time()
        publish(producer, running.kafka.catalog_topic,
                [upsert_event(item, now) for item in catalog_items(catalog, range(len(catalog)))])
        producer.close()
        wait_for(lambda: running.index.count() == len(catalog), what="the catalog to be indexed")
        yield running


@pytest.fixture(scope="session")
def channel(stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(stack.grpc_address) as ch:
        yield ch
