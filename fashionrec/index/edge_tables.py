"""The embedded store's scan tables, one per open version: made, filled, written, dropped.

A ScanTable (fashionrec.index.scan_table) is an in-memory copy of a version's small vectors
and filter fields. A new shard's table is empty and ready at once; a shard opened from disk
fills its table in a background thread, a page at a time under the store's write lock, while
queries and ingest go on (until it is full, those searches go to the engine). A write the
table cannot take drops it: it is only a faster copy, the engine answers without it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import qdrant_edge as edge

from fashionrec.artifact import ModelSpec
from fashionrec.index import schema
from fashionrec.index.scan_table import ScanTable
from fashionrec.index.store import IndexSettings, Point

__all__ = ["ScanTables"]

_log = logging.getLogger(__name__)
# Points per page when a table is filled from a shard. The engine's scroll holds the GIL and the
# page holds the write lock: on the 300k bench index, a thread ticking every ms beside the fill
# saw gaps of p99 87-90 ms with pages of 2,048 and 15-16 ms with 256, the fill taking the same
# 53-63 s (/tmp script in the issue-16 note).
_FILL_PAGE = 256


class ScanTables:
    """The scan tables of an EdgeStore's open versions.

    Args:
        settings: the store's IndexSettings (scan_small_vectors_in_memory off: no tables;
            scan_manipulation_in_memory: `manipulation` held too).
        write_lock: the store's write lock; a fill page holds it, and the store holds it around
            every write it passes on (`write`).
        shard_of: the version's open shard, None once it is closed.
    """

    def __init__(self, settings: IndexSettings, write_lock: threading.Lock,
                 shard_of: Callable[[str], edge.EdgeShard | None]) -> None:
        self._settings = settings
        self._write_lock = write_lock
        self._shard_of = shard_of
        self._tables: dict[str, ScanTable] = {}

    def get(self, version: str) -> ScanTable | None:
        return self._tables.get(version)

    def __getitem__(self, version: str) -> ScanTable:
        return self._tables[version]

    def __contains__(self, version: object) -> bool:
        return version in self._tables

    def start(self, version: str, spec: ModelSpec, empty: bool) -> None:
        """Gives a version its table: ready at once for a new shard, else filled in the background."""
        s = self._settings
        if not s.scan_small_vectors_in_memory:
            return
        dims = {name: dim for name, dim in schema.vector_dims(spec).items()
                if not s.has_graph(name) or (name == schema.MANIPULATION and s.scan_manipulation_in_memory)}
        parts = [schema.attr_vector(a) for a in spec.attribute_names]
        # `chunks` is concat_a attr_<a> (schema.point_vectors): answered from them, no copy held.
        composites = {schema.CHUNKS: parts} if set(parts) <= set(dims) else {}
        table = ScanTable(dims, schema.payload_indexes(spec), s.scan_threads or os.cpu_count() or 1,
                          composites=composites)
        self._tables[version] = table
        if empty:
            table.mark_ready()
            return
        threading.Thread(target=self._fill, args=(version, table), daemon=True, name=f"scan-table-{version}").start()

    def _fill(self, version: str, table: ScanTable) -> None:
        """Copies a shard's points into its table, a page at a time under the write lock.

        Writes between pages reach the table directly (`write`), so a point is either copied by
        a later page or already held as written.
        """
        started, offset = time.perf_counter(), None
        payload = edge.PayloadSelector.Include(table.payload_keys)
        try:
            while True:
                with self._write_lock:
                    shard = self._shard_of(version)
                    if shard is None or self._tables.get(version) is not table:
                        return  # closed or dropped meanwhile
                    records, offset = shard.scroll(edge.ScrollRequest(
                        offset=offset, limit=_FILL_PAGE, with_payload=payload, with_vector=list(table.dims)))
                    table.upsert([Point(str(r.id), r.vector or {}, r.payload or {}) for r in records])
                if offset is None:
                    table.mark_ready()
                    _log.info("scan table of %s: %d points in %.1f s", version, len(table), time.perf_counter() - started)
                    return
        except Exception:
            _log.exception("filling the scan table of %s failed; its searches stay on the engine", version)
            if self._tables.get(version) is table:
                self.drop(version)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until every table is full; False when one is not within timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for table in list(self._tables.values()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not table.wait_ready(left):
                return False
        return True

    def write(self, version: str, apply: Callable[[ScanTable], None]) -> None:
        """Applies a write (a call of ScanTable.upsert, set_fields or delete) to the version's
        table; the caller holds the write lock and has written the shard."""
        table = self._tables.get(version)
        if table is None:
            return
        try:
            apply(table)
        except Exception:
            # E.g. a point without one of the table's vectors: the engine holds what the table
            # cannot, and the table may hold part of the write, so the version's searches go
            # back to the engine.
            _log.exception("scan table of %s dropped: a write failed in it", version)
            self.drop(version)

    def drop(self, version: str, why: str | None = None) -> None:
        table = self._tables.pop(version, None)
        if table is not None:
            if why:
                _log.warning("scan table of %s dropped: %s", version, why)
            table.close()

    def close(self) -> None:
        for version in list(self._tables):
            self.drop(version)
