"""The scale bench's catalog and index: synthetic items at the shipped model's dimensions, and an
embedded index built once per catalog and settings, then reused from a cache directory."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.index_recall import fill
from fashionrec.artifact import ModelArtifact, load_artifact
from fashionrec.index import CatalogIndex, EdgeStore, IndexSettings, schema
from fashionrec.index.schema import IndexedItem
from fashionrec.index.synthetic_vectors import SyntheticShape, synthetic_items

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "adde-synthetic"


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


# The IndexSettings fields that shape the built graphs (the rest only steer searches).
_BUILD_SETTINGS = ("m", "ef_construct", "payload_m", "full_scan_threshold_kb", "indexing_threshold_kb",
                   "graph_small_vectors", "quantize_large_vectors")


def open_or_build(config: BenchConfig, artifact: ModelArtifact,
                  items: list[IndexedItem]) -> tuple[EdgeStore, CatalogIndex, dict[str, Any]]:
    """The index from the cache directory when a finished build of the same catalog is there, else built."""
    # Keyed by what decides the index: the catalog (size, seed, model) and the settings the graphs
    # are built with. Search-time settings (ef, the exact-scan threshold, ACORN) are left out: a
    # change of them must not cost a rebuild (an hour at 1M items).
    built_with: dict[str, Any] = {name: getattr(IndexSettings(), name) for name in _BUILD_SETTINGS}
    # Which vectors get a graph and an int8 copy (a rule of IndexSettings that can change with
    # no field changing).
    vectors = schema.vector_dims(artifact.spec)
    built_with["graphs"] = sorted(v for v in vectors if IndexSettings().has_graph(v))
    built_with["int8"] = sorted(v for v in vectors if IndexSettings().is_quantized(v))
    settings = hashlib.sha1(json.dumps(built_with, sort_keys=True).encode()).hexdigest()
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
    index, build_s = fill(store, artifact, items)
    upserted = time.perf_counter()
    if config.optimize:
        index.optimize()
    build = {"build_s": build_s, "optimize_s": time.perf_counter() - upserted,
             "optimized": config.optimize, "built_at": now(), "load_average": os.getloadavg()}
    record.write_text(json.dumps(build, indent=2))
    return store, index, {**build, "reused": False, "directory": str(directory)}


def require_tables(store: EdgeStore, timeout_s: float = 3600) -> None:
    """Waits for the store's scan tables to be full (a reopened index fills them in the background),
    so that no search is timed on the engine while they fill.

    Raises:
        RuntimeError: when they are not full within timeout_s.
    """
    if not store.wait_for_tables(timeout=timeout_s):
        raise RuntimeError(f"the scan tables were not filled within {timeout_s:.0f} s")


def now() -> str:
    """The wall-clock time of a report line, UTC."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
