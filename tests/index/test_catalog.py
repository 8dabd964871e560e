"""The index contract, run on both backends (see conftest.py): every query type with every
filter shape against exact numpy ranking, writes, version switches and bad input."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fashionrec.artifact import ModelArtifact
from fashionrec.errors import FailedPrecondition, InvalidArgument, NotFound
from fashionrec.index import (
    CatalogIndex, Change, Filters, IndexedItem, ItemPatch, SearchResult, VectorQuery, VectorStore,
)
from fashionrec.index.exact import ExactCatalog
from fashionrec.index.schema import MAX_SKU_CHARS
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items
from tests.index.conftest import MAX_K, make_store

pytestmark = pytest.mark.filterwarnings(
    "ignore:Payload indexes have no effect", "ignore:Local mode performs exact"
)

FILTER_SHAPES = {
    "none": Filters(),
    "category": Filters(categories=("cat2",)),
    "category_in_stock": Filters(categories=("cat2",), in_stock=True),
    "price_range": Filters(min_price=40.0, max_price=120.0),
    "brand_and_stock": Filters(brands=("acme", "dune"), in_stock=False),
}
WEIGHTS = {"attr1": 1.0, "attr3": 2.0, "category": 0.5}

# name -> (call on the index, call on the exact reference); both get (filters, k).
QUERIES: dict[str, tuple[Callable, Callable]] = {
    "similar": (
        lambda ix, f, k: ix.similar("sku-0", f, k),
        lambda ex, f, k: ex.similar("sku-0", f, k),
    ),
    "manipulate": (
        lambda ix, f, k: ix.manipulate("sku-0", [Change("attr1", "a1v3")], f, k),
        lambda ex, f, k: ex.manipulate("sku-0", [Change("attr1", "a1v3")], f, k),
    ),
    "manipulate_several": (
        lambda ix, f, k: ix.manipulate("sku-7", [Change("attr2", "a2v0"), Change("attr4", "a4v1")], f, k),
        lambda ex, f, k: ex.manipulate("sku-7", [Change("attr2", "a2v0"), Change("attr4", "a4v1")], f, k),
    ),
    "manipulate_require_predicted": (
        lambda ix, f, k: ix.manipulate("sku-7", [Change("attr2", "a2v0")], f, k, require_predicted_target=True),
        lambda ex, f, k: ex.manipulate("sku-7", [Change("attr2", "a2v0")], f, k, require_predicted_target=True),
    ),
    "similar_by_one": (
        lambda ix, f, k: ix.similar_by("sku-3", {"attr2": 5.0}, f, k),
        lambda ex, f, k: ex.similar_by("sku-3", {"attr2": 5.0}, f, k),
    ),
    "similar_by_weighted": (
        lambda ix, f, k: ix.similar_by("sku-3", WEIGHTS, f, k),
        lambda ex, f, k: ex.similar_by("sku-3", WEIGHTS, f, k),
    ),
    "outfit": (
        lambda ix, f, k: ix.complete_outfit(["sku-0", "sku-1", "sku-2"], "cat2", f, k),
        lambda ex, f, k: ex.complete_outfit(["sku-0", "sku-1", "sku-2"], "cat2", f, k),
    ),
}


def _assert_matches_exact(result: SearchResult, expected: list[tuple[str, float]]) -> None:
    assert result.hits, "an empty result where the exact search finds items"
    assert len(result.hits) == len(expected)
    exact_score = dict(expected)
    # Same scores rank by rank, and each returned item scores what the exact search gives it:
    # the engine returned the exact top k, whatever the order of ties.
    assert [h.score for h in result.hits] == pytest.approx([s for _, s in expected], abs=1e-4)
    for hit in result.hits:
        assert hit.item.sku in exact_score
        assert hit.score == pytest.approx(exact_score[hit.item.sku], abs=1e-4)


@pytest.mark.parametrize("shape", FILTER_SHAPES)
@pytest.mark.parametrize("query", QUERIES)
def test_every_query_with_every_filter_shape_ranks_as_exact_search(
    shared_index: CatalogIndex, artifact: ModelArtifact, items: list[IndexedItem], query: str, shape: str
) -> None:
    run, reference = QUERIES[query]
    filters = FILTER_SHAPES[shape]
    result = run(shared_index, filters, 10)
    _assert_matches_exact(result, reference(ExactCatalog(artifact, items), filters, 10))
    assert result.model_version == "v1"
    by_sku = {e.item.sku: e.item for e in items}
    for hit in result.hits:
        item = by_sku[hit.item.sku]
        assert hit.item == item.__class__(**{**item.__dict__, "model_version": "v1"})
        if filters.categories:
            assert item.category in filters.categories
        if filters.in_stock is not None:
            assert item.in_stock == filters.in_stock


def test_query_items_never_come_back(shared_index: CatalogIndex) -> None:
    assert "sku-5" not in {h.item.sku for h in shared_index.similar("sku-5", k=MAX_K).hits}
    assert "sku-5" not in {h.item.sku for h in shared_index.similar_by("sku-5", {"attr1": 1.0}, k=MAX_K).hits}
    change = Change("attr1", "a1v0")
    assert "sku-5" not in {h.item.sku for h in shared_index.manipulate("sku-5", [change], k=MAX_K).hits}
    [outfit_item] = shared_index.get_items(["sku-5"])
    target = outfit_item.item.category  # the outfit item is itself a candidate of the target category
    hits = shared_index.complete_outfit(["sku-5"], target, k=MAX_K).hits
    assert hits and "sku-5" not in {h.item.sku for h in hits}


def test_a_photo_query_is_composed_from_its_vector_and_labels(
    shared_index: CatalogIndex, items: list[IndexedItem]
) -> None:
    entry = items[0]
    photo = VectorQuery(entry.whole, dict(entry.item.labels) | {
        a: v for a, v in entry.item.predicted_labels.items() if a not in entry.item.labels}, outfit=entry.outfit)
    by_sku = shared_index.manipulate("sku-0", [Change("attr1", "a1v3")], k=10).hits
    by_photo = shared_index.manipulate(photo, [Change("attr1", "a1v3")], k=11).hits
    assert [h.item.sku for h in by_photo if h.item.sku != "sku-0"][:10] == [h.item.sku for h in by_sku]
    same = shared_index.similar(VectorQuery(entry.whole), k=1).hits
    assert same[0].item.sku == "sku-0" and same[0].score == pytest.approx(1.0, abs=1e-5)


def test_require_predicted_target_keeps_only_items_predicted_with_the_targets(shared_index: CatalogIndex) -> None:
    changes = [Change("attr2", "a2v0"), Change("attr4", "a4v1")]
    hits = shared_index.manipulate("sku-7", changes, k=MAX_K, require_predicted_target=True).hits
    assert hits
    assert all(h.item.predicted_labels["attr2"] == "a2v0" and h.item.predicted_labels["attr4"] == "a4v1" for h in hits)


def test_score_outfit_is_the_mean_of_pairwise_compatibility(
    shared_index: CatalogIndex, artifact: ModelArtifact
) -> None:
    skus = ["sku-0", "sku-1", "sku-2"]
    scored = shared_index.score_outfit(skus)
    stored = {e.item.sku: e for e in shared_index.get_items(skus)}
    form = artifact.outfit_bilinear

    def compat(a: str, b: str) -> float:
        ea, eb = stored[a].outfit, stored[b].outfit
        return float((ea @ form @ eb + eb @ form @ ea) / 2)

    assert [(p.sku_a, p.sku_b) for p in scored.pairs] == [("sku-0", "sku-1"), ("sku-0", "sku-2"), ("sku-1", "sku-2")]
    for pair in scored.pairs:
        assert pair.score == pytest.approx(compat(pair.sku_a, pair.sku_b), abs=1e-5)
    assert scored.score == pytest.approx(np.mean([p.score for p in scored.pairs]))
    assert scored.model_version == "v1"


def test_get_items_returns_the_raw_vectors_and_payload(
    shared_index: CatalogIndex, items: list[IndexedItem]
) -> None:
    got = shared_index.get_items(["sku-9", "sku-4"])
    assert [g.item.sku for g in got] == ["sku-9", "sku-4"]
    for g, entry in zip(got, (items[9], items[4])):
        np.testing.assert_allclose(g.whole, entry.whole, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g.outfit, entry.outfit, rtol=1e-6)
        assert g.item.price == entry.item.price and g.item.labels == entry.item.labels
        assert g.item.model_version == "v1"


def test_replaying_a_batch_changes_nothing(index: CatalogIndex, items: list[IndexedItem]) -> None:
    def state() -> tuple:
        return (
            index.count(),
            index.manipulate("sku-0", [Change("attr1", "a1v3")], Filters(in_stock=True), k=10),
            index.similar_by("sku-3", WEIGHTS, k=10),
            [(e.item, e.whole.tolist()) for e in index.get_items(["sku-1", "sku-20"])],
        )

    def same(a: tuple, b: tuple) -> bool:
        """Equal, with scores to float32 precision: the embedded store's scan table scores a
        re-written row at another place in its arrays, where BLAS may sum a 299-float product in
        another order (seen: 0.17524296 then 0.17524299 for the same point)."""
        def hits(result: SearchResult) -> tuple[list, list[float]]:
            return [h.item for h in result.hits], [h.score for h in result.hits]

        return (a[0], a[3]) == (b[0], b[3]) and all(
            x.model_version == y.model_version and hits(x)[0] == hits(y)[0]
            and hits(x)[1] == pytest.approx(hits(y)[1], rel=1e-6, abs=1e-7)
            for x, y in ((a[1], b[1]), (a[2], b[2])))

    before = state()
    index.upsert(items[:100])
    index.upsert(items[:100])
    assert same(state(), before)

    patch = [ItemPatch("sku-1", updated_at=2e9, price=99.0)]
    index.patch(patch)
    index.delete(["sku-2"])
    once = state()
    index.patch(patch)
    index.delete(["sku-2"])
    assert same(state(), once)
    assert once[0] == len(items) - 1


def test_patch_changes_payload_only(index: CatalogIndex, items: list[IndexedItem]) -> None:
    missing = index.patch([ItemPatch("sku-1", updated_at=1.8e9, price=1.5, in_stock=False), ItemPatch("nope", 1.8e9)])
    assert missing == ["nope"]
    [got] = index.get_items(["sku-1"])
    assert (got.item.price, got.item.in_stock, got.item.updated_at) == (1.5, False, 1.8e9)
    assert got.item.title == items[1].item.title  # untouched fields stay
    np.testing.assert_allclose(got.whole, items[1].whole, rtol=1e-5, atol=1e-6)
    cheap = index.similar("sku-0", Filters(max_price=2.0), k=10).hits
    assert [h.item.sku for h in cheap] == ["sku-1"]
    with pytest.raises(NotFound):
        index.get_items(["nope"])
    assert index.updated_at(["sku-1", "sku-3", "nope"]) == {"sku-1": 1.8e9, "sku-3": items[3].item.updated_at}


def test_delete_removes_items_from_reads_and_searches(index: CatalogIndex, items: list[IndexedItem]) -> None:
    index.delete(["sku-10", "sku-11", "never-indexed"])
    assert index.count() == len(items) - 2
    with pytest.raises(NotFound, match="sku-10"):
        index.get_items(["sku-10"])
    hits = index.similar("sku-0", k=MAX_K).hits
    assert not {"sku-10", "sku-11"} & {h.item.sku for h in hits}
    assert index.updated_at(["sku-10"]) == {}


def test_count_applies_filters(shared_index: CatalogIndex, items: list[IndexedItem]) -> None:
    f = FILTER_SHAPES["category_in_stock"]
    expected = sum(1 for e in items if e.item.category == "cat2" and e.item.in_stock)
    assert shared_index.count(f) == expected > 0


def test_check_reachable_passes_on_a_live_index_and_fails_without_one(
    index: CatalogIndex, store: VectorStore, items: list[IndexedItem], tmp_path: Path
) -> None:
    index.check_reachable()  # the engine's estimate from its statistics: no exact scan
    assert store.count(index.live_version(), exact=False) == len(items)
    without_live = CatalogIndex(make_store("edge", tmp_path / "empty"))
    with pytest.raises(FailedPrecondition, match="no live index"):
        without_live.check_reachable()
    without_live.close()


def test_switching_the_live_version_leaves_no_window_without_results(
    index: CatalogIndex, artifact: ModelArtifact
) -> None:
    v2 = synthetic_artifact("v2", seed=1)
    index.create_version(v2)
    index.create_version(v2)  # idempotent
    index.upsert(synthetic_items(v2, 100, seed=1), version="v2")
    index.optimize("v2")
    assert index.live_version() == "v1" and sorted(index.versions()) == ["v1", "v2"]

    seen: list[tuple[str, int]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                result = index.similar_by("sku-0", {"attr1": 1.0, "attr2": 1.0}, Filters(in_stock=True), k=5)
                seen.append((result.model_version, len(result.hits)))
            except BaseException as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in ("v2", "v1", "v2", "v1", "v2"):
            index.set_live(version)
            while not any(v == version for v, _ in seen[-3:]):  # let the reader see this version
                if failures or not reader.is_alive():
                    break
                threading.Event().wait(0.001)
    finally:
        done.set()
        reader.join()
    assert not failures
    assert {v for v, _ in seen} == {"v1", "v2"}
    assert all(n == 5 for _, n in seen)
    assert index.live_version() == "v2"
    np.testing.assert_array_equal(index.artifact().prototypes, v2.prototypes)
    np.testing.assert_array_equal(index.artifact("v1").prototypes, artifact.prototypes)
    index.drop_version("v1")
    assert index.versions() == ["v2"]


def test_versions_store_their_artifact(shared_index: CatalogIndex, artifact: ModelArtifact) -> None:
    stored = shared_index.artifact()
    assert stored.spec == artifact.spec
    np.testing.assert_array_equal(stored.prototypes, artifact.prototypes)
    np.testing.assert_array_equal(stored.outfit_bilinear, artifact.outfit_bilinear)


def test_a_version_cannot_be_recreated_with_another_spec_nor_dropped_while_live(
    shared_index: CatalogIndex,
) -> None:
    other = synthetic_artifact("v1", seed=0)
    other = ModelArtifact(other.spec.__class__(**{**other.spec.__dict__, "attribute_dim": 16}),
                          np.zeros((16 * 6, other.prototypes.shape[1]), np.float32), other.outfit_bilinear)
    with pytest.raises(FailedPrecondition, match="different spec"):
        shared_index.create_version(other)
    with pytest.raises(FailedPrecondition, match="live"):
        shared_index.drop_version("v1")


def test_no_live_version_is_a_failed_precondition(store: VectorStore, artifact: ModelArtifact) -> None:
    index = CatalogIndex(store)
    index.create_version(artifact)
    with pytest.raises(FailedPrecondition):
        index.similar("sku-0")
    with pytest.raises(NotFound):
        index.upsert([], version="v9")


def _item(items: list[IndexedItem], **changes: object) -> IndexedItem:
    entry = items[0]
    vectors = ("whole", "outfit", "log_probs")
    item_changes = {k: v for k, v in changes.items() if k not in vectors}
    item = entry.item.__class__(**{**entry.item.__dict__, **item_changes})
    return IndexedItem(item, *(changes.get(name, getattr(entry, name)) for name in vectors))  # type: ignore[arg-type]


BAD_REQUESTS: dict[str, tuple[Callable, str]] = {
    "unknown attribute": (lambda ix, it: ix.manipulate("sku-0", [Change("colour", "red")]), "changes[0].attribute"),
    "unknown value": (lambda ix, it: ix.manipulate("sku-0", [Change("attr1", "red")]), "changes[0].value"),
    "second unknown value": (
        lambda ix, it: ix.manipulate("sku-0", [Change("attr1", "a1v0"), Change("attr2", "x")]), "changes[1].value"),
    "attribute changed twice": (
        lambda ix, it: ix.manipulate("sku-0", [Change("attr1", "a1v0"), Change("attr1", "a1v1")]),
        "changes[1].attribute"),
    "no changes": (lambda ix, it: ix.manipulate("sku-0", []), "changes"),
    "k zero": (lambda ix, it: ix.similar("sku-0", k=0), "k"),
    "k negative": (lambda ix, it: ix.similar_by("sku-0", {"attr1": 1.0}, k=-3), "k"),
    "k above cap": (lambda ix, it: ix.complete_outfit(["sku-0"], "cat1", k=MAX_K + 1), "k"),
    "k not an int": (lambda ix, it: ix.similar("sku-0", k=2.5), "k"),
    "photo of wrong dimension": (lambda ix, it: ix.similar(VectorQuery(np.ones(7))), "item.whole"),
    "photo with NaN": (
        lambda ix, it: ix.similar(VectorQuery(np.where(np.arange(192) == 3, np.nan, 1.0))), "item.whole"),
    "photo with infinity": (
        lambda ix, it: ix.manipulate(VectorQuery(np.full(192, np.inf)), [Change("attr1", "a1v0")]), "item.whole"),
    "photo style embedding of wrong dimension": (
        lambda ix, it: ix.manipulate(VectorQuery(np.ones(192), outfit=np.ones(3)), [Change("attr1", "a1v0")]),
        "item.outfit"),
    "photo style embedding with NaN": (
        lambda ix, it: ix.manipulate(VectorQuery(np.ones(192), outfit=np.full(it[0].outfit.shape, np.nan)),
                                     [Change("attr1", "a1v0")]), "item.outfit"),
    "photo with unknown label": (
        lambda ix, it: ix.manipulate(VectorQuery(np.ones(192), {"attr1": "zz"}), [Change("attr1", "a1v0")]),
        "item.labels[attr1]"),
    "weight on unknown attribute": (lambda ix, it: ix.similar_by("sku-0", {"fit": 1.0}), "weights[0].attribute"),
    "negative weight": (lambda ix, it: ix.similar_by("sku-0", [("attr1", 1.0), ("attr2", -1.0)]), "weights[1].weight"),
    "NaN weight": (lambda ix, it: ix.similar_by("sku-0", {"attr1": float("nan")}), "weights[0].weight"),
    "all weights zero": (lambda ix, it: ix.similar_by("sku-0", {"attr1": 0.0}), "weights"),
    "no weights": (lambda ix, it: ix.similar_by("sku-0", {}), "weights"),
    "unknown filter category": (
        lambda ix, it: ix.similar("sku-0", Filters(categories=("cat1", "hats"))), "filters.categories[1]"),
    "price bounds crossed": (
        lambda ix, it: ix.similar("sku-0", Filters(min_price=50.0, max_price=10.0)), "filters.max_price"),
    "NaN price bound": (lambda ix, it: ix.similar("sku-0", Filters(min_price=float("nan"))), "filters.min_price"),
    "empty outfit": (lambda ix, it: ix.complete_outfit([], "cat1"), "outfit_skus"),
    "outfit item twice": (lambda ix, it: ix.complete_outfit(["sku-0", "sku-0"], "cat1"), "outfit_skus[1]"),
    "unknown target category": (lambda ix, it: ix.complete_outfit(["sku-0"], "hats"), "target_category"),
    "filter excludes the target": (
        lambda ix, it: ix.complete_outfit(["sku-0"], "cat1", Filters(categories=("cat2",))), "filters.categories"),
    "score of one item": (lambda ix, it: ix.score_outfit(["sku-0"]), "skus"),
    "upsert of wrong dimension": (lambda ix, it: ix.upsert([_item(it, whole=np.ones(10))]), "items[0].whole"),
    "upsert with NaN": (lambda ix, it: ix.upsert([it[1], _item(it, whole=np.full(192, np.nan))]), "items[1].whole"),
    "upsert with a zero chunk": (
        lambda ix, it: ix.upsert([_item(it, whole=np.concatenate([np.zeros(32), np.ones(160)]))]), "items[0].whole"),
    "upsert of wrong outfit dimension": (lambda ix, it: ix.upsert([_item(it, outfit=np.ones(3))]), "items[0].outfit"),
    "upsert of unknown category": (lambda ix, it: ix.upsert([_item(it, category="hats")]), "items[0].category"),
    "upsert of unknown label": (
        lambda ix, it: ix.upsert([_item(it, labels={"attr1": "zz"})]), "items[0].labels[attr1]"),
    "upsert without SKU": (lambda ix, it: ix.upsert([_item(it, sku="")]), "items[0].sku"),
    "patch with NaN price": (
        lambda ix, it: ix.patch([ItemPatch("sku-0", 1.0, price=float("inf"))]), "patches[0].price"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_input_is_an_invalid_argument_naming_the_field(
    shared_index: CatalogIndex, items: list[IndexedItem], case: str
) -> None:
    call, field = BAD_REQUESTS[case]
    with pytest.raises(InvalidArgument) as caught:
        call(shared_index, items)
    assert [v.field for v in caught.value.violations] == [field]
    assert shared_index.count() == len(items)  # nothing was written


UNKNOWN_SKU_CALLS: dict[str, Callable] = {
    "get_items": lambda ix: ix.get_items(["sku-0", "ghost-1"]),
    "manipulate": lambda ix: ix.manipulate("ghost-1", [Change("attr1", "a1v0")]),
    "similar_by": lambda ix: ix.similar_by("ghost-1", {"attr1": 1.0}),
    "similar": lambda ix: ix.similar("ghost-1"),
    "complete_outfit": lambda ix: ix.complete_outfit(["sku-0", "ghost-1"], "cat1"),
    "score_outfit": lambda ix: ix.score_outfit(["ghost-1", "sku-0"]),
}


@pytest.mark.parametrize("call", UNKNOWN_SKU_CALLS)
def test_an_unknown_sku_is_not_found_and_named(shared_index: CatalogIndex, call: str) -> None:
    with pytest.raises(NotFound, match="ghost-1"):
        UNKNOWN_SKU_CALLS[call](shared_index)


def test_a_sku_longer_than_any_indexed_one_is_an_invalid_argument_naming_the_field(shared_index: CatalogIndex) -> None:
    # Echoed back in a NOT_FOUND, a 100,000-character SKU overflowed gRPC's trailing metadata.
    long_sku = "x" * (MAX_SKU_CHARS + 1)
    for call, field in ((lambda: shared_index.similar(long_sku), "item.sku"),
                        (lambda: shared_index.score_outfit(["sku-0", long_sku]), "skus[1]"),
                        (lambda: shared_index.get_items([long_sku]), "skus[0]")):
        with pytest.raises(InvalidArgument, match=rf"{re.escape(field)}: a SKU has at most {MAX_SKU_CHARS} characters"):
            call()
