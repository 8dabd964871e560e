"""ScanTable against a brute-force reference: the same points, the same searches, the same answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fashionrec.index.filters import AnyOf, Between, Condition, Equals, Search, holds
from fashionrec.index.scan_table import ScanTable
from fashionrec.index.schema import FLOAT, INTEGER, KEYWORD
from fashionrec.index.store import Point

DIMS = {"outfit": 4, "attr_color": 3}
FIELDS = {"category": KEYWORD, "brand": KEYWORD, "price": FLOAT, "in_stock": INTEGER,
          "predicted_labels.color": KEYWORD}
CATEGORIES = ("tops", "shoes", "bags")
COMPOSITES = {"both": ["outfit", "attr_color"]}  # as `chunks` is concat_a attr_<a>
QUERY_DIMS = {**DIMS, "both": 7}


def _point(i: int, rng: np.random.Generator, **payload: object) -> Point:
    fields = {"category": CATEGORIES[i % 3], "brand": ("acme", "dune")[i % 2], "price": float(10 + i % 50),
              "in_stock": i % 2, "predicted_labels": {"color": ("red", "blue")[i % 2]}, "title": f"item {i}"}
    fields.update(payload)
    return Point(f"p{i}", {name: rng.normal(size=dim).astype(np.float32) for name, dim in DIMS.items()}, fields)


class Reference:
    """What the table should hold: the last write of every point, searched by brute force."""

    def __init__(self) -> None:
        self.points: dict[str, Point] = {}

    def upsert(self, points: list[Point]) -> None:
        self.points.update({p.id: p for p in points})

    def set_fields(self, updates: list[tuple[str, Mapping[str, object]]]) -> None:
        for point_id, fields in updates:
            if point_id in self.points:
                old = self.points[point_id]
                self.points[point_id] = Point(point_id, old.vectors, {**old.payload, **fields})

    def delete(self, ids: list[str]) -> None:
        for point_id in ids:
            self.points.pop(point_id, None)

    def search(self, search: Search) -> list[tuple[str, float]]:
        query = np.asarray(search.vector, dtype=np.float32)
        scored = [(p.id, float(_vector(p, search.using) @ query))
                  for p in self.points.values()
                  if p.id not in search.exclude_ids and all(holds(c, p.payload) for c in search.must)]
        return sorted(scored, key=lambda s: -s[1])[:search.limit]


def _vector(point: Point, using: str) -> np.ndarray:
    names = COMPOSITES.get(using, [using])
    return np.concatenate([np.asarray(point.vectors[name], dtype=np.float32) for name in names])


def _same(found: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [i for i, _ in found] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in found], [s for _, s in expected], rtol=1e-5, atol=1e-6)


FILTERS: list[tuple[Condition, ...]] = [
    (),
    (AnyOf("category", ("shoes",)),),
    (AnyOf("category", ("tops", "bags")), Equals("in_stock", 1)),
    (Between("price", 20.0, 40.0),),
    (Between("price", None, 30.0), AnyOf("brand", ("dune",))),
    (AnyOf("predicted_labels.color", ("red",)), Between("price", 15.0, None)),
    (AnyOf("brand", ("no-such-brand",)),),
    (AnyOf("category", ("no-such-category",)),),
]


def _table(scan_threads: int = 1) -> ScanTable:
    # With threads, every search is scanned in parallel (no size floor), to test that path too.
    table = ScanTable(DIMS, FIELDS, scan_threads=scan_threads, parallel_min_floats=0, composites=COMPOSITES)
    table.mark_ready()
    return table


@pytest.mark.parametrize("scan_threads", [1, 2])
def test_searches_match_brute_force_through_growth_changes_and_compaction(scan_threads: int) -> None:
    rng = np.random.default_rng(0)
    table, reference = _table(scan_threads), Reference()
    # 5,000 points (partitions grow from 1,024 rows several times), then 3,000 changes and 1,500
    # deletes: more than a quarter of the rows die, so partitions are compacted.
    for start in range(0, 5000, 500):
        batch = [_point(i, rng) for i in range(start, start + 500)]
        table.upsert(batch)
        reference.upsert(batch)
    changed = [_point(int(i), rng) for i in rng.choice(5000, 3000, replace=False)]
    table.upsert(changed)
    reference.upsert(changed)
    patches = [(f"p{i}", {"price": 35.0, "category": "bags"}) for i in range(0, 5000, 7)]
    patches += [("p-never-written", {"price": 1.0})]
    table.set_fields(patches)
    reference.set_fields(patches)
    gone = [f"p{i}" for i in rng.choice(5000, 1500, replace=False)]
    table.delete(gone)
    reference.delete(gone)
    assert len(table) == len(reference.points)
    for using, dim in QUERY_DIMS.items():
        for must in FILTERS:
            query = rng.normal(size=dim).astype(np.float32)
            exclude = tuple(f"p{i}" for i in range(1, 40, 3))
            search = Search(using, query, 10, must, exclude)
            _same(table.search(search), reference.search(search))
    table.close()


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["upsert", "patch", "delete"]), st.integers(0, 30),
                              st.floats(0.0, 100.0), st.sampled_from(CATEGORIES)), max_size=60),
       must=st.sampled_from(FILTERS), k=st.integers(1, 12), seed=st.integers(0, 1000))
def test_any_sequence_of_writes_answers_as_brute_force(
        ops: list[tuple[str, int, float, str]], must: tuple[Condition, ...], k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table, reference = _table(), Reference()
    for op, i, price, category in ops:
        if op == "upsert":
            batch = [_point(i, rng, price=price, category=category)]
            table.upsert(batch)
            reference.upsert(batch)
        elif op == "patch":
            # Mistyped and absent values match no condition, as in the engine (filters.holds).
            fields: dict[str, object] = {"price": price if i % 4 else "cheap", "in_stock": True if i % 5 == 0 else i % 2}
            table.set_fields([(f"p{i}", fields)])
            reference.set_fields([(f"p{i}", fields)])
        else:
            table.delete([f"p{i}"])
            reference.delete([f"p{i}"])
    for using, dim in QUERY_DIMS.items():
        search = Search(using, rng.normal(size=dim).astype(np.float32), k, must, ("p3",))
        _same(table.search(search), reference.search(search))
    # A composite query whose first part is zero (an attribute weighted 0) reads the other part only.
    zero_first = Search("both", np.r_[np.zeros(4), rng.normal(size=3)].astype(np.float32), k, must)
    _same(table.search(zero_first), reference.search(zero_first))
    # Rows read: the allowed categories' live rows and the dead ones not yet compacted away.
    read = table.floats_to_scan(zero_first)
    assert read % 3 == 0 and read >= 3 * sum(1 for p in reference.points.values() if _allowed(p.payload["category"], must))


def _allowed(category: str, must: tuple[Condition, ...]) -> bool:
    return all(category in c.values for c in must if isinstance(c, AnyOf) and c.key == "category")


def test_what_the_table_cannot_answer_is_said_before_it_is_asked() -> None:
    table = ScanTable(DIMS, FIELDS)
    search = Search("outfit", [0.0] * 4, 5)
    assert not table.answers(search)  # not filled yet
    table.mark_ready()
    assert table.answers(search)
    assert not table.answers(Search("whole", [0.0] * 8, 5))  # a vector it does not hold
    assert not table.answers(Search("outfit", [0.0] * 4, 5, (AnyOf("title", ("x",)),)))  # a field it does not hold
    assert not table.answers(Search("outfit", [0.0] * 4, 5, (Between("in_stock", 0, 1),)))  # a range on an integer
    with pytest.raises(ValueError, match="cannot answer"):
        table.search(Search("whole", [0.0] * 8, 5))


def test_a_point_without_one_of_the_vectors_is_refused_and_nothing_of_its_batch_is_written() -> None:
    table = _table()
    rng = np.random.default_rng(1)
    good, bad = _point(1, rng), Point("p2", {"outfit": [0.0] * 4}, {"category": "tops"})
    with pytest.raises(ValueError, match="no 'attr_color' vector"):
        table.upsert([good, bad])
    with pytest.raises(ValueError, match="expected"):
        table.upsert([Point("p3", {"outfit": [0.0] * 5, "attr_color": [0.0] * 3}, {})])
    assert len(table) == 0


def test_readers_during_changes_see_every_point_once() -> None:
    """A point being changed is read from its old row or its new one, never twice nor not at all."""
    rng = np.random.default_rng(2)
    table = _table()
    points = [_point(i, rng) for i in range(3000)]
    table.upsert(points)
    # Each rewrite moves every point to the next category: rows die in one partition and are
    # born in another, while partitions grow and are compacted under the readers.
    moved = [[Point(p.id, p.vectors, {**p.payload, "category": CATEGORIES[(i + shift) % 3]})
              for i, p in enumerate(points)] for shift in range(1, 7)]
    query = rng.normal(size=4).astype(np.float32)
    stop, bad = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            found = table.search(Search("outfit", query, 3000, (AnyOf("category", CATEGORIES),)))
            if len(found) != 3000 or len({i for i, _ in found}) != 3000:
                bad.append(len(found))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for rewrite in moved:
            for start in range(0, len(rewrite), 100):
                table.upsert(rewrite[start:start + 100])
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert bad == []


def test_check_decides_conditions_from_the_columns_as_filters_holds_does() -> None:
    rng = np.random.default_rng(3)
    table, reference = _table(), Reference()
    points = [_point(i, rng) for i in range(600)]
    table.upsert(points)
    reference.upsert(points)
    patches = [(f"p{i}", {"price": "n/a" if i % 2 else 25.0, "in_stock": True}) for i in range(0, 600, 5)]
    table.set_fields(patches)
    reference.set_fields(patches)
    table.delete(["p7"])
    reference.delete(["p7"])
    ids = [f"p{i}" for i in range(600)] + ["p-unknown"]
    for must in FILTERS:
        verdicts = table.check(ids, must)
        assert set(verdicts) == set(reference.points)  # the deleted and the unknown are left out
        assert verdicts == {i: all(holds(c, p.payload) for c in must) for i, p in reference.points.items()}, must
    with pytest.raises(ValueError, match="cannot check"):
        table.check(ids, (AnyOf("title", ("x",)),))


def test_check_reads_each_row_in_the_arrays_it_found_it_in_while_writes_replace_them() -> None:
    """Between two ids of one check, a write grows a partition (new arrays): the second id's row
    number belongs to the new arrays, the first's to the old ones."""
    rng = np.random.default_rng(4)
    table = _table()
    table.upsert([_point(i, rng, category="tops", price=float(i)) for i in range(1000)])  # capacity 1,024

    def ids_with_a_write_between() -> Iterator[str]:
        yield "p0"
        table.upsert([_point(i, rng, category="tops", price=float(i)) for i in range(1000, 1500)])  # grows "tops"
        yield "p1400"

    verdicts = table.check(list_like(ids_with_a_write_between()), (Between("price", 1300.0, 1500.0),))
    assert verdicts == {"p0": False, "p1400": True}


class list_like(list):  # noqa: N801 - a Sequence whose iteration runs the generator lazily
    def __init__(self, items: Iterator[str]) -> None:
        super().__init__()
        self._items = items

    def __iter__(self) -> Iterator[str]:
        return self._items


def test_a_search_after_the_threads_stopped_runs_in_the_calling_thread() -> None:
    rng = np.random.default_rng(5)
    table = _table(scan_threads=2)
    points = [_point(i, rng) for i in range(300)]
    table.upsert(points)
    reference = Reference()
    reference.upsert(points)
    search = Search("outfit", rng.normal(size=4).astype(np.float32), 5)
    assert table._pool is not None
    table._pool.shutdown()  # as if close() ran after the search read the pool
    _same(table.search(search), reference.search(search))
    table.close()
    _same(table.search(search), reference.search(search))
