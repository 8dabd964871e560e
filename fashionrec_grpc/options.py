"""gRPC transport settings in one place: server keepalive and connection age, and the internal channel.

- Servers recycle connections (`max_connection_age`): behind a plain Kubernetes
  Service (L4), a client keeps its HTTP/2 connection to one pod for ever; a
  GOAWAY after FASHIONREC_MAX_CONNECTION_AGE_SECONDS makes it reconnect and
  land on a pod picked anew, so new replicas get traffic.
- Servers ping idle connections (keepalive) so dead peers behind NAT or a
  balancer are noticed, and accept the clients' pings at the rate they send them.
- The retrieval → encoder channel: round_robin over every address the name
  resolves to (a headless Service's `dns:///` name gives one per pod), a retry
  policy for UNAVAILABLE (a pod going away), and keepalive.
"""

from __future__ import annotations

import json
from typing import Any

import grpc

from fashionrec.config import RetrievalSettings, ServerSettings

__all__ = ["encoder_channel", "encoder_service_config", "intercept_channel", "server_options"]

# Clients may ping this often without being told "too many pings" (GOAWAY ENHANCE_YOUR_CALM).
_MIN_CLIENT_PING_INTERVAL_MS = 10_000


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def server_options(settings: ServerSettings) -> list[tuple[str, Any]]:
    """Channel arguments of a service's gRPC server.

    Args:
        settings: the server's settings (message size, connection age, keepalive).

    Returns:
        (name, value) pairs for grpc.server(options=...).
    """
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_connection_age_ms", _ms(settings.max_connection_age_seconds)),
        ("grpc.max_connection_age_grace_ms", _ms(settings.max_connection_age_grace_seconds)),
        ("grpc.keepalive_time_ms", _ms(settings.keepalive_seconds)),
        ("grpc.keepalive_timeout_ms", _ms(settings.keepalive_timeout_seconds)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", _MIN_CLIENT_PING_INTERVAL_MS),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def encoder_service_config(settings: RetrievalSettings) -> dict[str, Any]:
    """The service config of the retrieval → encoder channel (load balancing and retries).

    Args:
        settings: encoder_max_attempts sets the retry policy.

    Returns:
        A gRPC service config, as a dict (JSON for the grpc.service_config option).
    """
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if settings.encoder_max_attempts > 1:
        config["methodConfig"] = [{
            "name": [{"service": "fashionrec.v1.EncoderService"}],
            "retryPolicy": {
                # gRPC caps attempts at 5 whatever is configured.
                "maxAttempts": min(settings.encoder_max_attempts, 5),
                "initialBackoff": "0.05s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                # Encode has no side effects, so a retry is always safe.
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    return config


def encoder_channel(settings: RetrievalSettings, interceptors: tuple[Any, ...] = ()) -> grpc.Channel:
    """The retrieval service's channel to EncoderService.

    Args:
        settings: encoder_address, retry attempts, keepalive, message size.
        interceptors: client interceptors wrapped around the channel, the first outermost: grpc's own
            (grpc.UnaryUnaryClientInterceptor, ...) or OpenTelemetry's
            (fashionrec_grpc.serving.client_interceptor(telemetry), a grpcext interceptor, which
            grpc.intercept_channel refuses with TypeError).

    Returns:
        An insecure channel (the cluster network is trusted; see deploy/README.md).
    """
    options = [
        ("grpc.service_config", json.dumps(encoder_service_config(settings))),
        ("grpc.enable_retries", 1 if settings.encoder_max_attempts > 1 else 0),
        ("grpc.keepalive_time_ms", _ms(settings.encoder_keepalive_seconds)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.max_receive_message_length", settings.server.max_message_bytes),
        ("grpc.max_send_message_length", settings.server.max_message_bytes),
    ]
    channel = grpc.insecure_channel(settings.encoder_address, options=options)
    return intercept_channel(channel, *interceptors)


def intercept_channel(channel: grpc.Channel, *interceptors: Any) -> grpc.Channel:
    """channel behind interceptors, the first outermost, whichever API each one implements.

    OpenTelemetry's client interceptor implements its own grpcext API, not grpc's client interceptor
    classes: it goes through opentelemetry.instrumentation.grpc.grpcext.intercept_channel.
    """
    from opentelemetry.instrumentation.grpc import grpcext

    for interceptor in reversed(interceptors):  # wrap the innermost first
        if isinstance(interceptor, (grpcext.UnaryClientInterceptor, grpcext.StreamClientInterceptor)):
            channel = grpcext.intercept_channel(channel, interceptor)
        else:
            channel = grpc.intercept_channel(channel, interceptor)
    return channel
