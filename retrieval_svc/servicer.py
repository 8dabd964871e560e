"""RetrievalService: Manipulate and SimilarBy over the index. Validation of the query
itself (attributes, values, k, filters) happens in fashionrec.index, which raises
errors naming the request field; the interceptor turns them into statuses."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from fashionrec.errors import InvalidArgument
from fashionrec.index import CatalogIndex, Change, VectorQuery
from fashionrec.index.catalog import QueryItem
from fashionrec.protoconv import filters_from_proto, search_response
from fashionrec.v1 import common_pb2, retrieval_pb2, retrieval_pb2_grpc

# Encodes an uploaded photo (bytes) within a timeout (seconds, or None) for the live model, with the
# caller's `authorization` metadata (or None) for an encoder in another process.
PhotoEncoder = Callable[[bytes, float | None, str | None], VectorQuery]


def query_item(ref: common_pb2.ItemRef, encode_photo: PhotoEncoder, context: grpc.ServicerContext) -> QueryItem:
    """The item a request starts from: a SKU, or an uploaded photo encoded by EncoderService."""
    which = ref.WhichOneof("ref")
    if which == "sku" and ref.sku:
        return ref.sku
    if which == "image" and ref.image:
        credentials = dict(context.invocation_metadata()).get("authorization")
        return encode_photo(ref.image, context.time_remaining(), credentials)
    raise InvalidArgument.for_field("item", "set item.sku to a catalog SKU or item.image to an encoded photo")


class RetrievalServicer(retrieval_pb2_grpc.RetrievalServiceServicer):
    def __init__(self, index: CatalogIndex, encode_photo: PhotoEncoder) -> None:
        self._index = index
        self._encode_photo = encode_photo

    def Manipulate(self, request: retrieval_pb2.ManipulateRequest, context: grpc.ServicerContext) -> common_pb2.SearchResponse:
        query = query_item(request.item, self._encode_photo, context)
        result = self._index.manipulate(
            query,
            [Change(c.attribute, c.value) for c in request.changes],
            filters_from_proto(request.filters),
            request.k,
            request.require_predicted_target,
        )
        return search_response(result)

    def SimilarBy(self, request: retrieval_pb2.SimilarByRequest, context: grpc.ServicerContext) -> common_pb2.SearchResponse:
        query = query_item(request.item, self._encode_photo, context)
        weights = [(w.attribute, w.weight) for w in request.weights]
        return search_response(self._index.similar_by(query, weights, filters_from_proto(request.filters), request.k))
