"""Search filters, in a backend-neutral form that each backend translates.

`Filters` mirrors fashionrec.v1.Filters (the request's shape); `Search` is
one nearest-neighbour search as a backend runs it: a named vector, a query
vector, a limit, conditions that must all hold and point ids to leave out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fashionrec.artifact import ModelSpec
from fashionrec.errors import InvalidArgument


@dataclass(frozen=True)
class AnyOf:
    """The keyword field equals one of values."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Between:
    """The float field lies in [gte, lte]; None is unbounded."""

    key: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Equals:
    """The integer field equals value."""

    key: str
    value: int


Condition = AnyOf | Between | Equals


def payload_value(payload: Mapping[str, Any], key: str) -> Any:
    """The payload's value at a dotted key ("predicted_labels.color"); None when it is missing."""
    value: Any = payload
    for part in key.split("."):
        # dict first: the abc check alone was a fifth of a scan table's fill (7 tables x 10 keys a point).
        if not isinstance(value, dict) and not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def holds(condition: Condition, payload: Mapping[str, Any]) -> bool:
    """Whether a point's payload meets the condition, as the engines decide it.

    Used where a backend checks some conditions itself on a search's hits
    (fashionrec.index.edge_store's post-filtered plan). A missing or mistyped value never matches.
    """
    value = payload_value(payload, condition.key)
    if isinstance(condition, AnyOf):
        return isinstance(value, str) and value in condition.values
    if isinstance(condition, Between):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return ((condition.gte is None or value >= condition.gte)
                and (condition.lte is None or value <= condition.lte))
    if isinstance(condition, Equals):
        return isinstance(value, int) and not isinstance(value, bool) and value == condition.value
    raise TypeError(f"unknown condition {condition!r}")


@dataclass(frozen=True)
class Filters:
    """Restricts a search to items that match every field that is set (empty: everything)."""

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool | None = None

    def conditions(self, spec: ModelSpec, field_name: str = "filters") -> list[Condition]:
        """The conditions this filter stands for; InvalidArgument for values that can match nothing."""
        out: list[Condition] = []
        for i, category in enumerate(self.categories):
            if category not in spec.categories:
                raise InvalidArgument.for_field(
                    f"{field_name}.categories[{i}]",
                    f"unknown category {category!r}; known: {', '.join(spec.categories)}",
                )
        if self.categories:
            out.append(AnyOf("category", tuple(self.categories)))
        if self.brands:
            out.append(AnyOf("brand", tuple(self.brands)))
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidArgument.for_field(f"{field_name}.{name}", "must be a finite number")
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise InvalidArgument.for_field(f"{field_name}.max_price", "must not be below min_price")
        if self.min_price is not None or self.max_price is not None:
            out.append(Between("price", self.min_price, self.max_price))
        if self.in_stock is not None:
            out.append(Equals("in_stock", int(self.in_stock)))
        return out


@dataclass(frozen=True)
class Search:
    """One nearest-neighbour search by inner product on a named vector.

    min_ef: the narrowest HNSW beam the query may be searched with (0: the index settings' beam
    for the vector). A query that is zero outside one part of the vector (`similar`, on the
    first part of `manipulation`) walks a graph built on the whole vector and needs a wider one.
    """

    using: str
    vector: Sequence[float]
    limit: int
    must: tuple[Condition, ...] = ()
    exclude_ids: tuple[str, ...] = field(default=())
    min_ef: int = 0
