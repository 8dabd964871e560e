"""bench/off_category.py at a tiny size: every group and plan is measured, and the engine's exact
scan agrees with numpy's exact search (no timing is asserted).

No __init__.py here: this directory must not become a package named `bench`.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench import off_category  # noqa: E402
from bench.index_recall import fill  # noqa: E402
from bench.scale_index import BenchConfig, bench_artifact, catalog_items, open_or_build  # noqa: E402
from fashionrec.index import EdgeStore, IndexSettings, edge_search, schema  # noqa: E402
from fashionrec.index.catalog_index import OFF_CATEGORY_MIN_EF  # noqa: E402
from fashionrec.index.exact import ExactCatalog  # noqa: E402


def test_off_category_bench_measures_every_plan_of_every_group(tmp_path: Path) -> None:
    config = BenchConfig(items=600, index_dir=tmp_path / "index", clients=(), optimize=False)
    artifact = bench_artifact(config.model, config.seed)
    items = catalog_items(artifact, config.items, config.seed)
    store, index, _ = open_or_build(config, artifact, items)
    try:
        groups = off_category.measure(index, store, ExactCatalog(artifact, items), artifact, items, queries=4, seed=1)
    finally:
        index.close()

    assert [(g["filter"], g["category"]) for g in groups] == list(off_category.GROUPS)
    for g in groups:
        plans = {p["plan"]: p for p in g["plans"]}
        with_entries = {p.name for p in off_category.PLANS if p.entry_beam is not None}
        # Entry searches are a plan only where CatalogIndex makes them: filters to another category.
        assert (with_entries <= set(plans)) == (g["category"] == "off") and with_entries, (g["category"], plans)
        for plan in plans.values():
            assert plan["queries"] == 4 and len(plan["per_query_ms"]) == 4, plan["plan"]
            assert 0 <= plan["recall_se"] < 0.5 and 0 < plan["p50_ms"] <= plan["p99_ms"]
        # The engine's exact scan, the scan table's and numpy's exact search rank the same ten items.
        assert plans["scan"]["recall"] == 1.0 and plans["table"]["recall"] == 1.0, (g["filter"], g["category"])
        # 600 points: the graph plans are scanned exactly too, and the index makes no entry
        # searches (the bench composes them for its graph + entries plans).
        assert all(p["recall"] >= 0.9 for p in plans.values()), plans
        assert g["scanned_queries"] == (4 if g["category"] == "off" else 0)

    table = off_category.markdown(600, groups)
    assert table.count("| plan | recall@10 ± s.e. |") == len(off_category.GROUPS)
    assert "| graph 1024 + 512 |" in table and "| scan |" in table and "| table |" in table


def test_the_replayed_plan_answers_as_catalog_index_manipulate(tmp_path: Path) -> None:
    # exact_scan_kb=0 and no manipulation in the scan table: the store walks the graph for every
    # filtered manipulation, so the index makes entry searches.
    artifact = bench_artifact(BenchConfig.model, 0)
    items = catalog_items(artifact, 600, 0)
    settings = IndexSettings(exact_scan_kb=0, scan_manipulation_in_memory=False)
    index, _ = fill(EdgeStore(tmp_path / "graph", settings), artifact, items)
    try:
        version, live = index._live()
        queries = off_category._queries(index, artifact, items, "category", "off", 5, seed=3)
        assert len(queries) == 5
        for q, _ in queries:
            search, moved = index._manipulation_plan(version, live, q.sku, list(q.changes), q.filters, off_category.K)
            assert moved and search.min_ef == OFF_CATEGORY_MIN_EF
            replayed = off_category._answer(off_category.Plan(OFF_CATEGORY_MIN_EF, 0), index._store,  # type: ignore[arg-type]
                                            version, search, moved)
            served = index.manipulate(q.sku, list(q.changes), q.filters, off_category.K)
            assert [h.payload["sku"] for h in replayed] == [h.item.sku for h in served.hits], q
    finally:
        index.close()


def test_an_off_category_manipulation_the_table_answers_at_its_wide_beam_is_one_exact_scan(tmp_path: Path) -> None:
    # No engine scan (exact_scan_kb=0), and a table limit that one category's rows pass only at the
    # wide beam (1536 of 1024: 1.5x the limit) and not at the filtered one (512: 0.5x): the index
    # asks the store about the wide search, gets a scan, and composes no entry searches.
    artifact = bench_artifact(BenchConfig.model, 0)
    items = catalog_items(artifact, 600, 0)
    largest = max(sum(e.item.category == c for e in items) for c in artifact.spec.categories)
    dims = schema.vector_dims(artifact.spec)[schema.MANIPULATION]
    settings = IndexSettings(exact_scan_kb=0, scan_table_max_floats=largest * dims)
    index, _ = fill(EdgeStore(tmp_path / "table", settings), artifact, items)
    try:
        version, live = index._live()
        table = index._store._tables[version]  # type: ignore[attr-defined]
        exact = ExactCatalog(artifact, items)
        for q, _ in off_category._queries(index, artifact, items, "category AND in_stock", "off", 5, seed=4):
            search, moved = index._manipulation_plan(version, live, q.sku, list(q.changes), q.filters, off_category.K)
            assert moved == [] and search.min_ef == OFF_CATEGORY_MIN_EF
            usual = dataclasses.replace(search, min_ef=0)
            assert edge_search.scan_table_answers(table, settings, search)
            assert not edge_search.scan_table_answers(table, settings, usual)  # the wide question mattered
            scanned = off_category._answer(off_category.Plan(table=True), index._store,  # type: ignore[arg-type]
                                           version, search, moved)
            served = index.manipulate(q.sku, list(q.changes), q.filters, off_category.K)
            assert [h.payload["sku"] for h in scanned] == [h.item.sku for h in served.hits], q
            expected = [sku for sku, _ in exact.manipulate(q.sku, list(q.changes), q.filters, off_category.K)]
            assert {h.item.sku for h in served.hits} == set(expected), q  # exact (order: float32 ties aside)
    finally:
        index.close()
