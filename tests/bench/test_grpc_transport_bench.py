"""bench/grpc_transport.py at a tiny size: every work kind and duration is measured (no timing asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench import grpc_transport  # noqa: E402


def test_the_transport_bench_times_every_kind_of_handler_work() -> None:
    rows = grpc_transport.measure(calls=3, work_ms=(0.0, 1.0))
    assert [(r["work"], r["work_ms"]) for r in rows] == [
        (kind, ms) for kind in grpc_transport.WORK_KINDS for ms in (0.0, 1.0)]
    # The client's wall time holds the handler's: what is left is the transport, never negative.
    assert all(r["calls"] == 3 and 0 < r["p50_ms"] <= r["p90_ms"] for r in rows)
