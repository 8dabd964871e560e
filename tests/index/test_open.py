from pathlib import Path

from qdrant_client import QdrantClient

from fashionrec import config
from fashionrec.index import ServerStore, open_store
from fashionrec.index.synthetic_vectors import synthetic_artifact


def test_distributed_settings_reach_new_collections(monkeypatch, tmp_path: Path) -> None:
    """The FASHIONREC_QDRANT_* shard settings are passed to create_collection.

    Local mode accepts and ignores them, so the test records the call on the way through."""
    settings = config.load(config.QdrantSettings, {
        "FASHIONREC_QDRANT_URL": "http://qdrant:6334", "FASHIONREC_QDRANT_SHARD_NUMBER": "6",
        "FASHIONREC_QDRANT_REPLICATION_FACTOR": "2", "FASHIONREC_QDRANT_WRITE_CONSISTENCY_FACTOR": "1",
    })
    local = QdrantClient(location=":memory:")
    calls: dict[str, dict] = {}
    create = local.create_collection

    def recording_create(name, **kwargs):
        calls[name] = kwargs
        return create(name, **kwargs)

    monkeypatch.setattr(local, "create_collection", recording_create)
    monkeypatch.setattr("fashionrec.index.QdrantClient", lambda **_: local)
    store = open_store(settings)
    assert isinstance(store, ServerStore)
    store.create_version(synthetic_artifact("v1"))
    [items] = [kwargs for name, kwargs in calls.items() if "_items_" in name]
    assert (items["shard_number"], items["replication_factor"], items["write_consistency_factor"]) == (6, 2, 1)
