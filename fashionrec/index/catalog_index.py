"""The index as the encoder writes through it and the query services read through it.

`CatalogIndex` validates every request, composes the query vector
(fashionrec.index.compose) and runs one filtered search on either backend
(fashionrec.index.store). Reads use the live model version, resolved once per
call, so a call never mixes two versions. Writes go to the version named, or
the live one. Bad input raises InvalidArgument naming the field; an unknown
SKU raises NotFound naming it; no live version raises FailedPrecondition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fashionrec.artifact import ModelArtifact, ModelSpec
from fashionrec.errors import FailedPrecondition, InvalidArgument, NotFound
from fashionrec.index import compose, schema
from fashionrec.index.compose import Change
from fashionrec.index.filters import AnyOf, Condition, Filters, Search, holds
from fashionrec.index.schema import IndexedItem, ItemPatch, item_from_payload, item_to_payload, point_id
from fashionrec.index.store import IndexStatus, Point, ScoredPoint, VectorStore
from fashionrec.items import Item

# How many hits a moved entry search asks for (CatalogIndex._with_entries_in_category): 20, 50
# and 100 gave the same recall at 1M (0.983 for off-category queries), 5.7 / 6.3 / 8.0 ms.
MOVED_ENTRY_LIMIT = 20
# At most this many filter categories get a moved entry search each (a filter of many
# categories is a looser one, and each entry costs a graph search).
MAX_MOVED_ENTRIES = 3
# The beam of an off-category manipulation's own search (its entries keep the filtered default,
# 512). 1M points, queries filtered to another category than the item's: recall@10 0.970 at 512,
# 0.983 at 1024 with category AND in_stock (100 queries); on a second build of the same catalog
# (bench/off_category.py, 200 queries a filter, category / category AND in_stock) 0.986 / 0.959
# at 512, 0.989 / 0.977 at 1024, 0.990 / 0.983 at 1536, 0.993 / 0.988 at 2048 (store p50 about
# 1.3x from 512 to 1024, 1.3x from 1024 to 1536, 1.9x from 1024 to 2048). 1536: the least beam
# that keeps both filters at 0.98.
OFF_CATEGORY_MIN_EF = 1536

# The beam of `similar`'s graph search: its query is zero outside L2n(r), and the manipulation
# graph is built on the whole vector. 100 random queries at 1M points: recall@10 0.990 at 1024
# (8.5 ms), 0.981 at 512 (3.9 ms); at 100k 0.996 at 512, 0.967 at the default 128.
SIMILAR_MIN_EF = 1024


@dataclass(frozen=True)
class VectorQuery:
    """A query item that is not in the catalog (an uploaded photo, encoded): r, labels, ℓ.

    log_probs (S,): the photo's class log-posteriors; without them, similarity ranks by
    the chunks alone (the posterior half of s_a is then the same for every candidate).
    """

    whole: np.ndarray
    labels: Mapping[str, str] = field(default_factory=dict)
    log_probs: np.ndarray | None = None
    # e (D,): the photo's style embedding; without it manipulation leaves out the style term.
    outfit: np.ndarray | None = None


QueryItem = str | VectorQuery  # a SKU, or an encoded photo


@dataclass(frozen=True)
class Hit:
    item: Item
    score: float


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    model_version: str


@dataclass(frozen=True)
class PairScore:
    sku_a: str
    sku_b: str
    score: float


@dataclass(frozen=True)
class OutfitScore:
    score: float
    pairs: list[PairScore]
    model_version: str


@dataclass(frozen=True)
class _Probe:
    whole: np.ndarray
    log_probs: np.ndarray
    current_value: Callable[[str], str | None]
    exclude_ids: tuple[str, ...]
    outfit: np.ndarray | None = None


def _categories_to_enter(spec: ModelSpec, filters: Filters, probe: _Probe, changes: Sequence[Change]) -> list[str]:
    """The filter's categories a manipulation should also enter the graph from (see
    CatalogIndex._with_entries_in_category): those of a category filter that leaves out the
    category the query asks for (the item's own, or the one a change sets); none otherwise.
    (The filter's categories are values of the model's category attribute: Filters.conditions.)"""
    if not filters.categories:
        return []
    attribute = spec.category_attribute
    asked = {c.attribute: c.value for c in changes}.get(attribute) or probe.current_value(attribute)
    if asked is None or asked in filters.categories:
        return []
    return list(dict.fromkeys(filters.categories))[:MAX_MOVED_ENTRIES]


def _result(hits: Sequence[ScoredPoint], version: str) -> SearchResult:
    return SearchResult([Hit(item_from_payload(h.payload), h.score) for h in hits], version)


class CatalogIndex:
    def __init__(self, store: VectorStore, max_k: int = 200, max_outfit_items: int = 16) -> None:
        self._store = store
        self._max_k = max_k
        self._max_outfit_items = max_outfit_items

    # -- versions ---------------------------------------------------------------------------

    def create_version(self, artifact: ModelArtifact) -> None:
        self._store.create_version(artifact)

    def versions(self) -> list[str]:
        return self._store.versions()

    def set_live(self, version: str) -> None:
        self._store.set_live(version)

    def drop_version(self, version: str) -> None:
        self._store.drop_version(version)

    def live_version(self) -> str:
        version = self._store.live_version()
        if version is None:
            raise FailedPrecondition("no live index yet: create a model version and switch to it")
        return version

    def artifact(self, version: str | None = None) -> ModelArtifact:
        """The model artifact of a version (default: the live one), read from the index."""
        return self._store.artifact(version or self.live_version())

    def optimize(self, version: str | None = None) -> None:
        """Builds the search graphs after a bulk load (the embedded engine in a child process)."""
        self._store.optimize(version or self.live_version())

    def index_status(self, version: str | None = None) -> IndexStatus:
        """How much of a version (default: the live one) the search graphs cover."""
        return self._store.index_status(version or self.live_version())

    def close(self) -> None:
        self._store.close()

    # -- writes -----------------------------------------------------------------------------

    def upsert(self, items: Sequence[IndexedItem], version: str | None = None) -> None:
        """Writes items (replacing any with the same SKU); replaying a batch changes nothing."""
        version = version or self.live_version()
        spec = self._store.artifact(version).spec
        points: dict[str, Point] = {}  # the last entry of a SKU wins, as it would in the stream
        for i, entry in enumerate(items):
            entry = schema.check_item(spec, entry, f"items[{i}]")
            vectors = schema.point_vectors(spec, entry.whole, entry.outfit, entry.log_probs)
            payload = item_to_payload(entry.item, version, float(np.linalg.norm(entry.whole)))
            points[entry.item.sku] = Point(point_id(entry.item.sku), vectors, payload)
        self._store.upsert(version, list(points.values()))

    def patch(self, patches: Sequence[ItemPatch], version: str | None = None) -> list[str]:
        """Sets payload fields, vectors untouched. Returns the SKUs that are not indexed (nothing done)."""
        version = version or self.live_version()
        for i, p in enumerate(patches):
            if p.price is not None and not np.isfinite(p.price):
                raise InvalidArgument.for_field(f"patches[{i}].price", "must be a finite number")
        known = self._existing(version, [p.sku for p in patches])
        self._store.set_payload(version, [(point_id(p.sku), p.to_payload()) for p in patches if p.sku in known])
        return [p.sku for p in patches if p.sku not in known]

    def delete(self, skus: Sequence[str], version: str | None = None) -> None:
        """Removes items; unknown SKUs are fine (a replayed delete changes nothing)."""
        self._store.delete(version or self.live_version(), [point_id(s) for s in skus])

    def updated_at(self, skus: Sequence[str], version: str | None = None) -> dict[str, float]:
        """SKU -> stored updated_at (seconds since the epoch) of the indexed ones among skus."""
        points = self._store.retrieve(version or self.live_version(), [point_id(s) for s in skus])
        return {p.payload["sku"]: float(p.payload.get("updated_at", 0.0)) for p in points}

    def _existing(self, version: str, skus: Sequence[str]) -> set[str]:
        return {p.payload["sku"] for p in self._store.retrieve(version, [point_id(s) for s in skus])}

    # -- reads ------------------------------------------------------------------------------

    def get_items(self, skus: Sequence[str], version: str | None = None) -> list[IndexedItem]:
        """Items with their raw vectors, in the order asked; NotFound names unknown SKUs."""
        version = version or self.live_version()
        for i, sku in enumerate(skus):
            schema.check_sku(sku, f"skus[{i}]")
        spec = self._store.artifact(version).spec
        # The manipulation vector is concat(L2n(r), ℓ, e), all three stored verbatim: one vector of
        # 299 floats instead of whole + manipulation + outfit (555); the query item's read is on
        # every SKU query's path.
        points = self._store.retrieve(version, [point_id(s) for s in skus], with_vectors=(schema.MANIPULATION,))
        by_sku = {p.payload["sku"]: p for p in points}
        missing = [s for s in skus if s not in by_sku]
        if missing:
            raise NotFound(f"unknown SKU{'s' if len(missing) > 1 else ''}: {', '.join(map(repr, missing))}")
        out = []
        for sku in skus:
            p = by_sku[sku]
            whole_unit, log_probs, outfit = schema.split_manipulation_vector(spec, p.vectors[schema.MANIPULATION])
            whole = whole_unit * np.float32(p.payload["whole_norm"])
            out.append(IndexedItem(item_from_payload(p.payload), whole, outfit, log_probs))
        return out

    def count(self, filters: Filters = Filters(), version: str | None = None) -> int:
        version = version or self.live_version()
        return self._store.count(version, filters.conditions(self._store.artifact(version).spec))

    def check_reachable(self) -> None:
        """Raises when the live index cannot answer (no live version, or the engine does not respond).

        What the health checks call every few seconds: an estimated count, from the engine's
        statistics. The exact count scanned every point, holding the GIL (13 ms at 100k items,
        89-125 ms at 1M), and stalled every other request each time it ran.
        """
        self._store.count(self.live_version(), exact=False)

    def manipulate(
        self,
        query: QueryItem,
        changes: Sequence[Change],
        filters: Filters = Filters(),
        k: int = 10,
        require_predicted_target: bool = False,
    ) -> SearchResult:
        """Items like the query but with the changed attribute values (compose.manipulation_query)."""
        version, artifact = self._live()
        self._check_k(k)
        search, moved = self._manipulation_plan(version, artifact, query, changes, filters, k, require_predicted_target)
        hits = self._store.search(version, search)
        if moved:
            hits = self._with_entries_in_category(version, search, hits, moved)
        return _result(hits, version)

    def _manipulation_plan(self, version: str, artifact: ModelArtifact, query: QueryItem, changes: Sequence[Change],
                           filters: Filters, k: int,
                           require_predicted_target: bool = False) -> tuple[Search, list[np.ndarray]]:
        """The search a manipulation runs, and the moved query vectors of its entry searches
        (_with_entries_in_category): none unless the filter leaves out the asked category and the
        store walks the graph for it. bench/off_category.py replays this plan with other beams."""
        spec = artifact.spec
        must = filters.conditions(spec)
        probe = self._probe(version, query)
        vector = self._manipulation_vector(artifact, probe, changes)
        if require_predicted_target:
            must += [AnyOf(schema.predicted_key(c.attribute), (c.value,)) for c in changes]
        search = Search(schema.MANIPULATION, vector, k, tuple(must), probe.exclude_ids)
        categories = _categories_to_enter(spec, filters, probe, changes)
        if not categories:
            return search, []
        # Asked before composing the entries, of the search with the wide beam it would walk with:
        # an exact scan misses nothing, and the scan table takes 3x the rows for a search at that
        # beam as at the usual one (edge_search.scan_table_answers). At 100k and 300k every such
        # filter is scanned; at 1M a filter of one category.
        wide = dataclasses.replace(search, min_ef=OFF_CATEGORY_MIN_EF)
        if self._store.searches_exactly(version, wide):
            return wide, []
        moved = self._moved_vectors(artifact, probe, changes, categories)
        return (wide if moved else search), moved

    @classmethod
    def _moved_vectors(cls, artifact: ModelArtifact, probe: _Probe, changes: Sequence[Change],
                       categories: Sequence[str]) -> list[np.ndarray]:
        """The manipulation query with the category changed to each of categories (an entry that
        cannot be composed, e.g. a zero representation, is left out: the query's own search stands)."""
        attribute = artifact.spec.category_attribute
        kept = [c for c in changes if c.attribute != attribute]
        out = []
        for category in categories:
            try:
                out.append(cls._manipulation_vector(artifact, probe, [*kept, Change(attribute, category)]))
            except InvalidArgument:
                continue
        return out

    @staticmethod
    def _manipulation_vector(artifact: ModelArtifact, probe: _Probe, changes: Sequence[Change]) -> np.ndarray:
        i = compose.indicator(artifact.spec, changes, probe.current_value)
        target = compose.target_labels(artifact.spec, i, probe.current_value)
        return compose.manipulation_query(artifact, probe.whole, i, target, probe.outfit)

    def _with_entries_in_category(self, version: str, search: Search, hits: list[ScoredPoint],
                                  moved: list[np.ndarray], entry_min_ef: int = 0) -> list[ScoredPoint]:
        """The top k of hits and of a graph search from each moved query, all scored by search's vector.

        A filter that leaves out the query item's category sends the walk of the manipulation
        graph from the item's category's region, and the filtered walk (ACORN) may not reach the
        filter's (1M points: recall@10 0.962-0.970 for such queries, a few at 0.0; 1.000 when the
        filter is the item's category). The same query with the category changed to the filter's
        starts in that region; its hits are rescored exactly with the true query vector (the
        stored float32 vectors) and merged: at 1M those queries went 0.962 -> 0.980 with both
        searches at a beam of 512, 0.965 -> 0.983 at 1024. Such lost walks depend on the graph: a
        second build of the same catalog lost none (200 queries a filter; no query below 0.8) and
        the entries changed nothing there, for 2.7-4.5 ms a query at p50. They are kept as
        insurance against the walks that come back with nothing right.
        """
        seen = {h.id for h in hits}
        extra: dict[str, None] = {}
        for vector in moved:
            # The settings' beam by default (entry_min_ef 0): an entry only has to land in the
            # filter's region. At 1M, 200 queries a filter, entries at 1024 found nothing those at
            # 512 missed, for 1.5-2.0 ms more at p50 (bench/off_category.py).
            entry = dataclasses.replace(search, vector=vector, limit=max(search.limit, MOVED_ENTRY_LIMIT),
                                        min_ef=entry_min_ef)
            extra.update((h.id, None) for h in self._store.search(version, entry) if h.id not in seen)
        if not extra:
            return hits
        query = np.asarray(search.vector, np.float32)
        # Read after the searches: a write in between may have moved a point out of the filter.
        rescored = [ScoredPoint(p.id, float(np.asarray(p.vectors[schema.MANIPULATION], np.float32) @ query), p.payload)
                    for p in self._store.retrieve(version, list(extra), with_vectors=(schema.MANIPULATION,))
                    if all(holds(c, p.payload) for c in search.must)]
        return sorted([*hits, *rescored], key=lambda h: -h.score)[:search.limit]

    def similar(self, query: QueryItem, filters: Filters = Filters(), k: int = 10) -> SearchResult:
        """Items whose whole representation is closest (cosine), from the manipulation vector.

        No service calls it (a storefront asks for similarity in named attributes, similar_by);
        the maintenance tests and tools use it as the plainest query.
        """
        version, artifact = self._live()
        self._check_k(k)
        must = filters.conditions(artifact.spec)
        probe = self._probe(version, query)
        using, vector = compose.similar_query(artifact.spec, probe.whole)
        return self._search(version, Search(using, vector, k, tuple(must), probe.exclude_ids, min_ef=SIMILAR_MIN_EF))

    def similar_by(
        self,
        query: QueryItem,
        weights: Mapping[str, float] | Sequence[tuple[str, float]],
        filters: Filters = Filters(),
        k: int = 10,
    ) -> SearchResult:
        """Items ranked by sum_a w_a <s_a(q), s_a(g)> (schema.py), weights normalised to sum to one."""
        version, artifact = self._live()
        spec = artifact.spec
        self._check_k(k)
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        normalised = compose.normalised_weights(spec, pairs)
        must = filters.conditions(spec)
        probe = self._probe(version, query)
        using, vector = compose.weighted_query(spec, probe.whole, probe.log_probs, normalised)
        return self._search(version, Search(using, vector, k, tuple(must), probe.exclude_ids))

    def complete_outfit(
        self, outfit_skus: Sequence[str], target_category: str, filters: Filters = Filters(), k: int = 10
    ) -> SearchResult:
        """Items of target_category ranked by mean compatibility with every outfit item."""
        version, artifact = self._live()
        spec = artifact.spec
        self._check_k(k)
        self._check_skus(outfit_skus, "outfit_skus", minimum=1)
        if target_category not in spec.categories:
            raise InvalidArgument.for_field(
                "target_category", f"unknown category {target_category!r}; known: {', '.join(spec.categories)}"
            )
        if filters.categories and target_category not in filters.categories:
            raise InvalidArgument.for_field("filters.categories", "excludes target_category: nothing could match")
        must: list[Condition] = filters.conditions(spec)
        must = [c for c in must if not (isinstance(c, AnyOf) and c.key == "category")]
        must.append(AnyOf("category", (target_category,)))
        items = self.get_items(outfit_skus, version)
        vector = compose.outfit_query(artifact, [e.outfit for e in items])
        exclude = tuple(point_id(s) for s in outfit_skus)
        return self._search(version, Search(schema.OUTFIT, vector, k, tuple(must), exclude))

    def score_outfit(self, skus: Sequence[str]) -> OutfitScore:
        """Mean pairwise compatibility of the given items, and each pair's score."""
        version, artifact = self._live()
        self._check_skus(skus, "skus", minimum=2)
        items = self.get_items(skus, version)
        pairs = [
            PairScore(a.item.sku, b.item.sku, compose.pair_score(artifact, a.outfit, b.outfit))
            for n, a in enumerate(items)
            for b in items[n + 1:]
        ]
        return OutfitScore(float(np.mean([p.score for p in pairs])), pairs, version)

    # -- helpers ----------------------------------------------------------------------------

    def _live(self) -> tuple[str, ModelArtifact]:
        version = self.live_version()
        return version, self._store.artifact(version)

    def _check_k(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self._max_k:
            raise InvalidArgument.for_field("k", f"must be an integer from 1 to {self._max_k}, not {k!r}")

    def _check_skus(self, skus: Sequence[str], name: str, minimum: int) -> None:
        if len(skus) < minimum:
            raise InvalidArgument.for_field(name, f"at least {minimum} SKU{'s' if minimum > 1 else ''} needed")
        if len(skus) > self._max_outfit_items:
            raise InvalidArgument.for_field(name, f"at most {self._max_outfit_items} SKUs allowed")
        seen: set[str] = set()
        for i, sku in enumerate(skus):
            schema.check_sku(sku, f"{name}[{i}]")
            if sku in seen:
                raise InvalidArgument.for_field(f"{name}[{i}]", f"{sku!r} is given twice")
            seen.add(sku)

    def _probe(self, version: str, query: QueryItem) -> _Probe:
        spec = self._store.artifact(version).spec
        if isinstance(query, str):
            schema.check_sku(query, "item.sku")
            [entry] = self.get_items([query], version)
            return _Probe(entry.whole, entry.log_probs, entry.item.current_value, (point_id(query),), entry.outfit)
        whole = schema.as_vector(query.whole, spec.whole_dim, "item.whole")
        if np.any(schema.chunk_norms(spec, whole) == 0):
            raise InvalidArgument.for_field("item.whole", "an attribute chunk is all zeros")
        for attribute, value in query.labels.items():
            try:
                spec.vocabulary.global_index(attribute, value)
            except InvalidArgument as exc:
                raise exc.at(f"item.labels[{attribute}]") from None
        if query.log_probs is None:  # uniform posteriors: the same for every candidate
            vocab = spec.vocabulary
            log_probs = np.concatenate([np.full(len(a.values), -np.log(len(a.values)), np.float32)
                                        for a in vocab.attributes])
        else:
            log_probs = schema.check_log_probs(spec, query.log_probs, "item.log_probs")
        outfit = None if query.outfit is None else schema.as_vector(query.outfit, spec.outfit_dim, "item.outfit")
        return _Probe(whole, log_probs, query.labels.get, (), outfit)

    def _search(self, version: str, search: Search) -> SearchResult:
        return _result(self._store.search(version, search), version)
