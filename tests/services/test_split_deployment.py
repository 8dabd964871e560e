"""Encoder and retrieval as separate processes with a bearer token, and photo bombs against the encoder.

Real `python -m encoder_svc.server` and `python -m retrieval_svc.server`
processes on the session broker, each with its own embedded Qdrant directory
(qdrant-edge lets one process own a shard; the retrieval index is filled
first by an in-process ingest worker and closed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from encoder_svc.ingest import IngestThread
from encoder_svc.server import prepare_index
from fashionrec.config import KafkaSettings
from fashionrec.data.synthetic import generate_catalog
from fashionrec.data.images import BoundedDecoder
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event
from fashionrec.index import CatalogIndex, EdgeStore
from fashionrec_grpc.status import field_violations
from fashionrec.model.inference import Encoder
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from tests.conftest import REPO
from tests.encoder_svc.test_poison import bomb_png
from tests.helpers import wait_for

TOKEN = "s3cret-token"
AUTH = [("authorization", f"Bearer {TOKEN}")]
_SERVING = re.compile(r"serving gRPC on (\S+):(\d+)")


class Service:
    """A service process with its output drained on a thread; address once it printed its ready line."""

    def __init__(self, module: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", module], cwd=REPO, env={**os.environ, **env},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.address: str | None = None
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            found = _SERVING.search(line)
            if found:
                self.address = f"127.0.0.1:{found.group(2)}"

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"service exited early:\n{''.join(self.lines)}")
        return self.address is not None

    def peak_rss_kib(self) -> int:
        """VmHWM: the most resident memory the process has had."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _common_env(model_dir: Path, qdrant: Path) -> dict[str, str]:
    return {"FASHIONREC_MODEL_DIR": str(model_dir), "FASHIONREC_DEVICE": "cpu", "FASHIONREC_GRPC_PORT": "0",
            "FASHIONREC_METRICS_PORT": "0", "FASHIONREC_DRAIN_SECONDS": "0", "FASHIONREC_QDRANT_URL": "",
            "FASHIONREC_QDRANT_PATH": str(qdrant), "FASHIONREC_AUTH_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def split(broker, preview_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    model_dir = preview_model_dir  # the test model with a preview decoder (Manipulate's include_preview)
    base = tmp_path_factory.mktemp("split")
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, catalog_topic="split-catalog",
                             dead_letter_topic="split-catalog.dlq", consumer_group="split-group",
                             session_timeout_ms=2000, heartbeat_interval_ms=500)
    kafka.ensure_topics(settings, {settings.catalog_topic: 4, settings.dead_letter_topic: 1})
    catalog = generate_catalog(40, seed=21, image_size=64)
    index = CatalogIndex(EdgeStore(base / "retrieval"))
    prepare_index(index, model_dir)
    producer = kafka.producer(settings)
    publish(producer, settings.catalog_topic, [upsert_event(i, 1) for i in catalog_items(catalog, range(30))])
    producer.close()
    filler = IngestThread(settings, index, Encoder.load(model_dir), BoundedDecoder(), Telemetry.create("filler"),
                          group_id="split-filler").start()
    try:
        wait_for(lambda: index.count() == 30, what="the retrieval index filled")
    finally:
        filler.stop()
        index.close()
    encoder = Service("encoder_svc.server", {
        **_common_env(model_dir, base / "encoder"),
        "FASHIONREC_KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "FASHIONREC_KAFKA_CATALOG_TOPIC": settings.catalog_topic,
        "FASHIONREC_KAFKA_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
        "FASHIONREC_KAFKA_CONSUMER_GROUP": "split-encoder",
        "FASHIONREC_MAX_CONCURRENT_DECODES": "2",
    })
    try:
        wait_for(encoder.ready, what="the encoder service ready", timeout_s=120)
        retrieval = Service("retrieval_svc.server", {**_common_env(model_dir, base / "retrieval"),
                                                     "FASHIONREC_ENCODER_ADDRESS": encoder.address or ""})
        try:
            wait_for(retrieval.ready, what="the retrieval service ready", timeout_s=120)
            yield encoder, retrieval
        finally:
            retrieval.stop()
    finally:
        encoder.stop()


def _photo() -> bytes:
    return catalog_items(generate_catalog(40, seed=99, image_size=64), [0])[0].image_png


def test_a_photo_query_with_the_callers_token_is_served_across_processes(split) -> None:
    _, retrieval = split
    change = common_pb2.AttributeChange(attribute="color", value="red")
    request = retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(image=_photo()), changes=[change], k=5)
    with grpc.insecure_channel(retrieval.address) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        response = stub.Manipulate(request, metadata=AUTH, timeout=30)
        assert len(response.hits) == 5
        with pytest.raises(grpc.RpcError) as missing:
            stub.Manipulate(request, timeout=30)
        assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
        bad = retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(image=b"not an image"), changes=[change], k=5)
        with pytest.raises(grpc.RpcError) as invalid:
            stub.Manipulate(bad, metadata=AUTH, timeout=30)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # the encoder's status, faithfully
        assert [f for f, _ in field_violations(invalid.value)] == ["item.image"]


def test_manipulate_with_include_preview_across_processes(split) -> None:
    """Retrieval asks the encoder process for the preview on its channel, forwarding the caller's token."""
    encoder, retrieval = split
    sku = generate_catalog(40, seed=21, image_size=64).items[0].sku
    change = common_pb2.AttributeChange(attribute="color", value="red")
    request = retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(sku=sku), changes=[change], k=3,
                                              include_preview=True)
    with grpc.insecure_channel(encoder.address) as channel:  # the encoder's own index is fed by its ingest
        stub = encoder_pb2_grpc.EncoderServiceStub(channel)

        def indexed() -> bool:
            try:
                stub.Preview(encoder_pb2.PreviewRequest(item=common_pb2.ItemRef(sku=sku)), metadata=AUTH, timeout=30)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return False
            return True

        wait_for(indexed, what="the encoder to index the SKU", timeout_s=120)
    with grpc.insecure_channel(retrieval.address) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        response = stub.Manipulate(request, metadata=AUTH, timeout=30)
        assert len(response.hits) == 3
        assert response.preview_png.startswith(b"\x89PNG")
        photo = retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(image=_photo()), changes=[change], k=3,
                                                include_preview=True)
        assert stub.Manipulate(photo, metadata=AUTH, timeout=30).preview_png.startswith(b"\x89PNG")
        unknown = retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(sku="NO-SUCH-SKU"), changes=[change],
                                                  k=3, include_preview=True)
        with pytest.raises(grpc.RpcError) as missing:
            stub.Manipulate(unknown, metadata=AUTH, timeout=30)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_concurrent_photo_bombs_are_refused_before_decode_and_memory_stays_bounded(split) -> None:
    encoder, _ = split
    bomb = bomb_png()
    before = encoder.rss_kib()
    with grpc.insecure_channel(encoder.address) as channel:
        stub = encoder_pb2_grpc.EncoderServiceStub(channel)

        def call(_: int) -> grpc.StatusCode:
            try:
                stub.Encode(encoder_pb2.EncodeRequest(images=[bomb] * 4), metadata=AUTH, timeout=30)
            except grpc.RpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(call, range(32)))
    assert set(codes) == {grpc.StatusCode.INVALID_ARGUMENT}
    peak = encoder.peak_rss_kib()
    growth_mib = (peak - before) / 1024
    print(f"\nphoto bombs: 32 calls x 4 bombs of {len(bomb)} bytes (9,400 x 9,400 px) from 16 threads: "
          f"RSS before {before / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB (growth at most {growth_mib:.0f} MiB)")
    # One decoded bomb is ~265 MB as RGB; refusing from the header keeps the growth far below that.
    assert growth_mib < 100
