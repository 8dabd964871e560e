"""RetrievalService: Manipulate and SimilarBy over the index. Validation of the query
itself (attributes, values, k, filters) happens in fashionrec.index, which raises
errors naming the request field; the interceptor turns them into statuses."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from fashionrec_grpc.deadlines import check_call
from fashionrec.errors import FailedPrecondition, InvalidArgument
from fashionrec.index import CatalogIndex, Change, VectorQuery
from fashionrec.index.catalog_index import QueryItem
from fashionrec_grpc.protoconv import filters_from_proto, search_response
from fashionrec.v1 import common_pb2, retrieval_pb2, retrieval_pb2_grpc
from retrieval_svc.preview_client import PreviewSource

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
    def __init__(self, index: CatalogIndex, encode_photo: PhotoEncoder, preview: PreviewSource | None = None) -> None:
        """preview: renders Manipulate's include_preview image (None: such requests are FAILED_PRECONDITION)."""
        self._index = index
        self._encode_photo = encode_photo
        self._preview = preview

    def Manipulate(self, request: retrieval_pb2.ManipulateRequest, context: grpc.ServicerContext) -> common_pb2.SearchResponse:
        if request.include_preview and self._preview is None:
            raise FailedPrecondition("this retrieval service renders no previews (no encoder to ask)")
        query = query_item(request.item, self._encode_photo, context)
        changes = [Change(c.attribute, c.value) for c in request.changes]
        result = self._index.manipulate(
            query,
            changes,
            filters_from_proto(request.filters),
            request.k,
            request.require_predicted_target,
        )
        response = search_response(result)
        if request.include_preview:  # after the search: a bad request fails there, before any rendering
            check_call(context, "the preview")
            credentials = dict(context.invocation_metadata()).get("authorization")
            png, version = self._preview(request.item, changes, context.time_remaining(), credentials)
            if version != result.model_version:
                raise FailedPrecondition(f"the preview is of model {version!r} but the live index is "
                                         f"{result.model_version!r}; retry shortly")
            response.preview_png = png
        return response

    def SimilarBy(self, request: retrieval_pb2.SimilarByRequest, context: grpc.ServicerContext) -> common_pb2.SearchResponse:
        query = query_item(request.item, self._encode_photo, context)
        weights = [(w.attribute, w.weight) for w in request.weights]
        return search_response(self._index.similar_by(query, weights, filters_from_proto(request.filters), request.k))
