"""The argument parser of every `fashionrec` subcommand: defaults and examples in --help, one-line errors.

Subcommand modules keep calling `subparsers.add_parser(name, help=...)`; the
parser class set here fills in what they leave out (a description from the
help line, the example from `fashionrec_cli.examples_command`), so the modules stay
short and no subcommand can ship without an example.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from fashionrec_cli.examples_command import examples_for

__all__ = ["USAGE_EXIT_CODE", "CommandParser", "HelpFormatter"]

# argparse's own code for a bad command line; the error handler uses it for every usage mistake.
USAGE_EXIT_CODE = 2


def _says_nothing(default: object) -> bool:
    # Identity, not equality: a default of 0 (a seed) is worth showing, False (a flag) is not.
    return any(default is nothing for nothing in (None, False, argparse.SUPPRESS))


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples' layout and shows each option's default, unless it says nothing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        # None / False defaults (flags, "from the environment") would only add noise;
        # some helps already state their default in words.
        if _says_nothing(action.default) or "default" in text:
            return text
        return super()._get_help_string(action)


class _Subcommands(argparse._SubParsersAction):
    """add_parser with a description (the help line) and the subcommand's example as epilog."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        parser = super().add_parser(name, **kwargs)
        if parser.epilog is None:
            parser.epilog = examples_for(parser.prog)
        return parser


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and whose help shows defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Subcommands)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """add_argument that still shows the default of an option registered without a help text."""
        if not kwargs.get("help") and not _says_nothing(kwargs.get("default")):
            kwargs["help"] = "(default: %(default)s)"
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Prints `PROG: error: MESSAGE (see PROG --help)` and exits with code 2.

        Args:
            message: what argparse found wrong.

        Raises:
            SystemExit: always, with USAGE_EXIT_CODE.
        """
        self.exit(USAGE_EXIT_CODE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
