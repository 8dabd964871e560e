"""Container health check: exit 0 when the local gRPC server reports SERVING.

    python deploy/grpc_health_probe.py [ADDRESS]   # default 127.0.0.1:$FASHIONREC_GRPC_PORT

Docker has no native gRPC probe (Kubernetes does: the manifests use it), and
the images carry no grpcurl, so this asks grpc.health.v1 with the library the
services already ship.
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def is_serving(address: str, timeout_s: float = 2.0) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def main(argv: list[str]) -> int:
    address = argv[1] if len(argv) > 1 else f"127.0.0.1:{os.environ.get('FASHIONREC_GRPC_PORT', '50051')}"
    return 0 if is_serving(address) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
