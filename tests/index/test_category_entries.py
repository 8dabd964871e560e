"""Manipulation filtered to categories that leave out the query's own: a second graph entry per
filter category (CatalogIndex._with_entries_in_category), merged by the true query's exact scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fashionrec.artifact import ModelArtifact
from fashionrec.index import CatalogIndex, Change, EdgeStore, Filters, IndexedItem, IndexSettings
from fashionrec.index.catalog_index import OFF_CATEGORY_MIN_EF
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.filters import Search
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items
from fashionrec.index.timed import TimedStore
from tests.index.test_catalog import _assert_matches_exact


class _MissingTheBest:
    """The real store, except that the first search of each manipulation (the one from the
    query's own region) loses its best hit, as the filtered graph walk does at 1M points."""

    def __init__(self, store: EdgeStore) -> None:
        self._store = store
        self.searches: list[Search] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def search(self, version: str, search: Search) -> Any:
        self.searches.append(search)
        hits = self._store.search(version, search)
        return hits[1:] if len(self.searches) == 1 else hits


GRAPHS = IndexSettings(indexing_threshold_kb=1, full_scan_threshold_kb=1, exact_scan_kb=0, exact_scan_unfiltered_kb=0,
                       scan_manipulation_in_memory=False)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModelArtifact, list[IndexedItem], EdgeStore]]:
    artifact = synthetic_artifact("v1", seed=0)
    items = synthetic_items(artifact, 600, seed=8)
    # Graphs built and every manipulation sent to them (not to the engine's exact scan, nor to the
    # scan table): an exact scan needs no second entry.
    store = EdgeStore(tmp_path_factory.mktemp("entries"), GRAPHS)
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items)
    index.optimize()
    yield artifact, items, store
    store.close()


def _other_category(artifact: ModelArtifact, item: IndexedItem) -> str:
    return next(c for c in artifact.spec.categories if c != item.item.category)


def test_an_off_category_filter_adds_one_entry_search_per_category_and_stays_exact(catalog: Any) -> None:
    artifact, items, store = catalog
    exact = ExactCatalog(artifact, items)
    attribute = artifact.spec.attribute_names[1]
    change = [Change(attribute, artifact.spec.vocabulary.attribute(attribute).values[0])]
    for item in items[:20]:
        own, other = item.item.category, _other_category(artifact, item)
        cases = [(Filters(categories=(own,)), 1), (Filters(), 1), (Filters(categories=(other,)), 2),
                 (Filters(categories=(other, own)), 1), (Filters(categories=(other,), in_stock=True), 2)]
        for filters, searches in cases:
            recorder = _MissingTheBest(store)
            result = CatalogIndex(recorder).manipulate(item.item.sku, change, filters, 5)  # type: ignore[arg-type]
            assert len(recorder.searches) == searches, (filters, [s.limit for s in recorder.searches])
            # An off-category manipulation's own search walks wider; its entry and the others keep the settings' beam.
            assert [s.min_ef for s in recorder.searches] == ([OFF_CATEGORY_MIN_EF, 0] if searches == 2 else [0])
            if searches == 2:  # the entry's hits, rescored, give back the best hit the first search lost
                _assert_matches_exact(result, exact.manipulate(item.item.sku, change, filters, 5))


def test_a_change_to_a_filtered_category_needs_no_second_entry(catalog: Any) -> None:
    artifact, items, store = catalog
    item = items[0]
    other = _other_category(artifact, item)
    recorder = _MissingTheBest(store)
    CatalogIndex(recorder).manipulate(item.item.sku, [Change(artifact.spec.category_attribute, other)],  # type: ignore[arg-type]
                                      Filters(categories=(other,)), 5)
    assert len(recorder.searches) == 1


def test_a_search_the_store_scans_exactly_gets_no_second_entry(tmp_path: Path) -> None:
    artifact = synthetic_artifact("v1", seed=0)
    items = synthetic_items(artifact, 300, seed=9)
    store = EdgeStore(tmp_path / "scanned")  # 300 points: every filtered search is an exact scan
    index = CatalogIndex(store)
    index.create_version(artifact)
    index.set_live("v1")
    index.upsert(items)
    try:
        item = items[0]
        attribute = artifact.spec.attribute_names[1]
        change = [Change(attribute, artifact.spec.vocabulary.attribute(attribute).values[0])]
        filters = Filters(categories=(_other_category(artifact, item),))
        # Through TimedStore, as the services wire the index (it must pass the plan question on).
        recorder = _MissingTheBest(store)
        timed = TimedStore(recorder, lambda operation, seconds: None)  # type: ignore[arg-type]
        CatalogIndex(timed).manipulate(item.item.sku, change, filters, 5)
        assert len(recorder.searches) == 1
    finally:
        store.close()
