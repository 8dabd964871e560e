"""OpenTelemetry tracing: a tracer provider per process, and W3C trace context in Kafka headers.

kafka-python's instrumentation only wraps `send` and the consumer iterator;
the ingest worker polls, so it extracts `traceparent` from the record headers
itself with `context_from_headers`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

OTLP_ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def tracer_provider(service_name: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider for one service; pass an exporter (in-memory in tests), spans are exported as they end."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def service_tracer_provider(service_name: str, environ: Mapping[str, str] | None = None) -> TracerProvider:
    """A service process's provider: batches spans to the OTLP collector named by the standard
    OTEL_EXPORTER_OTLP_ENDPOINT variable (as docker-compose sets it); no export when it is unset."""
    environ = os.environ if environ is None else environ
    provider = tracer_provider(service_name)
    endpoint = environ.get(OTLP_ENDPOINT_VARIABLE, "")
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
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
