"""Progress bars for long work (tqdm), shown where a person watches and quiet in logs.

    from fashionrec.progress import progress_bar

    with progress_bar(total=len(items), desc="encoding", unit="item") as bar:
        for item in items:
            ...
            bar.update(1)

A bar is drawn when stderr is a terminal; `FASHIONREC_PROGRESS=1` forces bars
(e.g. under `script` or in a CI log that renders them), `=0` turns them off.
Bars go to stderr, so stdout stays parseable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm

__all__ = ["PROGRESS_VARIABLE", "progress_bar", "progress_enabled", "set_counter"]

PROGRESS_VARIABLE = "FASHIONREC_PROGRESS"


def progress_enabled(requested: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to draw a bar.

    Args:
        requested: an explicit choice (a --quiet flag); None decides from the environment.
        environ: the environment to read (default: os.environ).

    Returns:
        requested when given; else FASHIONREC_PROGRESS when set ("1"/"0"); else whether
        stderr is a terminal.
    """
    if requested is not None:
        return requested
    environ = os.environ if environ is None else environ
    forced = environ.get(PROGRESS_VARIABLE, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    return sys.stderr.isatty()


def progress_bar(total: float | None = None, desc: str = "", unit: str = "it",
                 enabled: bool | None = None, **options: Any) -> tqdm:
    """A tqdm bar on stderr, drawn only when progress_enabled(enabled).

    Args:
        total: the amount of work (None: a counter without an end).
        desc: what is being done, shown before the bar.
        unit: what one step is ("item", "image", "record").
        enabled: see progress_enabled.
        **options: more tqdm options (leave, postfix, ...).

    Returns:
        A tqdm instance; use it as a context manager so the bar is closed.
    """
    options.setdefault("dynamic_ncols", True)
    options.setdefault("file", sys.stderr)
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress_enabled(enabled), **options)


def set_counter(bar: tqdm, value: float, postfix: Mapping[str, object] | None = None) -> None:
    """Moves bar to an absolute count (for work measured by polling, such as an index's size).

    Args:
        bar: the bar.
        value: the count reached so far.
        postfix: values to show after the bar (e.g. lag per partition).
    """
    if postfix is not None:
        bar.set_postfix({k: str(v) for k, v in postfix.items()}, refresh=False)
    bar.update(value - bar.n)
