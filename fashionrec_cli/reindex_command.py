"""`fashionrec reindex`: fill a new model's collection from the catalog topic, then make it live.

    fashionrec reindex --model NEW_MODEL_DIR [--timeout 3600]

Reads the same FASHIONREC_* settings as the encoder service (broker, topic,
Qdrant, device). With the embedded engine, stop the encoder service first:
one process owns a shard. Afterwards, restart the encoder service with the new
model and the printed consumer group, so it continues where the replay stopped.
A replay can take an hour: a progress bar shows the records replayed and the
lag of each partition.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fashionrec import config

if TYPE_CHECKING:
    from encoder_svc.ingest import IngestThread
    from tqdm import tqdm

__all__ = ["lag_by_partition", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `fashionrec reindex`."""
    parser = subparsers.add_parser("reindex", help="re-index the catalog with a new model and switch to it")
    parser.add_argument("--model", type=Path, required=True, help="the new model directory")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the replay to catch up")
    parser.set_defaults(handler=run)


def lag_by_partition(ingest: "IngestThread") -> dict[str, int]:
    """The replay's lag per partition, from the worker's lag gauge.

    Args:
        ingest: the replay worker.

    Returns:
        "topic/partition" -> records not consumed yet, for each partition polled so far.
    """
    return {f"{s.labels['topic']}/{s.labels['partition']}": int(s.value)
            for family in ingest.metrics.lag.collect() for s in family.samples}


def _show(bar: "tqdm", ingest: "IngestThread") -> None:
    from fashionrec.progress import set_counter

    lags = lag_by_partition(ingest)
    replayed = sum(s.value for family in ingest.metrics.consumed.collect() for s in family.samples
                   if s.name.endswith("_total"))
    bar.total = int(replayed + sum(lags.values()))
    set_counter(bar, replayed, {f"p{name.rsplit('/', 1)[1]}": lag for name, lag in sorted(lags.items())})


def run(args: argparse.Namespace) -> int:
    """Replays the topic into args.model's collection and switches the live alias to it."""
    from encoder_svc.reindex import reindex
    from fashionrec.artifact import load_spec
    from fashionrec.data.images import decode_image
    from fashionrec.index import open_index
    from fashionrec.model.inference import Encoder
    from fashionrec.ports import require_reachable
    from fashionrec.progress import progress_bar
    from fashionrec.telemetry.process_telemetry import Telemetry

    settings = config.load_or_exit(config.EncoderSettings)
    # What the user can get wrong fails here, in one line, before anything is opened.
    load_spec(args.model)
    require_reachable(settings.kafka.bootstrap_servers, "Kafka broker", "FASHIONREC_KAFKA_BOOTSTRAP_SERVERS")
    encoder = Encoder.load(args.model, settings.device, cpu_bfloat16=settings.cpu_bfloat16)
    index = open_index(settings.qdrant)
    try:
        with progress_bar(total=0, desc="replaying", unit="record") as bar:
            result = reindex(settings.kafka, index, args.model, encoder, decode_image,
                             Telemetry.create("fashionrec-reindex"), timeout_s=args.timeout,
                             on_poll=lambda ingest: _show(bar, ingest))
    finally:
        index.close()
    print(f"live: {result.version} ({result.points} items; was {result.previous_version})")
    print(f"next: run the encoder service with FASHIONREC_MODEL_DIR={args.model} "
          f"FASHIONREC_KAFKA_CONSUMER_GROUP={result.group_id}")
    return 0
