from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from fashionrec.telemetry.tracing import context_from_headers, headers_with_context, tracer_provider


def test_trace_context_travels_through_record_headers() -> None:
    exporter = InMemorySpanExporter()
    tracer = tracer_provider("test", exporter).get_tracer("test")
    with tracer.start_as_current_span("publish") as publish:
        headers = headers_with_context([("content-type", b"application/x-protobuf")])
    assert any(k == "traceparent" for k, _ in headers)

    with tracer.start_as_current_span("ingest", context=context_from_headers(headers)) as ingest:
        pass
    assert ingest.context.trace_id == publish.context.trace_id
    assert ingest.parent.span_id == publish.context.span_id


def test_headers_without_context_start_a_new_trace() -> None:
    tracer = tracer_provider("test").get_tracer("test")
    with tracer.start_as_current_span("ingest", context=context_from_headers([("content-type", b"x")])) as span:
        assert span.parent is None


def test_spans_reach_an_otlp_collector() -> None:
    """A real OTLP/gRPC receiver on loopback gets the spans of a service's provider."""
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    from fashionrec.telemetry.tracing import service_tracer_provider

    received: list = []

    class Collector(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            received.extend(s.name for r in request.resource_spans for ss in r.scope_spans for s in ss.spans)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        provider = service_tracer_provider("test", {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"})
        with provider.get_tracer("test").start_as_current_span("exported"):
            pass
        provider.shutdown()
    finally:
        server.stop(0)
    assert received == ["exported"]

