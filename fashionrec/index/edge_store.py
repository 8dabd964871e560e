"""The embedded backend: the real Qdrant engine in-process (`qdrant-edge-py`).

    ROOT/
      LIVE                       the live version's directory name (switched by os.replace)
      versions/<collection>/
        model/                   config.json, prototypes.npy, outfit_bilinear.npy
        SHARD                    the current shard directory's name (absent: "shard")
        shard/, shard.<n>/       the qdrant-edge shard; a new generation after each optimize

`model/` is written last (into a temporary directory, then renamed), so a
version without it was never finished and is not listed. The store keeps every
shard it opened open until close(): a reader that resolved the old version
before a switch finishes its query on it, and the new one is opened before the
pointer moves, so a switch leaves no window without results. With the engine's
write-ahead log on, one process owns a shard: the embedded stack runs all
services in one process that shares one store.

Building the search graphs (`optimize`) happens in a child process, on a copy of the
shard: qdrant-edge's optimize() holds the GIL for its whole run (a Python thread looping
beside it ran 101 iterations a second instead of 2.4 million; 575 s at 50k points on the
loaded 2 cores), so in this process it would stall every query and the ingest. Writes
that arrive during the build are recorded and re-applied to the copy, which then replaces
the shard for new readers; the old one is closed once the queries on it have finished.

How a search is planned and sent to the engine is in fashionrec.index.edge_search. Searches on
the small vectors (`outfit`, `attr_<a>`: no graph, always scanned exactly) go to a ScanTable,
an in-memory copy of those vectors and of the filter fields kept in step with every write
(fashionrec.index.scan_table says why; fashionrec.index.edge_tables makes, fills and drops them;
since round 10 it holds `manipulation` too, and takes that vector's searches when they read few
enough rows: edge_search.scan_table_answers);
the k hits' payloads come from the engine.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as edge

from fashionrec.artifact import ModelArtifact, ModelSpec, load_artifact, load_spec
from fashionrec.index.edge_shard import open_edge_shard
from fashionrec.errors import FailedPrecondition, NotFound
from fashionrec.index import edge_search, schema
from fashionrec.index.edge_tables import ScanTables
from fashionrec.index.filters import Condition, Search
from fashionrec.index.store import IndexSettings, IndexStatus, Point, ScoredPoint, StoredPoint, VectorStore

_log = logging.getLogger(__name__)
_LIVE_FILE = "LIVE"
_SHARD_FILE = "SHARD"
# Below this many KB of vectors a segment stays plain (the engine's default indexing threshold, as
# measured: 6,000 points of 222 floats stayed plain, 50,000 were indexed).
_ENGINE_INDEXING_THRESHOLD_KB = 10_000
# How long a replaced shard stays open for the queries that started on it (a query takes ms).
_RETIRE_AFTER_S = 10.0
_INDEX_TYPES = {
    schema.KEYWORD: edge.PayloadSchemaType.Keyword,
    schema.FLOAT: edge.PayloadSchemaType.Float,
    schema.INTEGER: edge.PayloadSchemaType.Integer,
}


def open_version_shard(path: Path, spec: ModelSpec, settings: IndexSettings, wal_enabled: bool) -> edge.EdgeShard:
    """Opens (or creates) the shard of a model version with the index's HNSW settings."""
    hnsw = edge.HnswIndexConfig(m=settings.m, ef_construct=settings.ef_construct,
                                full_scan_threshold=settings.full_scan_threshold_kb, payload_m=settings.payload_m)
    no_graph = edge.HnswIndexConfig(m=0, ef_construct=settings.ef_construct,
                                    full_scan_threshold=settings.full_scan_threshold_kb, payload_m=0)
    # quantile 0.99: the int8 range ignores the outlying 1 % of values (the floored log-posteriors
    # of `manipulation` reach far below the rest); the rescoring with float32 corrects the order.
    int8 = edge.ScalarQuantizationConfig(type=edge.ScalarType.Int8, quantile=0.99, always_ram=True)
    dims = schema.vector_dims(spec)
    quantized = {name: int8 for name in dims if settings.is_quantized(name)}
    # The engine loads a shard only with the named vectors it was created with: a shard written
    # before round 8 has `whole`, declared here as that code declared it, then deleted below.
    legacy = LEGACY_WHOLE in _created_vectors(path)
    if legacy:
        dims = {**dims, LEGACY_WHOLE: spec.whole_dim}
        if settings.quantize_large_vectors:
            quantized = {**quantized, LEGACY_WHOLE: int8}
    optimizers = edge.EdgeOptimizersConfig(indexing_threshold=settings.indexing_threshold_kb)
    # Every vector is normalised by schema.point_vectors, so Dot ranks as cosine where that is meant.
    shard = open_edge_shard(path, dims, "dot", wal_enabled, hnsw, optimizers,
                            vector_hnsw={name: no_graph for name in dims if not settings.has_graph(name)},
                            vector_quantization=quantized)
    if legacy:
        # Kept, `whole` would cost its graph at every build and count its vectors as indexed
        # ones, hiding new points from the maintainer (IndexStatus counts the schema's vectors).
        shard.update(edge.UpdateOperation.delete_vector_name(LEGACY_WHOLE))
        _log.info("dropped the pre-round-8 vector %r from the shard at %s", LEGACY_WHOLE, path)
    return shard


# L2n(r) as a vector of its own, until round 8 (schema.py); now the first part of `manipulation`.
LEGACY_WHOLE = "whole"


def _created_vectors(path: Path) -> set[str]:
    """The named vectors of an existing shard (the engine's edge_config.json), empty for a new one
    or one whose config cannot be read (the engine's load then says what is wrong)."""
    try:
        return set(json.loads((path / "edge_config.json").read_text()).get("vectors", {}))
    except (OSError, ValueError, AttributeError):
        return set()


class EdgeStore(VectorStore):
    def __init__(
        self,
        root: str | Path,
        settings: IndexSettings = IndexSettings(),
        prefix: str = "fashionrec",
        wal_enabled: bool = True,
    ) -> None:
        self._root = Path(root)
        self._settings = settings
        self._prefix = prefix
        self._wal = wal_enabled
        self._lock = threading.Lock()
        # Writes hold it: an optimize copies the shard, and swaps in the copy, between writes.
        self._write_lock = threading.Lock()
        self._build_lock = threading.Lock()
        # Point ids written since an optimize copied the shard, per version being built.
        self._dirty: dict[str, set[str]] = {}
        self._shards: dict[str, edge.EdgeShard] = {}
        self._tables = ScanTables(settings, self._write_lock, self._shards.get)
        self._artifacts: dict[str, ModelArtifact] = {}
        (self._root / "versions").mkdir(parents=True, exist_ok=True)
        self._live = self._read_live()

    # -- versions ---------------------------------------------------------------------------

    def _dir(self, version: str) -> Path:
        return self._root / "versions" / schema.collection_name(self._prefix, version)

    def _read_live(self) -> str | None:
        path = self._root / _LIVE_FILE
        if not path.exists():
            return None
        name = path.read_text().strip()
        model = self._root / "versions" / name / "model"
        return load_spec(model).version if model.is_dir() else None

    def _open_shard(self, path: Path, spec: ModelSpec) -> edge.EdgeShard:
        return open_version_shard(path, spec, self._settings, self._wal)

    def _shard_dir(self, version: str) -> Path:
        pointer = self._dir(version) / _SHARD_FILE
        return self._dir(version) / (pointer.read_text().strip() if pointer.exists() else "shard")

    def _shard(self, version: str) -> edge.EdgeShard:
        shard = self._shards.get(version)
        if shard is None:
            spec = self.artifact(version).spec
            with self._lock:
                shard = self._shards.get(version)
                if shard is None:
                    shard = self._open_shard(self._shard_dir(version), spec)
                    self._shards[version] = shard
                    self._tables.start(version, spec, empty=False)
        return shard

    # -- scan tables ------------------------------------------------------------------------

    def wait_for_tables(self, timeout: float | None = None) -> bool:
        """Waits until the open versions' scan tables are full; False when one is not within timeout."""
        return self._tables.wait(timeout)

    def _write_shard(self, version: str, operation: edge.UpdateOperation) -> None:
        """A write to the version's shard (the caller holds the write lock). When the engine
        refuses it, what it applied is unknown: the scan table is dropped, it may no longer agree."""
        try:
            self._shard(version).update(operation)
        except BaseException:
            self._tables.drop(version, "a write failed in the engine")
            raise

    def create_version(self, artifact: ModelArtifact) -> None:
        spec = artifact.spec
        schema.check_spec(spec)
        directory = self._dir(spec.version)
        with self._lock:
            if (directory / "model").is_dir():
                if load_spec(directory / "model").to_json() != spec.to_json():
                    raise FailedPrecondition(f"model version {spec.version!r} is indexed with a different spec")
                return
            # Left over by a create that did not finish: start again.
            shutil.rmtree(directory / "shard", ignore_errors=True)
            shard = self._open_shard(directory / "shard", spec)
            for key, kind in schema.payload_indexes(spec).items():
                shard.update(edge.UpdateOperation.create_field_index(key, _INDEX_TYPES[kind]))
            shard.flush()
            staging = directory / "model.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            artifact.save(staging)
            os.replace(staging, directory / "model")
            self._shards[spec.version] = shard
            self._tables.start(spec.version, spec, empty=True)

    def versions(self) -> list[str]:
        found = []
        for directory in sorted((self._root / "versions").iterdir()):
            if (directory / "model").is_dir():
                found.append(load_spec(directory / "model").version)
        return found

    def artifact(self, version: str) -> ModelArtifact:
        artifact = self._artifacts.get(version)
        if artifact is None:
            model = self._dir(version) / "model"
            if not model.is_dir():
                raise NotFound(f"no index for model version {version!r}")
            artifact = self._artifacts.setdefault(version, load_artifact(model))
        return artifact

    def live_version(self) -> str | None:
        return self._live

    def set_live(self, version: str) -> None:
        self._shard(version)  # open before the pointer moves
        with self._lock:
            staging = self._root / (_LIVE_FILE + ".tmp")
            with open(staging, "w") as f:
                f.write(self._dir(version).name + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(staging, self._root / _LIVE_FILE)
            self._live = version

    def drop_version(self, version: str) -> None:
        if version == self._live:
            raise FailedPrecondition(f"model version {version!r} is live; switch to another before dropping it")
        self.artifact(version)
        # The write lock too (as close() takes it): a write or a scan-table fill page may be using
        # the shard, and closing it under them left them on a closed native shard.
        with self._write_lock, self._lock:
            shard = self._shards.pop(version, None)
            self._tables.drop(version)
            if shard is not None:
                shard.close()
            self._artifacts.pop(version, None)
            shutil.rmtree(self._dir(version))

    # -- points -----------------------------------------------------------------------------

    def _written(self, version: str, ids: Sequence[str]) -> None:
        """Records writes while an optimize builds a copy (the caller holds the write lock)."""
        dirty = self._dirty.get(version)
        if dirty is not None:
            dirty.update(ids)

    def upsert(self, version: str, points: Sequence[Point]) -> None:
        if points:
            batch = [edge.Point(p.id, dict(p.vectors), dict(p.payload)) for p in points]
            with self._write_lock:
                self._write_shard(version, edge.UpdateOperation.upsert_points(batch))
                self._written(version, [p.id for p in points])
                self._tables.write(version, lambda table: table.upsert(points))

    def set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        with self._write_lock:
            try:
                self._set_payload(version, updates)
            finally:  # what was written before a failure must reach the copy an optimize builds
                self._written(version, [point_id for point_id, _ in updates])

    def _set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        shard = self._shard(version)
        # The engine refuses a set_payload on a missing point (an error told apart only by its
        # text), so look the points up first: a patch of an item deleted since the caller looked
        # changes nothing. Writes come from one ingest thread, so nothing deletes in between.
        existing = {str(r.id) for r in shard.retrieve([point_id for point_id, _ in updates], False, False)}
        applied = [(point_id, fields) for point_id, fields in updates if point_id in existing]
        for point_id, fields in applied:
            self._write_shard(version, edge.UpdateOperation.set_payload([point_id], dict(fields)))
        self._tables.write(version, lambda table: table.set_fields(applied))

    def delete(self, version: str, ids: Sequence[str]) -> None:
        if ids:
            with self._write_lock:
                self._write_shard(version, edge.UpdateOperation.delete_points(list(ids)))
                self._written(version, ids)
                self._tables.write(version, lambda table: table.delete(ids))

    def retrieve(self, version: str, ids: Sequence[str], with_vectors: Sequence[str] = ()) -> list[StoredPoint]:
        records = self._shard(version).retrieve(list(ids), True, list(with_vectors) or False)
        return [StoredPoint(str(r.id), dict(r.payload or {}), dict(r.vector or {})) for r in records]

    def search(self, version: str, search: Search) -> list[ScoredPoint]:
        shard = self._shard(version)
        table = self._tables.for_search(version, search)
        if table is not None and edge_search.scan_table_answers(table, self._settings, search):
            return edge_search.run_on_scan_table(shard, table, search)
        return edge_search.run_search(shard, self._settings, search, self._tables.get(version))

    def searches_exactly(self, version: str, search: Search) -> bool:
        shard = self._shard(version)
        table = self._tables.for_search(version, search)
        if table is not None and edge_search.scan_table_answers(table, self._settings, search):
            return True
        return self._scan_exactly(shard, self.planned_search(shard, search)[0])

    def planned_search(self, shard: edge.EdgeShard, search: Search) -> tuple[Search, tuple[Condition, ...]]:
        """What the engine is asked for `search`, and the conditions checked on its hits (edge_search)."""
        return edge_search.planned_search(shard, self._settings, search)

    def query_request(self, shard: edge.EdgeShard, search: Search) -> edge.QueryRequest:
        """The engine request sent for a Search as planned (edge_search.query_request)."""
        return edge_search.query_request(shard, self._settings, search)

    def _scan_exactly(self, shard: edge.EdgeShard, search: Search) -> bool:
        return edge_search.scan_exactly(shard, self._settings, search)

    def count(self, version: str, must: Sequence[Condition] = (), exact: bool = True) -> int:
        return self._shard(version).count(edge.CountRequest(exact=exact, filter=edge_search.engine_filter(must)))

    def index_status(self, version: str) -> IndexStatus:
        info = self._shard(version).info()
        per_point = len(schema.vector_dims(self.artifact(version).spec))
        table = self._tables.get(version)
        return IndexStatus(info.points_count, info.points_count * per_point, info.indexed_vectors_count,
                           None if table is None else len(table))

    def optimize(self, version: str) -> None:
        """Builds the search graphs in a child process, on a copy, and swaps the copy in (see above).

        Blocks the caller (not the readers or writers) until the copy serves; a no-op when every
        vector is indexed. Raises RuntimeError when the build fails; the live shard is untouched.
        """
        with self._build_lock:  # one build at a time: a second caller then finds the graphs built
            spec = self.artifact(version).spec
            status = self.index_status(version)
            largest = max(schema.vector_dims(spec).values()) * 4 * status.unindexed_points
            if status.unindexed_vectors == 0 or largest < (self._settings.indexing_threshold_kb or
                                                            _ENGINE_INDEXING_THRESHOLD_KB) * 1024:
                return  # nothing the engine would put in a graph: a copy and a child would be wasted
            target: Path | None = None
            built: edge.EdgeShard | None = None
            try:
                with self._write_lock:
                    live, source = self._shard(version), self._shard_dir(version)
                    live.flush()
                    target = self._next_shard_dir(version)
                    self._dirty[version] = set()
                    shutil.copytree(source, target)
                self._build_in_child(target, version)
                with self._write_lock:
                    built = self._open_shard(target, spec)
                    self._reapply(live, built, self._dirty.pop(version))
                    self._point_at(version, target)
                    with self._lock:
                        self._shards[version] = built
            except BaseException:  # before the swap: the live shard is untouched, the copy goes
                self._dirty.pop(version, None)
                if built is not None:
                    built.close()
                if target is not None:
                    shutil.rmtree(target, ignore_errors=True)
                raise
        retire = threading.Timer(_RETIRE_AFTER_S, _close_and_remove, (live, source))
        retire.daemon = True
        retire.start()

    def _next_shard_dir(self, version: str) -> Path:
        generation = 1
        while (self._dir(version) / f"shard.{generation}").exists():
            generation += 1
        return self._dir(version) / f"shard.{generation}"

    def _build_in_child(self, shard_dir: Path, version: str) -> None:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "fashionrec.index.edge_build", str(shard_dir), str(self._dir(version) / "model"),
             json.dumps(dataclasses.asdict(self._settings)), "1" if self._wal else "0"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the index of {version!r} failed (exit {result.returncode}): "
                               f"{result.stderr.strip()[-2000:]}")
        _log.info("index of %s built in %.1f s in a child process", version, time.perf_counter() - started)

    @staticmethod
    def _reapply(live: edge.EdgeShard, built: edge.EdgeShard, ids: set[str]) -> None:
        """Makes the copy hold what the live shard holds for the points written during the build."""
        if not ids:
            return
        records = live.retrieve(list(ids), True, True)
        if records:
            built.update(edge.UpdateOperation.upsert_points(
                [edge.Point(r.id, dict(r.vector or {}), dict(r.payload or {})) for r in records]))
        gone = ids - {str(r.id) for r in records}
        if gone:
            built.update(edge.UpdateOperation.delete_points(list(gone)))

    def _point_at(self, version: str, shard_dir: Path) -> None:
        staging = self._dir(version) / (_SHARD_FILE + ".tmp")
        with open(staging, "w") as f:
            f.write(shard_dir.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(staging, self._dir(version) / _SHARD_FILE)

    def close(self) -> None:
        with self._write_lock, self._lock:
            self._tables.close()
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()


def _close_and_remove(shard: edge.EdgeShard, directory: Path) -> None:
    shard.close()
    shutil.rmtree(directory, ignore_errors=True)
