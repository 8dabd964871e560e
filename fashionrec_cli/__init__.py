"""The `fashionrec` command. Each subcommand lives in a module of this package
that exposes `register(subparsers)`; heavy imports (torch) stay inside the
handlers so that `fashionrec --help` is instant.

`main` is the one place that configures logging (FASHIONREC_LOG_LEVEL, default
WARNING for people at a terminal) and turns expected failures into one line
and an exit code (fashionrec_cli.failures).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from fashionrec import __version__
from fashionrec_cli.failures import INTERRUPTED_EXIT_CODE, describe
from fashionrec_cli.parsing import USAGE_EXIT_CODE, CommandParser
from fashionrec.telemetry.logs import LEVELS, configure_logging

__all__ = ["LOG_LEVEL_VARIABLE", "build_parser", "main"]

# Modules of this package that add subcommands, in --help order.
_COMMAND_MODULES = ("dev", "catalog", "train", "eval", "demo", "query", "reindex")
# The services' variable; the command line honours it too.
LOG_LEVEL_VARIABLE = "FASHIONREC_LOG_LEVEL"


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand.

    Returns:
        The top-level parser; a parsed command has its function in `handler`.
    """
    parser = CommandParser(
        prog="fashionrec",
        description="Attribute-aware fashion retrieval and outfit completion.",
        epilog=f"logging: {LOG_LEVEL_VARIABLE}=DEBUG|INFO|WARNING|ERROR (default WARNING); "
               "docs/troubleshooting.md lists the errors and their fixes",
    )
    parser.add_argument("--version", action="version", version=f"fashionrec {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"fashionrec_cli.{name}_command").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand.

    Args:
        argv: the arguments (default: sys.argv[1:]).

    Returns:
        The exit code: 0, 1 for an expected failure, 2 for a usage mistake, 130 after Ctrl-C.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    level = os.environ.get(LOG_LEVEL_VARIABLE, "WARNING").upper()
    if level not in LEVELS:
        print(f"fashionrec: error: {LOG_LEVEL_VARIABLE}={level!r}: must be one of {', '.join(LEVELS)}",
              file=sys.stderr)
        return USAGE_EXIT_CODE
    configure_logging(level)
    if not getattr(args, "handler", None):
        parser.print_help()
        return USAGE_EXIT_CODE
    # The subcommand as typed ("fashionrec catalog generate"), for the error line.
    prog = " ".join(["fashionrec", args.command,
                     *(getattr(args, dest) for dest in ("catalog_command", "kind") if getattr(args, dest, None))])
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT_CODE
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        print(f"{prog}: error: {failure.message}", file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
