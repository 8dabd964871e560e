from pathlib import Path

import pytest

from fashionrec.config import QdrantSettings
from fashionrec.errors import InvalidArgument
from fashionrec.index import Filters, open_index
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items


def test_every_engine_call_is_timed(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    index = open_index(QdrantSettings(path=tmp_path / "q"), observe=lambda op, s: seen.append((op, s)))
    try:
        artifact = synthetic_artifact("v1")
        index.create_version(artifact)
        index.set_live("v1")
        items = synthetic_items(artifact, 20, seed=1)
        index.upsert(items)
        index.similar(items[0].item.sku, Filters(), k=3)
    finally:
        index.close()
    operations = [op for op, _ in seen]
    assert operations[:3] == ["create_version", "set_live", "upsert"]
    assert {"retrieve", "search"} <= set(operations)
    assert all(seconds >= 0 for _, seconds in seen)


def test_open_index_applies_the_outfit_size_setting(tmp_path: Path) -> None:
    """OutfitSettings.max_outfit_items reaches the index (outfit_svc.server passes it)."""
    index = open_index(QdrantSettings(path=tmp_path / "q"), max_outfit_items=2)
    try:
        artifact = synthetic_artifact("v1")
        index.create_version(artifact)
        index.set_live("v1")
        items = synthetic_items(artifact, 5, seed=1)
        index.upsert(items)
        index.score_outfit([i.item.sku for i in items[:2]])
        with pytest.raises(InvalidArgument, match="skus: at most 2 SKUs allowed"):
            index.score_outfit([i.item.sku for i in items[:3]])
    finally:
        index.close()
