"""`fashionrec reindex`: fill a new model's collection from the catalog topic, then make it live.

    fashionrec reindex --model NEW_MODEL_DIR [--timeout 3600]

Reads the same FASHIONREC_* settings as the encoder service (broker, topic,
Qdrant, device). With the embedded engine, stop the encoder service first:
one process owns a shard. Afterwards, restart the encoder service with the new
model and the printed consumer group, so it continues where the replay stopped.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from fashionrec import config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reindex", help="re-index the catalog with a new model and switch to it")
    parser.add_argument("--model", type=Path, required=True, help="the new model directory")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the replay to catch up")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from encoder_svc.reindex import reindex
    from fashionrec.data.images import decode_image
    from fashionrec.index import open_index
    from fashionrec.model.inference import Encoder
    from fashionrec.serving import Telemetry

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = config.load_or_exit(config.EncoderSettings)
    encoder = Encoder.load(args.model, settings.device)
    index = open_index(settings.qdrant)
    try:
        result = reindex(settings.kafka, index, args.model, encoder, decode_image,
                         Telemetry.create("fashionrec-reindex"), timeout_s=args.timeout)
    finally:
        index.close()
    print(f"live: {result.version} ({result.points} items; was {result.previous_version})")
    print(f"next: run the encoder service with FASHIONREC_MODEL_DIR={args.model} "
          f"FASHIONREC_KAFKA_CONSUMER_GROUP={result.group_id}")
    return 0
