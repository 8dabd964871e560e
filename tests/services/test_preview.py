"""EncoderService.Preview and Manipulate's include_preview over real gRPC sockets, on the embedded
stack (`fashionrec dev` in-process) running the test model with a tiny preview decoder."""

from __future__ import annotations

import argparse
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from encoder_svc.servicer import EncoderServicer
from fashionrec_cli import main
from fashionrec_cli.dev_command import Stack, embedded_stack
from fashionrec.config import ServerSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.synthetic import generate_catalog
from fashionrec.data.images import BoundedDecoder, encode_png
from fashionrec_grpc.status import field_violations
from fashionrec.model.inference import Encoder
from fashionrec_grpc.serving import Service, start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from tests.helpers import index_through_kafka


@pytest.fixture(scope="module")
def preview_catalog() -> Catalog:
    return generate_catalog(40, seed=17, image_size=64)


@pytest.fixture(scope="module")
def preview_stack(preview_catalog: Catalog, preview_model_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    args = argparse.Namespace(data_dir=tmp_path_factory.mktemp("preview-stack"), grpc_port=0, metrics_port=0,
                              broker_port=0, model=preview_model_dir, fresh=False)
    with embedded_stack(args) as running:
        index_through_kafka(running, preview_catalog)
        yield running


@pytest.fixture(scope="module")
def preview_channel(preview_stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(preview_stack.grpc_address) as channel:
        yield channel


def _png_image(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _other_color(catalog: Catalog, row: int) -> str:
    current = catalog.value_name(row, catalog.vocabulary.position("color"))
    return next(v for v in catalog.vocabulary.attribute("color").values if v not in (current, "n/a"))


def _model(channel: grpc.Channel) -> encoder_pb2.ModelInfo:
    return encoder_pb2_grpc.EncoderServiceStub(channel).GetModel(encoder_pb2.GetModelRequest(), timeout=30)


def _change(attribute: str, value: str) -> common_pb2.AttributeChange:
    return common_pb2.AttributeChange(attribute=attribute, value=value)


@pytest.mark.parametrize("by", ["sku", "photo"])
def test_preview_renders_a_png_of_the_model_size_and_reads_it_back(
        by: str, preview_catalog: Catalog, preview_channel: grpc.Channel) -> None:
    model = _model(preview_channel)
    item = (common_pb2.ItemRef(sku=preview_catalog.items[2].sku) if by == "sku"
            else common_pb2.ItemRef(image=encode_png(preview_catalog.images[2])))
    reply = encoder_pb2_grpc.EncoderServiceStub(preview_channel).Preview(encoder_pb2.PreviewRequest(
        item=item, changes=[_change("color", _other_color(preview_catalog, 2))]), timeout=30)
    pixels = _png_image(reply.png)
    assert pixels.shape == (model.image_size, model.image_size, 3)
    assert reply.model_version == model.model_version
    assert [p.attribute for p in reply.read_back] == [a.name for a in model.attributes]
    for prediction, attribute in zip(reply.read_back, model.attributes):
        assert prediction.value in attribute.values and 0.0 <= prediction.confidence <= 1.0


def test_no_changes_is_a_plain_reconstruction_and_a_change_moves_the_image(
        preview_catalog: Catalog, preview_channel: grpc.Channel) -> None:
    stub = encoder_pb2_grpc.EncoderServiceStub(preview_channel)
    item = common_pb2.ItemRef(sku=preview_catalog.items[3].sku)
    plain = _png_image(stub.Preview(encoder_pb2.PreviewRequest(item=item), timeout=30).png)
    again = _png_image(stub.Preview(encoder_pb2.PreviewRequest(item=item), timeout=30).png)
    moved = _png_image(stub.Preview(encoder_pb2.PreviewRequest(
        item=item, changes=[_change("color", _other_color(preview_catalog, 3))]), timeout=30).png)
    assert np.array_equal(plain, again)  # deterministic
    assert not np.array_equal(plain, moved)


_SKU = "a catalog SKU"


@pytest.mark.parametrize("item, changes, code, field", [
    (None, [], grpc.StatusCode.INVALID_ARGUMENT, "item"),
    (common_pb2.ItemRef(image=b"not an image"), [], grpc.StatusCode.INVALID_ARGUMENT, "item.image"),
    (_SKU, [_change("colour", "red")], grpc.StatusCode.INVALID_ARGUMENT, "changes[0].attribute"),
    (_SKU, [_change("color", "plaid")], grpc.StatusCode.INVALID_ARGUMENT, "changes[0].value"),
    (_SKU, [_change("color", "red"), _change("color", "blue")], grpc.StatusCode.INVALID_ARGUMENT,
     "changes[1].attribute"),
    (common_pb2.ItemRef(sku="NO-SUCH-SKU"), [], grpc.StatusCode.NOT_FOUND, None),
    # Longer than any indexed SKU: echoed in a NOT_FOUND it overflowed the trailing metadata.
    (common_pb2.ItemRef(sku="x" * 100_000), [], grpc.StatusCode.INVALID_ARGUMENT, "item.sku"),
])
def test_preview_errors_name_the_field(item, changes: list, code: grpc.StatusCode, field: str | None,
                                       preview_catalog: Catalog, preview_channel: grpc.Channel) -> None:
    if item == _SKU:
        item = common_pb2.ItemRef(sku=preview_catalog.items[0].sku)
    with pytest.raises(grpc.RpcError) as info:
        encoder_pb2_grpc.EncoderServiceStub(preview_channel).Preview(
            encoder_pb2.PreviewRequest(item=item, changes=changes), timeout=30)
    assert info.value.code() == code, info.value.details()
    if field is not None:
        assert [f for f, _ in field_violations(info.value)] == [field]
    else:
        assert "NO-SUCH-SKU" in info.value.details()


@pytest.fixture
def bare_encoder(preview_model_dir: Path) -> Encoder:
    return Encoder.load(preview_model_dir, "cpu")


def _serve(servicer: EncoderServicer):
    service = Service.from_descriptor(encoder_pb2.DESCRIPTOR, "EncoderService",
                                      encoder_pb2_grpc.add_EncoderServiceServicer_to_server, servicer)
    return start_service_process([service], ServerSettings(grpc_port=0, metrics_port=0), Telemetry.create("t"))


def test_failed_precondition_without_a_decoder_or_without_an_index(bare_encoder: Encoder,
                                                                   preview_catalog: Catalog) -> None:
    photo = common_pb2.ItemRef(image=encode_png(preview_catalog.images[0]))
    sku = common_pb2.ItemRef(sku=preview_catalog.items[0].sku)
    process = _serve(EncoderServicer(bare_encoder, BoundedDecoder(), 8, 1 << 22, index=None))
    try:
        with grpc.insecure_channel(process.server.address) as channel:
            stub = encoder_pb2_grpc.EncoderServiceStub(channel)
            assert stub.Preview(encoder_pb2.PreviewRequest(item=photo), timeout=30).png  # photos need no index
            with pytest.raises(grpc.RpcError) as no_index:
                stub.Preview(encoder_pb2.PreviewRequest(item=sku), timeout=30)
            assert no_index.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "no index" in no_index.value.details()
            bare_encoder.decoder = None  # a model directory without preview.safetensors
            with pytest.raises(grpc.RpcError) as no_decoder:
                stub.Preview(encoder_pb2.PreviewRequest(item=photo), timeout=30)
            assert no_decoder.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "no preview decoder" in no_decoder.value.details()
    finally:
        process.stop(0.0, 2.0)


class _GatedDecoder:
    """The real decoder, held at its first image until released."""

    def __init__(self) -> None:
        self._inner = BoundedDecoder()
        self.release = threading.Event()

    def __call__(self, data: bytes, size: int, timeout_s: float | None = None):
        self.release.wait(30)
        return self._inner(data, size, timeout_s)


def test_work_stops_between_stages_once_the_deadline_passed(bare_encoder: Encoder, preview_catalog: Catalog) -> None:
    decoder, finished, calls = _GatedDecoder(), threading.Event(), []
    render = bare_encoder.render
    bare_encoder.render = lambda whole: calls.append(1) or render(whole)  # type: ignore[method-assign]

    class Finishing(EncoderServicer):
        def Preview(self, request, context):
            try:
                return super().Preview(request, context)
            finally:
                finished.set()

    process = _serve(Finishing(bare_encoder, decoder, 8, 1 << 22))
    try:
        with grpc.insecure_channel(process.server.address) as channel:
            with pytest.raises(grpc.RpcError) as info:
                encoder_pb2_grpc.EncoderServiceStub(channel).Preview(encoder_pb2.PreviewRequest(
                    item=common_pb2.ItemRef(image=encode_png(preview_catalog.images[0]))), timeout=0.5)
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            decoder.release.set()
            assert finished.wait(20)
    finally:
        decoder.release.set()
        process.stop(0.0, 2.0)
    assert calls == []  # the photo in hand was decoded; nothing was rendered


@pytest.mark.parametrize("by", ["sku", "photo"])
def test_manipulate_with_include_preview_returns_the_png(by: str, preview_catalog: Catalog,
                                                         preview_channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(preview_channel)
    item = (common_pb2.ItemRef(sku=preview_catalog.items[4].sku) if by == "sku"
            else common_pb2.ItemRef(image=encode_png(preview_catalog.images[4])))
    request = retrieval_pb2.ManipulateRequest(item=item, changes=[_change("color", _other_color(preview_catalog, 4))],
                                              k=3, include_preview=True)
    reply = stub.Manipulate(request, timeout=30)
    assert len(reply.hits) == 3
    size = _model(preview_channel).image_size
    assert _png_image(reply.preview_png).shape == (size, size, 3)
    request.include_preview = False
    assert stub.Manipulate(request, timeout=30).preview_png == b""


def test_manipulate_with_include_preview_fails_on_the_request_first(preview_catalog: Catalog,
                                                                    preview_channel: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(preview_channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Manipulate(retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(sku=preview_catalog.items[0].sku),
                                                        changes=[_change("colour", "red")], k=3,
                                                        include_preview=True), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(info.value)] == ["changes[0].attribute"]


def test_query_manipulate_preview_writes_the_png(preview_stack: Stack, preview_catalog: Catalog, tmp_path: Path,
                                                 capsys) -> None:
    out = tmp_path / "preview.png"
    assert main(["query", "--address", preview_stack.grpc_address, "manipulate", "--sku",
                 preview_catalog.items[1].sku, "--change", f"color={_other_color(preview_catalog, 1)}", "-k", "2",
                 "--preview", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"preview: {out}" in printed
    assert _png_image(out.read_bytes()).ndim == 3
