"""A store wrapper that times every call to the engine, for the Qdrant latency panel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fashionrec.index.store import VectorStore

# The calls that reach the engine; the rest (artifact, live_version, ...) are served from memory.
_TIMED = frozenset({"create_version", "set_live", "drop_version", "upsert", "set_payload", "delete",
                    "retrieve", "search", "count", "optimize"})

Observer = Callable[[str, float], None]


class TimedStore:
    """Delegates to a VectorStore, reporting (operation, seconds) of each engine call to observe."""

    def __init__(self, inner: VectorStore, observe: Observer) -> None:
        self._inner = inner
        self._observe = observe

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in _TIMED:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._observe(name, time.perf_counter() - started)

        return timed
