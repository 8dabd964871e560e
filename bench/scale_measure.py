"""The scale bench's measurements: the latency matrix (each query through gRPC, in-process, the
bare engine and exact search, interleaved), qdrant-client's local mode, and throughput."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from qdrant_client import QdrantClient

from bench.index_recall import FILTER_SHAPES, QUERY_TYPES, fill
from bench.scale_index import BenchConfig
from bench.scale_queries import (REQUEST_TYPES, Query, Stubs, _RecordingStore, draw_queries, grpc_calls, grpc_request,
                                 run_exact, run_in_process)
from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, EdgeStore, IndexSettings, ServerStore, edge_search
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.schema import IndexedItem
from fashionrec.ranking_metrics import mean_se


# "engine" is EdgeStore.search (the scan table for the small vectors, else the engine);
# "engine_only" the same search as the engine alone would run it (edge_search.run_search).
METHODS = ("grpc", "in_process", "engine", "engine_only", "exact")
# "service": a gRPC call's time less the store's time within that same call (the served index's
# store records it), i.e. what the service adds: grpcio, the interceptor, the servicer, reading
# the query item, composing, parsing payloads. gRPC p50 − store p50 mixes calls of different
# paths with different cache states (the store path runs right after the same query warmed it).
SERVICE = "service"


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_recall(summary: dict[str, Any], method: str) -> str:
    """A cell's recall@10 of method as "mean ± standard error" (no error in a report written
    before the bench measured it)."""
    mean, se = summary[f"recall_{method}"], summary.get(f"recall_{method}_se")
    return fmt(mean) if se is None else f"{fmt(mean)} ± {fmt(se)}"


@dataclass
class Cell:
    query: str
    shape: str
    ms: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in (*METHODS, SERVICE)})
    recall: dict[str, list[float]] = field(default_factory=lambda: {"engine": [], "grpc": []})
    local_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "filter": self.shape, "calls": len(self.ms["grpc"])}
        for method, values in self.ms.items():
            out[method] = _percentiles(values)
        for method, values in self.recall.items():
            out[f"recall_{method}"] = float(np.mean(values)) if values else None
            out[f"recall_{method}_se"] = mean_se(values) if values else None
        out["local"] = _percentiles(self.local_ms) if self.local_ms else None
        return out


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "calls": len(ms)}


def _recall(got: Sequence[str], expected: Sequence[str]) -> float | None:
    return len(set(got) & set(expected)) / len(expected) if expected else None


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def measure_cell(cell: Cell, queries: Sequence[Query], index: CatalogIndex, recorder: CatalogIndex,
                 store: EdgeStore, exact: ExactCatalog, stubs: Stubs, served: _RecordingStore) -> None:
    """Each query through every path, the order rotating from one query to the next.

    served is the store under the index the gRPC server answers from: its search_ms after a call
    is the store's share of that call (every search it made). The store path replays the query's
    first search only (an off-category manipulation's entry searches, docs/index.md, are in the
    in-process and gRPC paths).
    """
    for n, q in enumerate(queries):
        recorder._store.reset()  # type: ignore[attr-defined]
        run_in_process(recorder, q)  # untimed: captures the composed search
        version, search = recorder._store.first  # type: ignore[attr-defined]
        paths: dict[str, Callable[[], Any]] = {
            "grpc": lambda: stubs(q),
            "in_process": lambda: run_in_process(index, q),
            "engine": lambda: store.search(version, search),
            "engine_only": lambda: edge_search.run_search(store._shard(version), store._settings, search),
            "exact": lambda: run_exact(exact, q),
        }
        results = {}
        turn = n % len(METHODS)
        for method in METHODS[turn:] + METHODS[:turn]:
            served.reset()
            results[method], ms = _timed(paths[method])
            if method == "grpc":
                ms = stubs.last_ms  # timed in the client process
                if not served.searches:
                    raise RuntimeError(f"{q.kind} over gRPC did not search the served store")
                cell.ms[SERVICE].append(ms - served.search_ms)
            cell.ms[method].append(ms)
        engine_skus = [p.payload["sku"] for p in results["engine"]]
        for method, got in (("engine", engine_skus), ("grpc", results["grpc"])):
            value = _recall(got, results["exact"])
            if value is not None:
                cell.recall[method].append(value)


def measure_matrix(config: BenchConfig, artifact: ModelArtifact, items: list[IndexedItem], store: EdgeStore,
                   index: CatalogIndex, exact: ExactCatalog, address: str,
                   served: _RecordingStore) -> tuple[list[Cell], dict]:
    recorder = CatalogIndex(_RecordingStore(store))  # type: ignore[arg-type]
    cells, all_queries = [], {}
    stubs = Stubs(address)
    try:
        for kind in QUERY_TYPES:
            for shape in FILTER_SHAPES:
                queries = draw_queries(kind, shape, artifact, items, config.queries, config.seed)
                stubs(queries[0]), run_in_process(index, queries[0])  # warm-up
                cell = Cell(kind, shape)
                measure_cell(cell, queries, index, recorder, store, exact, stubs, served)
                cells.append(cell)
                all_queries[(kind, shape)] = queries
                s = cell.summary()
                print(f"  {kind:26s} {shape:22s} gRPC p50 {s['grpc']['p50_ms']:6.2f}  in-process "
                      f"{s['in_process']['p50_ms']:6.2f}  service {s[SERVICE]['p50_ms']:5.2f}  "
                      f"store {s['engine']['p50_ms']:6.2f}  engine alone "
                      f"{s['engine_only']['p50_ms']:6.2f}  exact "
                      f"{s['exact']['p50_ms']:6.2f} ms  recall engine {fmt_recall(s, 'engine')} "
                      f"gRPC {fmt_recall(s, 'grpc')}", flush=True)
    finally:
        stubs.close()
    return cells, all_queries


def measure_local(config: BenchConfig, artifact: ModelArtifact, items: list[IndexedItem],
                  cells: list[Cell], queries: dict) -> dict[str, Any]:
    """A few calls per cell on qdrant-client's local mode, loaded with the same items."""
    warnings.filterwarnings("ignore", message="(Payload indexes|Local mode)")
    index, load_s = fill(ServerStore(QdrantClient(location=":memory:"), IndexSettings()), artifact, items)
    print(f"qdrant-client local mode: {len(items):,} points loaded in {load_s:.1f} s", flush=True)
    for cell in cells:
        for q in queries[(cell.query, cell.shape)][:config.local_queries]:
            cell.local_ms.append(_timed(lambda: run_in_process(index, q))[1])
        print(f"  {cell.query:26s} {cell.shape:22s} local p50 {np.median(cell.local_ms) / 1000:.2f} s", flush=True)
    index.close()
    return {"load_s": load_s}


# -- throughput --------------------------------------------------------------------------


def process_cpu_s() -> float:
    """CPU seconds (user + system) of this process so far, all its threads (the engine's included)."""
    times = os.times()
    return times.user + times.system


def machine_cpu_s() -> tuple[float, float]:
    """CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) and stolen
    by the hypervisor (time a virtual CPU wanted to run and did not), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _client_load(address: str, method: str, payloads: list[bytes], clients: int, seconds: float) -> dict[str, Any]:
    """Runs in a child process: `clients` threads, each on its own connection, call `method` back to back.

    Returns the calls' figures and the cores this child used while they ran (`client_cores`)."""
    requests = [REQUEST_TYPES[method].FromString(p) for p in payloads]
    barrier = threading.Barrier(clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(n: int) -> None:
        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own
        with grpc.insecure_channel(address, options=options) as channel:
            call = grpc_calls(channel)[method]
            call(requests[n % len(requests)], timeout=30)  # connect
            barrier.wait()
            deadline = time.perf_counter() + seconds
            i = n
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    call(requests[i % len(requests)], timeout=30)
                except grpc.RpcError:
                    errors[n] += 1
                latencies[n].append((time.perf_counter() - started) * 1000)
                i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    cpu_started, started = process_cpu_s(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client_cores = (process_cpu_s() - cpu_started) / (time.perf_counter() - started)
    ms = np.concatenate([np.array(x) for x in latencies])
    return {"method": method, "clients": clients, "seconds": seconds, "calls": int(ms.size), "errors": sum(errors),
            "calls_per_s": ms.size / seconds, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "client_cores": client_cores}


def measure_throughput(config: BenchConfig, address: str, queries: dict) -> list[dict[str, Any]]:
    """Manipulate (the engine's graphs, and the scan table for a category's rows) and Complete (the
    scan table), all four filter shapes each, at each client count; the clients in a child process
    of their own."""
    out = []
    # A process pool (not multiprocessing.Pool, which restarts a child that fails to start forever).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(os.getpid).result()  # started before the first level: its start is not in its cores
        for method, kind in (("Manipulate", "manipulate"), ("Complete", "outfit")):
            payloads = [grpc_request(q)[1].SerializeToString() for shape in FILTER_SHAPES for q in queries[(kind, shape)]]
            for clients in config.clients:
                # The server runs in this process: its CPU over the level (connecting included, a
                # few calls) is what serving the calls cost; the machine's says whether cores idled.
                cpu, (busy, stolen), started = process_cpu_s(), machine_cpu_s(), time.perf_counter()
                result = pool.submit(_client_load, address, method, payloads, clients, config.load_seconds).result()
                wall = time.perf_counter() - started
                busy_after, stolen_after = machine_cpu_s()
                result["server_cores"] = (process_cpu_s() - cpu) / wall
                result["machine_busy_cores"] = (busy_after - busy) / wall
                result["machine_stolen_cores"] = (stolen_after - stolen) / wall
                result["load_average"] = os.getloadavg()
                print(f"  {method}, {clients:2d} clients: {result['calls_per_s']:7.1f} calls/s  "
                      f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  errors {result['errors']}  "
                      f"cores: server {result['server_cores']:.2f}, clients {result['client_cores']:.2f}, "
                      f"machine {result['machine_busy_cores']:.2f} busy + {result['machine_stolen_cores']:.2f} "
                      f"stolen of {os.cpu_count()}", flush=True)
                out.append(result)
    return out
