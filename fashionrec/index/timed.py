"""A store wrapper that times every call to the engine, for the Qdrant latency panel."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fashionrec.artifact import ModelArtifact
from fashionrec.index.filters import Condition, Search
from fashionrec.index.store import IndexStatus, Point, ScoredPoint, StoredPoint, VectorStore

__all__ = ["Observer", "TimedStore"]

Observer = Callable[[str, float], None]


class TimedStore(VectorStore):
    """A VectorStore that delegates to another and reports (operation, seconds) of each engine call.

    The calls served from memory (versions, artifact, live_version) are not timed.

    Args:
        inner: the store that does the work.
        observe: called after each engine call, also when it raised.
    """

    def __init__(self, inner: VectorStore, observe: Observer) -> None:
        self._inner = inner
        self._observe = observe

    @contextmanager
    def _timed(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._observe(operation, time.perf_counter() - started)

    def create_version(self, artifact: ModelArtifact) -> None:
        with self._timed("create_version"):
            self._inner.create_version(artifact)

    def versions(self) -> list[str]:
        return self._inner.versions()

    def artifact(self, version: str) -> ModelArtifact:
        return self._inner.artifact(version)

    def live_version(self) -> str | None:
        return self._inner.live_version()

    def set_live(self, version: str) -> None:
        with self._timed("set_live"):
            self._inner.set_live(version)

    def drop_version(self, version: str) -> None:
        with self._timed("drop_version"):
            self._inner.drop_version(version)

    def upsert(self, version: str, points: Sequence[Point]) -> None:
        with self._timed("upsert"):
            self._inner.upsert(version, points)

    def set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        with self._timed("set_payload"):
            self._inner.set_payload(version, updates)

    def delete(self, version: str, ids: Sequence[str]) -> None:
        with self._timed("delete"):
            self._inner.delete(version, ids)

    def retrieve(self, version: str, ids: Sequence[str], with_vectors: Sequence[str] = ()) -> list[StoredPoint]:
        with self._timed("retrieve"):
            return self._inner.retrieve(version, ids, with_vectors)

    def search(self, version: str, search: Search) -> list[ScoredPoint]:
        with self._timed("search"):
            return self._inner.search(version, search)

    def searches_exactly(self, version: str, search: Search) -> bool:
        return self._inner.searches_exactly(version, search)

    def count(self, version: str, must: Sequence[Condition] = (), exact: bool = True) -> int:
        with self._timed("count"):
            return self._inner.count(version, must, exact)

    def index_status(self, version: str) -> IndexStatus:
        with self._timed("index_status"):
            return self._inner.index_status(version)

    def optimize(self, version: str) -> None:
        with self._timed("optimize"):
            self._inner.optimize(version)

    def close(self) -> None:
        self._inner.close()
