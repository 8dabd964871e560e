"""Measures what one indexed item costs in Qdrant's engine, for the sizing notes in deploy/README.md.

    python deploy/measure_index_size.py --items 20000

Indexes synthetic items with the production schema (manipulation, chunks, outfit
and one vector per attribute; payload with its indexes) into the embedded engine
(the same Rust engine as the server), builds the HNSW graphs, and prints the
bytes per item on disk and the process's resident-memory growth.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from fashionrec.index import CatalogIndex, EdgeStore, schema
from fashionrec.index.synthetic_vectors import SyntheticShape, synthetic_artifact, synthetic_items


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--attributes", type=int, default=7)
    parser.add_argument("--attribute-dim", type=int, default=32)
    parser.add_argument("--outfit-dim", type=int, default=16)
    args = parser.parse_args()
    shape = SyntheticShape(n_attributes=args.attributes, attribute_dim=args.attribute_dim, outfit_dim=args.outfit_dim)
    artifact = synthetic_artifact("sizing", shape)
    items = synthetic_items(artifact, args.items, shape)
    with tempfile.TemporaryDirectory() as root:
        index = CatalogIndex(EdgeStore(Path(root)))
        index.create_version(artifact)
        index.set_live("sizing")
        rss_before = _peak_rss_bytes()
        started = time.perf_counter()
        for i in range(0, len(items), 1000):
            index.upsert(items[i:i + 1000])
        index.optimize()
        seconds = time.perf_counter() - started
        disk = _tree_bytes(Path(root))
        rss = _peak_rss_bytes() - rss_before
        index.close()
    floats = sum(schema.vector_dims(artifact.spec).values())
    print(f"items {args.items}, float32 values per item {floats} ({floats * 4} B of raw vectors)")
    print(f"disk after optimize: {disk / args.items:.0f} B/item")
    print(f"peak RSS growth: {rss / args.items:.0f} B/item (upsert + HNSW build, includes allocator slack)")
    print(f"upsert + optimize: {seconds:.1f} s ({args.items / seconds:.0f} items/s on this machine)")


if __name__ == "__main__":
    main()
