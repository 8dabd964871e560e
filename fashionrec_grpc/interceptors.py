"""The server interceptor every service runs behind: auth, tracing, metrics, error mapping.

Handlers just raise the project's exceptions (fashionrec.errors); this turns
them into gRPC statuses through fashionrec_grpc.status, the one mapping. Health and reflection calls pass through untouched
(they are unauthenticated so that probes work).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry import trace

from fashionrec.errors import FashionrecError
from fashionrec_grpc.status import rich_status
from fashionrec.telemetry.metrics import RpcMetrics
from fashionrec.telemetry.tracing import current_trace_id

_log = logging.getLogger(__name__)
_PASS_THROUGH = ("/grpc.health.v1.", "/grpc.reflection.")


class ServiceInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: RpcMetrics, auth_token: str = "") -> None:
        self._metrics = metrics
        self._expected_auth = f"Bearer {auth_token}" if auth_token else ""
        # grpcio asks the interceptor for every call; the wrapped handler of a method (and its
        # metric children) is built once. Handlers are registered before the server starts.
        self._wrapped: dict[str, Any] = {}

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            handler = continuation(details)
            if handler is None:  # an unknown method: not cached, a client chooses the name
                return None
            wrapped = self._wrapped.setdefault(details.method, self._wrap(handler, details.method))
        return wrapped

    def _wrap(self, handler: Any, full_method: str) -> Any:
        if handler.unary_unary is None or full_method.startswith(_PASS_THROUGH):
            return handler
        service, _, method = full_method.lstrip("/").partition("/")
        inner = handler.unary_unary
        labels = {"grpc_type": "unary", "grpc_service": service, "grpc_method": method}
        started, handling = self._metrics.started.labels(**labels), self._metrics.handling.labels(**labels)

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            # The server span is OpenTelemetry's gRPC instrumentation's: it runs before this
            # interceptor and continues the caller's trace; this one adds auth, errors and metrics.
            started.inc()
            start = time.perf_counter()
            try:
                if self._expected_auth and not _same_token(dict(context.invocation_metadata()).get("authorization"),
                                                           self._expected_auth):
                    context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                  "missing or invalid bearer token: send 'authorization: Bearer <token>'")
                return self._call(inner, request, context, full_method)
            finally:
                code = context.code() or grpc.StatusCode.OK  # type: ignore[attr-defined]
                self._metrics.handled.labels(**labels, grpc_code=code.name).inc()
                handling.observe(time.perf_counter() - start)

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @staticmethod
    def _call(inner: Callable[..., Any], request: Any, context: grpc.ServicerContext, name: str) -> Any:
        try:
            return inner(request, context)
        except FashionrecError as exc:
            context.abort_with_status(rich_status(exc))
        except Exception as exc:
            if context.code() not in (None, grpc.StatusCode.OK):  # type: ignore[attr-defined]
                raise  # the handler aborted with a status of its own
            _log.exception("unhandled error in %s", name)
            trace.get_current_span().record_exception(exc)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error (trace id {current_trace_id() or 'n/a'})")


def _same_token(sent: str | bytes | None, expected: str) -> bool:
    """Compares in constant time, so response timing does not leak how much of a guess was right."""
    if sent is None:
        return False
    if isinstance(sent, str):
        sent = sent.encode("utf-8", errors="replace")
    return hmac.compare_digest(sent, expected.encode())
