"""Building the search graphs while the catalog flows: EdgeStore.optimize in a child process, and
the maintainer that decides when (fashionrec.index.maintenance)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from fashionrec.index import CatalogIndex, EdgeStore, Filters, IndexSettings, ItemPatch
from fashionrec.index.maintenance import IndexMaintainer
from fashionrec.index.store import IndexStatus
from fashionrec.index.synthetic_vectors import synthetic_artifact, synthetic_items
from fashionrec.telemetry.metrics import IndexMetrics

# Graphs from the first KB on, so that a few hundred points get them.
SMALL = IndexSettings(indexing_threshold_kb=1, full_scan_threshold_kb=1)


def _live(path: Path, n_items: int) -> tuple[CatalogIndex, list]:
    index = CatalogIndex(EdgeStore(path, SMALL))
    artifact = synthetic_artifact("v1")
    index.create_version(artifact)
    index.set_live("v1")
    items = synthetic_items(artifact, n_items, seed=3)
    return index, items


def test_optimize_builds_in_a_child_and_keeps_the_writes_made_meanwhile(tmp_path: Path) -> None:
    index, items = _live(tmp_path / "q", 700)
    index.upsert(items[:600])
    assert index.index_status().indexed_vectors == 0
    building = threading.Thread(target=index.optimize)
    building.start()
    # The child needs a second or more to start; these land in the live shard during the build.
    index.upsert(items[600:])
    index.delete([items[0].item.sku])
    index.patch([ItemPatch(items[1].item.sku, 9e9, price=1.5)])
    answered = index.similar(items[2].item.sku, Filters(), k=5)  # queries go on meanwhile
    building.join(timeout=300)
    assert not building.is_alive() and len(answered.hits) == 5
    status = index.index_status()
    assert status.points == 699 and status.indexed_vectors > 0
    assert index.count() == 699
    [patched] = index.get_items([items[1].item.sku])
    assert patched.item.price == 1.5
    assert {h.item.sku for h in index.similar(items[650].item.sku, Filters(), k=3).hits}
    index.close()
    reopened = CatalogIndex(EdgeStore(tmp_path / "q", SMALL))  # the new shard is the one on disk
    assert reopened.count() == 699 and reopened.index_status().indexed_vectors == status.indexed_vectors
    reopened.close()


class _StubIndex:
    """Pure-logic stand-in: a status sequence, and a record of the builds asked for."""

    def __init__(self, statuses: list[IndexStatus]) -> None:
        self.statuses = statuses
        self.builds = 0

    def index_status(self) -> IndexStatus:
        return self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)

    def optimize(self) -> None:
        self.builds += 1


def _status(points: int, unindexed_points: int) -> IndexStatus:
    return IndexStatus(points, points * 10, (points - unindexed_points) * 10)


def test_maintainer_builds_once_writes_pause_or_when_far_behind() -> None:
    registry = CollectorRegistry()
    stub = _StubIndex([_status(30_000, 30_000), _status(30_000, 30_000), _status(30_000, 0)])
    maintainer = IndexMaintainer(stub, IndexMetrics(registry), min_points=20_000, max_points=100_000)  # type: ignore[arg-type]
    assert not maintainer.check()  # still growing (first look)
    assert maintainer.check() and stub.builds == 1  # the count did not move: the load has ended
    assert registry.get_sample_value("fashionrec_index_unindexed_ratio") == 0.0
    flowing = _StubIndex([_status(150_000, 120_000), _status(160_000, 130_000), _status(160_000, 0)])
    assert IndexMaintainer(flowing, IndexMetrics(CollectorRegistry()), min_points=20_000,  # type: ignore[arg-type]
                           max_points=100_000).check() and flowing.builds == 1


def test_maintainer_does_not_retry_a_build_that_left_points_outside() -> None:
    # Below the engine's thresholds a segment stays plain: the build indexes nothing.
    stub = _StubIndex([_status(25_000, 25_000), _status(25_000, 25_000), _status(25_000, 25_000)])
    maintainer = IndexMaintainer(stub, IndexMetrics(CollectorRegistry()), min_points=20_000)  # type: ignore[arg-type]
    maintainer.check()
    assert maintainer.check() and stub.builds == 1
    assert not maintainer.check() and stub.builds == 1
    stub.statuses = [_status(50_000, 50_000)]
    maintainer.check()
    assert maintainer.check() and stub.builds == 2  # 25,000 more since: worth another build


def test_maintainer_only_reports_when_the_backend_builds_by_itself() -> None:
    registry = CollectorRegistry()
    stub = _StubIndex([_status(500_000, 400_000)])
    maintainer = IndexMaintainer(stub, IndexMetrics(registry), build=False)  # type: ignore[arg-type]
    assert not maintainer.check() and not maintainer.check() and stub.builds == 0
    assert registry.get_sample_value("fashionrec_index_unindexed_ratio") == 0.8
    assert registry.get_sample_value("fashionrec_index_points") == 500_000
    assert registry.get_sample_value("fashionrec_index_scan_table_points") == 0.0  # no table: never set
    stub.statuses = [dataclasses.replace(_status(500_000, 0), scan_table_points=120_000)]  # a table filling
    maintainer.check()
    assert registry.get_sample_value("fashionrec_index_scan_table_points") == 120_000



def test_a_failed_build_leaves_the_live_shard_serving_and_no_copy_behind(tmp_path: Path, monkeypatch) -> None:
    index, items = _live(tmp_path / "q", 300)
    index.upsert(items[:300])

    def child_fails(self: EdgeStore, shard_dir: Path, version: str) -> None:
        raise RuntimeError("building the index of 'v1' failed (exit 1): killed")

    monkeypatch.setattr(EdgeStore, "_build_in_child", child_fails)
    with pytest.raises(RuntimeError, match="exit 1"):
        index.optimize()
    version_dir = next((tmp_path / "q" / "versions").iterdir())
    assert sorted(p.name for p in version_dir.iterdir()) == ["model", "shard"]  # the copy is gone
    index.delete([items[0].item.sku])  # writes after the failure are not tracked for a dead build
    assert index.count() == 299 and index.similar(items[1].item.sku, Filters(), k=3).hits
    index.close()


def test_the_maintainer_thread_survives_an_unexpected_error() -> None:
    class Flaky(_StubIndex):
        def index_status(self) -> IndexStatus:
            if not self.builds and not getattr(self, "failed", False):
                self.failed = True
                raise ValueError("engine statistics in an unexpected shape")
            return _status(1_000, 0)

    registry = CollectorRegistry()
    maintainer = IndexMaintainer(Flaky([]), IndexMetrics(registry), interval_s=0.01).start()  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 10
        while registry.get_sample_value("fashionrec_index_points") != 1_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert registry.get_sample_value("fashionrec_index_points") == 1_000
    finally:
        maintainer.stop()
