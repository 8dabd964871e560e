"""deploy/bootstrap.py (topics and index at start-up) and deploy/grpc_health_probe.py, on real parts."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from kafka import KafkaConsumer
from qdrant_client import QdrantClient

from fashionrec import config
from fashionrec.index import ServerStore
from fashionrec.index.synthetic_vectors import synthetic_artifact
from fashionrec_grpc.serving import start_server
from tests.deploy.prometheus_process import REPO, free_port


def _script(name: str) -> ModuleType:
    """A deploy/ script as a module (deploy/ is not a package: the images run the files)."""
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", REPO / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = _script("bootstrap")
health_probe = _script("grpc_health_probe")


def test_topics_are_created_with_their_partitions_and_a_rerun_is_harmless(kafka_settings) -> None:
    bootstrap.create_topics(kafka_settings, partitions=6)
    bootstrap.create_topics(kafka_settings, partitions=6)
    reader = KafkaConsumer(bootstrap_servers=kafka_settings.bootstrap_servers)
    try:
        assert len(reader.partitions_for_topic(kafka_settings.catalog_topic)) == 6
        assert len(reader.partitions_for_topic(kafka_settings.dead_letter_topic)) == 1
    finally:
        reader.close()


# qdrant-client's local mode (a real client path, no server here) ignores payload indexes.
@pytest.mark.filterwarnings("ignore:Payload indexes have no effect")
def test_the_index_is_created_and_made_live_once() -> None:
    store = ServerStore(QdrantClient(location=":memory:"))
    first, second = synthetic_artifact("v1"), synthetic_artifact("v2")
    assert bootstrap.create_index(store, first) == "v1"
    # A later release's bootstrap indexes its model but leaves the live one to the operator.
    assert bootstrap.create_index(store, second) == "v1"
    assert bootstrap.create_index(store, first) == "v1"
    assert store.versions() == ["v1", "v2"]
    store.close()


def test_health_probe_tells_serving_from_down() -> None:
    server = start_server([], config.load(config.OutfitSettings, {"FASHIONREC_GRPC_PORT": "0"}).server)
    try:
        assert health_probe.main(["probe", server.address]) == 0
        server.set_serving(False)
        assert health_probe.main(["probe", server.address]) == 1
    finally:
        server.stop(0, 0)
    assert health_probe.main(["probe", f"127.0.0.1:{free_port()}"]) == 1
