"""kafka-python clients configured from `KafkaSettings`.

Group timings come from the settings because they decide how long a join
takes: Tansu holds JoinGroup for half the session timeout, so kafka-python's
defaults (10 s / 3 s) take ~23 s to join, 6000/2000 ~3 s, and the tests'
2000/500 about one second.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from fashionrec.config import KafkaSettings


def consumer(settings: KafkaSettings, *topics: str, group_id: str | None = None, **overrides: Any) -> KafkaConsumer:
    """A group consumer with manual commits, reading from the earliest uncommitted offset."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": group_id or settings.consumer_group,
        "enable_auto_commit": False,
        # Tansu's end offsets are unreliable; earliest never skips a record.
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_records": settings.max_poll_records,
    }
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def producer(settings: KafkaSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent producer that waits for every replica (acks=all)."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        "linger_ms": 5,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def ensure_topics(settings: KafkaSettings, topics: dict[str, int]) -> None:
    """Creates each topic (name -> partitions) that does not exist yet."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created it between the list and the create
    finally:
        admin.close()
