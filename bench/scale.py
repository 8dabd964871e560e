"""Scale bench: one catalog size, every query kind x filter shape, from the gRPC edge down to the engine.

    .venv/bin/python -m bench.scale --items 100000
    .venv/bin/python -m bench.scale --items 20000 --queries 50 --clients 1,4,16 --skip-local

What it does, for a catalog of --items points:

1. Builds (or reuses, from --index-dir/<items>-seed<seed>-<version>-<settings hash>/) an embedded qdrant-edge
   index of synthetic items at the SHIPPED model's dimensions and vocabulary (the spec of
   models/adde-synthetic: 6 attributes with 10/12/6/5/5/5 values, 32 dims per attribute,
   64 outfit dims, its β and ω). The vectors have the cluster structure of
   fashionrec.index.synthetic_vectors: each attribute chunk is its value's prototype plus noise,
   the prototypes block-diagonal at the shipped shape. Upserts and optimize are timed apart.
2. Serves the index over a real gRPC socket: the retrieval and outfit servicers behind
   fashionrec_grpc.serving.start_service_process (interceptors, health watch), in this process.
3. For every cell of bench/index_recall.py's matrix (QUERY_TYPES x FILTER_SHAPES), --queries
   random queries; each query is run, in a rotating order, through
     gRPC        the generated stub over the loopback socket (client wall time),
     in-process  the CatalogIndex method (validation, composition, payload parsing),
     engine      EdgeStore.search with the composed vector and filter that call sent
                 (captured from a CatalogIndex over a recording store): the bare engine plus the
                 store's request and payload conversion,
     exact       fashionrec.index.exact.ExactCatalog (numpy, single BLAS thread, see below),
   and recall@10 of the engine and of gRPC against exact.
4. qdrant-client local mode (QdrantClient(":memory:")): --local-queries calls per cell, only
   when --items <= 100,000 and without --skip-local (it takes seconds per call).
5. Manipulate throughput over gRPC at --clients concurrent clients (a child process, one
   channel and connection per client, --load-seconds each): calls/s, p50 and p99.
6. RSS (/proc/self/status) before and after the index is built or opened: RSS per point.

Writes scale-<items>.json and scale-<items>.md under --out (default bench-results/, git-ignored)
and prints the tables. Wall times on a shared machine: the header has `uptime` at the start and
the end. numpy runs with one BLAS thread when this is the main program (its threads spin after
a call and would be timed into the next engine call; docs/performance.md).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import datetime
import hashlib
import json
import multiprocessing
import platform
import subprocess
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

from bench.index_recall import FILTER_SHAPES, K, QUERY_TYPES, _filters
from fashionrec.artifact import ModelArtifact, load_artifact
from fashionrec.config import ServerSettings
from fashionrec.errors import FailedPrecondition
from fashionrec.index import CatalogIndex, Change, EdgeStore, Filters, IndexSettings, ServerStore
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import Search
from fashionrec.index.schema import IndexedItem
from fashionrec.index.synthetic_vectors import SyntheticShape, synthetic_items
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from fashionrec_grpc.serving import ServiceProcess, start_service_process

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "adde-synthetic"
LOCAL_MAX_ITEMS = 100_000
UPSERT_BATCH = 1000
METHODS = ("grpc", "in_process", "engine", "exact")


@dataclass(frozen=True)
class BenchConfig:
    items: int
    queries: int = 100
    seed: int = 0
    index_dir: Path = Path(".fashionrec/bench-scale")
    clients: tuple[int, ...] = (1, 4, 16)
    load_seconds: float = 5.0
    local_queries: int = 2
    skip_local: bool = False
    model: Path = SHIPPED_MODEL
    # False leaves the points outside the search graphs (the engine scans them exactly): for the
    # test, whose 600 points are scanned exactly anyway, and where a build costs ~15 s.
    optimize: bool = True


# -- the catalog ----------------------------------------------------------------------------


def bench_artifact(model: Path, seed: int) -> ModelArtifact:
    """The shipped model's spec (vocabulary, dims, β, ω) with synthetic prototypes and outfit form.

    SyntheticShape cannot express the shipped vocabulary (its attributes have different numbers
    of values), so the prototypes are drawn here the way synthetic_artifact draws them:
    block-diagonal, N(0, 1/d) per value. The trained M has columns of norm 3-18, which would
    make the noise of synthetic_items negligible and the clusters degenerate.
    """
    spec = load_artifact(model).spec
    spec = dataclasses.replace(spec, version=f"{spec.version}-scale{seed}")
    vocab, d = spec.vocabulary, spec.attribute_dim
    rng = np.random.default_rng(seed)
    prototypes = np.zeros((spec.whole_dim, vocab.total_values), dtype=np.float32)
    for a, offset in enumerate(vocab.offsets):
        for v in range(len(vocab.attributes[a].values)):
            prototypes[a * d:(a + 1) * d, offset + v] = rng.normal(size=d) / np.sqrt(d)
    form = np.eye(spec.outfit_dim) * 5.0 + rng.normal(size=(spec.outfit_dim, spec.outfit_dim))
    return ModelArtifact(spec, prototypes, form.astype(np.float32))


def catalog_items(artifact: ModelArtifact, count: int, seed: int) -> list[IndexedItem]:
    return synthetic_items(artifact, count, SyntheticShape(), seed=seed)


def rss_kb() -> dict[str, int]:
    """VmRSS, RssAnon and RssFile of this process, in KiB (psutil is not a dependency)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            out[name] = int(value.split()[0])
    return out


def open_or_build(config: BenchConfig, artifact: ModelArtifact,
                  items: list[IndexedItem]) -> tuple[EdgeStore, CatalogIndex, dict[str, Any]]:
    """The index from the cache directory when a finished build of the same catalog is there, else built."""
    # Keyed by what decides the index: the catalog (size, seed, model) and the engine's settings.
    settings = hashlib.sha1(json.dumps(dataclasses.asdict(IndexSettings()), sort_keys=True).encode()).hexdigest()
    plain = "" if config.optimize else "-plain"
    directory = config.index_dir / f"{config.items}-seed{config.seed}-{artifact.spec.version}-{settings[:8]}{plain}"
    record = directory / "build.json"
    if record.exists():
        store = EdgeStore(directory / "qdrant", IndexSettings())
        index = CatalogIndex(store)
        if index.count() == config.items:
            return store, index, {**json.loads(record.read_text()), "reused": True, "directory": str(directory)}
        index.close()
    if directory.exists():
        import shutil
        shutil.rmtree(directory)
    store = EdgeStore(directory / "qdrant", IndexSettings())
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live(artifact.spec.version)
    started = time.perf_counter()
    for start in range(0, len(items), UPSERT_BATCH):
        index.upsert(items[start:start + UPSERT_BATCH])
    upserted = time.perf_counter()
    if config.optimize:
        index.optimize()
    build = {"build_s": upserted - started, "optimize_s": time.perf_counter() - upserted,
             "optimized": config.optimize, "built_at": _now(), "load_average": os.getloadavg()}
    record.write_text(json.dumps(build, indent=2))
    return store, index, {**build, "reused": False, "directory": str(directory)}


# -- the queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str
    shape: str
    sku: str
    category: str
    filters: Filters
    changes: tuple[Change, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    outfit: tuple[str, ...] = ()


def draw_queries(kind: str, shape: str, artifact: ModelArtifact, items: Sequence[IndexedItem],
                 count: int, seed: int) -> list[Query]:
    """count queries of one cell, drawn as bench/index_recall.py draws them (weights as float32)."""
    spec = artifact.spec
    names = spec.attribute_names
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        sku = items[int(rng.integers(len(items)))].item.sku
        category = spec.categories[int(rng.integers(len(spec.categories)))]
        query = Query(kind, shape, sku, category, _filters(shape, category))
        if kind == "manipulate":
            attribute = names[int(rng.integers(1, len(names)))]
            values = spec.vocabulary.attribute(attribute).values
            query = dataclasses.replace(query, changes=(Change(attribute, values[int(rng.integers(len(values)))]),))
        elif kind.endswith("one attribute"):
            query = dataclasses.replace(query, weights=((names[int(rng.integers(len(names)))], 1.0),))
        elif kind.startswith("similar_by"):
            chosen = rng.choice(len(names), size=3, replace=False)
            weights = tuple((names[int(a)], float(np.float32(rng.uniform(0.1, 1.0)))) for a in chosen)
            query = dataclasses.replace(query, weights=weights)
        else:
            outfit = tuple(items[int(i)].item.sku for i in rng.choice(len(items), size=3, replace=False))
            query = dataclasses.replace(query, outfit=outfit)
        out.append(query)
    return out


def run_in_process(index: CatalogIndex, q: Query) -> list[str]:
    if q.changes:
        result = index.manipulate(q.sku, list(q.changes), q.filters, K)
    elif q.weights:
        result = index.similar_by(q.sku, dict(q.weights), q.filters, K)
    else:
        result = index.complete_outfit(list(q.outfit), q.category, q.filters, K)
    return [h.item.sku for h in result.hits]


def run_exact(exact: ExactCatalog, q: Query) -> list[str]:
    if q.changes:
        hits = exact.manipulate(q.sku, list(q.changes), q.filters, K)
    elif q.weights:
        hits = exact.similar_by(q.sku, dict(q.weights), q.filters, K)
    else:
        hits = exact.complete_outfit(list(q.outfit), q.category, q.filters, K)
    return [sku for sku, _ in hits]


def filters_proto(f: Filters) -> common_pb2.Filters:
    out = common_pb2.Filters(categories=list(f.categories), brands=list(f.brands))
    for name in ("min_price", "max_price", "in_stock"):
        if getattr(f, name) is not None:
            setattr(out, name, getattr(f, name))
    return out


def grpc_request(q: Query) -> tuple[str, Any]:
    """(method, request) of a query: RetrievalService.Manipulate / SimilarBy, OutfitService.Complete."""
    ref, f = common_pb2.ItemRef(sku=q.sku), filters_proto(q.filters)
    if q.changes:
        changes = [common_pb2.AttributeChange(attribute=c.attribute, value=c.value) for c in q.changes]
        return "Manipulate", retrieval_pb2.ManipulateRequest(item=ref, changes=changes, filters=f, k=K)
    if q.weights:
        weights = [retrieval_pb2.AttributeWeight(attribute=a, weight=w) for a, w in q.weights]
        return "SimilarBy", retrieval_pb2.SimilarByRequest(item=ref, weights=weights, filters=f, k=K)
    return "Complete", outfit_pb2.CompleteRequest(outfit_skus=list(q.outfit), target_category=q.category,
                                                  filters=f, k=K)


class _RecordingStore:
    """Passes everything to the store and keeps the last search: the composed vector and filter."""

    def __init__(self, store: EdgeStore) -> None:
        self._store = store
        self.last: tuple[str, Search] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def search(self, version: str, search: Search) -> Any:
        self.last = (version, search)
        return self._store.search(version, search)


# -- the gRPC server ------------------------------------------------------------------------


def _no_photos(image: bytes, timeout_s: float | None, token: str | None) -> Any:
    raise FailedPrecondition("the scale bench serves SKU queries only")


def start_grpc(index: CatalogIndex) -> ServiceProcess:
    """The retrieval and outfit services on a free loopback port, wired as the service processes wire them."""
    import outfit_svc.server
    import retrieval_svc.server

    services = [*retrieval_svc.server.services(index, _no_photos), *outfit_svc.server.services(index)]
    settings = ServerSettings(host="127.0.0.1", grpc_port=0, metrics_port=0)
    # The health check the services use: check_reachable where the index has it, else count.
    check = getattr(index, "check_reachable", index.count)
    return start_service_process(services, settings, Telemetry.create("bench-scale"), health_check=check)


class Stubs:
    def __init__(self, channel: grpc.Channel) -> None:
        retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        outfits = outfit_pb2_grpc.OutfitServiceStub(channel)
        self.calls = {"Manipulate": retrieval.Manipulate, "SimilarBy": retrieval.SimilarBy,
                      "Complete": outfits.Complete}

    def __call__(self, q: Query) -> list[str]:
        method, request = grpc_request(q)
        return [h.sku for h in self.calls[method](request, timeout=30).hits]


# -- the latency matrix ---------------------------------------------------------------------


@dataclass
class Cell:
    query: str
    shape: str
    ms: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    recall: dict[str, list[float]] = field(default_factory=lambda: {"engine": [], "grpc": []})
    local_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "filter": self.shape, "calls": len(self.ms["grpc"])}
        for method, values in self.ms.items():
            out[method] = _percentiles(values)
        for method, values in self.recall.items():
            out[f"recall_{method}"] = float(np.mean(values)) if values else None
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
                 store: EdgeStore, exact: ExactCatalog, stubs: Stubs) -> None:
    """Each query through the four paths, the order rotating from one query to the next."""
    for n, q in enumerate(queries):
        run_in_process(recorder, q)  # untimed: captures the composed search
        version, search = recorder._store.last  # type: ignore[attr-defined]
        paths: dict[str, Callable[[], Any]] = {
            "grpc": lambda: stubs(q),
            "in_process": lambda: run_in_process(index, q),
            "engine": lambda: store.search(version, search),
            "exact": lambda: run_exact(exact, q),
        }
        results = {}
        for method in METHODS[n % 4:] + METHODS[:n % 4]:
            results[method], ms = _timed(paths[method])
            cell.ms[method].append(ms)
        engine_skus = [p.payload["sku"] for p in results["engine"]]
        for method, got in (("engine", engine_skus), ("grpc", results["grpc"])):
            value = _recall(got, results["exact"])
            if value is not None:
                cell.recall[method].append(value)


def measure_matrix(config: BenchConfig, artifact: ModelArtifact, items: list[IndexedItem], store: EdgeStore,
                   index: CatalogIndex, exact: ExactCatalog, address: str) -> tuple[list[Cell], dict]:
    recorder = CatalogIndex(_RecordingStore(store))  # type: ignore[arg-type]
    cells, all_queries = [], {}
    with grpc.insecure_channel(address) as channel:
        stubs = Stubs(channel)
        for kind in QUERY_TYPES:
            for shape in FILTER_SHAPES:
                queries = draw_queries(kind, shape, artifact, items, config.queries, config.seed)
                stubs(queries[0]), run_in_process(index, queries[0])  # warm-up
                cell = Cell(kind, shape)
                measure_cell(cell, queries, index, recorder, store, exact, stubs)
                cells.append(cell)
                all_queries[(kind, shape)] = queries
                s = cell.summary()
                print(f"  {kind:26s} {shape:22s} gRPC p50 {s['grpc']['p50_ms']:6.2f}  in-process "
                      f"{s['in_process']['p50_ms']:6.2f}  engine {s['engine']['p50_ms']:6.2f}  exact "
                      f"{s['exact']['p50_ms']:6.2f} ms  recall engine {_fmt(s['recall_engine'])} "
                      f"gRPC {_fmt(s['recall_grpc'])}", flush=True)
    return cells, all_queries


def measure_local(config: BenchConfig, artifact: ModelArtifact, items: list[IndexedItem],
                  cells: list[Cell], queries: dict) -> dict[str, Any]:
    """A few calls per cell on qdrant-client's local mode, loaded with the same items."""
    warnings.filterwarnings("ignore", message="(Payload indexes|Local mode)")
    index = CatalogIndex(ServerStore(QdrantClient(location=":memory:"), IndexSettings()))
    index.create_version(artifact)
    index.set_live(artifact.spec.version)
    started = time.perf_counter()
    for start in range(0, len(items), UPSERT_BATCH):
        index.upsert(items[start:start + UPSERT_BATCH])
    load_s = time.perf_counter() - started
    print(f"qdrant-client local mode: {len(items):,} points loaded in {load_s:.1f} s", flush=True)
    for cell in cells:
        for q in queries[(cell.query, cell.shape)][:config.local_queries]:
            cell.local_ms.append(_timed(lambda: run_in_process(index, q))[1])
        print(f"  {cell.query:26s} {cell.shape:22s} local p50 {np.median(cell.local_ms) / 1000:.2f} s", flush=True)
    index.close()
    return {"load_s": load_s}


# -- throughput -----------------------------------------------------------------------------


def _client_load(address: str, payloads: list[bytes], clients: int, seconds: float) -> dict[str, Any]:
    """Runs in a child process: `clients` threads, each on its own connection, call Manipulate back to back."""
    requests = [retrieval_pb2.ManipulateRequest.FromString(p) for p in payloads]
    barrier = threading.Barrier(clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(n: int) -> None:
        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own
        with grpc.insecure_channel(address, options=options) as channel:
            call = retrieval_pb2_grpc.RetrievalServiceStub(channel).Manipulate
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
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = np.concatenate([np.array(x) for x in latencies])
    return {"clients": clients, "seconds": seconds, "calls": int(ms.size), "errors": sum(errors),
            "calls_per_s": ms.size / seconds, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99))}


def measure_throughput(config: BenchConfig, address: str, queries: dict) -> list[dict[str, Any]]:
    """Manipulate (all four filter shapes) at each client count, clients in a child process of their own."""
    payloads = [grpc_request(q)[1].SerializeToString()
                for shape in FILTER_SHAPES for q in queries[("manipulate", shape)]]
    out = []
    # A process pool (not multiprocessing.Pool, which restarts a child that fails to start forever).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for clients in config.clients:
            result = pool.submit(_client_load, address, payloads, clients, config.load_seconds).result()
            result["load_average"] = os.getloadavg()
            print(f"  Manipulate, {clients:2d} clients: {result['calls_per_s']:7.1f} calls/s  "
                  f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  errors {result['errors']}",
                  flush=True)
            out.append(result)
    return out


# -- the run and its report -----------------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _code_version() -> str:
    """The commit the bench ran on, "+changes" when the working tree differed from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def run(config: BenchConfig) -> dict[str, Any]:
    """Builds or opens the index, measures everything, returns the report (what the JSON file holds)."""
    report: dict[str, Any] = {"items": config.items, "seed": config.seed, "queries_per_cell": config.queries,
                              "started": _now(), "uptime_start": _uptime(), "code": _code_version(),
                              "cpus": os.cpu_count(), "machine": platform.machine(),
                              "settings": dataclasses.asdict(IndexSettings())}
    artifact = bench_artifact(config.model, config.seed)
    report["model"] = {"spec_of": str(config.model), "version": artifact.spec.version,
                       "vocabulary": {a.name: len(a.values) for a in artifact.spec.vocabulary.attributes},
                       "attribute_dim": artifact.spec.attribute_dim, "outfit_dim": artifact.spec.outfit_dim}
    started = time.perf_counter()
    items = catalog_items(artifact, config.items, config.seed)
    exact = ExactCatalog(artifact, items)
    report["generate_s"] = time.perf_counter() - started
    rss_before = rss_kb()
    store, index, report["build"] = open_or_build(config, artifact, items)
    rss_index = rss_kb()
    print(f"{config.items:,} items: generated in {report['generate_s']:.1f} s; index "
          f"{'reused' if report['build']['reused'] else 'built'}: upserts {report['build']['build_s']:.1f} s, "
          f"optimize {report['build']['optimize_s']:.1f} s", flush=True)
    process = start_grpc(index)
    try:
        address = process.server.address
        cells, queries = measure_matrix(config, artifact, items, store, index, exact, address)
        rss_queried = rss_kb()
        if not config.skip_local and config.local_queries > 0 and config.items <= LOCAL_MAX_ITEMS:
            report["local"] = measure_local(config, artifact, items, cells, queries)
        report["throughput"] = measure_throughput(config, address, queries) if config.clients else []
    finally:
        process.stop(0.0, 1.0)
        index.close()
    report["cells"] = [c.summary() for c in cells]
    report["rss_kb"] = {"before_index": rss_before, "index_ready": rss_index, "after_queries": rss_queried}
    report["rss_bytes_per_point"] = {
        "index_ready": (rss_index["VmRSS"] - rss_before["VmRSS"]) * 1024 / config.items,
        "after_queries": (rss_queried["VmRSS"] - rss_before["VmRSS"]) * 1024 / config.items,
    }
    report["finished"] = _now()
    report["uptime_end"] = _uptime()
    return report


def markdown(report: dict[str, Any]) -> str:
    build, rss = report["build"], report["rss_bytes_per_point"]
    lines = [
        f"### {report['items']:,} items, synthetic vectors at the shipped model's dimensions "
        f"({report['model']['version']})",
        "",
        f"- run {report['started']} – {report['finished']}, {report['queries_per_cell']} queries per cell, "
        f"seed {report['seed']}, {report['cpus']} CPUs, code {report.get('code', 'unknown')}",
        f"- `uptime` at the start: `{report['uptime_start']}`",
        f"- `uptime` at the end: `{report['uptime_end']}`",
        f"- build: upserts {build['build_s']:.1f} s, optimize {build['optimize_s']:.1f} s"
        + ("" if build.get("optimized", True) else " (not optimized: no search graphs)")
        + (f" (reused from {build['built_at']}, load average then {_loadavg(build)})" if build["reused"]
           else f" (load average after: {_loadavg(build)})"),
        f"- RSS per point: {rss['index_ready']:.0f} B with the index {'opened' if build['reused'] else 'built'}, "
        f"{rss['after_queries']:.0f} B after the queries (VmRSS; the items and the exact catalog excluded)",
    ]
    if "local" in report:
        lines.append(f"- qdrant-client local mode: loaded in {report['local']['load_s']:.1f} s")
    lines += ["", "| query | filter | gRPC p50 / p99 ms | in-process p50 / p99 ms | engine p50 / p99 ms | "
              "numpy exact p50 ms | qdrant-client local p50 s | recall@10 engine | recall@10 gRPC |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in report["cells"]:
        local = f"{c['local']['p50_ms'] / 1000:.2f} ({c['local']['calls']})" if c["local"] else "—"
        lines.append(
            f"| {c['query']} | {c['filter']} | {c['grpc']['p50_ms']:.2f} / {c['grpc']['p99_ms']:.2f} | "
            f"{c['in_process']['p50_ms']:.2f} / {c['in_process']['p99_ms']:.2f} | "
            f"{c['engine']['p50_ms']:.2f} / {c['engine']['p99_ms']:.2f} | {c['exact']['p50_ms']:.2f} | {local} | "
            f"{_fmt(c['recall_engine'])} | {_fmt(c['recall_grpc'])} |")
    if report["throughput"]:
        lines += ["", "| Manipulate over gRPC, clients | calls | calls/s | p50 ms | p99 ms | errors | load average |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for t in report["throughput"]:
            lines.append(f"| {t['clients']} | {t['calls']} | {t['calls_per_s']:.1f} | {t['p50_ms']:.2f} | "
                         f"{t['p99_ms']:.2f} | {t['errors']} | {_loadavg(t)} |")
    return "\n".join(lines) + "\n"


def _loadavg(record: dict[str, Any]) -> str:
    return ", ".join(f"{x:.2f}" for x in record["load_average"])


def write(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"scale-{report['items']}"
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, required=True, help="catalog size N")
    parser.add_argument("--queries", type=int, default=100, help="queries per cell (query kind x filter shape)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index-dir", type=Path, default=BenchConfig.index_dir,
                        help="cache of built indexes, one per items, seed and model version")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="where the JSON and markdown go")
    parser.add_argument("--clients", default="1,4,16", help="concurrent gRPC clients for throughput; '' skips")
    parser.add_argument("--load-seconds", type=float, default=BenchConfig.load_seconds,
                        help="duration of each throughput level")
    parser.add_argument("--local-queries", type=int, default=BenchConfig.local_queries,
                        help=f"qdrant-client local-mode calls per cell (only when --items <= {LOCAL_MAX_ITEMS:,})")
    parser.add_argument("--skip-local", action="store_true", help="no qdrant-client local mode")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="model whose spec sets the dimensions")
    args = parser.parse_args()
    config = BenchConfig(
        items=args.items, queries=args.queries, seed=args.seed, index_dir=args.index_dir,
        clients=tuple(int(c) for c in args.clients.split(",") if c.strip()), load_seconds=args.load_seconds,
        local_queries=args.local_queries, skip_local=args.skip_local, model=args.model,
    )
    report = run(config)
    json_path, md_path = write(report, args.out)
    print()
    print(markdown(report))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
