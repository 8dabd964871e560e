"""Liveness is not readiness, and the internal channel retries: over real gRPC sockets."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fashionrec import config
from fashionrec_grpc.options import encoder_channel
from fashionrec_grpc.probes import LIVENESS_SERVICE
from fashionrec_grpc.serving import Service, start_server, start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc
from tests.helpers import wait_for


def _qdrant_down() -> None:
    raise ConnectionError("qdrant unreachable")


def _status(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                         timeout=5).status


def test_a_dependency_outage_fails_readiness_but_not_liveness() -> None:
    settings = dataclasses.replace(config.ServerSettings(), grpc_port=0, metrics_port=0)
    service = Service.from_descriptor(outfit_pb2.DESCRIPTOR, "OutfitService",
                                      outfit_pb2_grpc.add_OutfitServiceServicer_to_server,
                                      outfit_pb2_grpc.OutfitServiceServicer())
    process = start_service_process([service], settings, Telemetry.create("probe-test"), health_check=_qdrant_down)
    address = process.server.address
    try:
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        wait_for(lambda: _status(address, "") == not_serving, 20, "readiness to see the outage")
        assert _status(address, LIVENESS_SERVICE) == health_pb2.HealthCheckResponse.SERVING
        process.health.stop()  # a wedged watch loop: liveness goes once it is stale
        process.server.health.set_liveness(lambda: process.health.alive(stale_s=0.0))
        assert _status(address, LIVENESS_SERVICE) == not_serving
    finally:
        process.stop(0.0, 0.0)


class _FlakyEncoder(encoder_pb2_grpc.EncoderServiceServicer):
    """Fails the first call of each pair with UNAVAILABLE, like a pod going away."""

    def __init__(self) -> None:
        self.calls = 0

    def GetModel(self, request, context):  # noqa: N802
        self.calls += 1
        if self.calls % 2:
            context.abort(grpc.StatusCode.UNAVAILABLE, "draining")
        return encoder_pb2.ModelInfo(model_version="v1")


def test_the_encoder_channel_retries_unavailable() -> None:
    flaky = _FlakyEncoder()
    server_settings = dataclasses.replace(config.ServerSettings(), grpc_port=0)
    server = start_server([Service.from_descriptor(encoder_pb2.DESCRIPTOR, "EncoderService",
                                                   encoder_pb2_grpc.add_EncoderServiceServicer_to_server, flaky)],
                          server_settings)
    try:
        settings = dataclasses.replace(config.RetrievalSettings(), encoder_address=server.address)
        with encoder_channel(settings) as channel:
            reply = encoder_pb2_grpc.EncoderServiceStub(channel).GetModel(encoder_pb2.GetModelRequest(), timeout=10)
        assert reply.model_version == "v1" and flaky.calls == 2
        no_retry = dataclasses.replace(settings, encoder_max_attempts=1)
        with encoder_channel(no_retry) as channel, pytest.raises(grpc.RpcError) as failed:
            encoder_pb2_grpc.EncoderServiceStub(channel).GetModel(encoder_pb2.GetModelRequest(), timeout=10)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(0, 0)
