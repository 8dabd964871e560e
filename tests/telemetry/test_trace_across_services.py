"""One trace across the split deployment: a photo Manipulate from a storefront, through the
retrieval service, to EncoderService, and back.

The encoder and the retrieval service run as two gRPC servers in this process, each with its own
Telemetry (metrics registry and tracer provider, as in its own process) wired the way their
`server.py` wires them: OpenTelemetry's server instrumentation on both, its client
instrumentation on the retrieval -> encoder channel (fashionrec_grpc.options.encoder_channel).
Each provider exports to its own in-memory exporter, so what each service would send to the
collector is observable. The retrieval service searches the session stack's index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from encoder_svc.server import services as encoder_services
from fashionrec_cli.dev_command import Stack
from fashionrec.config import EncoderSettings, RetrievalSettings, ServerSettings
from fashionrec.data.synthetic import generate_catalog
from fashionrec.data.publishing import catalog_items
from fashionrec_grpc.options import encoder_channel, intercept_channel
from fashionrec.model.inference import Encoder
from fashionrec_grpc.serving import ServiceProcess, client_interceptor, start_service_process
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, retrieval_pb2, retrieval_pb2_grpc
from retrieval_svc.photo_client import RemotePhotoEncoder
from retrieval_svc.server import services as retrieval_services
from tests.helpers import wait_for

SERVER = ServerSettings(grpc_port=0, metrics_port=0, drain_seconds=0, grace_seconds=1)
MANIPULATE = "/fashionrec.v1.RetrievalService/Manipulate"
ENCODE = "/fashionrec.v1.EncoderService/Encode"


@dataclasses.dataclass
class Split:
    address: str  # the retrieval service
    retrieval_spans: InMemorySpanExporter
    encoder_spans: InMemorySpanExporter


@pytest.fixture(scope="module")
def split(stack: Stack, model_dir: Path) -> Iterator[Split]:
    encoder_spans, retrieval_spans = InMemorySpanExporter(), InMemorySpanExporter()
    started: list[ServiceProcess] = []
    channel = None
    try:
        encoder = start_service_process(encoder_services(EncoderSettings(server=SERVER), Encoder.load(model_dir, "cpu")),
                                        SERVER, Telemetry.create("encoder_svc", encoder_spans))
        started.append(encoder)
        telemetry = Telemetry.create("retrieval_svc", retrieval_spans)
        settings = RetrievalSettings(server=SERVER, encoder_address=f"127.0.0.1:{encoder.server.port}")
        channel = encoder_channel(settings, (client_interceptor(telemetry),))  # as retrieval_svc.server.main
        retrieval = start_service_process(retrieval_services(stack.index, RemotePhotoEncoder(channel, stack.index)),
                                          SERVER, telemetry)
        started.append(retrieval)
        yield Split(f"127.0.0.1:{retrieval.server.port}", retrieval_spans, encoder_spans)
    finally:
        for process in reversed(started):
            process.stop(0, 1)
        if channel is not None:
            channel.close()


def _photo_manipulate() -> retrieval_pb2.ManipulateRequest:
    photo = catalog_items(generate_catalog(40, seed=99, image_size=64), [0])[0].image_png
    return retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(image=photo), k=5,
                                           changes=[common_pb2.AttributeChange(attribute="color", value="red")])


def _finished(exporter: InMemorySpanExporter, name: str, kind: SpanKind, trace_id: int) -> list:
    return [s for s in exporter.get_finished_spans()
            if s.name == name and s.kind == kind and s.context.trace_id == trace_id]


def test_a_photo_manipulate_is_one_trace_from_the_storefront_to_the_encoder(split: Split) -> None:
    """The storefront's trace continues in the retrieval service's server span, whose client span
    to the encoder is the parent of the encoder's server span: one trace id end to end."""
    storefront_spans = InMemorySpanExporter()
    storefront = Telemetry.create("storefront", storefront_spans)
    with grpc.insecure_channel(split.address) as plain:
        channel = intercept_channel(plain, client_interceptor(storefront))
        with storefront.tracer("storefront").start_as_current_span("page view") as page:
            response = retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate(_photo_manipulate(), timeout=60)
    assert len(response.hits) == 5
    trace_id = page.get_span_context().trace_id

    # Server spans end (and are exported) just after the response is sent: wait for them.
    wait_for(lambda: _finished(split.encoder_spans, ENCODE, SpanKind.SERVER, trace_id)
             and _finished(split.retrieval_spans, MANIPULATE, SpanKind.SERVER, trace_id),
             timeout_s=30, what="the server spans of this trace exported")
    [call] = _finished(storefront_spans, MANIPULATE, SpanKind.CLIENT, trace_id)
    [manipulate] = _finished(split.retrieval_spans, MANIPULATE, SpanKind.SERVER, trace_id)
    [encode_call] = _finished(split.retrieval_spans, ENCODE, SpanKind.CLIENT, trace_id)
    [encode] = _finished(split.encoder_spans, ENCODE, SpanKind.SERVER, trace_id)
    assert call.parent.span_id == page.get_span_context().span_id
    assert manipulate.parent.span_id == call.context.span_id and manipulate.parent.is_remote
    assert encode_call.parent.span_id == manipulate.context.span_id
    assert encode.parent.span_id == encode_call.context.span_id and encode.parent.is_remote
    assert manipulate.resource.attributes["service.name"] == "retrieval_svc"
    assert encode.resource.attributes["service.name"] == "encoder_svc"
    # Everything either service exported for this call belongs to the one trace.
    for exporter in (split.retrieval_spans, split.encoder_spans):
        during = [s for s in exporter.get_finished_spans() if s.start_time >= call.start_time
                  and s.end_time <= max(manipulate.end_time, encode.end_time)]
        assert {s.context.trace_id for s in during} == {trace_id}, [s.name for s in during]


def test_a_photo_manipulate_without_a_caller_trace_starts_one_that_reaches_the_encoder(split: Split) -> None:
    """A storefront without tracing: the retrieval service's server span is the root, and the
    encoder's server span still joins its trace."""
    with grpc.insecure_channel(split.address) as channel:
        response = retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate(_photo_manipulate(), timeout=60)
    assert len(response.hits) == 5

    def roots() -> list:
        return [s for s in split.retrieval_spans.get_finished_spans()
                if s.name == MANIPULATE and s.kind == SpanKind.SERVER and s.parent is None]

    wait_for(roots, timeout_s=30, what="the retrieval service's root span")
    [root] = roots()
    trace_id = root.context.trace_id
    wait_for(lambda: _finished(split.encoder_spans, ENCODE, SpanKind.SERVER, trace_id), timeout_s=30,
             what="the encoder's span in the retrieval service's trace")
    [encode_call] = _finished(split.retrieval_spans, ENCODE, SpanKind.CLIENT, trace_id)
    [encode] = _finished(split.encoder_spans, ENCODE, SpanKind.SERVER, trace_id)
    assert encode_call.parent.span_id == root.context.span_id
    assert encode.parent.span_id == encode_call.context.span_id
