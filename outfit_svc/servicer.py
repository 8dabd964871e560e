"""OutfitService: Complete and ScoreOutfit over the index."""

from __future__ import annotations

import grpc

from fashionrec.index import CatalogIndex
from fashionrec_grpc.protoconv import filters_from_proto, search_response
from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc


class OutfitServicer(outfit_pb2_grpc.OutfitServiceServicer):
    def __init__(self, index: CatalogIndex) -> None:
        self._index = index

    def Complete(self, request: outfit_pb2.CompleteRequest, context: grpc.ServicerContext) -> common_pb2.SearchResponse:
        result = self._index.complete_outfit(
            list(request.outfit_skus), request.target_category, filters_from_proto(request.filters), request.k
        )
        return search_response(result)

    def ScoreOutfit(self, request: outfit_pb2.ScoreOutfitRequest, context: grpc.ServicerContext) -> outfit_pb2.ScoreOutfitResponse:
        scored = self._index.score_outfit(list(request.skus))
        return outfit_pb2.ScoreOutfitResponse(
            score=scored.score,
            pairs=[outfit_pb2.PairScore(sku_a=p.sku_a, sku_b=p.sku_b, score=p.score) for p in scored.pairs],
            model_version=scored.model_version,
        )
