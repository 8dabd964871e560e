"""The interceptor over a real gRPC socket, in front of a small servicer that raises on cue."""

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from fashionrec import config
from fashionrec.errors import FieldViolation, InvalidArgument, NotFound
from fashionrec_grpc.status import field_violations
from fashionrec_grpc.serving import Service, server_interceptors, start_server
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import outfit_pb2, outfit_pb2_grpc


class _ScriptedOutfits(outfit_pb2_grpc.OutfitServiceServicer):
    def ScoreOutfit(self, request, context):
        behaviour = request.skus[0]
        if behaviour == "bad":
            raise InvalidArgument("skus[1]: unknown", [FieldViolation("skus[1]", "need at least two items")])
        if behaviour == "missing":
            raise NotFound("no item with sku 'x'")
        if behaviour == "bug":
            raise ZeroDivisionError("oops")
        if behaviour == "own-abort":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not ready")
        return outfit_pb2.ScoreOutfitResponse(score=0.5)


@pytest.fixture
def served_channel():
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.create("test", exporter)
    settings = config.load(config.OutfitSettings, {"FASHIONREC_GRPC_PORT": "0", "FASHIONREC_AUTH_TOKEN": "s3cret"})
    service = Service.from_descriptor(outfit_pb2.DESCRIPTOR, "OutfitService",
                                      outfit_pb2_grpc.add_OutfitServiceServicer_to_server, _ScriptedOutfits())
    server = start_server([service], settings.server, interceptors=server_interceptors(telemetry, settings.server))
    channel = grpc.insecure_channel(server.address)
    yield channel, telemetry.registry, exporter
    channel.close()
    server.stop(0, 0)


@pytest.fixture
def served(served_channel):
    channel, registry, exporter = served_channel
    return outfit_pb2_grpc.OutfitServiceStub(channel), registry, exporter


AUTH = (("authorization", "Bearer s3cret"),)


def _call(stub, first_sku: str, metadata=AUTH):
    return stub.ScoreOutfit(outfit_pb2.ScoreOutfitRequest(skus=[first_sku, "b"]), metadata=metadata, timeout=5)


def test_success_is_counted_timed_and_traced(served) -> None:
    stub, registry, exporter = served
    assert _call(stub, "ok").score == 0.5
    labels = {"grpc_type": "unary", "grpc_service": "fashionrec.v1.OutfitService", "grpc_method": "ScoreOutfit"}
    assert registry.get_sample_value("grpc_server_handled_total", {**labels, "grpc_code": "OK"}) == 1
    assert registry.get_sample_value("grpc_server_started_total", labels) == 1
    assert registry.get_sample_value("grpc_server_handling_seconds_count", labels) == 1
    [span] = exporter.get_finished_spans()  # OpenTelemetry's gRPC instrumentation, RPC semantic conventions
    assert span.name == "/fashionrec.v1.OutfitService/ScoreOutfit"
    assert span.attributes["rpc.system"] == "grpc" and span.attributes["rpc.method"] == "ScoreOutfit"


@pytest.mark.parametrize(("sku", "code", "message"), [
    ("bad", grpc.StatusCode.INVALID_ARGUMENT, "skus[1]"),
    ("missing", grpc.StatusCode.NOT_FOUND, "no item with sku"),
    ("bug", grpc.StatusCode.INTERNAL, "internal error (trace id"),
    ("own-abort", grpc.StatusCode.FAILED_PRECONDITION, "not ready"),
])
def test_errors_map_to_status_codes(served, sku, code, message) -> None:
    stub, registry, _ = served
    with pytest.raises(grpc.RpcError) as info:
        _call(stub, sku)
    assert info.value.code() == code
    assert message in info.value.details()
    assert registry.get_sample_value("grpc_server_handled_total", {
        "grpc_type": "unary", "grpc_service": "fashionrec.v1.OutfitService", "grpc_method": "ScoreOutfit",
        "grpc_code": code.name}) == 1


def test_invalid_argument_carries_field_violations(served) -> None:
    stub, _, _ = served
    with pytest.raises(grpc.RpcError) as info:
        _call(stub, "bad")
    assert field_violations(info.value) == [("skus[1]", "need at least two items")]


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),)])
def test_calls_without_the_token_are_unauthenticated(served, metadata) -> None:
    stub, _, _ = served
    with pytest.raises(grpc.RpcError) as info:
        _call(stub, "ok", metadata=metadata)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_opentelemetry_interceptor_only_when_spans_are_exported(monkeypatch) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from fashionrec.config import ServerSettings
    from fashionrec_grpc.interceptors import ServiceInterceptor as Ours

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    quiet = server_interceptors(Telemetry.create("quiet"), ServerSettings())
    assert [type(i) for i in quiet] == [Ours]
    traced = server_interceptors(Telemetry.create("traced", InMemorySpanExporter()), ServerSettings())
    assert len(traced) == 2 and isinstance(traced[-1], Ours)



def test_repeated_calls_are_each_counted_and_an_unknown_method_is_unimplemented(served_channel) -> None:
    # The wrapped handler is built once per method: every call must still be counted, timed and
    # checked for the token; a method name a client made up is UNIMPLEMENTED and not remembered.
    channel, registry, _ = served_channel
    stub = outfit_pb2_grpc.OutfitServiceStub(channel)
    assert _call(stub, "ok").score == 0.5
    with pytest.raises(grpc.RpcError):
        _call(stub, "bad")
    assert _call(stub, "ok").score == 0.5
    with pytest.raises(grpc.RpcError) as info:
        _call(stub, "ok", metadata=())
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    labels = {"grpc_type": "unary", "grpc_service": "fashionrec.v1.OutfitService", "grpc_method": "ScoreOutfit"}
    assert registry.get_sample_value("grpc_server_started_total", labels) == 4
    assert registry.get_sample_value("grpc_server_handling_seconds_count", labels) == 4
    assert registry.get_sample_value("grpc_server_handled_total", {**labels, "grpc_code": "OK"}) == 2
    assert registry.get_sample_value("grpc_server_handled_total", {**labels, "grpc_code": "UNAUTHENTICATED"}) == 1
    for n in range(3):
        invented = channel.unary_unary(f"/fashionrec.v1.OutfitService/Invented{n}")
        with pytest.raises(grpc.RpcError) as info:
            invented(b"", metadata=AUTH, timeout=5)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert registry.get_sample_value("grpc_server_started_total", {**labels, "grpc_method": "Invented0"}) is None


def test_an_unknown_method_leaves_nothing_behind() -> None:
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry

    from fashionrec.telemetry.metrics import RpcMetrics
    from fashionrec_grpc.interceptors import ServiceInterceptor

    interceptor = ServiceInterceptor(RpcMetrics(CollectorRegistry()))
    for n in range(100):
        details = SimpleNamespace(method=f"/x.Y/Invented{n}", invocation_metadata=())
        assert interceptor.intercept_service(lambda d: None, details) is None
    assert interceptor._wrapped == {}
