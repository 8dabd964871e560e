"""grpcio's share of a call as the handler's work grows, with no fashionrec code in the server.

    .venv/bin/python -m bench.grpc_transport [--calls 150] [--work-ms 0,2,8]

A sync grpc.server (a thread pool, as the services run) serves one bare unary method that
returns 2 KB (about a ten-hit SearchResponse) after some work of its own, timed inside the
handler: sleeping (the GIL released, the CPU idle), a Python loop (the GIL held), or numpy
matrix-vector products over 200k x 44 float32 rows (what a scan-table search does: memory
streamed through the caches). A client in a child process times each call; what is printed is
the call's time less the handler's: the transport, grpcio's threads and the wake-ups around the
handler. The scale bench's `service` column holds this plus fashionrec's own work
(docs/performance.md, round 8). Timings only; nothing is asserted.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported: one BLAS thread, as bench/scale.py runs
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import multiprocessing
import time
from concurrent import futures
from typing import Any

import grpc
import numpy as np

__all__ = ["WORK_KINDS", "measure", "main"]

WORK_KINDS = ("sleep", "python", "numpy")
_METHOD = "/bench.Transport/Do"
_RESPONSE = b"x" * 2048


class _Handler:
    """Does `kind:ms` of work per request and keeps how long it took (calls are sequential)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self._rows = rng.normal(size=(200_000, 44)).astype(np.float32)
        self._query = self._rows[0].copy()
        self.last_ms = 0.0

    def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        kind, ms = request.decode().split(":")
        started = time.perf_counter()
        until = started + float(ms) / 1000
        if kind == "sleep":
            time.sleep(float(ms) / 1000)
        elif kind == "python":
            while time.perf_counter() < until:
                pass
        else:
            while time.perf_counter() < until:
                self._rows @ self._query
        self.last_ms = (time.perf_counter() - started) * 1000
        return _RESPONSE


def _client(address: str, conn: Any) -> None:
    """In the child process: one call per request received, answered with its wall time (ms)."""
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(_METHOD)
        while (request := conn.recv()) is not None:
            started = time.perf_counter()
            call(request, timeout=30)
            conn.send((time.perf_counter() - started) * 1000)


def measure(calls: int, work_ms: tuple[float, ...]) -> list[dict[str, Any]]:
    """For each work kind and duration: p50 / p90 ms of (client's call − handler's work), 10 calls untimed first."""
    handler = _Handler()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "bench.Transport", {"Do": grpc.unary_unary_rpc_method_handler(handler)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    child = context.Process(target=_client, args=(f"127.0.0.1:{port}", child_conn), daemon=True)
    child.start()
    rows = []
    try:
        for kind in WORK_KINDS:
            for ms in work_ms:
                transport = []
                for n in range(calls + 10):
                    conn.send(f"{kind}:{ms}".encode())
                    call_ms = conn.recv()
                    if n >= 10:
                        transport.append(call_ms - handler.last_ms)
                rows.append({"work": kind, "work_ms": ms, "calls": calls,
                             "p50_ms": float(np.median(transport)), "p90_ms": float(np.percentile(transport, 90))})
    finally:
        conn.send(None)
        child.join(10)
        server.stop(0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--work-ms", default="0,2,8", help="handler work per call, ms, comma-separated")
    args = parser.parse_args()
    rows = measure(args.calls, tuple(float(x) for x in args.work_ms.split(",")))
    print("| handler's work | ms | call − handler p50 ms | p90 ms |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['work']} | {r['work_ms']:g} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} |")


if __name__ == "__main__":
    main()
