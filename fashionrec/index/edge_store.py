"""The embedded backend: the real Qdrant engine in-process (`qdrant-edge-py`).

    ROOT/
      LIVE                       the live version's directory name (switched by os.replace)
      versions/<collection>/
        model/                   config.json, prototypes.npy, outfit_bilinear.npy
        shard/                   the qdrant-edge shard

`model/` is written last (into a temporary directory, then renamed), so a
version without it was never finished and is not listed. The store keeps every
shard it opened open until close(): a reader that resolved the old version
before a switch finishes its query on it, and the new one is opened before the
pointer moves, so a switch leaves no window without results. With the engine's
write-ahead log on, one process owns a shard: the embedded stack runs all
services in one process that shares one store.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as edge

from fashionrec.artifact import ModelArtifact, ModelSpec, load_artifact, load_spec
from fashionrec.index.edge_shard import open_edge_shard
from fashionrec.errors import FailedPrecondition, NotFound
from fashionrec.index import schema
from fashionrec.index.filters import AnyOf, Between, Condition, Equals, Search
from fashionrec.index.store import IndexSettings, Point, ScoredPoint, StoredPoint, VectorStore

_LIVE_FILE = "LIVE"
_INDEX_TYPES = {
    schema.KEYWORD: edge.PayloadSchemaType.Keyword,
    schema.FLOAT: edge.PayloadSchemaType.Float,
    schema.INTEGER: edge.PayloadSchemaType.Integer,
}


def _condition(cond: Condition) -> edge.FieldCondition:
    if isinstance(cond, AnyOf):
        return edge.FieldCondition(key=cond.key, match=edge.MatchAny(list(cond.values)))
    if isinstance(cond, Between):
        return edge.FieldCondition(key=cond.key, range=edge.RangeFloat(gte=cond.gte, lte=cond.lte))
    if isinstance(cond, Equals):
        return edge.FieldCondition(key=cond.key, match=edge.MatchValue(cond.value))
    raise TypeError(f"unknown condition {cond!r}")


def _filter(must: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> edge.Filter | None:
    if not must and not exclude_ids:
        return None
    return edge.Filter(
        must=[_condition(c) for c in must] or None,
        must_not=[edge.HasIdCondition(set(exclude_ids))] if exclude_ids else None,
    )


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
        self._shards: dict[str, edge.EdgeShard] = {}
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
        s = self._settings
        hnsw = edge.HnswIndexConfig(
            m=s.m, ef_construct=s.ef_construct, full_scan_threshold=s.full_scan_threshold_kb, payload_m=s.payload_m
        )
        # Every vector is normalised by schema.point_vectors, so Dot ranks as cosine where that is meant.
        return open_edge_shard(path, schema.vector_dims(spec), "dot", self._wal, hnsw)

    def _shard(self, version: str) -> edge.EdgeShard:
        shard = self._shards.get(version)
        if shard is None:
            spec = self.artifact(version).spec
            with self._lock:
                shard = self._shards.get(version)
                if shard is None:
                    shard = self._open_shard(self._dir(version) / "shard", spec)
                    self._shards[version] = shard
        return shard

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
        with self._lock:
            shard = self._shards.pop(version, None)
            if shard is not None:
                shard.close()
            self._artifacts.pop(version, None)
            shutil.rmtree(self._dir(version))

    # -- points -----------------------------------------------------------------------------

    def upsert(self, version: str, points: Sequence[Point]) -> None:
        if points:
            batch = [edge.Point(p.id, dict(p.vectors), dict(p.payload)) for p in points]
            self._shard(version).update(edge.UpdateOperation.upsert_points(batch))

    def set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        shard = self._shard(version)
        # The engine refuses a set_payload on a missing point (an error told apart only by its
        # text), so look the points up first: a patch of an item deleted since the caller looked
        # changes nothing. Writes come from one ingest thread, so nothing deletes in between.
        existing = {str(r.id) for r in shard.retrieve([point_id for point_id, _ in updates], False, False)}
        for point_id, fields in updates:
            if point_id in existing:
                shard.update(edge.UpdateOperation.set_payload([point_id], dict(fields)))

    def delete(self, version: str, ids: Sequence[str]) -> None:
        if ids:
            self._shard(version).update(edge.UpdateOperation.delete_points(list(ids)))

    def retrieve(self, version: str, ids: Sequence[str], with_vectors: Sequence[str] = ()) -> list[StoredPoint]:
        records = self._shard(version).retrieve(list(ids), True, list(with_vectors) or False)
        return [StoredPoint(str(r.id), dict(r.payload or {}), dict(r.vector or {})) for r in records]

    def search(self, version: str, search: Search) -> list[ScoredPoint]:
        s = self._settings
        params = edge.SearchParams(
            hnsw_ef=s.ef_for(search.using),
            acorn=edge.AcornSearchParams(enable=s.acorn, max_selectivity=s.acorn_max_selectivity),
        )
        hits = self._shard(version).query(
            edge.QueryRequest(
                limit=search.limit,
                query=edge.Query.Nearest([float(x) for x in search.vector], using=search.using),
                filter=_filter(search.must, search.exclude_ids),
                with_payload=True,
                params=params,
            )
        )
        return [ScoredPoint(str(h.id), h.score, dict(h.payload or {})) for h in hits]

    def count(self, version: str, must: Sequence[Condition] = (), exact: bool = True) -> int:
        return self._shard(version).count(edge.CountRequest(exact=exact, filter=_filter(must)))

    def optimize(self, version: str) -> None:
        self._shard(version).optimize()

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
