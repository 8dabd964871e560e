"""The real Qdrant engine in-process (`qdrant-edge-py`), one shard in a directory.

This opens or creates the shard; `fashionrec.index` builds the collection
schema and the queries on top of it. With its write-ahead log on, one process
owns a shard directory at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import qdrant_edge as edge

_DISTANCES = {
    "cosine": edge.Distance.Cosine,
    "dot": edge.Distance.Dot,
    "euclid": edge.Distance.Euclid,
}


def _has_segments(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def open_edge_shard(
    path: str | Path,
    vectors: Mapping[str, int],
    distance: str = "cosine",
    wal_enabled: bool = True,
    hnsw_config: edge.HnswIndexConfig | None = None,
    optimizers: edge.EdgeOptimizersConfig | None = None,
    vector_hnsw: Mapping[str, edge.HnswIndexConfig] | None = None,
    vector_quantization: Mapping[str, edge.ScalarQuantizationConfig] | None = None,
) -> edge.EdgeShard:
    """Loads the shard at path, or creates it with one named vector per (name, dimension).

    Args:
        vector_hnsw: per named vector, an HNSW config that overrides `hnsw_config` (m=0: no graph).
        vector_quantization: per named vector, the quantized copy to build beside the vectors.
    """
    if distance not in _DISTANCES:
        raise ValueError(f"distance must be one of {sorted(_DISTANCES)}, not {distance!r}")
    vector_hnsw, vector_quantization = vector_hnsw or {}, vector_quantization or {}
    config = edge.EdgeConfig(
        vectors={
            name: edge.EdgeVectorParams(size=dim, distance=_DISTANCES[distance], hnsw_config=vector_hnsw.get(name),
                                        quantization_config=vector_quantization.get(name))
            for name, dim in vectors.items()
        },
        hnsw_config=hnsw_config,
        optimizers=optimizers,
        wal_enabled=wal_enabled,
    )
    path = Path(path)
    if _has_segments(path):
        return edge.EdgeShard.load(str(path), config)
    path.mkdir(parents=True, exist_ok=True)
    return edge.EdgeShard.create(str(path), config)
