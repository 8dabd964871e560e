"""Keeps the live index's search graphs built while the catalog flows in.

qdrant-edge builds HNSW graphs only when asked (a Qdrant server does it by itself), so a
catalog that arrives through Kafka was served by an exact scan of every point: at 1M items
as ingested, gRPC p50 55-168 ms (issue 16). The maintainer, run by the writer (the encoder
service, `fashionrec dev`), looks at the index's statistics every few seconds, exports the
share of vectors outside the graphs, and asks for a build when enough points are outside:
once writes have paused (a bulk load has ended: the count did not move since the last look),
or when too many are outside even while writes go on. The embedded store builds in a child
process (fashionrec.index.edge_store), so queries and ingest go on during the build.

Points below the engine's own thresholds stay in a plain segment by design (an exact scan of
a few MB is faster than a graph): a build that indexes nothing new is not retried until
`min_points` more points have arrived.
"""

from __future__ import annotations

import logging
import threading
import time

from fashionrec.errors import FashionrecError
from fashionrec.index.catalog_index import CatalogIndex
from fashionrec.telemetry.metrics import IndexMetrics

__all__ = ["IndexMaintainer"]

_log = logging.getLogger(__name__)


class IndexMaintainer:
    """A thread that exports the unindexed share and builds the graphs when they fall behind.

    Args:
        index: the index the process writes to.
        metrics: where the share and the builds are reported.
        interval_s: how often to look.
        min_points: points outside the graphs that make a build worth it once writes pause.
        max_points: points outside the graphs that make a build start while writes continue.
        build: whether to build (False: the backend builds by itself, e.g. a Qdrant server).
    """

    def __init__(self, index: CatalogIndex, metrics: IndexMetrics, interval_s: float = 30.0,
                 min_points: int = 20_000, max_points: int = 200_000, build: bool = True) -> None:
        self._index = index
        self._metrics = metrics
        self._interval_s = interval_s
        self._min_points = min_points
        self._max_points = max_points
        self._build = build
        self._last_points: int | None = None
        # Unindexed points the last build left outside (below the engine's thresholds).
        self._left_outside = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-maintainer", daemon=True)

    def start(self) -> "IndexMaintainer":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops looking; a build in progress finishes in its child process and is swapped in."""
        self._stop.set()
        self._thread.join(timeout_s)

    def check(self) -> bool:
        """One look: export the status and build if it is time. Returns whether a build ran."""
        status = self._index.index_status()
        self._metrics.points.set(status.points)
        self._metrics.unindexed_ratio.set(status.unindexed_share)
        if status.scan_table_points is not None:
            self._metrics.scan_table_points.set(status.scan_table_points)
        paused = status.points == self._last_points
        self._last_points = status.points
        outside = status.unindexed_points - self._left_outside
        due = outside >= self._max_points or (paused and outside >= self._min_points)
        if not (self._build and due):
            return False
        started = time.perf_counter()
        try:
            self._index.optimize()
        except (FashionrecError, RuntimeError, OSError):
            self._metrics.builds.labels(outcome="failed").inc()
            _log.exception("building the search graphs failed; the index is served as it was")
            return False
        self._metrics.build_seconds.observe(time.perf_counter() - started)
        self._metrics.builds.labels(outcome="done").inc()
        after = self._index.index_status()
        self._left_outside = after.unindexed_points
        self._metrics.unindexed_ratio.set(after.unindexed_share)
        _log.info("search graphs built in %.0f s: %d of %d points outside them", time.perf_counter() - started,
                  after.unindexed_points, after.points)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.check()
            except FashionrecError as exc:  # no live version yet, or the engine is down: look again later
                _log.debug("index maintainer: %s", exc)
            except Exception:  # anything else is a bug, but must not end the thread (nothing would restart it)
                _log.exception("index maintainer: the look failed; trying again in %.0f s", self._interval_s)
