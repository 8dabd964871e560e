"""The stall rule and the attempt count: pure logic."""

from fashionrec.events.dead_letter import SourceRecord
from fashionrec.events.ingest import AttemptTracker
from fashionrec.events.monitor import StallDetector


def test_lag_without_progress_for_longer_than_the_stall_time_is_a_stall() -> None:
    rule = StallDetector(stall_s=10)
    assert rule.observe(0, True, 0, progressed_at=0).healthy
    assert rule.observe(100, True, 0, progressed_at=0).healthy  # idle, caught up: fine however long
    assert rule.observe(101, True, 5, progressed_at=0).healthy  # lag just appeared: the clock starts now
    assert rule.observe(110, True, 5, progressed_at=0).healthy
    stalled = rule.observe(112, True, 5, progressed_at=0)
    assert not stalled.healthy and stalled.reason.startswith("stalled") and stalled.seconds_since_progress == 11
    assert rule.observe(113, True, 5, progressed_at=112.5).healthy  # a committed batch: progress
    assert rule.observe(130, True, None, progressed_at=112.5).healthy is False  # lag unknown: the clock runs on
    assert rule.observe(131, True, 0, progressed_at=112.5).healthy


def test_a_worker_that_is_not_running_is_unhealthy_at_once() -> None:
    verdict = StallDetector(stall_s=10).observe(0, False, 0, progressed_at=0)
    assert not verdict.healthy and verdict.reason == "worker not running"


def test_attempts_are_counted_per_record_and_bounded() -> None:
    tracker = AttemptTracker(max_entries=2)
    a, b, c = (SourceRecord("t", 0, offset, None, None, []) for offset in (1, 2, 3))
    assert [tracker.failed(a), tracker.failed(a), tracker.failed(b)] == [1, 2, 1]
    tracker.failed(c)  # a is the oldest: evicted
    assert tracker.failed(a) == 1
    tracker.forget(b)
    assert tracker.failed(b) == 1
