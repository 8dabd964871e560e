"""Every query kind through real gRPC sockets, checked against the catalog's ground truth."""

from collections import Counter

import grpc
import numpy as np
import pytest

from fashionrec.data.catalog import Catalog
from fashionrec.data.images import encode_png
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc


def _row_with(catalog: Catalog, **wanted: str) -> int:
    names = catalog.vocabulary.names
    for row in range(len(catalog)):
        if all(catalog.value_name(row, names.index(a)) == v for a, v in wanted.items()):
            return row
    raise LookupError(wanted)


def test_manipulate_by_sku_finds_the_target_value(catalog: Catalog, channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    color = catalog.vocabulary.attribute("color")
    row = 0
    current = catalog.value_name(row, catalog.vocabulary.position("color"))
    target = next(v for v in color.values if v not in (current, "n/a")
                  and any(catalog.value_name(r, 1) == v for r in range(len(catalog))))
    reply = stub.Manipulate(retrieval_pb2.ManipulateRequest(
        item=common_pb2.ItemRef(sku=catalog.items[row].sku),
        changes=[common_pb2.AttributeChange(attribute="color", value=target)], k=10), timeout=30)
    assert len(reply.hits) == 10
    assert catalog.items[row].sku not in {h.sku for h in reply.hits}
    assert [h.score for h in reply.hits] == sorted((h.score for h in reply.hits), reverse=True)
    with_target = sum(h.item.labels["color"] == target for h in reply.hits)
    assert with_target >= 5, f"only {with_target}/10 results are {target}"


def test_filters_apply_inside_the_search(catalog: Catalog, channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    category = catalog.items[3].category
    reply = stub.SimilarBy(retrieval_pb2.SimilarByRequest(
        item=common_pb2.ItemRef(sku=catalog.items[3].sku),
        weights=[retrieval_pb2.AttributeWeight(attribute="color", weight=1.0)],
        filters=common_pb2.Filters(categories=[category], in_stock=True, max_price=1e9), k=5), timeout=30)
    assert reply.hits
    assert all(h.item.category == category and h.item.in_stock for h in reply.hits)


def test_similar_by_one_attribute_shares_its_value(catalog: Catalog, channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    row = _row_with(catalog, pattern="stripes") if "stripes" in catalog.vocabulary.attribute("pattern").values else 1
    pattern = catalog.value_name(row, catalog.vocabulary.position("pattern"))
    reply = stub.SimilarBy(retrieval_pb2.SimilarByRequest(
        item=common_pb2.ItemRef(sku=catalog.items[row].sku),
        weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1.0)], k=10), timeout=30)
    same = sum(h.item.labels["pattern"] == pattern for h in reply.hits)
    assert same >= 5, f"only {same}/10 results have pattern {pattern}"


def test_complete_returns_only_the_target_category(catalog: Catalog, channel: grpc.Channel) -> None:
    outfit = catalog.outfits[0]
    skus = [catalog.items[r].sku for r in outfit.items]
    hidden = catalog.items[outfit.items[-1]]
    stub = outfit_pb2_grpc.OutfitServiceStub(channel)
    reply = stub.Complete(outfit_pb2.CompleteRequest(outfit_skus=skus[:-1], target_category=hidden.category, k=20),
                          timeout=30)
    assert reply.hits and all(h.item.category == hidden.category for h in reply.hits)
    assert not set(skus[:-1]) & {h.sku for h in reply.hits}
    scored = stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=skus), timeout=30)
    assert len(scored.pairs) == len(skus) * (len(skus) - 1) // 2
    assert scored.score == pytest.approx(np.mean([p.score for p in scored.pairs]), abs=1e-5)


def test_manipulate_by_photo(catalog: Catalog, channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    color = catalog.vocabulary.attribute("color").values
    reply = stub.Manipulate(retrieval_pb2.ManipulateRequest(
        item=common_pb2.ItemRef(image=encode_png(catalog.images[5])),
        changes=[common_pb2.AttributeChange(attribute="color", value=color[0])],
        require_predicted_target=True, k=5), timeout=30)
    assert all(h.item.predicted_labels["color"] == color[0] for h in reply.hits)


def test_encode_and_get_model(catalog: Catalog, channel: grpc.Channel) -> None:
    stub = encoder_pb2_grpc.EncoderServiceStub(channel)
    info = stub.GetModel(encoder_pb2.GetModelRequest(), timeout=10)
    assert [a.name for a in info.attributes] == list(catalog.vocabulary.names)
    reply = stub.Encode(encoder_pb2.EncodeRequest(images=[encode_png(catalog.images[i]) for i in range(3)]), timeout=30)
    assert len(reply.embeddings) == 3
    embedding = reply.embeddings[0]
    assert len(embedding.whole) == info.whole_dim and len(embedding.outfit) == info.outfit_dim
    assert [a.attribute for a in embedding.attributes] == list(catalog.vocabulary.names)
    assert all(0.0 <= p.confidence <= 1.0 for p in embedding.predictions)
    category = Counter(p.value for e in reply.embeddings for p in e.predictions if p.attribute == "category")
    assert sum(category.values()) == 3
