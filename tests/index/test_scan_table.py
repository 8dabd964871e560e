"""ScanTable against a brute-force reference: the same points, the same searches, the same answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fashionrec.index.filters import AnyOf, Between, Condition, Equals, Search, holds, payload_value
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


# The store's main table (by category), and a table as the store keeps one per attribute: keyed
# by category and predicted value, its partitions bounding their scores (heads: the first floats
# bounded by their norm, the rest float by float), so that its searches stop early.
BY_VALUE = {"partition_keys": ("category", "predicted_labels.color"), "heads": {"outfit": 2, "attr_color": 1}}
LAYOUTS = {"by-category": {}, "by-value": BY_VALUE}


def _table(scan_threads: int = 1, layout: str = "by-category") -> ScanTable:
    # With threads, every search is scanned in parallel (no size floor), to test that path too.
    table = ScanTable(DIMS, FIELDS, scan_threads=scan_threads, parallel_min_floats=0, composites=COMPOSITES,
                      **LAYOUTS[layout])
    table.mark_ready()
    return table


@pytest.mark.parametrize(("scan_threads", "layout"), [(1, "by-category"), (2, "by-category"), (1, "by-value")])
def test_searches_match_brute_force_through_growth_changes_and_compaction(scan_threads: int, layout: str) -> None:
    rng = np.random.default_rng(0)
    table, reference = _table(scan_threads, layout), Reference()
    # 5,000 points (partitions grow from 1,024 rows several times), then 3,000 changes and 1,500
    # deletes: more than a quarter of the rows die, so partitions are compacted.
    for start in range(0, 5000, 500):
        batch = [_point(i, rng) for i in range(start, start + 500)]
        table.upsert(batch)
        reference.upsert(batch)
    changed = [_point(int(i), rng) for i in rng.choice(5000, 3000, replace=False)]
    # A point twice in one batch keeps its last row (the reference: the last write wins).
    changed += [_point(int(i), rng, category="shoes") for i in rng.choice(5000, 200, replace=False)]
    table.upsert(changed)
    reference.upsert(changed)
    patches = [(f"p{i}", {"price": 35.0, "category": "bags"}) for i in range(0, 5000, 7)]
    patches += [(f"p{i}", {"predicted_labels": {"color": "green"}}) for i in range(2, 5000, 11)]
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
       must=st.sampled_from(FILTERS), k=st.integers(1, 12), seed=st.integers(0, 1000),
       layout=st.sampled_from(sorted(LAYOUTS)))
def test_any_sequence_of_writes_answers_as_brute_force(
        ops: list[tuple[str, int, float, str]], must: tuple[Condition, ...], k: int, seed: int, layout: str) -> None:
    rng = np.random.default_rng(seed)
    table, reference = _table(layout=layout), Reference()
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
    allowed = sum(1 for p in reference.points.values() if _allowed(p.payload, must, table.partition_keys))
    assert read % 3 == 0 and read >= 3 * allowed


def _allowed(payload: Mapping[str, object], must: tuple[Condition, ...], keys: Sequence[str] = ("category",)) -> bool:
    """Whether the point's partition is read: its values of the partition keys pass those conditions."""
    return all(payload_value(payload, c.key) in c.values for c in must if isinstance(c, AnyOf) and c.key in keys)


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


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_readers_during_changes_see_every_point_once(layout: str) -> None:
    """A point being changed is read from its old row or its new one, never twice nor not at all."""
    rng = np.random.default_rng(2)
    table = _table(layout=layout)
    points = [_point(i, rng) for i in range(3000)]
    table.upsert(points)
    # Each rewrite moves every point to the next category: rows die in one partition and are
    # born in another, while partitions grow and are compacted under the readers.
    moved = [[Point(p.id, p.vectors, {**p.payload, "category": CATEGORIES[(i + shift) % 3]})
              for i, p in enumerate(points)] for shift in range(1, 7)]
    query = rng.normal(size=4).astype(np.float32)
    stop, bad = threading.Event(), []

    # The rewrites move points, never change their vectors: the top 10 stays the same throughout
    # (for the bounded layout, a search that stops early, on bounds read while blocks move).
    top = table.search(Search("outfit", query, 10))

    def read() -> None:
        while not stop.is_set():
            found = table.search(Search("outfit", query, 3000, (AnyOf("category", CATEGORIES),)))
            if len(found) != 3000 or len({i for i, _ in found}) != 3000:
                bad.append(len(found))
            if [i for i, _ in table.search(Search("outfit", query, 10))] != [i for i, _ in top]:
                bad.append("top 10")

    _read_while_moving(table, moved, read, stop)
    assert bad == []


def _read_while_moving(table: ScanTable, rewrites: list[list[Point]], read: Callable[[], None],
                       stop: threading.Event) -> None:
    """Runs `read` in two threads until every rewrite is upserted, 100 points a write."""
    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for rewrite in rewrites:
            for start in range(0, len(rewrite), 100):
                table.upsert(rewrite[start:start + 100])
    finally:
        stop.set()
        for reader in readers:
            reader.join()


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


def _attribute_point(i: int, rng: np.random.Generator, values: int, **payload: object) -> Point:
    """A point whose attr_color is shaped as schema.attribute_vectors makes one: a unit head
    (weight 1 - w) beside the square roots of a confident posterior over the values (weight w),
    the predicted value in the payload."""
    value, w = i % values, 0.6
    head = rng.normal(size=4) + 3.0 * np.eye(values, 4)[value % 4]
    posterior = np.full(values, 0.1 / (values - 1))
    posterior[value] = 0.9
    vector = np.r_[np.sqrt(1 - w) * head / np.linalg.norm(head), np.sqrt(w) * np.sqrt(posterior)]
    fields = {"category": CATEGORIES[i // values % 3], "price": float(i % 50), "predicted_labels": {"color": f"v{value}"}}
    fields.update(payload)
    return Point(f"p{i}", {"outfit": rng.normal(size=4).astype(np.float32), "attr_color": vector.astype(np.float32)},
                 fields)


def test_one_batch_larger_than_a_new_partition_is_held_whole() -> None:
    rng = np.random.default_rng(7)
    table, reference = _table(), Reference()
    batch = [_point(i, rng, category="tops") for i in range(3000)]  # a new partition starts at 1,024 rows
    table.upsert(batch)
    reference.upsert(batch)
    assert len(table) == 3000
    search = Search("outfit", rng.normal(size=4).astype(np.float32), 10)
    _same(table.search(search), reference.search(search))
    # Every row is there (as a set: 3,000 float32 scores have near-ties that BLAS may order apart).
    assert {i for i, _ in table.search(Search("outfit", search.vector, 5000))} == set(reference.points)


@pytest.mark.parametrize("must", [(), (Between("price", 10.0, 30.0),), (AnyOf("category", ("tops", "bags")),)])
def test_a_bounded_search_reads_fewer_rows_for_the_same_answer(must: tuple[Condition, ...],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from fashionrec.index import scan_table

    values = 6
    table = ScanTable({"outfit": 4, "attr_color": 4 + values}, FIELDS, partition_keys=BY_VALUE["partition_keys"],
                      heads={"attr_color": 4})
    table.mark_ready()
    reference = Reference()
    rng = np.random.default_rng(6)
    points = [_attribute_point(i, rng, values) for i in range(6000)]
    for start in range(0, len(points), 1000):
        table.upsert(points[start:start + 1000])
    reference.upsert(points)
    read: list[int] = []
    real_top_rows = scan_table.top_rows

    def counting(part, *args, **kwargs):  # type: ignore[no-untyped-def]
        read.append(part.size)
        return real_top_rows(part, *args, **kwargs)

    monkeypatch.setattr(scan_table, "top_rows", counting)
    for i in range(0, 6000, 97):
        query = points[i].vectors["attr_color"]
        search = Search("attr_color", query, 10, must, (f"p{i}",))
        read.clear()
        found = table.search(search)
        _same(found, reference.search(search))
        # A confident query reads its own value's partitions (a sixth of the rows) and stops.
        assert sum(read) < 0.5 * sum(1 for p in points if _allowed(p.payload, must))
    # An unbounded vector (no head given) is read whole, as before.
    read.clear()
    table.search(Search("outfit", rng.normal(size=4).astype(np.float32), 10))
    assert sum(read) == len(points)


def test_a_bounded_search_that_stops_early_keeps_its_answer_while_blocks_move() -> None:
    """Readers stop at the bounds while every point moves to another category (its row dies in
    one block and is born in another; blocks grow and are compacted): the top 10 never changes,
    since the vectors do not."""
    values = 6
    table = ScanTable({"outfit": 4, "attr_color": 4 + values}, FIELDS, partition_keys=BY_VALUE["partition_keys"],
                      heads={"attr_color": 4})
    table.mark_ready()
    rng = np.random.default_rng(8)
    points = [_attribute_point(i, rng, values) for i in range(3000)]
    table.upsert(points)
    queries = [Search("attr_color", points[i].vectors["attr_color"], 10, (), (f"p{i}",)) for i in (0, 1, 2, 3)]
    tops = [table.search(q) for q in queries]
    stop, bad = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            for query, top in zip(queries, tops):
                if [i for i, _ in table.search(query)] != [i for i, _ in top]:
                    bad.append(query.exclude_ids)

    moved = [[Point(p.id, p.vectors, {**p.payload, "category": CATEGORIES[(i + shift) % 3]})
              for i, p in enumerate(points)] for shift in range(1, 7)]
    _read_while_moving(table, moved, read, stop)
    assert bad == []
