"""The embedded store's scan tables (fashionrec.index.edge_tables): filled, kept in step with every
write, answering as the engine does, dropped when a write fails in them, and which table a search goes to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fashionrec.index import CatalogIndex, EdgeStore, Filters, IndexSettings, ItemPatch, point_id, schema
from fashionrec.index import edge_search
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import AnyOf, Between, Equals, Search
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items


def test_the_small_vectors_are_scanned_from_memory_and_answer_as_the_engine(tmp_path: Path) -> None:
    """Reopened, the store fills its scan table in the background; through writes of every kind
    (changed vectors, patched price / stock / brand, deletes, new items) the table's answers
    stay the engine's exact scan's, for the small vectors, for `chunks` composed from them, and
    for `manipulation` (held too: IndexSettings.scan_manipulation_in_memory), and from the
    per-attribute tables by predicted value for attr_<a>."""
    artifact = synthetic_artifact("v1")
    spec = artifact.spec
    items = synthetic_items(artifact, 400, seed=5)
    first = CatalogIndex(EdgeStore(tmp_path / "q"))
    first.create_version(artifact)
    first.set_live("v1")
    first.upsert(items[:300])
    first.close()

    # Every one-attribute search to the tables by value, however small the catalog (the default
    # keeps small ones on the main table: the last test checks that).
    store = EdgeStore(tmp_path / "q", IndexSettings(scan_by_value_min_floats=0))
    index = CatalogIndex(store)
    try:
        store._shard("v1")  # opening the shard starts the fill
        assert store.wait_for_tables(timeout=60)
        table = store._tables["v1"]
        assert len(table) == 300 and store.index_status("v1").scan_table_points == 300
        rng = np.random.default_rng(0)

        def check() -> None:
            cats = spec.categories
            filters = [(), (AnyOf("category", (cats[1],)),), (AnyOf("category", cats[:2]), Equals("in_stock", 1)),
                       (Between("price", 40.0, 120.0),), (AnyOf("brand", ("acme", "dune")), Between("price", None, 90.0))]
            dims = schema.vector_dims(spec)
            # `chunks` too, from the attr_<a> columns; a weighted query with an attribute at weight 0.
            weights = np.repeat(rng.uniform(size=len(spec.attribute_names)) * [0, 1, 1, 1, 0, 1],
                                [schema.attribute_vector_dim(spec, a) for a in spec.attribute_names])
            assert schema.MANIPULATION in table.dims
            for using, dim in dims.items():
                if store._settings.has_graph(using) and using not in (schema.CHUNKS, schema.MANIPULATION):
                    continue
                for must in filters:
                    vector = schema.unit(rng.normal(size=dim)) * (weights if using == schema.CHUNKS else 1.0)
                    search = Search(using, vector, 7, must, (point_id("sku-3"),))
                    assert table.answers(search)
                    # attr_<a>: its own table, by category and predicted value (bounded scans).
                    answering = store._tables.for_search("v1", search)
                    assert answering is not None and answering.answers(search) and len(answering) == len(table)
                    assert (answering is not table) == using.startswith(schema.ATTRIBUTE_PREFIX), using
                    found = store.search("v1", search)
                    engine = edge_search.run_search(store._shard("v1"), store._settings, search)
                    assert [h.id for h in found] == [h.id for h in engine], (using, must)
                    # atol: float32 sums of 299 products near a score of 0 differ by ~1e-8.
                    np.testing.assert_allclose([h.score for h in found], [h.score for h in engine], rtol=1e-5, atol=1e-6)
                    assert [h.payload for h in found] == [h.payload for h in engine]

        check()
        # Another attribute's predicted label: a field the tables by value do not hold, so the
        # main table answers; their own attribute's label picks their partitions.
        first, other = spec.attribute_names[1], spec.attribute_names[2]
        vector = np.ones(schema.vector_dims(spec)[schema.attr_vector(first)])
        label = Search(schema.attr_vector(first), vector, 7, (AnyOf(schema.predicted_key(other), ("x",)),))
        assert store._tables.for_search("v1", label) is table and table.answers(label)
        own = Search(schema.attr_vector(first), vector, 7, (AnyOf(schema.predicted_key(first), ("x",)),))
        assert store._tables.for_search("v1", own) is not table
        index.upsert([dataclasses.replace(e, outfit=e.outfit[::-1].copy()) for e in items[:40]])  # vectors change
        index.patch([ItemPatch(f"sku-{i}", 2e9, price=float(i % 150), in_stock=bool(i % 3), brand="dune")
                     for i in range(40, 140)])
        index.delete([f"sku-{i}" for i in range(140, 200)])
        index.upsert(items[300:])
        assert len(table) == 340
        check()
    finally:
        index.close()


def test_post_filter_checks_on_the_scan_tables_columns_give_the_payload_checks_answer(tmp_path: Path) -> None:
    """The large vectors' oversampled looser search, its conditions checked on the table's
    columns (no payloads read but the k answers'), answers as the checks on payloads and as the
    engine's whole filter."""
    artifact = synthetic_artifact("v1")
    spec = artifact.spec
    settings = IndexSettings(post_filter_scan_min_points=0)  # 500 points: post-filter anyway
    store = EdgeStore(tmp_path / "cols", settings)
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(synthetic_items(artifact, 500, seed=4))
    index.patch([ItemPatch(f"sku-{i}", 2e9, price=75.0, in_stock=False) for i in range(0, 500, 9)])
    try:
        shard, table = store._shard("v1"), store._tables["v1"]
        whole_filter = dataclasses.replace(settings, post_filter_min_fraction=0.0)
        rng = np.random.default_rng(1)
        attribute = spec.attribute_names[1]
        filters = [(Between("price", 40.0, 160.0),), (AnyOf("category", spec.categories[:3]), Equals("in_stock", 0)),
                   (AnyOf(schema.predicted_key(attribute), spec.vocabulary.attributes[1].values[:3]),
                    Between("price", None, 150.0))]
        for using in (schema.MANIPULATION, schema.CHUNKS):
            for must in filters:
                search = Search(using, schema.unit(rng.normal(size=schema.vector_dims(spec)[using])), 8, must,
                                (point_id("sku-1"),))
                assert edge_search.planned_search(shard, settings, search)[1], "not post-filtered"
                by_columns = edge_search.run_search(shard, settings, search, table)
                by_payloads = edge_search.run_search(shard, settings, search)
                engine = edge_search.run_search(shard, whole_filter, search)
                assert len(by_columns) == 8
                assert by_columns == by_payloads
                assert [h.id for h in by_columns] == [h.id for h in engine]
    finally:
        index.close()


def test_chunks_go_to_the_scan_table_within_the_floats_the_graph_search_is_slower_than() -> None:
    # Pure logic on a real ScanTable: 600 rows of two 4-float parts, 200 rows a category.
    from fashionrec.index.scan_table import ScanTable
    from fashionrec.index.store import Point

    table = ScanTable({"attr_a": 4, "attr_b": 4}, {"category": schema.KEYWORD}, composites={"chunks": ["attr_a", "attr_b"]})
    table.upsert([Point(f"p{i}", {"attr_a": [1.0] * 4, "attr_b": [1.0] * 4}, {"category": f"c{i % 3}"})
                  for i in range(600)])
    table.mark_ready()
    settings = IndexSettings(scan_table_max_floats=1600, scan_table_max_floats_all_categories=2400)
    both, one = [1.0] * 8, [0.0] * 4 + [1.0] * 4
    in_c0 = (AnyOf("category", ("c0",)),)
    assert edge_search.scan_table_answers(table, settings, Search("chunks", both, 5, in_c0))  # 200 x 8 = 1600
    assert not edge_search.scan_table_answers(table, settings, Search("chunks", both, 5))  # 600 x 8 > 2400
    assert edge_search.scan_table_answers(table, settings, Search("chunks", one, 5))  # 600 x 4: weight-0 part skipped
    two = (AnyOf("category", ("c0", "c1")),)
    assert not edge_search.scan_table_answers(table, settings, Search("chunks", both, 5, two))  # 3200 > 1600
    assert edge_search.scan_table_answers(table, settings, Search("attr_a", [1.0] * 4, 5))  # no graph: always
    assert not edge_search.scan_table_answers(table, settings, Search("whole", [1.0] * 8, 5))  # not held
    # A search that asks the graph for twice its usual beam may read twice the floats.
    usual = settings.ef_for("chunks", filtered=True)
    assert edge_search.scan_table_answers(table, settings, Search("chunks", both, 5, two, min_ef=2 * usual))  # 3200
    assert not edge_search.scan_table_answers(table, settings, Search("chunks", both, 5, two, min_ef=usual))
    assert edge_search.scan_table_answers(table, settings, Search("chunks", both, 5, in_c0, min_ef=1))  # never less

    # `manipulation` has a graph at 512 filtered, 128 unfiltered: the limits scale by beam / 1024.
    held = ScanTable({"manipulation": 4}, {"category": schema.KEYWORD})
    held.upsert([Point(f"p{i}", {"manipulation": [1.0] * 4}, {"category": f"c{i % 3}"}) for i in range(600)])
    held.mark_ready()
    vector = [1.0] * 4
    assert edge_search.scan_table_answers(held, settings, Search("manipulation", vector, 5, in_c0))  # 800 <= 1600 / 2
    assert not edge_search.scan_table_answers(held, settings, Search("manipulation", vector, 5, two))  # 1600 > 800
    assert edge_search.scan_table_answers(held, settings, Search("manipulation", vector, 5, two, min_ef=1536))  # <= 2400
    assert not edge_search.scan_table_answers(held, settings, Search("manipulation", vector, 5))  # 2400 > 2400 / 8


def test_a_write_the_scan_table_cannot_take_drops_it_and_searches_go_to_the_engine(
        tmp_path: Path, monkeypatch) -> None:
    artifact = synthetic_artifact("v1")
    store = EdgeStore(tmp_path / "drop")
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    items = synthetic_items(artifact, 120, seed=6)
    index.upsert(items[:100])
    try:
        def refuse(points: object) -> None:
            raise MemoryError("no room to grow")

        monkeypatch.setattr(store._tables["v1"], "upsert", refuse)
        index.upsert(items[100:])  # the shard takes it; the table cannot
        assert "v1" not in store._tables and store.index_status("v1").scan_table_points is None
        assert index.count() == 120
        category = artifact.spec.categories[2]
        answer = index.complete_outfit(["sku-1"], category, k=5)  # from the engine, with the new items
        expected = ExactCatalog(artifact, items).complete_outfit(["sku-1"], category, Filters(), 5)
        assert [h.item.sku for h in answer.hits] == [sku for sku, _ in expected]
    finally:
        index.close()


def test_a_hit_whose_payload_no_longer_passes_is_not_returned(tmp_path: Path) -> None:
    """A write reaches the shard before the table: a scan in between sees the old row. Here the
    shard is written behind the table's back (a price moved out of the range)."""
    artifact = synthetic_artifact("v1")
    store = EdgeStore(tmp_path / "lag")
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(synthetic_items(artifact, 200, seed=7))
    try:
        search = Search(schema.OUTFIT, schema.unit(np.ones(schema.vector_dims(artifact.spec)[schema.OUTFIT])), 10,
                        (Between("price", 0.0, 1e6),))
        first = store.search("v1", search)
        import qdrant_edge as edge

        store._shard("v1").update(edge.UpdateOperation.set_payload([first[0].id], {"price": 2e6}))
        again = store.search("v1", search)
        assert first[0].id not in {h.id for h in again}
        assert all(0.0 <= h.payload["price"] <= 1e6 for h in again)
    finally:
        index.close()



@pytest.mark.parametrize(("min_floats", "by_value"), [(IndexSettings().scan_by_value_min_floats, False),
                                                     (200 * 37, True), (200 * 37 + 1, False)])
def test_one_attribute_searches_go_to_the_tables_by_value_from_a_number_of_floats(
        tmp_path: Path, min_floats: int, by_value: bool) -> None:
    """Below scan_by_value_min_floats (rows the main table would read x the vector's floats) the
    bounds cost more than they save: a small catalog's searches stay on the main table."""
    artifact = synthetic_artifact("v1")
    store = EdgeStore(tmp_path / "small", IndexSettings(scan_by_value_min_floats=min_floats))
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(synthetic_items(artifact, 200, seed=8))
    try:
        attribute = schema.attr_vector(artifact.spec.attribute_names[1])
        search = Search(attribute, np.ones(schema.vector_dims(artifact.spec)[attribute]), 5)
        assert len(search.vector) == 37
        assert (store._tables.for_search("v1", search) is not store._tables.get("v1")) == by_value
    finally:
        index.close()
