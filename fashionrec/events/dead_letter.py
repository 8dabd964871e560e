"""The dead-letter topic: every event the worker cannot process, with why and where it came from.

The write is confirmed (`.get()`) before the caller may commit past the
source offset, so a crash between the two redelivers the event rather than
losing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaProducer

REASON = "fashionrec.dlq.reason"
DETAIL = "fashionrec.dlq.detail"
SOURCE_TOPIC = "fashionrec.dlq.source.topic"
SOURCE_PARTITION = "fashionrec.dlq.source.partition"
SOURCE_OFFSET = "fashionrec.dlq.source.offset"


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class DeadLetterWriter:
    def __init__(self, producer: KafkaProducer, topic: str, timeout_s: float = 30.0) -> None:
        self._producer = producer
        self.topic = topic
        self._timeout_s = timeout_s

    def send(self, record: SourceRecord, reason: str, detail: str) -> None:
        """Writes record to the dead-letter topic and waits for the broker's ack."""
        headers = [
            (k, v) for k, v in record.headers
            if not k.startswith("fashionrec.dlq.")  # a re-dead-lettered event keeps one set
        ] + [
            (REASON, reason.encode()),
            (DETAIL, detail.encode("utf-8", errors="replace")[:4096]),
            (SOURCE_TOPIC, record.topic.encode()),
            (SOURCE_PARTITION, str(record.partition).encode()),
            (SOURCE_OFFSET, str(record.offset).encode()),
        ]
        future = self._producer.send(self.topic, key=record.key, value=record.value or b"", headers=headers)
        future.get(timeout=self._timeout_s)
