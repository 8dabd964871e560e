"""What only the server backend has: transport errors become typed errors."""

from __future__ import annotations

import pytest
from qdrant_client import QdrantClient

from fashionrec.errors import Unavailable
from fashionrec.index import CatalogIndex, ServerStore

pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version")


@pytest.mark.parametrize("prefer_grpc", [False, True], ids=["rest", "grpc"])
def test_an_unreachable_server_is_unavailable(prefer_grpc: bool) -> None:
    # Port 9 (discard) has no listener here: the connection is refused at once.
    client = QdrantClient(url="http://127.0.0.1:9", grpc_port=9, prefer_grpc=prefer_grpc, timeout=1)
    index = CatalogIndex(ServerStore(client))
    with pytest.raises(Unavailable, match="unreachable"):
        index.similar("sku-0")
    with pytest.raises(Unavailable):
        index.upsert([], version="v1")
    index.close()
