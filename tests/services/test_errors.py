"""Every bad request gets the right status and a message (and field) that says what to fix."""

import grpc
import pytest

from fashionrec.data.catalog import Catalog
from fashionrec.data.images import encode_png
from fashionrec_grpc.status import field_violations
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc


def _error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=30)
    return info.value


def _manipulate(sku: str = "", changes=(("color", "red"),), k: int = 10, image: bytes = b""):
    ref = common_pb2.ItemRef(image=image) if image else common_pb2.ItemRef(sku=sku) if sku else common_pb2.ItemRef()
    return retrieval_pb2.ManipulateRequest(
        item=ref, changes=[common_pb2.AttributeChange(attribute=a, value=v) for a, v in changes], k=k)


@pytest.mark.parametrize(("changes", "k", "field"), [
    ((("colour", "red"),), 10, "changes[0].attribute"),
    ((("color", "ultraviolet"),), 10, "changes[0].value"),
    ((), 10, "changes"),
    ((("color", "red"),), 0, "k"),
    ((("color", "red"),), 100_000, "k"),
])
def test_bad_manipulation_is_invalid_argument_naming_the_field(catalog: Catalog, channel, changes, k, field) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    error = _error(stub.Manipulate, _manipulate(catalog.items[0].sku, changes, k))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == [field]


def test_missing_item_is_invalid_argument(channel) -> None:
    error = _error(retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate, _manipulate())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "item.sku" in error.details()


def test_unknown_sku_is_not_found(channel) -> None:
    error = _error(retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate, _manipulate("no-such-sku"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-sku" in error.details()


def test_undecodable_photo_is_invalid_argument(channel) -> None:
    error = _error(retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate, _manipulate(image=b"not an image"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == ["item.image"]


def test_bad_weights_are_invalid_argument(catalog: Catalog, channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    error = _error(stub.SimilarBy, retrieval_pb2.SimilarByRequest(
        item=common_pb2.ItemRef(sku=catalog.items[0].sku), k=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(("skus", "category", "field"), [
    ([], "shoes", "outfit_skus"),
    (None, "spaceship", "target_category"),
])
def test_bad_outfit_requests(catalog: Catalog, channel, skus, category, field) -> None:
    skus = [catalog.items[0].sku] if skus is None else skus
    stub = outfit_pb2_grpc.OutfitServiceStub(channel)
    error = _error(stub.Complete, outfit_pb2.CompleteRequest(outfit_skus=skus, target_category=category, k=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == [field]


def test_score_outfit_needs_two_items(catalog: Catalog, channel) -> None:
    stub = outfit_pb2_grpc.OutfitServiceStub(channel)
    error = _error(stub.ScoreOutfit, outfit_pb2.ScoreOutfitRequest(skus=[catalog.items[0].sku]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_encode_names_the_bad_image(catalog: Catalog, channel) -> None:
    stub = encoder_pb2_grpc.EncoderServiceStub(channel)
    error = _error(stub.Encode, encoder_pb2.EncodeRequest(images=[encode_png(catalog.images[0]), b"", b"junk"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == ["images[1]", "images[2]"]
    empty = _error(stub.Encode, encoder_pb2.EncodeRequest())
    assert [f for f, _ in field_violations(empty)] == ["images"]


def test_deadline_is_honoured(catalog: Catalog, channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Manipulate(_manipulate(image=encode_png(catalog.images[0])), timeout=0.0005)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_encode_refuses_oversized_images_and_too_many(channel) -> None:
    stub = encoder_pb2_grpc.EncoderServiceStub(channel)
    oversized = _error(stub.Encode, encoder_pb2.EncodeRequest(images=[b"\x00" * (5 * 1024 * 1024)]))
    assert oversized.code() == grpc.StatusCode.INVALID_ARGUMENT
    [(field, description)] = field_violations(oversized)
    assert field == "images[0]" and "limit" in description
    too_many = _error(stub.Encode, encoder_pb2.EncodeRequest(images=[b"x"] * 65))
    assert [f for f, _ in field_violations(too_many)] == ["images"]
    assert "at most 64 images" in too_many.details()
