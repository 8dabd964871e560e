"""Re-index with a new model: real broker, real Qdrant engine, the test model and a copy of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from encoder_svc.ingest import IngestThread
from encoder_svc.reindex import reindex
from fashionrec.config import KafkaSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import decode_image
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec.model.inference import Encoder
from fashionrec.telemetry.process_telemetry import Telemetry
from tests.helpers import wait_for


def _renamed_model(model_dir: Path, out: Path, version: str) -> Path:
    """The same weights under another version: a distinct model as far as the index is concerned."""
    shutil.copytree(model_dir, out)
    config = json.loads((out / "config.json").read_text())
    config["version"] = version
    (out / "config.json").write_text(json.dumps(config))
    return out


def test_reindex_fills_the_new_version_and_switches_live_without_emptying_the_old(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder, small_catalog: Catalog, tmp_path: Path,
    model_dir: Path,
) -> None:
    items = catalog_items(small_catalog, range(len(small_catalog)))
    producer = kafka.producer(kafka_settings)
    publish(producer, topic, [upsert_event(item, 1_700_000_000 + i) for i, item in enumerate(items)])
    producer.close()
    old_version = index.live_version()
    live = IngestThread(kafka_settings, index, encoder, decode_image, Telemetry.create("live")).start()
    try:
        wait_for(lambda: index.count() == len(items), what="the old model's index filled")
    finally:
        live.stop()

    new_dir = _renamed_model(model_dir, tmp_path / "model-b", f"{old_version}-b")
    result = reindex(kafka_settings, index, new_dir, Encoder.load(new_dir, "cpu"), decode_image,
                     Telemetry.create("reindex"), timeout_s=60, poll_interval_s=0.1)

    assert (result.version, result.previous_version, result.points) == (f"{old_version}-b", old_version, len(items))
    assert result.group_id != kafka_settings.consumer_group  # the live worker's offsets are untouched
    assert index.live_version() == result.version
    assert index.count() == len(items)
    assert index.count(version=old_version) == len(items)  # kept for a roll-back
    assert {s.item.sku for s in index.get_items([i.sku for i in items])} == {i.sku for i in items}
