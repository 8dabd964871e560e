"""Process-wide logging for the services and the command line."""

from __future__ import annotations

import logging

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure_logging(level: str = "INFO") -> None:
    """One line per record on stderr; kafka-python's connection chatter kept to its errors."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # kafka-python logs every refused connection while a broker starts and every rebalance step.
    logging.getLogger("kafka").setLevel(logging.ERROR)
