"""Each service's server, started on a real socket: health, reflection, limits."""

import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import encoder_svc.server
import outfit_svc.server
import retrieval_svc.server
from fashionrec import config
from fashionrec.serving import start_server
from fashionrec.v1 import outfit_pb2, outfit_pb2_grpc

SERVERS = [
    (encoder_svc.server, config.EncoderSettings, "fashionrec.v1.EncoderService"),
    (retrieval_svc.server, config.RetrievalSettings, "fashionrec.v1.RetrievalService"),
    (outfit_svc.server, config.OutfitSettings, "fashionrec.v1.OutfitService"),
]


@pytest.fixture(params=SERVERS, ids=lambda s: s[2].rsplit(".", 1)[1])
def running(request):
    module, settings_cls, name = request.param
    settings = config.load(settings_cls, {"FASHIONREC_GRPC_PORT": "0"})
    server = start_server(module.services(settings), settings.server)
    yield server, name
    server.stop(0, 0)


def _reflected_services(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [response] = list(stub.ServerReflectionInfo(iter([request])))
    return {s.name for s in response.list_services_response.service}


def test_health_and_reflection_are_served(running) -> None:
    server, name = running
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", name):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert {name, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= _reflected_services(channel)


def test_stop_turns_health_not_serving_first(running) -> None:
    server, name = running
    server.set_serving(False)
    with grpc.insecure_channel(server.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_oversized_request_gets_resource_exhausted() -> None:
    settings = config.load(config.OutfitSettings, {"FASHIONREC_GRPC_PORT": "0", "FASHIONREC_MAX_MESSAGE_BYTES": "1024"})
    server = start_server(outfit_svc.server.services(settings), settings.server)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = outfit_pb2_grpc.OutfitServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=["x" * 2000]), timeout=5)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        server.stop(0, 0)


@pytest.mark.parametrize("module", ["retrieval_svc.server", "outfit_svc.server"])
def test_query_services_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; {module}.services; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
