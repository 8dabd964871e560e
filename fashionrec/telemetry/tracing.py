"""OpenTelemetry tracing: a tracer provider per process, and W3C trace context in Kafka headers.

kafka-python's instrumentation only wraps `send` and the consumer iterator;
the ingest worker polls, so it extracts `traceparent` from the record headers
itself with `context_from_headers`.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter


def tracer_provider(service_name: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider for one service; pass an exporter (OTLP in deployments, in-memory in tests)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def context_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context:
    """The trace context a producer put in a record's headers (empty context if none)."""
    carrier = {k.lower(): v.decode("latin-1") for k, v in headers or () if v is not None}
    return extract(carrier)


def headers_with_context(headers: list[tuple[str, bytes]] | None = None) -> list[tuple[str, bytes]]:
    """headers plus the current span's `traceparent` (and `tracestate`), for a produced record."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return [*(headers or []), *((k, v.encode("latin-1")) for k, v in carrier.items())]


def current_trace_id() -> str:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""
