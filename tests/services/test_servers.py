"""Health, reflection, limits and outages of the service processes, over real sockets."""

import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import outfit_svc.server
import retrieval_svc.server
from fashionrec import config
from fashionrec.embedded.broker import free_port
from fashionrec.index import open_index
from fashionrec_grpc.serving import start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc

SERVICES = ["fashionrec.v1.EncoderService", "fashionrec.v1.RetrievalService", "fashionrec.v1.OutfitService"]


def _health(channel: grpc.Channel, service: str) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_and_reflection_are_served(channel: grpc.Channel) -> None:
    for service in ["", *SERVICES]:
        assert _health(channel, service) == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    [reply] = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in reply.list_services_response.service}
    assert {*SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


@pytest.fixture
def unreachable_qdrant():
    """A retrieval and an outfit server whose Qdrant server (a closed port) is down."""
    settings = config.load(config.RetrievalSettings, {
        "FASHIONREC_GRPC_PORT": "0", "FASHIONREC_METRICS_PORT": "0", "FASHIONREC_MAX_MESSAGE_BYTES": "4096",
        "FASHIONREC_QDRANT_URL": f"http://127.0.0.1:{free_port()}", "FASHIONREC_QDRANT_TIMEOUT_SECONDS": "1",
    })
    index = open_index(settings.qdrant)
    services = [*retrieval_svc.server.services(index, lambda image, timeout: None),
                *outfit_svc.server.services(index)]
    process = start_service_process(services, settings.server, Telemetry.create("test"), health_check=index.check_reachable)
    channel = grpc.insecure_channel(process.server.address)
    yield channel
    channel.close()
    process.stop(0, 0)


def test_qdrant_down_gives_unavailable_and_not_serving(unreachable_qdrant: grpc.Channel) -> None:
    stub = retrieval_pb2_grpc.RetrievalServiceStub(unreachable_qdrant)
    with pytest.raises(grpc.RpcError) as info:
        stub.Manipulate(retrieval_pb2.ManipulateRequest(
            item=common_pb2.ItemRef(sku="a"), changes=[common_pb2.AttributeChange(attribute="color", value="red")],
            k=5), timeout=20)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "Qdrant" in info.value.details()
    deadline = time.monotonic() + 20
    while _health(unreachable_qdrant, "") != health_pb2.HealthCheckResponse.NOT_SERVING:
        assert time.monotonic() < deadline, "health never turned NOT_SERVING"
        time.sleep(0.2)


def test_oversized_request_gets_resource_exhausted(unreachable_qdrant: grpc.Channel) -> None:
    stub = outfit_pb2_grpc.OutfitServiceStub(unreachable_qdrant)
    with pytest.raises(grpc.RpcError) as info:
        stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=["x" * 5000, "y"]), timeout=5)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("module", ["retrieval_svc.server", "outfit_svc.server"])
def test_query_services_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
