"""An in-memory copy of a version's small vectors (and `manipulation`) and filter fields, searched exactly with numpy.

The `outfit` and `attr_<a>` vectors (37-64 floats) have no graph: every search on them is an
exact scan. qdrant-edge's exact scan costs ~16-20 ns per point of the whole segment whatever
the filter lets through (at 1M points: 16 ms unfiltered, 27 ms with category AND in_stock,
32 ms with a price range), and it holds the GIL. Here the rows are split by category, so a
search with a category filter (every outfit search has one) reads only that category's rows,
and the scan is a BLAS matrix-vector product that releases the GIL (1M x 44 floats: 9.8 ms;
a category of 167k rows: 1.5 ms; docs/performance.md, round 7).

The table holds no payloads beyond the filter fields: the store reads the k hits' payloads
from the engine. A partition's arrays and the scan of them are in fashionrec.index.scan_rows.

Concurrency: one writer (the store's write lock), any number of readers, no lock for them,
by multi-version rows. Rows are only ever appended, never changed: a write (one upsert,
patch or delete call) gets the next sequence number, its new rows are born at it and the
rows it replaces die at it, and the number is published once the write is whole. A reader
takes the partitions, then the published number s, and sees the rows born at or before s
that did not die by s: every point once, as of write s, however the writes interleave with
its scan. A partition that outgrows its arrays is copied (dead rows included) and the copy
replaces it in one assignment; one whose dead rows pile up is compacted the same way, after
the write is published. A reader whose partitions were replaced before it read s takes them
again (else a point moved into a replaced partition would be missed); one replaced later it
finishes on the old arrays, which still hold every row it sees.

Partitions are keyed by the values of `partition_keys` (category alone for the store's main
table). A table keyed by category and an attribute's predicted value, whose partitions bound
their rows' scores (scan_rows.score_bounds), answers a one-attribute similarity query from
the partitions whose bound the k-th best score found so far does not beat: the same answer as a
scan of every row, from a fraction of them (docs/performance.md, round 11).
"""

from __future__ import annotations

import heapq
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fashionrec.index.filters import Condition, Search
from fashionrec.index.scan_columns import ColumnCodec, PartitionKey
from fashionrec.index.scan_rows import NEVER, Partition, Row, passing_rows, score_bounds, top_rows
from fashionrec.index.store import Point

__all__ = ["ScanTable"]

_MIN_CAPACITY = 1024
_GROWTH = 1.5
# A partition is compacted once this share of its rows is dead (and at least _MIN_CAPACITY are).
_MAX_DEAD_SHARE = 0.25
# A bounded scan stops when the k-th best score beats the next partition's bound by this much
# (relative, plus as much absolute): both are float32 sums, each a few ulps off the true value.
_BOUND_SLACK = 1e-5



@dataclass
class ScanTable:
    """The vectors held (the small ones; the store adds `manipulation`) and filter fields of one
    version's points, partitioned by the values of `partition_keys`.

    Args:
        dims: the named vectors held, with their dimensions.
        field_kinds: filter fields by payload key (dotted for nested ones) and kind
            (schema.KEYWORD, FLOAT or INTEGER), as in schema.payload_indexes.
        scan_threads: threads that scan a search's partitions side by side when it reads at
            least parallel_min_floats floats (1: the calling thread alone). close() stops them.
        parallel_min_floats: below this many floats read a search runs in the calling thread.
            On 2 cores, one BLAS thread each (`/tmp` script in the issue-16 note): 100k rows of
            44 floats 1.84 ms in one thread, 1.93 in two; of 64 floats 1.60 -> 1.27 ms; two
            categories of `chunks` (33k rows x 235) 3.29 -> 1.99 ms; 1M rows of 44 16.4 -> 10.3 ms.
        composites: vectors the table answers without holding them: each is the concatenation
            of held vectors, in order (`chunks` = concat_a `attr_<a>`), so its inner product is
            the sum of theirs, and parts whose slice of the query is zero are not read.
        partition_keys: keyword payload keys (dotted for nested ones) whose values key the
            partitions; a search's AnyOf conditions on them choose the partitions it reads.
        heads: vectors whose partitions keep a bound on their scores, with the length of the
            head bounded by its norm (scan_rows); a search on bounded vectors only reads the
            partitions whose bound the k-th best score so far does not beat, in one thread.
    """

    dims: Mapping[str, int]
    field_kinds: Mapping[str, str]
    scan_threads: int = 1
    parallel_min_floats: int = 6_000_000
    composites: Mapping[str, Sequence[str]] = field(default_factory=dict)
    partition_keys: Sequence[str] = ("category",)
    heads: Mapping[str, int] = field(default_factory=dict)
    _partitions: dict[PartitionKey, Partition] = field(default_factory=dict)
    _where: dict[str, tuple[PartitionKey, int]] = field(default_factory=dict)  # point id -> (partition, row)
    _columns: ColumnCodec = field(init=False)
    _published: int = 0  # the last write whose rows readers may see
    _ready: threading.Event = field(default_factory=threading.Event)
    # Writers hold it (the store serializes its writes already; this keeps the table safe alone).
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def __post_init__(self) -> None:
        missing = {name: parts for name, parts in self.composites.items() if not set(parts) <= set(self.dims)}
        if missing:
            raise ValueError(f"composites of vectors the table does not hold: {missing}")
        if self.scan_threads > 1:
            self._pool = ThreadPoolExecutor(self.scan_threads, thread_name_prefix="scan-table")
        self._columns = ColumnCodec(self.dims, self.field_kinds, self.partition_keys)
        # Checked here, not at the first write: a wrong head would fail every write after it.
        Partition.empty(self.dims, (), (), 0, self.heads)

    # -- state -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the table holds every point of the version (set by the loader, or at creation)."""
        return self._ready.is_set()

    def close(self) -> None:
        """Stops the scan threads (a search after this runs in the calling thread)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def mark_ready(self) -> None:
        self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def __len__(self) -> int:
        return len(self._where)

    @property
    def payload_keys(self) -> list[str]:
        """The top-level payload keys the table reads (what a loader asks the engine for)."""
        return sorted({key.split(".")[0] for key in (*self.field_kinds, *self.partition_keys)})

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        """Holds the points' vectors and filter fields, replacing what it held for their ids.

        Raises:
            ValueError: a point lacks one of the table's vectors, or one has the wrong size
                (nothing of the batch is written).
        """
        with self._write_lock:  # rows get keyword codes as values first appear
            rows = [(p.id, self._columns.key(p.payload), self._columns.row(p)) for p in points]
            write = self._published + 1
            self._put(rows, write)
            self._publish_write(write)

    def set_fields(self, updates: Sequence[tuple[str, Mapping[str, object]]]) -> None:
        """Applies payload patches (top-level keys replaced) to the held points; others are skipped."""
        with self._write_lock:
            write = self._published + 1
            for point_id, fields in updates:
                where = self._where.get(point_id)
                if where is None:
                    continue
                part, r = self._partitions[where[0]], where[1]
                vectors = {name: v[r].copy() for name, v in part.vectors.items()}
                codes = {key: int(c[r]) for key, c in part.codes.items()}
                numbers = {key: float(x[r]) for key, x in part.numbers.items()}
                patched = self._columns.fields(fields, only_present=True)
                codes.update(patched.codes)
                numbers.update(patched.numbers)
                key = self._columns.patched_key(where[0], fields)
                # One at a time: a point patched twice in the call reads its first patch's row.
                self._put([(point_id, key, Row(vectors, codes, numbers))], write)
            self._publish_write(write)

    def delete(self, ids: Sequence[str]) -> None:
        with self._write_lock:
            write = self._published + 1
            for point_id in ids:
                where = self._where.pop(point_id, None)
                if where is not None:
                    self._kill(*where, write)
            self._publish_write(write)

    def _put(self, rows: Sequence[tuple[str, PartitionKey, Row]], write: int) -> None:
        """Appends the rows, born at `write`, a block per partition; the rows they replace die at it.

        A block is copied in with one assignment per column: row by row, seven tables' fill (the
        main one and six by value) held the write lock ~2x longer a page (/tmp script in the
        issue-16 note, round 11). A point twice in `rows` keeps its last row.
        """
        last = {point_id: i for i, (point_id, _, _) in enumerate(rows)}
        blocks: dict[PartitionKey, list[int]] = {}
        for i, (point_id, partition, _) in enumerate(rows):
            if last[point_id] == i:
                blocks.setdefault(partition, []).append(i)
        for partition, block in blocks.items():
            part = self._partition(partition, room=len(block))
            start, end = part.size, part.size + len(block)
            written = [rows[i][2] for i in block]
            for name, column in part.vectors.items():
                column[start:end] = np.stack([row.vectors[name] for row in written])
            for key, column in part.codes.items():
                column[start:end] = [row.codes[key] for row in written]
            for key, column in part.numbers.items():
                column[start:end] = [row.numbers[key] for row in written]
            part.ids.extend(rows[i][0] for i in block)
            part.born[start:end], part.died[start:end] = write, NEVER
            part.size = end  # after the rows are whole: readers read rows [0, size)
            for r, i in enumerate(block, start):
                point_id = rows[i][0]
                old = self._where.get(point_id)
                self._where[point_id] = (partition, r)
                if old is not None:
                    self._kill(*old, write)

    def _kill(self, key: PartitionKey, r: int, write: int) -> None:
        part = self._partitions[key]
        part.died[r] = write
        part.dead += 1

    def _publish_write(self, write: int) -> None:
        """Lets readers see a whole write (its rows within their partitions' bounds), then
        compacts the partitions whose dead rows piled up."""
        for part in self._partitions.values():
            part.extend_bounds()
        self._published = write
        for key, part in list(self._partitions.items()):
            if part.dead >= _MIN_CAPACITY and part.dead >= _MAX_DEAD_SHARE * part.size:
                live = np.flatnonzero(part.died[:part.size] == NEVER)
                compacted = part.copy(max(_MIN_CAPACITY, math.ceil(len(live) * _GROWTH)), live)
                self._publish(key, compacted)
                for row, point_id in enumerate(compacted.ids):
                    self._where[point_id] = (key, row)

    def _partition(self, key: PartitionKey, room: int) -> Partition:
        part = self._partitions.get(key)
        if part is None:
            capacity = max(_MIN_CAPACITY, math.ceil(room * _GROWTH))
            part = Partition.empty(self.dims, self._columns.code_of, self._columns.numeric_keys, capacity, self.heads)
            self._partitions[key] = part
        elif part.size + room > part.capacity:
            part = self._publish(key, part.copy(math.ceil((part.size + room) * _GROWTH)))
        return part

    def _publish(self, key: PartitionKey, part: Partition) -> Partition:
        """Replaces a partition by a copy (one assignment: readers see the old or the new one)."""
        self._partitions[key] = part
        return part

    # -- reads -----------------------------------------------------------------------------

    def answers(self, search: Search) -> bool:
        """Whether this table can run the search: a held vector, and conditions on held fields."""
        return (search.using in self.dims or search.using in self.composites) and self.can_check(search.must)

    def floats_to_scan(self, search: Search) -> int:
        """How many floats `search` would read: rows of the partitions it allows x the query's
        non-zero parts (what the store weighs against a graph search for a composite)."""
        parts = self._query_parts(search)
        rows = sum(p.size for p in self._selected(list(self._partitions.items()), search))
        return rows * sum(len(q) for _, q in parts)

    def _query_parts(self, search: Search) -> list[tuple[str, np.ndarray]]:
        """The (held vector, slice of the query) pairs whose products sum to the search's scores."""
        query = np.asarray(search.vector, dtype=np.float32)  # (dim,)
        if search.using in self.dims:
            return [(search.using, query)]
        parts, start = [], 0
        for name in self.composites[search.using]:
            piece = query[start:start + self.dims[name]]
            start += self.dims[name]
            if piece.any() or (not parts and start == len(query)):  # all zero: one part scores the ties
                parts.append((name, piece))
        if start != len(query):
            raise ValueError(f"a {search.using!r} query has {len(query)} floats, its parts {start}")
        return parts

    def _selected(self, taken: list[tuple[PartitionKey, Partition]], search: Search) -> list[Partition]:
        """The partitions whose key values the search's conditions allow."""
        allowed = self._columns.key_tests(search.must)
        return [part for key, part in taken if all(key[i] in values for i, values in allowed)]

    def can_check(self, conditions: Sequence[Condition]) -> bool:
        """Whether `check` can decide these conditions (the table is full, and holds their fields)."""
        return self.ready and all(self._columns.holds_field(c) for c in conditions)

    def search(self, search: Search) -> list[tuple[str, float]]:
        """The exact top `search.limit` (point id, inner product), best first, over the live rows
        that meet every condition, without the excluded ids.

        Raises:
            ValueError: the table cannot answer it (`answers` is False).
        """
        if not self.answers(search):
            raise ValueError(f"the scan table cannot answer a search on {search.using!r} with {search.must}")
        query = self._query_parts(search)
        excluded = set(search.exclude_ids)
        while True:
            taken = list(self._partitions.items())
            seen = self._published  # read after the partitions (the module docstring says why)
            if len(taken) == len(self._partitions) and all(self._partitions.get(n) is p for n, p in taken):
                break
        parts = self._selected(taken, search)
        conditions = self._columns.column_tests(search.must)
        # Each point is seen once, as of write `seen`: k + excluded rows from each partition hold the answer.
        wanted = search.limit + len(excluded)

        def scan(part: Partition) -> list[tuple[float, str]]:
            ids, scores = top_rows(part, seen, query, conditions, wanted)
            return list(zip(scores.tolist(), ids))

        if len(parts) > 1 and all(name in self.heads for name, _ in query):
            return _best(_bounded_scan(parts, query, scan, wanted), excluded, search.limit)
        floats = sum(p.size for p in parts) * sum(len(piece) for _, piece in query)
        pool = self._pool  # read once: close() may clear it meanwhile
        found: Iterable[list[tuple[float, str]]] = map(scan, parts)
        if pool is not None and len(parts) > 1 and floats >= self.parallel_min_floats:
            try:
                found = list(pool.map(scan, parts))
            except RuntimeError:  # the pool was shut down (the table closed) since it was read
                found = map(scan, parts)
        return _best([c for part in found for c in part], excluded, search.limit)

    def check(self, ids: Sequence[str], conditions: Sequence[Condition]) -> dict[str, bool]:
        """Whether each held point meets every condition, from the columns (no payload read).

        Used to check an engine search's hits (edge_search's post-filtered plan): at 1M points
        the engine took ~0.13 ms a hit to read payloads. Ids the table does not hold (a point
        written after the engine answered, or being moved) are left out: the caller decides them.

        Raises:
            ValueError: `can_check` is False.
        """
        if not self.can_check(conditions):
            raise ValueError(f"the scan table cannot check {conditions}")
        key_tests = self._columns.key_tests(conditions)
        tests = self._columns.column_tests(conditions)
        # Grouped by the arrays read, not by key: a write may replace a partition's arrays
        # (growth, compaction) between two ids, and each row number belongs to the arrays it
        # was checked in.
        rows: dict[int, tuple[PartitionKey, Partition, list[int], list[str]]] = {}
        for point_id in ids:
            where = self._where.get(point_id)
            if where is None:
                continue
            key, r = where
            part = self._partitions.get(key)
            # The point's current row, unless a write moved it between the two reads.
            if part is not None and r < part.size and part.ids[r] == point_id and part.died[r] == NEVER:
                group = rows.setdefault(id(part), (key, part, [], []))
                group[2].append(r)
                group[3].append(point_id)
        out: dict[str, bool] = {}
        for key, part, at, held in rows.values():
            in_partition = all(key[i] in values for i, values in key_tests)
            passing = passing_rows(part, np.array(at), tests) & in_partition
            out.update(zip(held, passing.tolist()))
        return out

def _bounded_scan(parts: list[Partition], query: list[tuple[str, np.ndarray]],
                  scan: Callable[[Partition], list[tuple[float, str]]], wanted: int) -> list[tuple[float, str]]:
    """The best `wanted` (score, id) of the partitions, reading them from the highest bound down
    and stopping at the first whose bound the `wanted`-th best score so far beats: no row of it
    or of those after it can score higher. The bounds are read after the reader's write number,
    so they cover every row it sees (scan_rows.Partition.extend_bounds)."""
    best: list[tuple[float, str]] = []
    if wanted <= 0:
        return best
    bounds = score_bounds(parts, query)
    for i in np.argsort(-bounds, kind="stable").tolist():
        bound = float(bounds[i])
        if len(best) >= wanted and best[-1][0] >= bound + _BOUND_SLACK * (1.0 + abs(bound)):
            break
        best = heapq.nlargest(wanted, best + scan(parts[i]))
    return best


def _best(candidates: list[tuple[float, str]], excluded: set[str], limit: int) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    if limit <= 0:
        return found
    seen: set[str] = set()
    for score, point_id in sorted(candidates, key=lambda c: -c[0]):
        if point_id in excluded or point_id in seen:
            continue
        seen.add(point_id)
        found.append((point_id, score))
        if len(found) == limit:
            break
    return found
