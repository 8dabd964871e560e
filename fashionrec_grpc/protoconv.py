"""Conversions between the API's request/response messages (fashionrec.v1) and the index's types
(an item's own fields: fashionrec.item_messages).

Torch-free: the query services use it.
"""

from __future__ import annotations

from fashionrec.index import Filters, SearchResult
from fashionrec.item_messages import item_to_proto
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
    return common_pb2.SearchResponse(
        hits=[common_pb2.SearchHit(sku=h.item.sku, score=h.score, item=item_to_proto(h.item)) for h in result.hits],
        model_version=result.model_version,
    )
