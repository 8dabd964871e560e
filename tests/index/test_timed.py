from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fashionrec.config import QdrantSettings
from fashionrec.errors import InvalidArgument
from fashionrec.index import CatalogIndex, Filters, IndexedItem, open_index
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items


@contextmanager
def _live_index(path: Path, n_items: int, **options: object) -> Iterator[tuple[CatalogIndex, list[IndexedItem]]]:
    """open_index(options) with a live synthetic version holding n_items."""
    index = open_index(QdrantSettings(path=path), **options)  # type: ignore[arg-type]
    try:
        artifact = synthetic_artifact("v1")
        index.create_version(artifact)
        index.set_live("v1")
        items = synthetic_items(artifact, n_items, seed=1)
        index.upsert(items)
        yield index, items
    finally:
        index.close()


def test_every_engine_call_is_timed(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    with _live_index(tmp_path / "q", 20, observe=lambda op, s: seen.append((op, s))) as (index, items):
        index.similar(items[0].item.sku, Filters(), k=3)
    operations = [op for op, _ in seen]
    assert operations[:3] == ["create_version", "set_live", "upsert"]
    assert {"retrieve", "search"} <= set(operations)
    assert all(seconds >= 0 for _, seconds in seen)


def test_open_index_applies_the_outfit_size_setting(tmp_path: Path) -> None:
    """OutfitSettings.max_outfit_items reaches the index (outfit_svc.server passes it)."""
    with _live_index(tmp_path / "q", 5, max_outfit_items=2) as (index, items):
        index.score_outfit([i.item.sku for i in items[:2]])
        with pytest.raises(InvalidArgument, match="skus: at most 2 SKUs allowed"):
            index.score_outfit([i.item.sku for i in items[:3]])
