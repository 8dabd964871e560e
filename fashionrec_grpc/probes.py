"""Kubernetes-style probes over grpc.health.v1: readiness and liveness are different questions.

- Readiness, the empty service name "" (and each service's own name): can this
  process answer queries now? NOT_SERVING while a dependency (Qdrant) is
  unreachable, and while draining. A balancer stops sending; nothing restarts.
- Liveness, the service name LIVENESS_SERVICE: is the process alive and not
  wedged? Answered at call time: the gRPC server could run the call (its
  threads are not all stuck) and the health watch thread ran recently. It does
  not look at dependencies, so a Qdrant outage never restarts the fleet.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from grpc_health.v1 import health, health_pb2

__all__ = ["LIVENESS_SERVICE", "ProbeHealthServicer"]

LIVENESS_SERVICE = "fashionrec.Liveness"


class ProbeHealthServicer(health.HealthServicer):
    """grpc.health.v1 with a liveness name computed when asked (readiness names are set as usual)."""

    def __init__(self) -> None:
        super().__init__()
        self._alive: Callable[[], bool] = lambda: True

    def set_liveness(self, alive: Callable[[], bool]) -> None:
        """Liveness answers alive() from now on (before: SERVING whenever the server can answer).

        Args:
            alive: cheap and non-blocking; False turns liveness NOT_SERVING.
        """
        self._alive = alive

    def Check(self, request: health_pb2.HealthCheckRequest,  # noqa: N802 - the gRPC method name
              context: grpc.ServicerContext) -> health_pb2.HealthCheckResponse:
        """Liveness from alive(); every other name as grpc_health's servicer stores it."""
        if request.service == LIVENESS_SERVICE:
            serving = health_pb2.HealthCheckResponse.SERVING if self._alive() \
                else health_pb2.HealthCheckResponse.NOT_SERVING
            return health_pb2.HealthCheckResponse(status=serving)
        return super().Check(request, context)
