"""Start-up job of a deployment: creates the Kafka topics and the model's index.

Runs once before the services (the `bootstrap` service in docker-compose, a
Job on Kubernetes) and is safe to run again: a topic or index version that
exists is left as it is, and the live alias is only set when there is none,
so a re-run never switches traffic away from a model an operator made live.

    python deploy/bootstrap.py      # reads FASHIONREC_* like the services

FASHIONREC_CATALOG_PARTITIONS (default 8) is the catalog topic's partition
count, which caps the number of encoder workers (see deploy/README.md).
"""

from __future__ import annotations

import os

from fashionrec import config
from fashionrec.artifact import ModelArtifact, load_artifact
from fashionrec.events.kafka import ensure_topics
from fashionrec.index import VectorStore, open_store

DEFAULT_PARTITIONS = 8


def create_topics(kafka: config.KafkaSettings, partitions: int) -> None:
    # One partition for dead letters keeps them in arrival order for whoever replays them.
    ensure_topics(kafka, {kafka.catalog_topic: partitions, kafka.dead_letter_topic: 1})


def create_index(store: VectorStore, artifact: ModelArtifact) -> str:
    """Creates the index of the artifact's version; makes it live if none is. Returns the live version."""
    store.create_version(artifact)
    live = store.live_version()
    if live is None:
        store.set_live(artifact.spec.version)
        live = artifact.spec.version
    return live


def main() -> None:
    settings = config.load_or_exit(config.EncoderSettings)
    partitions = int(os.environ.get("FASHIONREC_CATALOG_PARTITIONS", DEFAULT_PARTITIONS))
    create_topics(settings.kafka, partitions)
    store = open_store(settings.qdrant)
    try:
        live = create_index(store, load_artifact(settings.model_dir))
    finally:
        store.close()
    print(f"bootstrap: topics {settings.kafka.catalog_topic} ({partitions} partitions), "
          f"{settings.kafka.dead_letter_topic}; live model version {live}", flush=True)


if __name__ == "__main__":
    main()
