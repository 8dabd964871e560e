"""Conversions between the API messages (fashionrec.v1) and the index's types.

Torch-free: the query services use it.
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from fashionrec.index import Filters, Item, SearchResult
from fashionrec.v1 import common_pb2


def filters_from_proto(message: common_pb2.Filters) -> Filters:
    return Filters(
        categories=tuple(message.categories),
        brands=tuple(message.brands),
        min_price=message.min_price if message.HasField("min_price") else None,
        max_price=message.max_price if message.HasField("max_price") else None,
        in_stock=message.in_stock if message.HasField("in_stock") else None,
    )


def item_to_proto(item: Item) -> common_pb2.Item:
    updated = Timestamp()
    updated.FromNanoseconds(int(item.updated_at * 1e9))
    return common_pb2.Item(
        sku=item.sku,
        category=item.category,
        title=item.title,
        brand=item.brand,
        price=item.price,
        currency=item.currency,
        in_stock=item.in_stock,
        labels=dict(item.labels),
        predicted_labels=dict(item.predicted_labels),
        image_uri=item.image_uri,
        model_version=item.model_version,
        updated_at=updated,
    )


def search_response(result: SearchResult) -> common_pb2.SearchResponse:
    return common_pb2.SearchResponse(
        hits=[common_pb2.SearchHit(sku=h.item.sku, score=h.score, item=item_to_proto(h.item)) for h in result.hits],
        model_version=result.model_version,
    )
