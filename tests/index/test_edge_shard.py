from pathlib import Path

import pytest
import qdrant_edge as edge

from fashionrec.index.edge_shard import open_edge_shard


def _points() -> list[edge.Point]:
    return [
        edge.Point(1, {"whole": [1.0, 0.0, 0.0], "color": [1.0, 0.0]}, {"sku": "a", "category": "dress", "in_stock": 1, "price": 40.0}),
        edge.Point(2, {"whole": [0.9, 0.1, 0.0], "color": [0.0, 1.0]}, {"sku": "b", "category": "dress", "in_stock": 0, "price": 80.0}),
        edge.Point(3, {"whole": [0.8, 0.2, 0.0], "color": [1.0, 0.1]}, {"sku": "c", "category": "shoes", "in_stock": 1, "price": 60.0}),
    ]


def test_write_filter_and_read_points_in_the_real_engine(qdrant_dir: Path) -> None:
    shard = open_edge_shard(qdrant_dir, {"whole": 3, "color": 2})
    shard.update(edge.UpdateOperation.upsert_points(_points()))
    shard.update(edge.UpdateOperation.create_field_index("category", edge.PayloadSchemaType.Keyword))
    shard.update(edge.UpdateOperation.create_field_index("in_stock", edge.PayloadSchemaType.Integer))

    dresses_in_stock = edge.Filter(must=[
        edge.FieldCondition(key="category", match=edge.MatchValue("dress")),
        edge.FieldCondition(key="in_stock", match=edge.MatchValue(1)),
    ])
    hits = shard.query(edge.QueryRequest(
        limit=10, query=edge.Query.Nearest([1.0, 0.0, 0.0], using="whole"),
        filter=dresses_in_stock, with_payload=True,
    ))
    assert [h.payload["sku"] for h in hits] == ["a"]

    by_color = shard.query(edge.QueryRequest(
        limit=3, query=edge.Query.Nearest([1.0, 0.0], using="color"), with_payload=True,
    ))
    assert [h.payload["sku"] for h in by_color] == ["a", "c", "b"]

    [record] = shard.retrieve([2], with_payload=True, with_vector=["color"])
    assert record.payload["price"] == 80.0
    assert record.vector["color"] == pytest.approx([0.0, 1.0])
    shard.close()


def test_points_survive_close_and_reopen(qdrant_dir: Path) -> None:
    shard = open_edge_shard(qdrant_dir, {"whole": 3, "color": 2})
    shard.update(edge.UpdateOperation.upsert_points(_points()))
    shard.close()
    reopened = open_edge_shard(qdrant_dir, {"whole": 3, "color": 2})
    assert reopened.count(edge.CountRequest(exact=True)) == 3
    reopened.close()


def test_unknown_distance_is_rejected(qdrant_dir: Path) -> None:
    with pytest.raises(ValueError, match="distance must be one of"):
        open_edge_shard(qdrant_dir, {"whole": 3}, distance="hamming")
