"""The floor of a Python gRPC call on this machine: grpcio's sync server vs its asyncio server.

    .venv/bin/python -m bench.grpc_floor [--calls 2000]

Serves only the standard health service (Check does no work: a dict lookup), once from
grpc.server (a thread pool, as the services run) and once from grpc.aio.server (an event loop in
a thread), and times sequential Check calls from a sync client in this process and from a client
in a child process. Whatever a fashionrec call costs over the engine beyond this floor is ours
(docs/performance.md, issue 16 item 2). Timings only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import threading
import time
from concurrent import futures

import grpc
import numpy as np
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

__all__ = ["check_latency", "main"]


def check_latency(address: str, calls: int) -> tuple[float, float]:
    """p50 and p99 ms of sequential health Checks on one channel (200 untimed first)."""
    with grpc.insecure_channel(address) as channel:
        stub, request = health_pb2_grpc.HealthStub(channel), health_pb2.HealthCheckRequest()
        for _ in range(200):
            stub.Check(request)
        ms = []
        for _ in range(calls):
            started = time.perf_counter()
            stub.Check(request)
            ms.append((time.perf_counter() - started) * 1000)
    return float(np.median(ms)), float(np.percentile(ms, 99))


def _child(address: str, calls: int, out: multiprocessing.Queue) -> None:
    out.put(check_latency(address, calls))


def _from_child(address: str, calls: int) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_child, args=(address, calls, out))
    process.start()
    result = out.get()
    process.join()
    return result


def _sync_server() -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def _aio_server() -> str:
    """An asyncio server on an event loop of its own, in a daemon thread (it dies with the process)."""
    loop, ready, port = asyncio.new_event_loop(), threading.Event(), []

    async def serve() -> None:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health_aio.HealthServicer(), server)
        port.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        ready.set()
        await server.wait_for_termination()

    threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True).start()
    ready.wait()
    return f"127.0.0.1:{port[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print("| server | client in this process p50 / p99 ms | client in a child process p50 / p99 ms |")
    print("| --- | ---: | ---: |")
    server, address = _sync_server()
    rows = [("grpc.server (thread pool)", check_latency(address, args.calls), _from_child(address, args.calls))]
    server.stop(0)
    address = _aio_server()
    rows.append(("grpc.aio.server", check_latency(address, args.calls), _from_child(address, args.calls)))
    for name, here, child in rows:
        print(f"| {name} | {here[0]:.3f} / {here[1]:.2f} | {child[0]:.3f} / {child[1]:.2f} |")


if __name__ == "__main__":
    main()
