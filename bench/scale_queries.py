"""The scale bench's queries and the paths that answer them: the index in-process, the exact
reference, and the retrieval and outfit services over a real gRPC socket."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from bench.index_recall import K, _filters
from fashionrec.artifact import ModelArtifact
from fashionrec.config import ServerSettings
from fashionrec.errors import FailedPrecondition
from fashionrec.index import CatalogIndex, Change, EdgeStore, Filters
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import Search
from fashionrec.index.schema import IndexedItem
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from fashionrec_grpc.serving import ServiceProcess, start_service_process


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


def _ask(target: CatalogIndex | ExactCatalog, q: Query) -> Any:
    """The query's call on the index or on the exact reference (they share the method names)."""
    if q.changes:
        return target.manipulate(q.sku, list(q.changes), q.filters, K)
    if q.weights:
        return target.similar_by(q.sku, dict(q.weights), q.filters, K)
    return target.complete_outfit(list(q.outfit), q.category, q.filters, K)


def run_in_process(index: CatalogIndex, q: Query) -> list[str]:
    return [h.item.sku for h in _ask(index, q).hits]


def run_exact(exact: ExactCatalog, q: Query) -> list[str]:
    return [sku for sku, _ in _ask(exact, q)]


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
    """Passes everything to the store and records, since the last reset(), the searches made
    (the first is the query's own: a manipulation filtered to another category than the item's
    adds an entry search per category, CatalogIndex._with_entries_in_category) and the time the
    store spent in them (ms)."""

    def __init__(self, store: EdgeStore) -> None:
        self._store = store
        self.searches: list[tuple[str, Search]] = []
        self.search_ms = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def reset(self) -> None:
        self.searches, self.search_ms = [], 0.0

    @property
    def first(self) -> tuple[str, Search]:
        """(version, Search) of the first search since reset(): the composed vector and filter."""
        return self.searches[0]

    def search(self, version: str, search: Search) -> Any:
        self.searches.append((version, search))
        started = time.perf_counter()
        try:
            return self._store.search(version, search)
        finally:
            self.search_ms += (time.perf_counter() - started) * 1000


def _no_photos(image: bytes, timeout_s: float | None, token: str | None) -> Any:
    raise FailedPrecondition("the scale bench serves SKU queries only")


def start_grpc(index: CatalogIndex) -> ServiceProcess:
    """The retrieval and outfit services on a free loopback port, wired as the service processes wire them.

    Give it a CatalogIndex over a _RecordingStore to know the store's share of each call (the
    latency matrix's service overhead: gRPC − the store's time within the same call)."""
    import outfit_svc.server
    import retrieval_svc.server

    services = [*retrieval_svc.server.services(index, _no_photos), *outfit_svc.server.services(index)]
    settings = ServerSettings(host="127.0.0.1", grpc_port=0, metrics_port=0)
    # The health check the services use: check_reachable where the index has it, else count.
    check = getattr(index, "check_reachable", index.count)
    return start_service_process(services, settings, Telemetry.create("bench-scale"), health_check=check)


REQUEST_TYPES = {"Manipulate": retrieval_pb2.ManipulateRequest, "SimilarBy": retrieval_pb2.SimilarByRequest,
                 "Complete": outfit_pb2.CompleteRequest}


def grpc_calls(channel: grpc.Channel) -> dict[str, Any]:
    """The services' unary calls by method name (the keys of REQUEST_TYPES)."""
    retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
    return {"Manipulate": retrieval.Manipulate, "SimilarBy": retrieval.SimilarBy,
            "Complete": outfit_pb2_grpc.OutfitServiceStub(channel).Complete}


class Stubs:
    """The gRPC calls of the queries, made from a client process of its own, as a storefront makes them.

    A client thread in the bench's process competes with the server's threads for the GIL: with
    the health service alone, p99 3.25 ms from the same process vs 0.78 ms from a child
    (bench/grpc_floor.py; docs/performance.md). The child times each call itself (`last_ms`), so
    the pipe that carries the request is not counted.
    """

    def __init__(self, address: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_calls, args=(address, child), daemon=True)
        self._process.start()
        self.last_ms = 0.0

    def __call__(self, q: Query) -> list[str]:
        method, request = grpc_request(q)
        self._conn.send((method, request.SerializeToString()))
        skus, self.last_ms, error = self._conn.recv()
        if error:
            raise RuntimeError(f"{method} failed in the client process: {error}")
        return skus

    def close(self) -> None:
        self._conn.send(None)
        self._process.join(10)


def _serve_calls(address: str, conn: Any) -> None:
    """Runs in the client process: a call per (method, serialized request), answered with (SKUs, ms, error)."""
    with grpc.insecure_channel(address) as channel:
        calls = grpc_calls(channel)
        while (job := conn.recv()) is not None:
            method, payload = job
            request = REQUEST_TYPES[method].FromString(payload)
            started = time.perf_counter()
            try:
                skus, error = [h.sku for h in calls[method](request, timeout=30).hits], None
            except grpc.RpcError as exc:
                skus, error = [], f"{exc.code()}: {exc.details()}"
            conn.send((skus, (time.perf_counter() - started) * 1000, error))
