"""Ingest health from outside the worker: group lag per partition, and whether the worker is stuck.

The worker thread cannot report on itself when it is dead or blocked, so a
`LagProbe` with its own consumer (same group id, manual assignment: it never
joins the group and never commits) reads the group's committed offsets and
the partitions' high-water marks. High-water marks come from fetch responses
(`highwater()`), because Tansu's `end_offsets` are wrong; the probe fetches at
most a few bytes per partition to get them.

`StallDetector` is the pure rule: ingest is unhealthy when the worker is not
running, or when there is lag and no batch was committed for `stall_s`.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from fashionrec.config import KafkaSettings

__all__ = ["IngestHealth", "LagProbe", "StallDetector"]


@dataclass(frozen=True)
class IngestHealth:
    """One verdict of the stall rule."""

    healthy: bool
    reason: str  # "" when healthy; else "worker not running" or "stalled ..."
    seconds_since_progress: float  # 0 while there is no lag


class StallDetector:
    """The stall rule, fed one observation at a time.

    Args:
        stall_s: how long lag may sit without a committed batch before ingest counts as stalled.
    """

    def __init__(self, stall_s: float) -> None:
        self._stall_s = stall_s
        self._lag_since: float | None = None

    def observe(self, now: float, running: bool, lag: int | None, progressed_at: float) -> IngestHealth:
        """The verdict at monotonic time now.

        Args:
            now: monotonic seconds.
            running: whether the worker thread is processing (not dead, not restarting).
            lag: records behind on the worker's partitions; None when unknown (the broker did not answer).
            progressed_at: monotonic time of the worker's last committed batch.

        Returns:
            The verdict.
        """
        if not lag:
            # Caught up (or unknown): the clock starts when lag first shows up, not at the last commit,
            # so an idle stream that then receives events is not stalled at once.
            self._lag_since = None if lag == 0 else self._lag_since
            waited = 0.0 if self._lag_since is None else now - max(self._lag_since, progressed_at)
        else:
            if self._lag_since is None:
                self._lag_since = now
            waited = now - max(self._lag_since, progressed_at)
        if not running:
            return IngestHealth(False, "worker not running", waited)
        if waited > self._stall_s:
            return IngestHealth(False, f"stalled: lag {lag} and no batch committed for {waited:.0f} s", waited)
        return IngestHealth(True, "", waited)


class LagProbe:
    """The consumer group's lag per partition, measured with a consumer of its own.

    Args:
        settings: the broker and the catalog topic.
        group_id: the worker's consumer group.
        timeout_s: how long one measurement may wait for the broker.
    """

    def __init__(self, settings: KafkaSettings, group_id: str, timeout_s: float = 2.0) -> None:
        self._topic = settings.catalog_topic
        self._timeout_s = timeout_s
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=group_id,  # for committed(); assign() never joins the group
            enable_auto_commit=False,  # never commit the probe's positions
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=1024,  # only the high-water mark of the response is used
            fetch_max_wait_ms=100,
            request_timeout_ms=max(int(timeout_s * 1000) + 1000, 5000),
        )

    def partitions(self) -> frozenset[TopicPartition]:
        """Every partition of the catalog topic (empty when the broker does not know it yet)."""
        ids = self._consumer.partitions_for_topic(self._topic) or set()
        return frozenset(TopicPartition(self._topic, p) for p in ids)

    def measure(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """Records not yet committed by the group, per partition (only the partitions it could measure).

        Args:
            partitions: the partitions to measure.

        Returns:
            high-water mark minus committed offset (or minus the earliest offset when nothing is committed).
        """
        wanted = sorted(partitions)
        if not wanted:
            return {}
        self._consumer.assign(wanted)
        committed = {tp: self._consumer.committed(tp) for tp in wanted}
        uncommitted = [tp for tp in wanted if committed[tp] is None]
        earliest = self._consumer.beginning_offsets(uncommitted) if uncommitted else {}
        start = {tp: committed[tp] if committed[tp] is not None else earliest.get(tp, 0) for tp in wanted}
        for tp in wanted:
            self._consumer.seek(tp, start[tp])
        deadline = time.monotonic() + self._timeout_s
        marks: dict[TopicPartition, int] = {}
        while len(marks) < len(wanted) and time.monotonic() < deadline:
            self._consumer.poll(timeout_ms=100, max_records=1)
            for tp in wanted:
                mark = self._consumer.highwater(tp)
                if mark is not None:
                    marks[tp] = mark
        return {tp: max(0, mark - start[tp]) for tp, mark in marks.items()}

    def close(self) -> None:
        self._consumer.close(autocommit=False)
