"""Re-index the catalog with a new model, without readers ever seeing an empty index.

The new model gets its own collection (not live), filled by replaying the
catalog topic from the beginning under a consumer group of its own, so the
live worker's offsets are untouched. Once that replay has caught up (lag 0 on
every partition it owns, after a poll), the live alias switches to it; the old
collection keeps serving until that instant and stays for a roll-back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fashionrec.artifact import load_artifact
from fashionrec.config import KafkaSettings
from fashionrec.errors import FailedPrecondition
from fashionrec.events.apply import ImageDecoder, ImageEncoder
from fashionrec.index import CatalogIndex
from fashionrec.telemetry.process_telemetry import Telemetry
from encoder_svc.ingest import IngestThread

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexResult:
    version: str
    previous_version: str | None
    group_id: str
    points: int


def reindex_group(settings: KafkaSettings, version: str) -> str:
    """The replay's group: one per model version, so a re-run after a crash resumes where it stopped."""
    return f"{settings.consumer_group}-reindex-{version}"


def caught_up(ingest: IngestThread) -> bool:
    """Lag 0 on every partition the replay owns.

    The monitor measures each partition's lag from `highwater()` (Tansu's end_offsets are
    wrong) against the group's committed offset; a partition not measured yet does not
    count, so an unpolled assignment is never caught up.
    """
    owned = ingest.assignment()
    lags = ingest.lags()
    return bool(owned) and owned <= lags.keys() and not any(lags[tp] for tp in owned)


def reindex(
    kafka: KafkaSettings,
    index: CatalogIndex,
    model_dir: Path,
    encoder: ImageEncoder,
    decode_image: ImageDecoder,
    telemetry: Telemetry,
    timeout_s: float = 3600.0,
    poll_interval_s: float = 0.5,
    on_poll: Callable[[IngestThread], None] | None = None,
) -> ReindexResult:
    """Fills model_dir's collection from the start of the topic, then makes it live.

    on_poll, when given, sees the replay worker every poll_interval_s (the command line
    draws its lag per partition as a progress bar from it).
    """
    artifact = load_artifact(model_dir)
    version = artifact.spec.version
    try:
        previous: str | None = index.live_version()
    except FailedPrecondition:
        previous = None
    if version not in index.versions():
        index.create_version(artifact)
    group_id = reindex_group(kafka, version)
    _log.info("re-indexing into %s from the start of %s (group %s)", version, kafka.catalog_topic, group_id)
    ingest = IngestThread(kafka, index, encoder, decode_image, telemetry, version=version, group_id=group_id).start()
    try:
        deadline = time.monotonic() + timeout_s
        while not caught_up(ingest):
            if on_poll is not None:
                on_poll(ingest)
            if not ingest.alive:
                raise RuntimeError("the re-index worker stopped on an error; see the log above")
            if time.monotonic() > deadline:
                raise TimeoutError(f"re-index into {version} not caught up after {timeout_s:.0f}s")
            time.sleep(poll_interval_s)
    finally:
        ingest.stop()  # finishes and commits the batch in hand
    index.optimize(version)
    index.set_live(version)
    _log.info("live version switched from %s to %s", previous, version)
    return ReindexResult(version, previous, group_id, index.count(version=version))
