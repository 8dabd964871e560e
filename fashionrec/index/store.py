"""The storage interface both backends implement, and the index settings they share.

A store holds one collection per model version (schema: fashionrec.index.schema)
plus that version's model artifact, and a pointer to the live version. It knows
nothing of attributes or query composition: fashionrec.index.catalog_index does that
once, on top of either backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fashionrec.artifact import ModelArtifact
from fashionrec.index.filters import Condition, Search
from fashionrec.index.schema import ATTRIBUTE_PREFIX, CHUNKS, MANIPULATION, OUTFIT


def _is_small_vector(using: str) -> bool:
    """`outfit` and the `attr_<a>` vectors: 37-64 floats, against 192-299 for the others."""
    return using == OUTFIT or using.startswith(ATTRIBUTE_PREFIX)


@dataclass(frozen=True)
class IndexSettings:
    """HNSW build and search settings (chosen with bench/index_recall.py; see docs/index.md)."""

    m: int = 16
    ef_construct: int = 128
    # Extra graph links per keyword value. 0: off. With 16 the 100k build took well over 15 min on
    # 2 cores (a sub-graph per category, brand and predicted label value, for each of the n+3
    # vectors) and recall was already met without it: ACORN and exact scans cover filtered search.
    payload_m: int = 0
    # Below this many KB of candidate vectors after filtering the engine scans exactly.
    full_scan_threshold_kb: int = 10_000
    # A filtered search scans the points that pass exactly when their vectors (of the vector
    # searched) come to at most this many KB; 0: always the graph (EdgeStore._scan_exactly) for a
    # search the scan table does not take (scan_table_max_floats).
    # 64 MB since the 1M bench: one-attribute similarity with the price filter (46.6 MB) reached
    # recall@10 0.57-0.70 through ACORN at ef 256-1024 and 1.000 scanned (28 ms); manipulation with
    # category AND in_stock (60 MB) 0.88-0.97 at ef 128-512, 1.000 scanned (docs/performance.md).
    exact_scan_kb: int = 65_536
    # An unfiltered search scans exactly when the whole collection's vectors (of the vector
    # searched) come to at most this many KB. At 100k points the 37-44-float attr_<a> vectors
    # (15-18 MB) cluster tightly by value, and the graph at ef 256-1024 answered 2 of 100
    # one-attribute queries with ten items outside the exact top 50 (recall@10 0.967, worst 0.0;
    # a 4096 beam found them); scanned: 2.85 vs 1.10 ms, recall 1.000 (numpy 3.3 ms). The larger
    # vectors stay on the graph (manipulation at 100k: 7.1 ms scanned vs 1.0 ms, recall 1.000 both).
    exact_scan_unfiltered_kb: int = 20_480
    # A segment gets graphs once its vectors pass this many KB (None: the engine's default); below
    # it an exact scan is as fast, and the segment stays plain.
    indexing_threshold_kb: int | None = None
    # Graphs for the small vectors (`outfit`, `attr_<a>`): off, they are always scanned exactly.
    # Every outfit search carries its target category, and its passing vectors stay under
    # exact_scan_kb up to ~1.5M items, so the graph was built and never searched. The attr_<a>
    # graphs cost 6 of the 10 graphs' build time (~4 min each at 1M on 2 cores) and still missed
    # neighbours: their vectors cluster tightly by value and the greedy search got stuck in a
    # wrong cluster (recall@10 0.957-0.975 at ef 128-1024 on 200k points of one of them, 0.967 at
    # 100k, 0.987 at 1M), where a scan is exact: 2.9 ms at 100k, 16 ms at 1M.
    graph_small_vectors: bool = False
    # int8 scalar quantization of `manipulation`: its graph is built on the int8 copy, 2.5x faster
    # (200k points: 57.7 -> 23.0 s), and a graph search rescores its candidates with the float32
    # vectors, oversampled: at 1M, manipulation's recall@10 stayed 1.000 unfiltered and 0.985 with a
    # category (0.990 in float32), and 0.995 -> 1.000 with a price range from oversampling 2 to 4.
    # `chunks` stays float32: its posterior entries (sqrt(w p), up to 0.77) sit beside chunk entries
    # of +-0.1, one int8 range for both lost the ranking, and at 1M the weighted query's recall@10
    # fell to 0.587 (0.970 only with 32x oversampling; a wider beam did not help). Exact scans always
    # use the float32 vectors.
    quantize_large_vectors: bool = True
    # The embedded store keeps the small vectors (those without a graph) and the filter fields in
    # memory, split by category, and scans them with numpy (fashionrec.index.scan_table): at 1M
    # points a category's 167k rows take 1.5 ms against the engine's 10-17 ms scan of every point,
    # and the scan releases the GIL. Costs 4 B per float (1.2 KB a point with the shipped model).
    scan_small_vectors_in_memory: bool = True
    # The table also holds `manipulation` (299 floats: +1.2 KB a point), so that a manipulation
    # whose filter leaves few enough rows (scan_table_max_floats: at the filtered beam of 512, a
    # category of up to ~67k items) is scanned in numpy instead of by the engine's exact scan,
    # which holds the GIL for its whole run (17 ms at 300k: no other call of the process moves
    # meanwhile). Measured in docs/performance.md, round 10.
    scan_manipulation_in_memory: bool = True
    # One more table per attribute, holding attr_<a> by category and predicted value with a bound
    # on each partition's scores, answers one-attribute similarity from the partitions whose bound
    # beats the k-th best found (fashionrec.index.edge_tables): the same answer from a fraction of
    # the rows (docs/performance.md, round 11). Costs the attr_<a> floats and the filter fields
    # again, and an id map, per attribute.
    scan_by_predicted_value: bool = True
    # ... when the main table would read at least this many floats: below, the bounds and the
    # partitions' overhead cost more than the rows they save (the model's encodings of 20k items,
    # every row 0.84M floats: 1.2-1.5 ms by category, 0.4-1.7 bounded, bench/value_partition.py).
    scan_by_value_min_floats: int = 1_000_000
    # Threads that scan a search's category partitions side by side when it reads 6M floats or
    # more (0: one per CPU). 1M rows of 44 floats, one BLAS thread each: 16.4 ms in one thread,
    # 10.3 ms in two (2 cores); a search of one category is one partition, in one thread.
    scan_threads: int = 0
    # A search on `chunks` (the weighted similar_by) is answered from the scan table's attr_<a>
    # columns when it reads at most this many floats (rows of the categories it allows x the
    # non-zero parts of its query), else it goes to the graph. With a category filter the graph
    # search needs ACORN and a wide beam: at 1M the table read one category in 4.1 ms against
    # the graph's 22.5 (300k: 2.1 vs 9.0). Without one the graph is fast at any size (4-6 ms) and
    # the table only pays below ~12M floats (100k rows: 3.5 vs 3.5 ms; 300k: 10.1 vs 6.0 ms).
    # Both were measured against graph searches at a beam of 1024 (`chunks`); a graph search costs
    # about linearly in its beam, so a search on another vector the table holds (`manipulation`)
    # gets them scaled by its beam / 1024 (edge_search.scan_table_answers).
    scan_table_max_floats: int = 40_000_000
    scan_table_max_floats_all_categories: int = 12_000_000
    quantization_oversampling: float = 4.0
    # Search beam per named vector, from the 100k bench: 128 kept `similar` (then on a vector of its
    # own, `whole`) and outfit at recall 1.000 and attr_<a> at 0.983, but left the composed weighted
    # query on `chunks` at 0.94, so that vector searches wider. ef costs latency linearly (20k points:
    # 0.7 ms at 128, 2.2 ms at 512). At 1M the weighted query needs 1024 (recall@10 0.913 at 512,
    # 0.980 at 1024: 3.7 -> 5.2 ms), and so do the attribute vectors: unfiltered one-attribute
    # similarity, 100 queries, 0.974 at 256 with one answer sharing nothing with the exact top 10,
    # 0.994 at 1024 with none worse than 6 of 10 (1.4 -> 3.0 ms; an exact scan: 16.4 ms).
    # (hnsw_ef_attribute is used only with graph_small_vectors: the attr_<a> vectors have no graph by default.)
    hnsw_ef: int = 128
    hnsw_ef_attribute: int = 1024
    hnsw_ef_chunks: int = 1024
    # A filtered search that goes through the graph (ACORN) searches at least this wide: at 1M,
    # manipulation with a category filter reached 0.953 at ef 128, 0.970 at 256, 0.990 at 512
    # (2.1 -> 5.9 ms; 30 queries); unfiltered, 128 already gave 1.000. Round 8, 100 queries: the
    # misses are manipulations filtered to another category than the item's (1.000 for the
    # item's own), which search with a beam of 1024 and a second entry of their own
    # (catalog_index.OFF_CATEGORY_MIN_EF); 1024 for every filtered search doubled their latency.
    hnsw_ef_filtered: int = 512
    # A filtered search whose filter lets through at least this share of the points that pass a
    # looser one (no condition, or only the keyword conditions) asks the engine for the looser
    # filter's top k / share × post_filter_oversampling and checks the rest of the conditions on
    # those hits (EdgeStore.planned_search): the engine's filtered scans cost 2x its unfiltered
    # ones with a price range or two conditions. 0: the engine always applies the whole filter.
    post_filter_min_fraction: float = 0.2
    post_filter_oversampling: float = 2.0
    # Never more hits than this from one looser search (a large k with a rare filter goes whole).
    post_filter_max_limit: int = 1_000
    # When the looser search is an exact scan, only in a collection of at least this many points:
    # at 100k the looser scan plus reading k / share payloads was slower than the engine's
    # filtered scan (one-attribute similarity with a price range 2.8-3.4 -> 4.4-5.0 ms, outfit
    # with a price range 2.4-2.7 -> 2.7-4.6 ms); at 300k faster (one attribute with category AND
    # in_stock 9.6 -> 4.8 ms, with a price range 11.2 -> 8.5, outfit with category AND in_stock
    # 8.2 -> 5.5), and at 1M (27 -> 19 ms, 35 -> 33, 27 -> 21). 200k lies between, unmeasured.
    post_filter_scan_min_points: int = 200_000
    acorn: bool = True
    # ACORN is used when fewer than this fraction of points pass the filter (engine default 0.4).
    acorn_max_selectivity: float | None = None
    # Qdrant server in distributed mode (deploy/README.md, sizing); None: the server's default.
    # The embedded engine is one shard and ignores them.
    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None

    def has_graph(self, using: str) -> bool:
        """Whether the named vector gets an HNSW graph (else every search on it scans exactly)."""
        return self.graph_small_vectors or not _is_small_vector(using)

    def is_quantized(self, using: str) -> bool:
        """Whether the named vector has an int8 copy that its graph is built and searched on."""
        return self.quantize_large_vectors and using == MANIPULATION

    def beam(self, search: Search) -> int:
        """The HNSW beam a graph search of `search` runs with: its vector's, and at least its min_ef."""
        return max(self.ef_for(search.using, filtered=bool(search.must)), search.min_ef)

    def ef_for(self, using: str, filtered: bool = False) -> int:
        """The HNSW search beam for a search on the named vector `using` (filtered: with a filter)."""
        if using == CHUNKS:
            ef = self.hnsw_ef_chunks
        elif using.startswith(ATTRIBUTE_PREFIX):
            ef = self.hnsw_ef_attribute
        else:
            ef = self.hnsw_ef
        return max(ef, self.hnsw_ef_filtered) if filtered else ef


@dataclass(frozen=True)
class Point:
    id: str
    vectors: Mapping[str, Sequence[float]]
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class IndexStatus:
    """How much of a version's vectors the search graphs cover (the rest is scanned exactly)."""

    points: int
    vectors: int  # named vectors stored: points × vectors per point
    indexed_vectors: int
    # Points the embedded store's scan table holds (None: no table, as on a Qdrant server); below
    # `points` while a reopened store fills it, when the small vectors' searches go to the engine.
    scan_table_points: int | None = None

    @property
    def unindexed_vectors(self) -> int:
        return max(0, self.vectors - self.indexed_vectors)

    @property
    def unindexed_points(self) -> int:
        """Points with at least one vector outside the graphs (vectors are indexed per segment)."""
        return -(-self.unindexed_vectors * self.points // self.vectors) if self.vectors else 0

    @property
    def unindexed_share(self) -> float:
        return self.unindexed_vectors / self.vectors if self.vectors else 0.0


@dataclass(frozen=True)
class StoredPoint:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]]


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any]


class VectorStore(ABC):
    """Collections per model version behind a live pointer; primitive reads and writes.

    Unknown versions raise NotFound; an unreachable engine raises Unavailable.
    """

    @abstractmethod
    def create_version(self, artifact: ModelArtifact) -> None:
        """Creates the collection and stores the artifact; a no-op when it already exists with the same spec."""

    @abstractmethod
    def versions(self) -> list[str]:
        """Model versions that have a collection."""

    @abstractmethod
    def artifact(self, version: str) -> ModelArtifact:
        """The model artifact stored with a version (no torch needed)."""

    @abstractmethod
    def live_version(self) -> str | None:
        """The version the live pointer names, or None before the first switch."""

    @abstractmethod
    def set_live(self, version: str) -> None:
        """Points the live pointer at version, atomically: readers see the old or the new one."""

    @abstractmethod
    def drop_version(self, version: str) -> None:
        """Deletes a version that is not live."""

    @abstractmethod
    def upsert(self, version: str, points: Sequence[Point]) -> None: ...

    @abstractmethod
    def set_payload(self, version: str, updates: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Sets the given payload fields of existing points (id, fields); vectors stay."""

    @abstractmethod
    def delete(self, version: str, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def retrieve(self, version: str, ids: Sequence[str], with_vectors: Sequence[str] = ()) -> list[StoredPoint]:
        """The points that exist among ids, with the named vectors asked for."""

    @abstractmethod
    def search(self, version: str, search: Search) -> list[ScoredPoint]: ...

    def searches_exactly(self, version: str, search: Search) -> bool:
        """Whether the store answers `search` with an exact scan (its plan); False when it cannot
        tell (a Qdrant server plans for itself)."""
        return False

    @abstractmethod
    def count(self, version: str, must: Sequence[Condition] = (), exact: bool = True) -> int:
        """Points matching must; exact=False is the engine's estimate from its statistics (cheap)."""

    @abstractmethod
    def index_status(self, version: str) -> IndexStatus:
        """Points, vectors and vectors covered by the search graphs (from the engine's statistics)."""

    @abstractmethod
    def optimize(self, version: str) -> None:
        """Builds the HNSW graphs after a bulk load (qdrant-edge builds them only when asked)."""

    @abstractmethod
    def close(self) -> None: ...
