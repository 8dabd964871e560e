"""The embedded store's scan tables, per open version: made, filled, written, dropped.

A ScanTable (fashionrec.index.scan_table) is an in-memory copy of a version's small vectors
and filter fields. Each version has a main table, by category, holding every vector without a
graph (and `manipulation`); and, when the model weighs its attribute posteriors into one-attribute
similarity (ω > 0), one table per attribute holding only attr_<a>, by category and predicted
value, whose partitions bound their scores: a one-attribute query reads the partitions whose
bound can still beat its k-th best (docs/performance.md, round 11). A new shard's tables are
empty and ready at once; a shard opened from disk fills them in a background thread, a page at
a time under the store's write lock, while queries and ingest go on (until they are full,
those searches go to the engine). A write a table cannot take drops the version's tables: they
are only faster copies, the engine answers without them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import qdrant_edge as edge

from fashionrec.artifact import ModelSpec
from fashionrec.index import schema
from fashionrec.index.filters import Search
from fashionrec.index.scan_table import ScanTable
from fashionrec.index.store import IndexSettings, Point

__all__ = ["ScanTables"]

_log = logging.getLogger(__name__)
# Points per page when a table is filled from a shard. The engine's scroll holds the GIL and the
# page holds the write lock: on the 300k bench index, a thread ticking every ms beside the fill
# saw gaps of p99 87-90 ms with pages of 2,048 and 15-16 ms with 256, the fill taking the same
# 53-63 s (/tmp script in the issue-16 note).
_FILL_PAGE = 256


@dataclass(frozen=True)
class _VersionTables:
    main: ScanTable
    by_value: dict[str, ScanTable]  # attr_<a> -> its table by category and predicted value

    def all(self) -> list[ScanTable]:
        return [self.main, *self.by_value.values()]


class ScanTables:
    """The scan tables of an EdgeStore's open versions.

    Args:
        settings: the store's IndexSettings (scan_small_vectors_in_memory off: no tables;
            scan_manipulation_in_memory: `manipulation` held too; scan_by_predicted_value: the
            per-attribute tables).
        write_lock: the store's write lock; a fill page holds it, and the store holds it around
            every write it passes on (`write`).
        shard_of: the version's open shard, None once it is closed.
    """

    def __init__(self, settings: IndexSettings, write_lock: threading.Lock,
                 shard_of: Callable[[str], edge.EdgeShard | None]) -> None:
        self._settings = settings
        self._write_lock = write_lock
        self._shard_of = shard_of
        self._tables: dict[str, _VersionTables] = {}

    def get(self, version: str) -> ScanTable | None:
        """The version's main table (None: it has none)."""
        tables = self._tables.get(version)
        return None if tables is None else tables.main

    def __getitem__(self, version: str) -> ScanTable:
        return self._tables[version].main

    def for_search(self, version: str, search: Search) -> ScanTable | None:
        """The table that answers the search fastest: the vector's table by predicted value when
        it has one, it holds the search's fields, and the main table would read at least
        IndexSettings.scan_by_value_min_floats; else the main table (None: no tables)."""
        tables = self._tables.get(version)
        if tables is None:
            return None
        by_value = tables.by_value.get(search.using)
        if (by_value is not None and by_value.answers(search) and tables.main.answers(search)
                and tables.main.floats_to_scan(search) >= self._settings.scan_by_value_min_floats):
            return by_value
        return tables.main

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
        fields = schema.payload_indexes(spec)
        # The tables by value hold the fields a one-attribute query filters on (Filters: brand,
        # price, in_stock; category and their own predicted label key the partitions); one
        # filtered on another predicted label goes to the main table. Every field held is read
        # from each point's payload by each table on every write.
        value_fields = {key: kind for key, kind in schema.BASE_PAYLOAD_INDEXES.items() if key != "category"}
        tables = _VersionTables(
            ScanTable(dims, fields, s.scan_threads or os.cpu_count() or 1, composites=composites),
            # With ω = 0 the attr_<a> vectors hold no posterior to partition by, and the head's
            # norm bound (1) prunes nothing: no tables by value.
            {name: ScanTable({name: dims[name]}, value_fields, partition_keys=("category", schema.predicted_key(a)),
                             heads={name: spec.attribute_dim})
             for a, name in zip(spec.attribute_names, parts)
             if s.scan_by_predicted_value and spec.similarity_posterior_weight > 0 and name in dims})
        self._tables[version] = tables
        if empty:
            for table in tables.all():
                table.mark_ready()
            return
        threading.Thread(target=self._fill, args=(version, tables), daemon=True, name=f"scan-table-{version}").start()

    def _fill(self, version: str, tables: _VersionTables) -> None:
        """Copies a shard's points into its tables, a page at a time under the write lock.

        Writes between pages reach the tables directly (`write`), so a point is either copied by
        a later page or already held as written.
        """
        started, offset = time.perf_counter(), None
        payload = edge.PayloadSelector.Include(sorted({k for t in tables.all() for k in t.payload_keys}))
        vectors = sorted({name for t in tables.all() for name in t.dims})
        try:
            while True:
                with self._write_lock:
                    shard = self._shard_of(version)
                    if shard is None or self._tables.get(version) is not tables:
                        return  # closed or dropped meanwhile
                    records, offset = shard.scroll(edge.ScrollRequest(
                        offset=offset, limit=_FILL_PAGE, with_payload=payload, with_vector=vectors))
                    # Converted once here, not by each table (the main one and one per attribute).
                    points = [Point(str(r.id), {name: np.asarray(v, dtype=np.float32) for name, v in (r.vector or {}).items()},
                                    r.payload or {}) for r in records]
                    for table in tables.all():
                        table.upsert(points)
                if offset is None:
                    for table in tables.all():
                        table.mark_ready()
                    _log.info("scan tables of %s: %d points in %.1f s", version, len(tables.main),
                              time.perf_counter() - started)
                    return
        except Exception:
            _log.exception("filling the scan tables of %s failed; their searches stay on the engine", version)
            if self._tables.get(version) is tables:
                self.drop(version)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until every table is full; False when one is not within timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for tables in list(self._tables.values()):
            for table in tables.all():
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not table.wait_ready(left):
                    return False
        return True

    def write(self, version: str, apply: Callable[[ScanTable], None]) -> None:
        """Applies a write (a call of ScanTable.upsert, set_fields or delete) to each of the
        version's tables; the caller holds the write lock and has written the shard."""
        tables = self._tables.get(version)
        if tables is None:
            return
        try:
            for table in tables.all():
                apply(table)
        except Exception:
            # E.g. a point without one of the table's vectors: the engine holds what the table
            # cannot, and the table may hold part of the write, so the version's searches go
            # back to the engine.
            _log.exception("scan tables of %s dropped: a write failed in one", version)
            self.drop(version)

    def drop(self, version: str, why: str | None = None) -> None:
        tables = self._tables.pop(version, None)
        if tables is not None:
            if why:
                _log.warning("scan tables of %s dropped: %s", version, why)
            for table in tables.all():
                table.close()

    def close(self) -> None:
        for version in list(self._tables):
            self.drop(version)
