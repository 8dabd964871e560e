"""Generates the Python code for the API contracts in `protos/` and checks it is fresh.

`python -m fashionrec.protogen` writes `fashionrec/v1/*_pb2*.py{,i}` next to the
hand-written package; `python -m fashionrec.protogen --check` exits 1 and names
the stale files when a `.proto` changed without regeneration.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
_GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


class ProtocError(RuntimeError):
    """protoc rejected a .proto file."""


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(proto_root.rglob("*.proto"))


def generate(proto_root: Path = PROTO_ROOT, out_root: Path = REPO_ROOT) -> list[Path]:
    """Runs protoc over every .proto under proto_root; returns the files written."""
    from grpc_tools import protoc  # build-time dependency only

    out_root.mkdir(parents=True, exist_ok=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    sources = [str(p.relative_to(proto_root)) for p in proto_files(proto_root)]
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise ProtocError(f"protoc failed on {proto_root}; its message is above")
    return _generated_files(proto_root, out_root)


def stale_files(proto_root: Path = PROTO_ROOT, out_root: Path = REPO_ROOT) -> list[str]:
    """Generated files under out_root that differ from a fresh generation (or are missing)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(proto_root, Path(tmp))
        stale = []
        for path in fresh:
            rel = path.relative_to(tmp)
            committed = out_root / rel
            if not committed.exists() or not filecmp.cmp(path, committed, shallow=False):
                stale.append(str(rel))
        return stale


def _generated_files(proto_root: Path, out_root: Path) -> list[Path]:
    files = []
    for proto in proto_files(proto_root):
        stem = out_root / proto.relative_to(proto_root).with_suffix("")
        files += [stem.with_name(stem.name + s) for s in _GENERATED_SUFFIXES]
    return [f for f in files if f.exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated code (run `make protos`):", *stale, sep="\n  ")
            return 1
        print("generated code is up to date")
        return 0
    for path in generate():
        print("wrote", path.relative_to(REPO_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
