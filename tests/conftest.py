"""Fixtures for real infrastructure: one Tansu broker per test session, a fresh
topic per test, and an embedded Qdrant engine directory per test."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fashionrec.config import KafkaSettings
from fashionrec.embedded import EmbeddedBroker
from fashionrec.events.kafka import ensure_topics

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
