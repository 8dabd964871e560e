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
