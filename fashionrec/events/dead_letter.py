"""The dead-letter topic: every event the worker cannot process, with why and where it came from.

The write is confirmed (`.get()`) before the caller may commit past the
source offset, so a crash between the two redelivers the event rather than
losing it.

A dead-letter copy never blocks the stream: a record too large for the
producer (an event published with a bigger request limit than ours) keeps
its key, reason, source coordinates and a bounded prefix of its value, and
says so in `fashionrec.dlq.truncated` (the original value's size in bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError

__all__ = [
    "DETAIL", "DeadLetterWriter", "HEADERS_DROPPED", "REASON", "SOURCE_OFFSET", "SOURCE_PARTITION",
    "SOURCE_TOPIC", "SourceRecord", "TRUNCATED",
]

REASON = "fashionrec.dlq.reason"
DETAIL = "fashionrec.dlq.detail"
SOURCE_TOPIC = "fashionrec.dlq.source.topic"
SOURCE_PARTITION = "fashionrec.dlq.source.partition"
SOURCE_OFFSET = "fashionrec.dlq.source.offset"
TRUNCATED = "fashionrec.dlq.truncated"
HEADERS_DROPPED = "fashionrec.dlq.headers_dropped"

_DETAIL_BYTES = 4096
# Record batch and header framing on top of the raw bytes, generously rounded up.
_OVERHEAD_BYTES = 1024


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class DeadLetterWriter:
    """Writes dead letters and waits for the broker's ack.

    Args:
        producer: the producer to write with.
        topic: the dead-letter topic.
        timeout_s: how long to wait for the ack.
        max_record_bytes: the largest record to send whole; kafka-python refuses records over its
            `max_request_size` (1 MiB by default) and brokers over `message.max.bytes` (about 1 MB).
        prefix_bytes: how much of an oversized value is kept.
    """

    def __init__(self, producer: KafkaProducer, topic: str, timeout_s: float = 30.0,
                 max_record_bytes: int = 900 * 1024, prefix_bytes: int = 64 * 1024) -> None:
        self._producer = producer
        self.topic = topic
        self._timeout_s = timeout_s
        self._max_record_bytes = max_record_bytes
        self._prefix_bytes = min(prefix_bytes, max_record_bytes // 2)

    def send(self, record: SourceRecord, reason: str, detail: str) -> None:
        """Writes record to the dead-letter topic and waits for the broker's ack.

        Args:
            record: the source record.
            reason: the short reason label.
            detail: a human-readable message (cut to 4 KiB).

        Raises:
            KafkaError: the broker did not acknowledge the write (not attributable to the record:
                the caller retries, and does not commit).
        """
        ours = [
            (REASON, reason.encode()),
            (DETAIL, detail.encode("utf-8", errors="replace")[:_DETAIL_BYTES]),
            (SOURCE_TOPIC, record.topic.encode()),
            (SOURCE_PARTITION, str(record.partition).encode()),
            (SOURCE_OFFSET, str(record.offset).encode()),
        ]
        # A re-dead-lettered event keeps one set of our headers.
        theirs = [(k, v) for k, v in record.headers if not k.startswith("fashionrec.dlq.")]
        key, value = record.key, record.value or b""
        budget = self._max_record_bytes - _OVERHEAD_BYTES - len(key or b"") - _headers_size(ours)
        if _headers_size(theirs) > budget // 2:
            ours.append((HEADERS_DROPPED, str(len(theirs)).encode()))
            theirs = []
        if len(value) + _headers_size(theirs) > budget:
            ours.append((TRUNCATED, str(len(value)).encode()))
            value = value[:self._prefix_bytes]
        if key is not None and len(key) > self._prefix_bytes:
            key = key[:self._prefix_bytes]
        try:
            self._write(key, value, theirs + ours)
        except MessageSizeTooLargeError:
            # The producer's limit is lower than we were told: keep the reason and coordinates only.
            if not any(name == TRUNCATED for name, _ in ours):
                ours.append((TRUNCATED, str(len(record.value or b"")).encode()))
            self._write(None if key is None else key[:256], b"", ours)

    def _write(self, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        future = self._producer.send(self.topic, key=key, value=value, headers=headers)
        future.get(timeout=self._timeout_s)


def _headers_size(headers: list[tuple[str, bytes]]) -> int:
    return sum(len(k.encode("utf-8", errors="replace")) + len(v or b"") + 8 for k, v in headers)
