"""Conversions between the API's request/response messages (fashionrec.v1) and the index's types
(an item's own fields: fashionrec.item_messages).

Torch-free: the query services use it.
"""

from __future__ import annotations

from fashionrec.index import Filters, SearchResult
from fashionrec.item_messages import fill_item
from fashionrec.v1 import common_pb2


def filters_from_proto(message: common_pb2.Filters) -> Filters:
    return Filters(
        categories=tuple(message.categories),
        brands=tuple(message.brands),
        min_price=message.min_price if message.HasField("min_price") else None,
        max_price=message.max_price if message.HasField("max_price") else None,
        in_stock=message.in_stock if message.HasField("in_stock") else None,
    )


def search_response(result: SearchResult) -> common_pb2.SearchResponse:
    response = common_pb2.SearchResponse(model_version=result.model_version)
    add = response.hits.add
    for hit in result.hits:  # in place: see fill_item
        fill_item(add(sku=hit.item.sku, score=hit.score).item, hit.item)
    return response
