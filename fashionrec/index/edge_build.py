"""Builds a shard's search graphs in a process of its own: what EdgeStore.optimize runs.

    python -m fashionrec.index.edge_build SHARD_DIR MODEL_DIR SETTINGS_JSON WAL(0|1)

qdrant-edge's optimize() holds the GIL for its whole run, so the serving process hands it
to this child, on a copy of the shard (fashionrec.index.edge_store explains the swap).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fashionrec.artifact import load_spec
from fashionrec.index.edge_store import open_version_shard
from fashionrec.index.store import IndexSettings


def main(argv: list[str]) -> int:
    shard_dir, model_dir, settings_json, wal = argv
    settings = IndexSettings(**json.loads(settings_json))
    shard = open_version_shard(Path(shard_dir), load_spec(Path(model_dir)), settings, wal == "1")
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
