"""A call whose deadline passed or that the client cancelled stops working between stages (real gRPC server)."""

from __future__ import annotations

import threading

import grpc
import pytest

from encoder_svc.servicer import EncoderServicer
from fashionrec.config import ServerSettings
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import BoundedDecoder, encode_png
from fashionrec_grpc.serving import Service, start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc


class _GatedDecoder:
    """The real decoder, held at its first image until released; counts the images it decoded."""

    def __init__(self) -> None:
        self._inner = BoundedDecoder()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self, data: bytes, size: int, timeout_s: float | None = None):
        self.calls += 1
        self.entered.set()
        self.release.wait(30)
        return self._inner(data, size, timeout_s)


class _CountingEncoder:
    def __init__(self, inner) -> None:
        self._inner = inner
        self.spec = inner.spec
        self.calls = 0

    def encode(self, images):
        self.calls += 1
        return self._inner.encode(images)


class _Finishing(EncoderServicer):
    """The real servicer, saying when its handler returned."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.finished = threading.Event()
        self.terminated = threading.Event()  # the server knows the call is over

    def Encode(self, request, context):
        context.add_callback(self.terminated.set)
        try:
            return super().Encode(request, context)
        finally:
            self.finished.set()


@pytest.mark.parametrize("how", ["deadline", "cancel"])
def test_work_stops_once_the_call_is_over(how: str, encoder, small_catalog: Catalog) -> None:
    decoder, counting = _GatedDecoder(), _CountingEncoder(encoder)
    servicer = _Finishing(counting, decoder, max_images=64, max_image_bytes=1 << 22)
    service = Service.from_descriptor(encoder_pb2.DESCRIPTOR, "EncoderService",
                                      encoder_pb2_grpc.add_EncoderServiceServicer_to_server, servicer)
    process = start_service_process([service], ServerSettings(grpc_port=0, metrics_port=0), Telemetry.create("t"))
    request = encoder_pb2.EncodeRequest(images=[encode_png(small_catalog.images[i]) for i in range(8)])
    try:
        with grpc.insecure_channel(process.server.address) as channel:
            stub = encoder_pb2_grpc.EncoderServiceStub(channel)
            if how == "deadline":
                with pytest.raises(grpc.RpcError) as info:
                    stub.Encode(request, timeout=0.5)
                assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            else:
                future = stub.Encode.future(request, timeout=30)
                assert decoder.entered.wait(10)
                future.cancel()
                # The cancellation reaches the server asynchronously; release the decoder only once
                # it has (releasing earlier let the handler decode more images on a loaded machine:
                # a race in the test, not in the servicer).
                assert servicer.terminated.wait(10)
            decoder.release.set()
            # The handler finishes the image in hand, then sees the call is over.
            assert servicer.finished.wait(20)
    finally:
        decoder.release.set()
        process.stop(0.0, 2.0)
    assert decoder.calls == 1
    assert counting.calls == 0
