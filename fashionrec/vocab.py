"""The attribute vocabulary: which attributes an item has and which values each can take.

Shared by the data sets, the model and the index, and free of torch so the
query services can use it. Values of all attributes are numbered in one
global order (attribute by attribute), which is the column order of the
prototype memory M and of the manipulation indicator i.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fashionrec.errors import InvalidArgument

# Label id meaning "not known": ignored by losses and metrics.
UNKNOWN = -1


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]

    def index(self, value: str) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise InvalidArgument.for_field(
                self.name, f"unknown value {value!r}; known: {', '.join(self.values)}"
            ) from None


@dataclass(frozen=True)
class Vocabulary:
    attributes: tuple[Attribute, ...]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Iterable[str]]) -> "Vocabulary":
        return cls(tuple(Attribute(name, tuple(values)) for name, values in mapping.items()))

    def to_mapping(self) -> dict[str, list[str]]:
        return {a.name: list(a.values) for a in self.attributes}

    @classmethod
    def from_json(cls, data: Any) -> "Vocabulary":
        return cls.from_mapping(data)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {a.name: i for i, a in enumerate(self.attributes)}

    def position(self, name: str) -> int:
        """Index of the attribute in the model's attribute order."""
        try:
            return self._positions[name]
        except KeyError:
            raise InvalidArgument.for_field(
                "attribute", f"unknown attribute {name!r}; known: {', '.join(self.names)}"
            ) from None

    def attribute(self, name: str) -> Attribute:
        return self.attributes[self.position(name)]

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Global index of each attribute's first value."""
        out, total = [], 0
        for a in self.attributes:
            out.append(total)
            total += len(a.values)
        return tuple(out)

    @property
    def total_values(self) -> int:
        """S: the number of columns of the prototype memory."""
        return sum(len(a.values) for a in self.attributes)

    def global_index(self, name: str, value: str) -> int:
        """Column of (attribute, value) in the prototype memory."""
        pos = self.position(name)
        return self.offsets[pos] + self.attributes[pos].index(value)
