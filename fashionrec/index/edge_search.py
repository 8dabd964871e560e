"""How the embedded store runs a search on a qdrant-edge shard: the plan and the engine request.

`planned_search` decides what the engine is asked (a looser filter whose other conditions are
checked here on an oversampled result, or the whole filter), `scan_exactly` whether that goes to
an exact scan or to the graph, `query_request` builds the request (beam, ACORN, the int8
rescoring), and `run_search` runs it, falling back to the whole filter when too few hits pass. Each
takes the store's IndexSettings; fashionrec.index.edge_store holds the shards. docs/index.md says
why each rule is there, with the measurements. When the store has a full ScanTable, the checked
conditions are decided from its columns and only the k answers' payloads are read.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import qdrant_edge as edge

from fashionrec.index.filters import AnyOf, Between, Condition, Equals, Search, holds
from fashionrec.index.scan_table import ScanTable
from fashionrec.index.store import IndexSettings, ScoredPoint

__all__ = ["SCAN_LIMITS_BEAM", "engine_filter", "planned_search", "query_request", "run_on_scan_table", "run_search",
           "scan_exactly", "scan_table_answers", "with_payloads"]


def _condition(cond: Condition) -> edge.FieldCondition:
    if isinstance(cond, AnyOf):
        return edge.FieldCondition(key=cond.key, match=edge.MatchAny(list(cond.values)))
    if isinstance(cond, Between):
        return edge.FieldCondition(key=cond.key, range=edge.RangeFloat(gte=cond.gte, lte=cond.lte))
    if isinstance(cond, Equals):
        return edge.FieldCondition(key=cond.key, match=edge.MatchValue(cond.value))
    raise TypeError(f"unknown condition {cond!r}")


def _as_floats(vector: Sequence[float]) -> list[float]:
    return vector.tolist() if isinstance(vector, np.ndarray) else [float(x) for x in vector]


def engine_filter(must: Sequence[Condition]) -> edge.Filter | None:
    """The engine's form of conditions that must all hold (None: no filter)."""
    return edge.Filter(must=[_condition(c) for c in must]) if must else None


def run_search(shard: edge.EdgeShard, settings: IndexSettings, search: Search,
               columns: ScanTable | None = None) -> list[ScoredPoint]:
    """Runs a Search as planned: the looser search and the checks, else the whole filter in the engine.

    Args:
        columns: the version's scan table, to check conditions on (None: on the hits' payloads).
    """
    sent, checked = planned_search(shard, settings, search)
    if checked:
        if columns is not None and columns.can_check(checked):
            found = _run_checked_by_columns(shard, settings, sent, checked, search.limit, columns)
        else:
            found = _run(shard, settings, sent, checked, search.limit)
        if len(found) == search.limit:
            return found
        # Fewer than k of the oversampled hits passed: the engine applies the whole filter.
    return _run(shard, settings, search, (), search.limit)


def _run(shard: edge.EdgeShard, settings: IndexSettings, sent: Search, checked: Sequence[Condition],
         k: int) -> list[ScoredPoint]:
    excluded = set(sent.exclude_ids)
    found: list[ScoredPoint] = []
    for hit in shard.query(query_request(shard, settings, sent)):
        point_id, payload = str(hit.id), hit.payload or {}
        if point_id not in excluded and all(holds(c, payload) for c in checked):
            found.append(ScoredPoint(point_id, hit.score, payload))
            if len(found) == k:
                break
    return found


def _run_checked_by_columns(shard: edge.EdgeShard, settings: IndexSettings, sent: Search,
                            checked: Sequence[Condition], k: int, columns: ScanTable) -> list[ScoredPoint]:
    """`_run` with the conditions checked on the table's columns: the engine returns no payloads,
    and only the k that pass are read."""
    excluded = set(sent.exclude_ids)
    hits = [(str(h.id), h.score) for h in shard.query(query_request(shard, settings, sent, with_payload=False))]
    hits = [(point_id, score) for point_id, score in hits if point_id not in excluded]
    verdicts = columns.check([point_id for point_id, _ in hits], checked)
    undecided = [point_id for point_id, _ in hits if point_id not in verdicts]
    if undecided:  # written after the engine answered: decided on their payloads
        for record in shard.retrieve(undecided, True, False):
            verdicts[str(record.id)] = all(holds(c, record.payload or {}) for c in checked)
    return with_payloads(shard, [(point_id, score) for point_id, score in hits if verdicts.get(point_id)][:k])


def run_on_scan_table(shard: edge.EdgeShard, table: ScanTable, search: Search) -> list[ScoredPoint]:
    """The table's exact top k, with the hits' payloads read from the engine.

    A write reaches the shard just before the table: a scan in between can return a point
    deleted since, or one whose payload no longer passes the filter. Such a hit is never
    returned; the scan is run once more, by when the write has reached the table.
    """
    for _ in range(2):
        found = table.search(search)
        hits = [h for h in with_payloads(shard, found) if all(holds(c, h.payload) for c in search.must)]
        if len(hits) == len(found):
            break
    return hits


def with_payloads(shard: edge.EdgeShard, found: Sequence[tuple[str, float]]) -> list[ScoredPoint]:
    """The hits (point id, score) with their payloads; a point deleted since is left out."""
    records = shard.retrieve([point_id for point_id, _ in found], True, False)
    payloads = {str(r.id): dict(r.payload or {}) for r in records}
    return [ScoredPoint(point_id, score, payloads[point_id]) for point_id, score in found if point_id in payloads]


# The beam of the graph searches the scan table's float limits were measured against.
SCAN_LIMITS_BEAM = 1024


def scan_table_answers(table: ScanTable, settings: IndexSettings, search: Search) -> bool:
    """Whether the search goes to the scan table: always for a vector without a graph (the table
    holds those), for a vector with one (`manipulation`, and `chunks` composed from the attr_<a>
    columns) when the floats it reads are few enough for the graph search it replaces
    (IndexSettings.scan_table_max_floats*, with their measurements).

    Those limits were measured against graph searches at a beam of 1024 (`chunks`). A graph
    search costs about linearly in its beam, so they scale by the beam the search would walk with
    / 1024 (IndexSettings.beam: its vector's, or its min_ef if wider). A manipulation filtered to
    a category walks with 512 and goes to the table up to 20M floats (a category of ~67k items);
    an off-category one asks for 1536 (catalog_index.OFF_CATEGORY_MIN_EF; 1M points: 5.9 ms at
    512, 14.6 ms at 1536 with its entry search) and goes to the table up to 60M (one category of
    a 1M catalog: 167k rows x 299 floats).
    """
    if not table.answers(search):
        return False
    if not settings.has_graph(search.using):
        return True
    by_category = any(isinstance(c, AnyOf) and c.key == "category" for c in search.must)
    limit = settings.scan_table_max_floats if by_category else settings.scan_table_max_floats_all_categories
    return table.floats_to_scan(search) <= limit * settings.beam(search) // SCAN_LIMITS_BEAM


def planned_search(shard: edge.EdgeShard, settings: IndexSettings, search: Search) -> tuple[Search, tuple[Condition, ...]]:
    """What the engine is asked, and the conditions checked on its hits here instead.

    An engine's filtered search costs more than an unfiltered one, the more so the more
    conditions it checks (at 1M points, an exact scan of the 44-float attribute vectors:
    16 ms unfiltered, 13 ms with a category, 27 ms with category AND in_stock, 32 ms with a
    price range). When the filter lets through a large share of the points (at least
    `post_filter_min_fraction` of those that pass a looser filter: no condition, or only the
    keyword ones), the engine searches with the looser filter for k / share × oversampling
    hits and the rest of the conditions are checked here. The first k hits that pass are the
    answer of the whole filter (the passing points' ranking is the looser one's, restricted);
    when fewer than k pass, `run_search` asks the engine again with the whole filter.

    Returns:
        The Search to send (the original one when nothing is checked here) and the checked
        conditions (empty: the engine applies the whole filter).
    """
    s = settings
    if not search.must or s.post_filter_min_fraction <= 0:
        return search, ()
    passing = shard.count(edge.CountRequest(exact=False, filter=engine_filter(search.must)))
    points = shard.count(edge.CountRequest(exact=False))
    keywords = tuple(c for c in search.must if isinstance(c, AnyOf))
    for kept in ((), keywords):
        if kept == search.must:
            break
        looser = shard.count(edge.CountRequest(exact=False, filter=engine_filter(kept))) if kept else points
        # Estimates: the whole filter's may exceed the looser one's; the share is at most 1, so the
        # looser search always asks for at least k + len(excluded).
        share = min(1.0, passing / looser) if looser else 0.0
        wanted = search.limit + len(set(search.exclude_ids))
        limit = math.ceil(wanted / share * s.post_filter_oversampling) if share > 0 else 0
        if share >= s.post_filter_min_fraction and limit <= s.post_filter_max_limit:
            checked = tuple(c for c in search.must if c not in kept)
            sent = dataclasses.replace(search, must=kept, limit=limit - len(set(search.exclude_ids)))
            if points < s.post_filter_scan_min_points and scan_exactly(shard, settings, sent):
                # A looser exact scan plus reading k / share payloads costs more than the
                # engine's filtered scan in a small collection (IndexSettings has the figures).
                break
            return sent, checked
    return search, ()


def query_request(shard: edge.EdgeShard, settings: IndexSettings, search: Search,
                  with_payload: bool = True) -> edge.QueryRequest:
    """The engine request `run_search` sends for a Search: the plan (scan_exactly), the beam, the filter.

    The excluded points (the query item, an outfit's items) are not in it: `run_search` drops them
    from k + len(excluded) results. As a must_not HasId condition they took the engine 0.5-4.5 ms
    longer per query at 100k points (outfit + category filter 3.5 -> 1.9 ms, unfiltered
    manipulation 1.4 -> 0.9 ms; docs/performance.md), and the answer is the same: at most
    len(excluded) of the top k + len(excluded) are excluded.
    """
    s = settings
    if scan_exactly(shard, settings, search):
        params = edge.SearchParams(exact=True)
    else:
        params = edge.SearchParams(
            hnsw_ef=s.beam(search),
            acorn=edge.AcornSearchParams(enable=s.acorn, max_selectivity=s.acorn_max_selectivity),
            quantization=edge.QuantizationSearchParams(rescore=True, oversampling=s.quantization_oversampling)
            if s.is_quantized(search.using) else None,
        )
    return edge.QueryRequest(
        limit=search.limit + len(set(search.exclude_ids)),
        # ndarray.tolist() converts in C; a comprehension of float(x) cost ~70 µs a query.
        query=edge.Query.Nearest(_as_floats(search.vector), using=search.using),
        filter=engine_filter(search.must),
        with_payload=with_payload,
        params=params,
    )


def scan_exactly(shard: edge.EdgeShard, settings: IndexSettings, search: Search) -> bool:
    """The plan of a search: an exact scan when the vector has no graph
    (IndexSettings.has_graph); else an exact scan of the points that pass the filter when their
    vectors are few enough (IndexSettings.exact_scan_kb), else the graph with ACORN; without a
    filter, an exact scan when the whole collection's vectors are few enough
    (exact_scan_unfiltered_kb: the small attribute vectors of a catalog up to ~120k items).

    The number passing comes from the payload indexes' estimate (0.05 ms at 100k points).
    Measured at 100k (bench/scale.py's queries, load 8 on 2 cores, p50 in-process): with the
    price 50-100 filter (~26.5k points) the exact scan took 32 vs 44 ms for weighted
    similar_by, 24 vs 33 ms for one attribute, 17 vs 17 ms for manipulate, at recall 1.000
    both ways; turning ACORN off instead was faster but lost recall (0.87-0.92). Unfiltered,
    the graph wins for the large vectors (manipulation: 1.0 vs 7.1 ms at 100k).
    """
    if not settings.has_graph(search.using):
        return True
    limit_kb = settings.exact_scan_kb if search.must else settings.exact_scan_unfiltered_kb
    if limit_kb <= 0:
        return False
    passing = shard.count(edge.CountRequest(exact=False, filter=engine_filter(search.must)))
    return passing * len(search.vector) * 4 <= limit_kb * 1024
