"""The rows of a ScanTable: one partition's arrays, and the exact scan of them.

A Partition holds one partition's rows (a category's, or a category's and predicted value's) in column arrays (a matrix per vector, a column per
filter field) with the write numbers each row was born and died at; rows [0, size) are
written and are never changed after, only marked dead (fashionrec.index.scan_table says why
and how readers use the numbers). `top_rows` scores a partition's rows against a query and
keeps the best that pass the conditions; `passing_rows` checks conditions on any rows.

A partition may also keep, for some of its vectors, a bound on the inner product any of its
rows can reach with a query (`score_bounds`): the largest norm of the vector's head
(its first `heads[name]` floats) and the per-float maximum and minimum of its tail, over the
rows written. By Cauchy-Schwarz on the head and float by float on the tail,
q·v <= |q_head| max|v_head| + Σ_i max(q_i hi_i, q_i lo_i) for every row v. The table scans a
search's partitions from the highest bound down and stops when its k-th best score beats the
next one's bound: an exact answer that reads fewer rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MISSING_CODE", "NEVER", "ColumnTest", "Partition", "Row", "passing_rows", "score_bounds", "top_rows"]

MISSING_CODE = -1  # the code of an absent or mistyped keyword value
NEVER = np.iinfo(np.int64).max  # the death of a row that is alive
# A condition on a partition's columns: ("codes", key, the codes that pass) for a keyword,
# ("numbers", key, (gte, lte)) for a range (None unbounded), ("numbers", key, value) for equality.
ColumnTest = tuple[str, str, object]


@dataclass
class Partition:
    """One partition's rows. Rows [0, size) are written; the arrays hold `capacity` rows."""

    ids: list[str]
    vectors: dict[str, np.ndarray]  # name -> (capacity, dim) float32
    codes: dict[str, np.ndarray]  # keyword key -> (capacity,) int32, MISSING_CODE when absent
    numbers: dict[str, np.ndarray]  # float or integer key -> (capacity,) float64, NaN when absent
    born: np.ndarray  # (capacity,) int64: the write that added the row
    died: np.ndarray  # (capacity,) int64: the write that replaced or deleted it; NEVER while alive
    size: int = 0
    dead: int = 0
    # The bounded vectors' head lengths (module docstring), and their bounds over rows [0, bounded).
    heads: Mapping[str, int] = field(default_factory=dict)
    bounded: int = 0
    head_norm: dict[str, float] = field(default_factory=dict)
    tail_hi: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (dim - head,) float32
    tail_lo: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, dims: Mapping[str, int], codes: Iterable[str], numbers: Iterable[str],
              capacity: int, heads: Mapping[str, int] | None = None) -> Partition:
        """A partition of no rows. heads: the vectors to bound, with their head lengths."""
        heads = dict(heads or {})
        unknown = {name: h for name, h in heads.items() if name not in dims or not 0 <= h <= dims[name]}
        if unknown:
            raise ValueError(f"heads of vectors not held, or longer than the vector: {unknown}")
        return cls(
            ids=[],
            vectors={name: np.zeros((capacity, dim), dtype=np.float32) for name, dim in dims.items()},
            codes={key: np.full(capacity, MISSING_CODE, dtype=np.int32) for key in codes},
            numbers={key: np.full(capacity, np.nan) for key in numbers},
            born=np.zeros(capacity, dtype=np.int64),
            died=np.full(capacity, NEVER, dtype=np.int64),
            heads=heads,
        )

    @property
    def capacity(self) -> int:
        return len(self.born)

    def copy(self, capacity: int, rows: np.ndarray | None = None) -> Partition:
        """A new partition with the rows (all written ones when None) in arrays of `capacity` rows."""
        rows = np.arange(self.size) if rows is None else rows
        dims = {name: v.shape[1] for name, v in self.vectors.items()}
        out = Partition.empty(dims, self.codes, self.numbers, capacity, self.heads)
        n = len(rows)
        for name, v in self.vectors.items():
            out.vectors[name][:n] = v[rows]
        for key, c in self.codes.items():
            out.codes[key][:n] = c[rows]
        for key, x in self.numbers.items():
            out.numbers[key][:n] = x[rows]
        out.born[:n] = self.born[rows]
        out.died[:n] = self.died[rows]
        out.ids = [self.ids[r] for r in rows]
        out.size = n
        out.dead = int((out.died[:n] != NEVER).sum())
        out.extend_bounds()
        return out

    def extend_bounds(self) -> None:
        """Widens the bounds to cover every written row. The writer calls it before it publishes
        a write, so a reader that sees a row sees bounds that cover it; each bound is replaced
        in one assignment, and only ever grows until the partition is copied."""
        start, end = self.bounded, self.size
        if start >= end or not self.heads:
            self.bounded = max(start, end)
            return
        for name, head in self.heads.items():
            rows = self.vectors[name][start:end]
            norm = float(np.sqrt(np.einsum("ij,ij->i", rows[:, :head], rows[:, :head]).max())) if head else 0.0
            hi, lo = rows[:, head:].max(axis=0), rows[:, head:].min(axis=0)
            if start:
                norm = max(norm, self.head_norm[name])
                hi, lo = np.maximum(hi, self.tail_hi[name]), np.minimum(lo, self.tail_lo[name])
            self.head_norm[name], self.tail_hi[name], self.tail_lo[name] = norm, hi, lo
        self.bounded = end


@dataclass(frozen=True)
class Row:
    """What the table holds of one point, ready to append."""

    vectors: dict[str, np.ndarray]
    codes: dict[str, int]
    numbers: dict[str, float]




def score_bounds(parts: Sequence[Partition], query: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """(len(parts),) an upper bound on the score (the sum of the parts' inner products) of any
    row of [0, bounded) of each partition against the query (module docstring): -inf for one
    with no rows, +inf for all when a part's vector has no bound. The partitions are of one
    table (the same heads). Stacked, one matrix product a bound per part: at 300k items a
    one-attribute query weighs ~100 partitions (1.3 ms one by one)."""
    out = np.zeros(len(parts))
    if not parts:
        return out
    for name, piece in query:
        head = parts[0].heads.get(name)
        if head is None:
            return np.full(len(parts), math.inf)
        tail = piece[head:].astype(np.float64)
        zeros = np.zeros(len(tail))
        hi = np.stack([p.tail_hi.get(name, zeros) for p in parts])  # (parts, dim - head)
        lo = np.stack([p.tail_lo.get(name, zeros) for p in parts])
        norms = np.array([p.head_norm.get(name, 0.0) for p in parts])
        out += float(np.linalg.norm(piece[:head])) * norms + hi @ np.maximum(tail, 0.0) + lo @ np.minimum(tail, 0.0)
    out[[p.bounded == 0 for p in parts]] = -math.inf
    return out


def top_rows(part: Partition, seen: int, query: list[tuple[str, np.ndarray]],
         conditions: list[ColumnTest], wanted: int) -> tuple[list[str], np.ndarray]:
    """A partition's best `wanted` rows that pass, as of write `seen`: their ids and scores.

    `query`: (held vector, its slice of the query) pairs; the score is the sum of their products.
    """
    n = part.size  # read after `seen`: every row born by then is below it
    if n == 0:
        return [], np.empty(0, dtype=np.float32)
    scores = part.vectors[query[0][0]][:n] @ query[0][1]  # (n,)
    for name, piece in query[1:]:
        scores += part.vectors[name][:n] @ piece
    visible = (part.born[:n] <= seen) & (part.died[:n] > seen)
    rows = np.flatnonzero(visible & passing_rows(part, slice(0, n), conditions))
    if len(rows) > wanted:
        rows = rows[np.argpartition(-scores[rows], wanted - 1)[:wanted]]
    ids = part.ids
    return [ids[r] for r in rows.tolist()], scores[rows]


def passing_rows(part: Partition, rows: slice | np.ndarray, conditions: list[ColumnTest]) -> np.ndarray:
    """Whether each of the rows meets every condition (bool, one per row)."""
    passing = np.ones(len(part.born[rows]), dtype=bool)
    for column, key, test in conditions:
        if column == "codes":
            passing &= np.isin(part.codes[key][rows], test)
        elif isinstance(test, tuple):
            values, (gte, lte) = part.numbers[key][rows], test
            # NaN (absent) fails both comparisons, as an absent field fails the engine's range.
            passing &= np.greater_equal(values, -np.inf if gte is None else gte)
            passing &= np.less_equal(values, np.inf if lte is None else lte)
        else:
            passing &= part.numbers[key][rows] == test
    return passing
