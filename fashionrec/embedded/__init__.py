"""Real infrastructure started in-process or as a child process, for `fashionrec dev` and the tests."""

from fashionrec.embedded.broker import EmbeddedBroker
from fashionrec.embedded.qdrant import open_edge_shard

__all__ = ["EmbeddedBroker", "open_edge_shard"]
