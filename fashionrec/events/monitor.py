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

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from fashionrec.config import KafkaSettings
from fashionrec.events.ingest import IngestProgress
from fashionrec.telemetry.metrics import IngestMetrics

__all__ = ["IngestHealth", "IngestMonitor", "LagProbe", "StallDetector"]

_log = logging.getLogger(__name__)


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


class IngestMonitor:
    """A thread that measures the group's lag, exports it, and judges ingest health.

    Args:
        settings: the broker and the catalog topic.
        group_id: the worker's consumer group.
        progress: what the worker reports (running, last commit, partitions owned).
        metrics: the lag gauge and the health gauges to set.
        stall_s: see StallDetector.
        interval_s: how often to measure.
        alive: whether the worker's thread is alive (default: progress says it is running).
    """

    def __init__(self, settings: KafkaSettings, group_id: str, progress: IngestProgress, metrics: IngestMetrics,
                 stall_s: float, interval_s: float = 5.0, alive: Callable[[], bool] = lambda: True) -> None:
        self._settings = settings
        self._group_id = group_id
        self._progress = progress
        self._metrics = metrics
        self._interval_s = interval_s
        self._alive = alive
        self._detector = StallDetector(stall_s)
        self._health = IngestHealth(True, "starting", 0.0)
        self._lock = threading.Lock()
        self._exported: set[TopicPartition] = set()
        self._lags: dict[TopicPartition, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ingest-monitor", daemon=True)

    def start(self) -> "IngestMonitor":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def health(self) -> IngestHealth:
        """The last verdict."""
        with self._lock:
            return self._health

    def lags(self) -> dict[TopicPartition, int]:
        """The last measurement: records not yet committed, per partition it could measure."""
        with self._lock:
            return dict(self._lags)

    def _watch(self) -> None:
        probe: LagProbe | None = None
        try:
            while True:
                probe = self._check(probe)
                if self._stop.wait(self._interval_s):
                    return
        finally:
            if probe is not None:
                probe.close()

    def _check(self, probe: LagProbe | None) -> LagProbe | None:
        """Measures lag, updates the gauges and the verdict; returns the probe to reuse."""
        running, progressed_at, assignment = self._progress.snapshot()
        lag: int | None = None
        try:
            probe = probe or LagProbe(self._settings, self._group_id)
            # Before the worker joined (or while it is down after a restart) every partition counts.
            partitions = assignment or probe.partitions()
            lags = probe.measure(partitions)
            with self._lock:
                self._lags = dict(lags)
            for tp, value in lags.items():
                self._metrics.lag.labels(topic=tp.topic, partition=str(tp.partition)).set(value)
            for tp in self._exported - set(partitions):  # no longer ours: another member reports it
                self._metrics.lag.remove(tp.topic, str(tp.partition))
            self._exported = set(partitions)
            lag = sum(lags.values()) if len(lags) == len(partitions) else None
        except Exception as exc:  # the broker is down: keep the last gauges, judge on what is known
            _log.warning("cannot measure the ingest lag: %s", exc)
            if probe is not None:
                probe.close()
            probe = None
        verdict = self._detector.observe(time.monotonic(), running and self._alive(), lag, progressed_at)
        with self._lock:
            previous, self._health = self._health, verdict
        if verdict.healthy != previous.healthy:
            log = _log.info if verdict.healthy else _log.error
            log("ingest health: %s", "SERVING" if verdict.healthy else f"NOT_SERVING ({verdict.reason})")
        self._metrics.healthy.set(1 if verdict.healthy else 0)
        self._metrics.since_progress.set(verdict.seconds_since_progress)
        return probe
