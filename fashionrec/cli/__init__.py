"""The `fashionrec` command. Each subcommand lives in a module of this package
that exposes `register(subparsers)`; heavy imports (torch) stay inside the
handlers so that `fashionrec --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fashionrec import __version__
from fashionrec.telemetry.logs import configure_logging

# Modules of this package that add subcommands, in --help order.
_COMMAND_MODULES = ("dev", "catalog", "train", "eval", "demo", "query", "reindex")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fashionrec",
        description="Attribute-aware fashion retrieval and outfit completion.",
    )
    parser.add_argument("--version", action="version", version=f"fashionrec {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"fashionrec.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
