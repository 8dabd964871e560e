"""How a ScanTable's points and conditions become its columns: rows, keyword codes, partition keys.

A point's filter fields are held as columns (fashionrec.index.scan_rows.Partition): a keyword
as an int32 code (MISSING_CODE when absent or mistyped), a float or integer as a float64 (NaN
when absent, mistyped or a bool, which match no condition, as filters.holds decides). Its
partition key is the tuple of its `partition_keys` values (None when absent: no AnyOf matches
it, as in the engine). A search's conditions become tests on those columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fashionrec.index.filters import AnyOf, Between, Condition, Equals, payload_value
from fashionrec.index.scan_rows import MISSING_CODE, ColumnTest, Row
from fashionrec.index.schema import FLOAT, INTEGER, KEYWORD
from fashionrec.index.store import Point

__all__ = ["ColumnCodec", "PartitionKey"]

PartitionKey = tuple[str | None, ...]  # the partition keys' values; None: absent


@dataclass
class ColumnCodec:
    """The columns of one table. Keyword codes are assigned as values first appear, so the
    caller holds the table's write lock around `row` and `fields`.

    Args:
        dims: the named vectors held, with their dimensions.
        field_kinds: filter fields by payload key (dotted for nested ones) and kind.
        partition_keys: keyword payload keys whose values key the partitions.
    """

    dims: Mapping[str, int]
    field_kinds: Mapping[str, str]
    partition_keys: Sequence[str]
    code_of: dict[str, dict[str, int]] = field(default_factory=dict)  # keyword key -> value -> code

    def __post_init__(self) -> None:
        unknown = {k: v for k, v in self.field_kinds.items() if v not in (KEYWORD, FLOAT, INTEGER)}
        if unknown:
            raise ValueError(f"unknown field kinds {unknown}")
        if not self.partition_keys:
            raise ValueError("a table needs at least one partition key")
        self.code_of = {key: {} for key, kind in self.field_kinds.items() if kind == KEYWORD}

    @property
    def numeric_keys(self) -> list[str]:
        return [key for key, kind in self.field_kinds.items() if kind in (FLOAT, INTEGER)]

    def key(self, payload: Mapping[str, object]) -> PartitionKey:
        """The partition key of a point's payload."""
        return tuple(_key_value(payload, key) for key in self.partition_keys)

    def patched_key(self, old: PartitionKey, fields: Mapping[str, object]) -> PartitionKey:
        """The partition key after a patch that replaces the top-level keys of `fields`."""
        return tuple(_key_value(fields, k) if k.split(".")[0] in fields else value
                     for k, value in zip(self.partition_keys, old))

    def row(self, point: Point) -> Row:
        """A point's vectors and filter fields, ready to append.

        Raises:
            ValueError: the point lacks one of the vectors, or one has the wrong size.
        """
        vectors = {}
        for name, dim in self.dims.items():
            vector = point.vectors.get(name)
            if vector is None:
                raise ValueError(f"point {point.id} has no {name!r} vector")
            v = np.asarray(vector, dtype=np.float32)
            if v.shape != (dim,):
                raise ValueError(f"point {point.id}: {name!r} has shape {v.shape}, expected ({dim},)")
            vectors[name] = v
        fields = self.fields(point.payload, only_present=False)
        return Row(vectors, fields.codes, fields.numbers)

    def fields(self, payload: Mapping[str, object], only_present: bool) -> Row:
        """The filter fields of a payload (only_present: only keys whose top-level key it has)."""
        codes: dict[str, int] = {}
        numbers: dict[str, float] = {}
        for key, kind in self.field_kinds.items():
            if only_present and key.split(".")[0] not in payload:
                continue
            value = payload_value(payload, key)
            if kind == KEYWORD:
                codes[key] = self._code(key, value) if isinstance(value, str) else MISSING_CODE
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    kind == INTEGER and not isinstance(value, int)):
                # As filters.holds decides: bools and mistyped values match no condition.
                numbers[key] = math.nan
            else:
                numbers[key] = float(value)
        return Row({}, codes, numbers)

    def _code(self, key: str, value: str) -> int:
        codes = self.code_of[key]
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
        return code

    def key_tests(self, conditions: Sequence[Condition]) -> list[tuple[int, set[str]]]:
        """The conditions on partition keys, as (position in the key, the values allowed)."""
        return [(self.partition_keys.index(c.key), set(c.values))
                for c in conditions if isinstance(c, AnyOf) and c.key in self.partition_keys]

    def column_tests(self, conditions: Sequence[Condition]) -> list[ColumnTest]:
        """The conditions not on partition keys, as (column kind, key, test) on the columns."""
        out: list[ColumnTest] = []
        for cond in conditions:
            if cond.key in self.partition_keys:
                continue
            if isinstance(cond, AnyOf):
                codes = self.code_of[cond.key]
                out.append(("codes", cond.key, np.array([codes[v] for v in cond.values if v in codes], dtype=np.int32)))
            elif isinstance(cond, Between):
                out.append(("numbers", cond.key, (cond.gte, cond.lte)))
            else:
                out.append(("numbers", cond.key, float(cond.value)))
        return out

    def holds_field(self, cond: Condition) -> bool:
        """Whether the columns (or the partition keys) can decide the condition."""
        kind = KEYWORD if cond.key in self.partition_keys else self.field_kinds.get(cond.key)
        return ((isinstance(cond, AnyOf) and kind == KEYWORD) or (isinstance(cond, Between) and kind == FLOAT)
                or (isinstance(cond, Equals) and kind == INTEGER))


def _key_value(payload: Mapping[str, object], key: str) -> str | None:
    """A partition key's value; None when absent or not a string, which no AnyOf matches (as in the engine)."""
    value = payload_value(payload, key)
    return value if isinstance(value, str) else None
