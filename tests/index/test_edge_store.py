"""What only the embedded backend has: a pointer file and shard directories that survive a restart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, EdgeStore, Filters, IndexedItem, IndexSettings, point_id, schema
from fashionrec.index import edge_search
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import AnyOf, Between, Equals, Search
from fashionrec.index.schema import collection_name
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items


def test_a_reopened_store_serves_the_same_live_version(
    qdrant_dir: Path, artifact: ModelArtifact, items: list[IndexedItem]
) -> None:
    index = CatalogIndex(EdgeStore(qdrant_dir))
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items[:50])
    before = index.similar("sku-0", k=5)
    index.close()
    assert (qdrant_dir / "LIVE").read_text().strip() == collection_name("fashionrec", "v1")

    reopened = CatalogIndex(EdgeStore(qdrant_dir))
    try:
        assert reopened.live_version() == "v1"
        # Until its scan table is filled the reopened store answers from the engine, whose float32
        # sums may differ from numpy's in the last place: the same items, scores to that precision.
        after = reopened.similar("sku-0", k=5)
        assert [h.item for h in after.hits] == [h.item for h in before.hits]
        assert [h.score for h in after.hits] == pytest.approx([h.score for h in before.hits], rel=1e-6, abs=1e-7)
        assert after.model_version == before.model_version
    finally:
        reopened.close()


def test_an_unfinished_version_is_not_listed_and_can_be_created_again(
    qdrant_dir: Path, artifact: ModelArtifact, items: list[IndexedItem]
) -> None:
    # A crash after the shard was made but before the model was stored leaves this behind.
    (qdrant_dir / "versions" / collection_name("fashionrec", "v1") / "shard" / "junk").mkdir(parents=True)
    store = EdgeStore(qdrant_dir)
    try:
        assert store.versions() == [] and store.live_version() is None
        index = CatalogIndex(store)
        index.create_version(artifact)
        index.set_live("v1")
        index.upsert(items[:10])
        assert index.versions() == ["v1"] and index.count() == 10
    finally:
        store.close()


def test_a_filtered_search_scans_exactly_when_the_passing_vectors_are_few(tmp_path: Path) -> None:
    def plan(exact_scan_kb: int, must: tuple, unfiltered_kb: int = 0, using: str = "manipulation",
             graph_small_vectors: bool = False) -> bool:
        store = EdgeStore(tmp_path / f"plan-{exact_scan_kb}-{unfiltered_kb}-{len(must)}-{using}-{graph_small_vectors}",
                          IndexSettings(exact_scan_kb=exact_scan_kb, exact_scan_unfiltered_kb=unfiltered_kb,
                                        graph_small_vectors=graph_small_vectors))
        index = CatalogIndex(store)
        artifact = synthetic_artifact("v1")
        index.create_version(artifact)
        index.set_live("v1")
        index.upsert(synthetic_items(artifact, 200, seed=3))
        try:
            dim = schema.vector_dims(artifact.spec)[using]
            return store._scan_exactly(store._shard("v1"), Search(using, [0.0] * dim, 5, must))
        finally:
            index.close()

    everything = (AnyOf("category", tuple(synthetic_artifact("v1").spec.categories)),)
    # Every point passes: 200 points × ~300 floats × 4 bytes ≈ 240 KB of `manipulation` vectors
    # (the engine's count is an estimate, hence the wide margins).
    assert plan(1000, everything)  # ≤ 1000 KB: scan
    assert not plan(10, everything)  # over 10 KB: the graph
    assert not plan(1000, ())  # unfiltered: the graph unless the whole collection is small enough
    assert plan(1, (), unfiltered_kb=1000)
    assert not plan(1000, (), unfiltered_kb=10)
    # The small vectors have no graph by default: always scanned, whatever the thresholds say.
    for using in ("outfit", "attr_category"):
        assert plan(0, everything, using=using) and plan(0, (), using=using)
    assert not plan(1, everything, using="outfit", graph_small_vectors=True)


def test_excluded_points_are_left_out_and_k_others_returned(tmp_path: Path) -> None:
    # EdgeStore drops the excluded ids from k + len(excluded) results instead of filtering in the
    # engine: the excluded points must never appear, even when they are the nearest, and k others
    # (the exact nearest of the rest) must still come back, with and without a filter.
    import numpy as np

    from fashionrec.index.schema import OUTFIT, point_id

    artifact = synthetic_artifact("v1")
    items = synthetic_items(artifact, 200, seed=5)
    store = EdgeStore(tmp_path / "exclude")
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items)
    try:
        query = np.asarray(items[0].outfit, dtype=np.float32)
        scores = np.array([float(np.dot(query, e.outfit)) for e in items])
        order = [items[int(i)] for i in np.argsort(-scores)]
        excluded = tuple(point_id(e.item.sku) for e in order[:3])  # the three nearest
        category = order[5].item.category
        for must in ((), (AnyOf("category", (category,)),)):
            rest = [e for e in order[3:] if not must or e.item.category == category]
            hits = store.search("v1", Search(OUTFIT, query, 7, must, excluded))
            assert [h.payload["sku"] for h in hits] == [e.item.sku for e in rest[:7]]
            assert not {h.id for h in hits} & set(excluded)
    finally:
        index.close()


def test_search_beam_per_vector_and_wider_for_filtered_graph_searches() -> None:
    settings = IndexSettings(hnsw_ef=128, hnsw_ef_attribute=256, hnsw_ef_chunks=1024, hnsw_ef_filtered=512)
    assert [settings.ef_for(v) for v in ("manipulation", "outfit", "attr_color", "chunks")] == [128, 128, 256, 1024]
    # A query's min_ef widens the beam (similar: a query on part of `manipulation`), never narrows it.
    assert settings.beam(Search("manipulation", [1.0], 10, min_ef=1024)) == 1024
    assert settings.beam(Search("chunks", [1.0], 10, min_ef=16)) == 1024
    assert settings.beam(Search("manipulation", [1.0], 10, (Equals("in_stock", 1),))) == 512
    # ACORN through a filter needs the wider beam (1M bench); a wider one is never narrowed.
    assert [settings.ef_for(v, filtered=True) for v in ("manipulation", "attr_color", "chunks")] == [512, 512, 1024]


def test_the_graphs_on_int8_copies_rank_as_exact_search_after_optimize(tmp_path: Path) -> None:
    # Graphs built (thresholds of 1 KB) and every manipulation sent to them (no exact-scan plan,
    # `manipulation` not in the scan table): the large vectors' graphs are built and searched on
    # their int8 copies, and the rescoring with float32 must give back the exact top k and its
    # exact scores; the small vectors have no graph and count as indexed, so the maintainer does
    # not build forever.
    from tests.index.test_catalog import FILTER_SHAPES, QUERIES, _assert_matches_exact

    from fashionrec.index.exact import ExactCatalog

    settings = IndexSettings(indexing_threshold_kb=1, full_scan_threshold_kb=1, exact_scan_kb=0,
                             exact_scan_unfiltered_kb=0, scan_manipulation_in_memory=False)
    assert settings.is_quantized("manipulation") and not settings.has_graph("outfit")
    artifact = synthetic_artifact("v1")
    items = synthetic_items(artifact, 1500, seed=11)
    index = CatalogIndex(EdgeStore(tmp_path / "graphs", settings))
    try:
        index.create_version(artifact)
        index.set_live("v1")
        index.upsert(items)
        index.optimize()
        status = index.index_status()
        assert status.indexed_vectors > 0 and status.unindexed_vectors == 0
        exact = ExactCatalog(artifact, items)
        for name, (run, reference) in QUERIES.items():
            for shape in ("none", "price_range"):
                _assert_matches_exact(run(index, FILTER_SHAPES[shape], 10), reference(exact, FILTER_SHAPES[shape], 10))
    finally:
        index.close()


def test_a_filter_that_passes_many_points_is_checked_on_an_oversampled_looser_search(tmp_path: Path) -> None:
    from fashionrec.index.filters import Between, Equals

    artifact = synthetic_artifact("v1")
    items = synthetic_items(artifact, 600, seed=2)
    # 600 points: every search here is an exact scan, so post-filtering needs its size floor off.
    store = EdgeStore(tmp_path / "post", IndexSettings(post_filter_min_fraction=0.2, post_filter_oversampling=2.0,
                                                       post_filter_scan_min_points=0))
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items)
    try:
        shard = store._shard("v1")
        category = items[0].item.category
        dim = schema.vector_dims(artifact.spec)[schema.MANIPULATION]
        query = Search(schema.MANIPULATION, [1.0] + [0.0] * (dim - 1), 10)
        wide = dataclasses.replace(query, must=(Between("price", 0.0, 1e6),))  # every point passes
        sent, checked = store.planned_search(shard, wide)
        # k / share × 2 hits, the share being the engine's estimate (~1.0).
        assert sent.must == () and checked == wide.must and 20 <= sent.limit <= 22
        both = dataclasses.replace(query, must=(AnyOf("category", (category,)), Equals("in_stock", 1)))
        sent, checked = store.planned_search(shard, both)
        assert sent.must == both.must[:1] and checked == both.must[1:] and sent.limit > 20
        rare = dataclasses.replace(query, must=(Between("price", 0.0, 0.0),))  # nothing passes
        assert store.planned_search(shard, rare) == (rare, ())
        settings = store._settings  # one process owns the shard: the settings are swapped instead
        store._settings = IndexSettings(post_filter_min_fraction=0.0)
        assert store.planned_search(shard, wide) == (wide, ())
        store._settings = IndexSettings()  # a small collection scanned exactly: the whole filter
        assert store.planned_search(shard, wide) == (wide, ())
        # Too few of the hits pass (an oversampling below 1 makes sure of it): the engine is asked
        # again with the whole filter, and the answer is the one the whole filter gives.
        in_stock = dataclasses.replace(query, must=(Equals("in_stock", 1),), limit=50)
        whole_filter = store.search("v1", in_stock)  # post-filtering off
        assert len(whole_filter) == 50 and all(h.payload["in_stock"] == 1 for h in whole_filter)
        store._settings = IndexSettings(post_filter_oversampling=0.5, post_filter_scan_min_points=0)
        assert store.planned_search(shard, in_stock)[1] == in_stock.must
        assert [h.id for h in store.search("v1", in_stock)] == [h.id for h in whole_filter]
        store._settings = settings
        assert [h.id for h in store.search("v1", in_stock)] == [h.id for h in whole_filter]
    finally:
        index.close()


def test_a_whole_filter_estimated_above_the_looser_one_still_asks_for_k() -> None:
    # Pure logic: the engine's counts are estimates, and an estimate of the whole filter above the
    # looser filter's must not shrink the looser search below k + the excluded points.
    from fashionrec.index.edge_search import planned_search
    from fashionrec.index.filters import Between

    class Counts:
        def count(self, request) -> int:  # 900 pass the price range, "400" points in all
            return 900 if request.filter is not None else 400

    search = Search("whole", [1.0] * 4, 10, (Between("price", 0.0, 1.0),), ("a", "b", "c"))
    sent, checked = planned_search(Counts(), IndexSettings(post_filter_scan_min_points=0), search)  # type: ignore[arg-type]
    assert checked == search.must and sent.must == ()
    assert sent.limit >= search.limit and sent.limit + 3 >= 2 * 13


def test_a_shard_written_with_the_whole_vector_still_opens_and_takes_new_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Until round 8 every point had a `whole` vector (L2n(r), now read from `manipulation`). The
    # engine refuses to load a shard with other named vectors than it was created with, so the
    # store opens such a shard with `whole` declared, then deletes that vector: kept, its graph
    # would be rebuilt at every optimize and its indexed vectors would hide new, unindexed points
    # from the maintainer (IndexStatus counts the schema's vectors).
    from fashionrec.index.edge_store import LEGACY_WHOLE

    artifact = synthetic_artifact("v1")
    spec = artifact.spec
    items = synthetic_items(artifact, 300, seed=6)
    graphs_always = IndexSettings(indexing_threshold_kb=1, full_scan_threshold_kb=1)
    vector_dims, point_vectors = schema.vector_dims, schema.point_vectors
    with monkeypatch.context() as old_schema:
        old_schema.setattr(schema, "vector_dims", lambda s: {**vector_dims(s), LEGACY_WHOLE: s.whole_dim})
        old_schema.setattr(schema, "point_vectors", lambda s, whole, *rest: {
            **point_vectors(s, whole, *rest), LEGACY_WHOLE: schema.unit(whole).tolist()})
        index = CatalogIndex(EdgeStore(tmp_path / "old", graphs_always))
        index.create_version(artifact)
        index.set_live("v1")
        index.upsert(items[:200])  # (no optimize here: its child process would run today's schema)
        index.close()
    [config] = (tmp_path / "old").rglob("edge_config.json")
    assert LEGACY_WHOLE in config.read_text()

    store = EdgeStore(tmp_path / "old", graphs_always)
    index = CatalogIndex(store)
    try:
        index.optimize()
        # the vector is gone from the shard (optimize swapped in a new shard directory)
        assert LEGACY_WHOLE not in (store._shard_dir("v1") / "edge_config.json").read_text()
        assert index.index_status().unindexed_points == 0
        index.upsert(items[200:])
        assert index.index_status().unindexed_points == 100  # the new points, none hidden
        exact = ExactCatalog(artifact, items)
        for sku in ("sku-3", "sku-250"):
            got = [(h.item.sku, h.score) for h in index.similar(sku, k=5).hits]
            expected = exact.similar(sku, Filters(), 5)
            assert [s for s, _ in got] == [s for s, _ in expected]
            np.testing.assert_allclose([x for _, x in got], [x for _, x in expected], rtol=1e-4)
        assert index.count() == 300 and spec.whole_dim == len(index.get_items(["sku-250"])[0].whole)
    finally:
        index.close()
