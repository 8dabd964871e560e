"""The catalog item: one type from the Kafka event to the index payload to the API response.

Converted at the edges, in one module each way: protobuf messages (API and catalog events)
↔ `Item` in fashionrec.item_messages, `Item` ↔ index payload in fashionrec.index.schema.
A data set's rows (fashionrec.data.Catalog.items) are Items too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Item"]


@dataclass(frozen=True)
class Item:
    """What is known about an item besides its picture and vectors.

    `labels` are the attribute values the catalog gives (attribute -> value; an unknown
    one is absent), `predicted_labels` the model's (set when the item is indexed).
    `updated_at` is the catalog's time of the last change, float seconds since the Unix
    epoch (UTC); `model_version` the model that encoded the indexed vectors.
    """

    sku: str
    category: str
    labels: Mapping[str, str] = field(default_factory=dict)
    predicted_labels: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    brand: str = ""
    price: float = 0.0
    currency: str = ""
    in_stock: bool = True
    updated_at: float = 0.0
    image_uri: str = ""
    model_version: str = ""

    def current_value(self, attribute: str) -> str | None:
        """The item's value of an attribute: its given label, else the predicted one."""
        return self.labels.get(attribute) or self.predicted_labels.get(attribute)

