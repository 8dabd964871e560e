"""The `fashionrec` command's one error handler: an expected failure is one line and an exit code.

Expected failures are the ones a user fixes by changing the command line, the
environment or the machine: a bad argument or setting, a missing file or
model, a port in use, a broker or server that does not answer. Anything else
is a bug and keeps its traceback.

Exit codes: 2 for what is wrong with the command line or the settings (as
argparse), 1 for what is wrong around it (missing files, ports, unreachable
services); 130 after Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass

from fashionrec_cli.parsing import USAGE_EXIT_CODE

__all__ = ["FAILURE_EXIT_CODE", "INTERRUPTED_EXIT_CODE", "Failure", "UsageError", "describe"]

FAILURE_EXIT_CODE = 1
INTERRUPTED_EXIT_CODE = 130


class UsageError(ValueError):
    """A command-line value that argparse's types could not check; the message names the option."""


@dataclass(frozen=True)
class Failure:
    """What to print and how to exit."""

    message: str
    exit_code: int


def describe(exc: BaseException) -> Failure | None:
    """The one-line report of an expected failure, or None for a bug (which keeps its traceback).

    Args:
        exc: what a subcommand raised.

    Returns:
        The message (without the program name) and the exit code, or None.
    """
    from fashionrec.config import ConfigError
    from fashionrec.embedded.broker import BrokerStartError
    from fashionrec.errors import FashionrecError, InvalidArgument
    from fashionrec.ports import PortInUse, Unreachable
    from kafka.errors import KafkaError

    if isinstance(exc, (UsageError, ConfigError, InvalidArgument)):
        return Failure(str(exc), USAGE_EXIT_CODE)
    if isinstance(exc, FashionrecError):  # NotFound, Unavailable, FailedPrecondition
        return Failure(str(exc), FAILURE_EXIT_CODE)
    if isinstance(exc, BrokerStartError):
        return Failure(f"the embedded broker did not start: {exc}", FAILURE_EXIT_CODE)
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)):
        where = f": {exc.filename}" if exc.filename else ""
        return Failure(f"{exc.strerror or exc}{where}", FAILURE_EXIT_CODE)
    if isinstance(exc, (PortInUse, Unreachable)):  # their text names the setting to change
        return Failure(str(exc), FAILURE_EXIT_CODE)
    if isinstance(exc, TimeoutError):
        return Failure(str(exc) or "timed out", FAILURE_EXIT_CODE)
    if isinstance(exc, KafkaError):  # a broker that went away mid-way; reachability is checked first
        return Failure(f"Kafka: {exc}", FAILURE_EXIT_CODE)
    return None
