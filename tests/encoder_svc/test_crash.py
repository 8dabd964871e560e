"""The encoder service killed with SIGKILL mid-stream and restarted: every item present exactly once.

Runs the real `python -m encoder_svc.server` process on the session broker and
the embedded Qdrant engine. Progress is read from the process's /metrics, the
only window into it: qdrant-edge lets one process own a shard, so the test
opens the index only after the last server exited.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from fashionrec.config import KafkaSettings, QdrantSettings
from fashionrec.data.synthetic import generate_catalog
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event
from fashionrec.index import open_index
from tests.conftest import REPO
from tests.helpers import wait_for

N_ITEMS = 150
PARTITIONS = 4  # the `topic` fixture's
_METRICS_LINE = re.compile(r"metrics on (http://\S+/metrics)")


@dataclass
class ServerProcess:
    """A running encoder service with its stdout drained on a thread (so it never blocks on a full pipe)."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def metrics_url(self) -> str | None:
        found = (_METRICS_LINE.search(line) for line in list(self.lines))
        return next((m.group(1) for m in found if m), None)

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics, keyed by (name, sorted labels)."""
        url = self.metrics_url()
        if url is None:
            return {}
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def indexed(self) -> float:
        return sum(v for (name, _), v in self.samples().items() if name == "fashionrec_ingest_events_indexed_total")

    def caught_up(self) -> bool:
        """Lag 0 on every partition: each gauge is set after a poll, once the batch in hand is committed."""
        lags = [v for (name, _), v in self.samples().items() if name == "fashionrec_ingest_consumer_lag"]
        return len(lags) == PARTITIONS and not any(lags)

    def output(self) -> str:
        return "".join(self.lines)


def _start_server(settings: KafkaSettings, qdrant_path: Path, model_dir: Path) -> ServerProcess:
    env = {
        **os.environ,
        "FASHIONREC_KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "FASHIONREC_KAFKA_CATALOG_TOPIC": settings.catalog_topic,
        "FASHIONREC_KAFKA_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
        "FASHIONREC_KAFKA_CONSUMER_GROUP": settings.consumer_group,
        "FASHIONREC_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "FASHIONREC_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        # Small batches, so that the kill lands between commits with work left over.
        "FASHIONREC_KAFKA_MAX_POLL_RECORDS": "5",
        "FASHIONREC_QDRANT_URL": "",
        "FASHIONREC_QDRANT_PATH": str(qdrant_path),
        "FASHIONREC_MODEL_DIR": str(model_dir),
        "FASHIONREC_DEVICE": "cpu",
        "FASHIONREC_GRPC_PORT": "0",
        "FASHIONREC_METRICS_PORT": "0",
        "FASHIONREC_DRAIN_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen([sys.executable, "-m", "encoder_svc.server"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return ServerProcess(process)


def _running(server: ServerProcess) -> None:
    if server.process.poll() is not None:
        raise AssertionError(f"encoder service exited early:\n{server.output()}")


def _wait_until(server: ServerProcess, condition, what: str, timeout_s: float = 60.0) -> None:
    def check() -> bool:
        _running(server)
        return bool(condition())

    try:
        wait_for(check, timeout_s=timeout_s, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server output ---\n{server.output()}") from None


def test_a_worker_killed_mid_stream_and_restarted_leaves_every_item_once(
    kafka_settings: KafkaSettings, topic: str, tmp_path: Path, model_dir: Path
) -> None:
    items = catalog_items(generate_catalog(N_ITEMS, seed=11, image_size=64), range(N_ITEMS))
    producer = kafka.producer(kafka_settings)
    publish(producer, topic, [upsert_event(item, 1_700_000_000 + i) for i, item in enumerate(items)])
    producer.close()
    qdrant_path = tmp_path / "qdrant"

    first = _start_server(kafka_settings, qdrant_path, model_dir)
    try:
        _wait_until(first, lambda: first.indexed() > 0, "the first server indexing")
        indexed_before_kill = first.indexed()
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    assert indexed_before_kill < N_ITEMS, "the stream finished before the kill; the test proves nothing"

    second = _start_server(kafka_settings, qdrant_path, model_dir)
    try:
        # Joins once the killed member's session (2 s) expired, then drains the uncommitted remainder.
        _wait_until(second, second.caught_up, "the restart catching up",
                    timeout_s=90)
    finally:
        second.process.send_signal(signal.SIGTERM)
        exit_code = second.process.wait(30)
    assert exit_code == 0, second.output()

    index = open_index(QdrantSettings(url="", path=qdrant_path))
    try:
        assert index.count() == N_ITEMS
        stored = index.get_items([item.sku for item in items])
        assert sorted(s.item.sku for s in stored) == sorted(item.sku for item in items)
    finally:
        index.close()
