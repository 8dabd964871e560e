"""The deployment backend: a Qdrant server through `qdrant-client` (gRPC when prefer_grpc).

Collections `<prefix>_items_<version slug>_<hash>` hold the items of one model
version; the collection alias `<prefix>_items` names the live one (switched by
one atomic alias request). The model artifacts live in a small collection
`<prefix>_models`, one point per version with config.json and the .npy files in
its payload, so every service that can reach the server can read them, and
without torch. Readers resolve the alias at most every `alias_ttl_seconds` and
then query the concrete collection: drop an old version only after that long.

qdrant-client's local mode (`QdrantClient(path=...)` or `":memory:"`) runs the
same code in tests; it is a numpy brute force, not for serving.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from fashionrec.artifact import ModelArtifact, ModelSpec
from fashionrec.errors import FailedPrecondition, NotFound, Unavailable
from fashionrec.index import schema
from fashionrec.index.filters import AnyOf, Between, Condition, Equals, Search
from fashionrec.index.store import IndexSettings, IndexStatus, Point, ScoredPoint, StoredPoint, VectorStore

# The int8 copy of the large vectors (IndexSettings.quantize_large_vectors; the same as the
# embedded store's, fashionrec.index.edge_store.open_version_shard).
_INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True))
_INDEX_TYPES = {
    schema.KEYWORD: models.PayloadSchemaType.KEYWORD,
    schema.FLOAT: models.PayloadSchemaType.FLOAT,
    schema.INTEGER: models.PayloadSchemaType.INTEGER,
}
_UNAVAILABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


@contextmanager
def _engine_errors(what: str) -> Iterator[None]:
    """Turns the client's transport errors into the project's typed errors."""
    try:
        yield
    except grpc.RpcError as exc:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        if code in _UNAVAILABLE:
            raise Unavailable(f"Qdrant server unreachable while {what}: {exc}") from exc
        if code == grpc.StatusCode.NOT_FOUND:
            raise NotFound(f"{what}: {exc}") from exc
        raise
    except ResponseHandlingException as exc:
        raise Unavailable(f"Qdrant server unreachable while {what}: {exc}") from exc
    except UnexpectedResponse as exc:
        if exc.status_code == 404:
            raise NotFound(f"{what}: {exc}") from exc
        if exc.status_code is not None and exc.status_code >= 500:
            raise Unavailable(f"Qdrant server failed while {what}: {exc}") from exc
        raise


def _condition(cond: Condition) -> models.FieldCondition:
    if isinstance(cond, AnyOf):
        return models.FieldCondition(key=cond.key, match=models.MatchAny(any=list(cond.values)))
    if isinstance(cond, Between):
        return models.FieldCondition(key=cond.key, range=models.Range(gte=cond.gte, lte=cond.lte))
    if isinstance(cond, Equals):
        return models.FieldCondition(key=cond.key, match=models.MatchValue(value=cond.value))
    raise TypeError(f"unknown condition {cond!r}")


def _filter(must: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> models.Filter | None:
    if not must and not exclude_ids:
        return None
    return models.Filter(
        must=[_condition(c) for c in must] or None,
        must_not=[models.HasIdCondition(has_id=list(exclude_ids))] if exclude_ids else None,
    )


def _encode_array(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode_array(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


class ServerStore(VectorStore):
    def __init__(
        self,
        client: QdrantClient,
        settings: IndexSettings = IndexSettings(),
        prefix: str = "fashionrec",
        alias_ttl_seconds: float = 1.0,
        optimize_timeout_seconds: float = 600.0,
    ) -> None:
        self._client = client
        self._settings = settings
        self._prefix = prefix
        self._alias = f"{prefix}_items"
        self._models = f"{prefix}_models"
        self._alias_ttl = alias_ttl_seconds
        self._optimize_timeout = optimize_timeout_seconds
        self._lock = threading.Lock()
        self._artifacts: dict[str, ModelArtifact] = {}
        self._live: tuple[str | None, float] | None = None

    def _name(self, version: str) -> str:
        return schema.collection_name(self._prefix, version)

    def _model_id(self, version: str) -> str:
        return str(uuid.uuid5(schema.SKU_NAMESPACE, "model:" + version))

    def _model_records(self) -> list[dict[str, Any]]:
        with _engine_errors("listing model versions"):
            if not self._client.collection_exists(self._models):
                return []
            records, _ = self._client.scroll(
                self._models, limit=10_000, with_payload=["version", "collection"], with_vectors=False
            )
        return [dict(r.payload or {}) for r in records]

    # -- versions ---------------------------------------------------------------------------

    def create_version(self, artifact: ModelArtifact) -> None:
        spec = artifact.spec
        schema.check_spec(spec)
        name = self._name(spec.version)
        with self._lock, _engine_errors(f"creating the index of {spec.version!r}"):
            if not self._client.collection_exists(self._models):
                self._client.create_collection(
                    self._models, vectors_config={"none": models.VectorParams(size=1, distance=models.Distance.DOT)}
                )
            found = self._client.retrieve(self._models, [self._model_id(spec.version)], with_payload=["config"])
            if found:
                if json.loads(found[0].payload["config"]) != spec.to_json():
                    raise FailedPrecondition(f"model version {spec.version!r} is indexed with a different spec")
                return
            if not self._client.collection_exists(name):
                s = self._settings
                self._client.create_collection(
                    name,
                    vectors_config={
                        vec: models.VectorParams(
                            size=dim, distance=models.Distance.DOT,
                            hnsw_config=None if s.has_graph(vec) else models.HnswConfigDiff(m=0),
                            quantization_config=_INT8 if s.is_quantized(vec) else None,
                        )
                        for vec, dim in schema.vector_dims(spec).items()
                    },
                    hnsw_config=models.HnswConfigDiff(
                        m=s.m, ef_construct=s.ef_construct, full_scan_threshold=s.full_scan_threshold_kb,
                        payload_m=s.payload_m,
                    ),
                    shard_number=s.shard_number,
                    replication_factor=s.replication_factor,
                    write_consistency_factor=s.write_consistency_factor,
                )
            for key, kind in schema.payload_indexes(spec).items():
                self._client.create_payload_index(name, key, field_schema=_INDEX_TYPES[kind])
            # Written last: a version is listed only once its collection is complete.
            self._client.upsert(self._models, [models.PointStruct(
                id=self._model_id(spec.version),
                vector={"none": [0.0]},
                payload={
                    "version": spec.version,
                    "collection": name,
                    "config": json.dumps(spec.to_json()),
                    "prototypes": _encode_array(artifact.prototypes),
                    "outfit_bilinear": _encode_array(artifact.outfit_bilinear),
                },
            )])

    def versions(self) -> list[str]:
        return sorted(r["version"] for r in self._model_records())

    def artifact(self, version: str) -> ModelArtifact:
        cached = self._artifacts.get(version)
        if cached is not None:
            return cached
        with _engine_errors(f"reading model version {version!r}"):
            found = (
                self._client.retrieve(self._models, [self._model_id(version)], with_payload=True)
                if self._client.collection_exists(self._models)
                else []
            )
        if not found:
            raise NotFound(f"no index for model version {version!r}")
        payload = found[0].payload or {}
        artifact = ModelArtifact(
            spec=ModelSpec.from_json(json.loads(payload["config"])),
            prototypes=_decode_array(payload["prototypes"]),
            outfit_bilinear=_decode_array(payload["outfit_bilinear"]),
        )
        return self._artifacts.setdefault(version, artifact)

    def live_version(self) -> str | None:
        cached = self._live
        if cached is not None and time.monotonic() - cached[1] < self._alias_ttl:
            return cached[0]
        with _engine_errors("resolving the live index"):
            aliases = self._client.get_aliases().aliases
        collection = next((a.collection_name for a in aliases if a.alias_name == self._alias), None)
        version = None
        if collection is not None:
            version = next((r["version"] for r in self._model_records() if r["collection"] == collection), None)
        self._live = (version, time.monotonic())
        return version

    def set_live(self, version: str) -> None:
        self.artifact(version)
        with self._lock, _engine_errors(f"switching the live index to {version!r}"):
            current = {a.alias_name for a in self._client.get_aliases().aliases}
            operations: list[Any] = []
            if self._alias in current:
                operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self._alias)))
            operations.append(models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=self._name(version), alias_name=self._alias)
            ))
            # One request: the server applies both or neither, so readers never miss the alias.
            self._client.update_collection_aliases(operations)
            self._live = (version, time.monotonic())

    def drop_version(self, version: str) -> None:
        if version == self.live_version():
            raise FailedPrecondition(f"model version {version!r} is live; switch to another before dropping it")
        self.artifact(version)
        with self._lock, _engine_errors(f"dropping {version!r}"):
            self._client.delete(self._models, points_selector=[self._model_id(version)])
            self._client.delete_collection(self._name(version))
            self._artifacts.pop(version, None)

    # -- points -----------------------------------------------------------------------------

    def upsert(self, version: str, points: Sequence[Point]) -> None:
        if not points:
            return
        structs = [models.PointStruct(id=p.id, vector={k: list(v) for k, v in p.vectors.items()},
                                      payload=dict(p.payload)) for p in points]
        with _engine_errors(f"writing to {version!r}"):
            self._client.upsert(self._name(version), structs, wait=True)

    def set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        if not updates:
            return
        operations = [
            models.SetPayloadOperation(set_payload=models.SetPayload(payload=dict(fields), points=[point_id]))
            for point_id, fields in updates
        ]
        with _engine_errors(f"patching {version!r}"):
            self._client.batch_update_points(self._name(version), operations, wait=True)

    def delete(self, version: str, ids: Sequence[str]) -> None:
        if ids:
            with _engine_errors(f"deleting from {version!r}"):
                self._client.delete(self._name(version), points_selector=list(ids), wait=True)

    def retrieve(self, version: str, ids: Sequence[str], with_vectors: Sequence[str] = ()) -> list[StoredPoint]:
        with _engine_errors(f"reading from {version!r}"):
            records = self._client.retrieve(
                self._name(version), list(ids), with_payload=True, with_vectors=list(with_vectors) or False
            )
        return [StoredPoint(str(r.id), dict(r.payload or {}), dict(r.vector or {})) for r in records]  # type: ignore[arg-type]

    def search(self, version: str, search: Search) -> list[ScoredPoint]:
        s = self._settings
        params = models.SearchParams(
            hnsw_ef=s.beam(search),
            acorn=models.AcornSearchParams(enable=s.acorn, max_selectivity=s.acorn_max_selectivity),
            quantization=models.QuantizationSearchParams(rescore=True, oversampling=s.quantization_oversampling)
            if s.is_quantized(search.using) else None,
        )
        with _engine_errors(f"searching {version!r}"):
            hits = self._client.query_points(
                self._name(version),
                query=[float(x) for x in search.vector],
                using=search.using,
                limit=search.limit,
                query_filter=_filter(search.must, search.exclude_ids),
                search_params=params,
                with_payload=True,
            ).points
        return [ScoredPoint(str(h.id), h.score, dict(h.payload or {})) for h in hits]

    def count(self, version: str, must: Sequence[Condition] = (), exact: bool = True) -> int:
        with _engine_errors(f"counting {version!r}"):
            return self._client.count(self._name(version), count_filter=_filter(must), exact=exact).count

    def index_status(self, version: str) -> IndexStatus:
        with _engine_errors(f"reading the status of {version!r}"):
            info = self._client.get_collection(self._name(version))
        points = info.points_count or 0
        # The collection's own named vectors: one created before round 8 also has `whole` (old
        # points carry it, new ones do not), and counting it errs towards unindexed vectors
        # instead of hiding new points behind the old points' indexed `whole`.
        configured = info.config.params.vectors
        if not isinstance(configured, dict):
            configured = schema.vector_dims(self.artifact(version).spec)
        per_point = len(configured)
        return IndexStatus(points, points * per_point, info.indexed_vectors_count or 0)

    def optimize(self, version: str) -> None:
        # The server indexes in the background; wait until it reports the collection ready.
        deadline = time.monotonic() + self._optimize_timeout
        with _engine_errors(f"waiting for the index of {version!r}"):
            while self._client.get_collection(self._name(version)).status != models.CollectionStatus.GREEN:
                if time.monotonic() > deadline:
                    raise Unavailable(f"the index of {version!r} is still being built")
                time.sleep(0.2)

    def close(self) -> None:
        self._client.close()
