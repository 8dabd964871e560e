"""Fixtures for real infrastructure: one Tansu broker per test session, a fresh
topic per test, an embedded Qdrant engine directory per test, and the whole
embedded stack (`fashionrec dev` in-process) fed a small synthetic catalog."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import argparse

import grpc

from fashionrec_cli.dev_command import Stack, embedded_stack
from fashionrec.config import KafkaSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.synthetic import generate_catalog
from fashionrec.embedded import EmbeddedBroker
from fashionrec.events.kafka import ensure_topics
from tests.helpers import index_through_kafka

REPO = Path(__file__).resolve().parents[1]
# The shipped model; FASHIONREC_TEST_MODEL points the suite at another one.
MODEL_DIR = Path(os.environ.get("FASHIONREC_TEST_MODEL", REPO / "models" / "adde-synthetic"))

# Joins a consumer group in about a second on Tansu (it holds JoinGroup for
# half the session timeout).
FAST_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def kafka_settings(broker: EmbeddedBroker) -> KafkaSettings:
    """Settings for the session broker with per-test topic and group names."""
    suffix = uuid.uuid4().hex[:10]
    return dataclasses.replace(
        KafkaSettings(),
        bootstrap_servers=broker.bootstrap_servers,
        catalog_topic=f"catalog-{suffix}",
        dead_letter_topic=f"catalog-{suffix}.dlq",
        consumer_group=f"group-{suffix}",
        **FAST_JOIN,
    )


@pytest.fixture
def topic(kafka_settings: KafkaSettings) -> str:
    """A fresh catalog topic with 4 partitions, unique to this test."""
    ensure_topics(kafka_settings, {kafka_settings.catalog_topic: 4})
    return kafka_settings.catalog_topic


@pytest.fixture
def qdrant_dir(tmp_path: Path) -> Path:
    """A directory for an embedded Qdrant engine shard, removed after the test."""
    return tmp_path / "qdrant"


@pytest.fixture(scope="session")
def model_dir() -> Path:
    assert (MODEL_DIR / "config.json").exists(), f"no model at {MODEL_DIR}"
    return MODEL_DIR


# The embedded stack, shared by the service and CLI tests.
CATALOG_ITEMS = 240



@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return generate_catalog(CATALOG_ITEMS, seed=11, image_size=64)


@pytest.fixture(scope="session")
def stack(catalog: Catalog, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    args = argparse.Namespace(data_dir=tmp_path_factory.mktemp("stack"), grpc_port=0, metrics_port=0,
                              broker_port=0, model=model_dir, fresh=False)
    with embedded_stack(args) as running:
        index_through_kafka(running, catalog)
        yield running


@pytest.fixture(scope="session")
def channel(stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(stack.grpc_address) as ch:
        yield ch


@pytest.fixture(scope="session")
def preview_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test model with a tiny preview decoder of its own (seconds to train), whether or not the
    model directory ships one: its files linked into a temporary directory beside preview.safetensors."""
    import torch

    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.preview_decoder import DecoderConfig
    from fashionrec.model.preview_training import PREVIEW_FILE, save_preview_decoder, train_preview_decoder

    directory = tmp_path_factory.mktemp("preview-model")
    for source in model_dir.iterdir():
        if source.name != PREVIEW_FILE:
            (directory / source.name).symlink_to(source.resolve())
    model, spec = load_model(model_dir, "cpu")
    decoder = train_preview_decoder(model, generate_catalog(48, seed=5, image_size=64), torch.device("cpu"),
                                    epochs=1, batch_size=32, progress=False, log=lambda line: None,
                                    config=DecoderConfig(channels=32, min_channels=8, image_size=spec.image_size))
    save_preview_decoder(decoder, directory)
    return directory
