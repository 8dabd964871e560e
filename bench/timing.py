"""Timing helpers shared by the gRPC benches (run as scripts: `python bench/NAME.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["time_calls"]


def time_calls(call: Callable, requests: Iterable, timeout_s: float = 30) -> np.ndarray:
    """Wall milliseconds of each call(request, timeout=timeout_s), one after another."""
    out = []
    for request in requests:
        started = time.perf_counter()
        call(request, timeout=timeout_s)
        out.append(time.perf_counter() - started)
    return np.array(out) * 1000
