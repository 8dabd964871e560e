"""Where the `fashionrec` command finds its shipped model and keeps its state, wherever it runs.

Relative defaults ("models/adde-synthetic", ".fashionrec/...") only worked from
the repository root; these resolve against the installed package and the
user's state directory instead, so the command works from any directory.

- The shipped model, in this order: the `models/` directory of the source tree
  the package runs from (a checkout, an editable install, the container images'
  /app), then `<prefix>/share/fashionrec/models/` where a wheel installs it
  (pyproject.toml's data-files). `FASHIONREC_MODEL_DIR` or `--model` override both.
- State (the embedded Qdrant engine's shards): `$XDG_STATE_HOME/fashionrec`,
  by default `~/.local/state/fashionrec`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SHIPPED_MODEL", "default_model_dir", "model_dir_candidates", "state_dir"]

# The model directory the repository ships (trained on the synthetic catalog).
SHIPPED_MODEL = "adde-synthetic"


def model_dir_candidates(name: str = SHIPPED_MODEL) -> list[Path]:
    """Where the shipped model can be, in lookup order.

    Args:
        name: the model directory's name under `models/`.

    Returns:
        Absolute paths; the first that holds a model wins.
    """
    source_tree = Path(__file__).resolve().parent.parent
    return [source_tree / "models" / name, Path(sys.prefix) / "share" / "fashionrec" / "models" / name]


def default_model_dir(name: str = SHIPPED_MODEL) -> Path:
    """The shipped model's directory: the first candidate holding a `config.json`.

    Args:
        name: the model directory's name under `models/`.

    Returns:
        An absolute path. When no candidate holds a model, the first one, so that the
        "no model at ..." error names the place a checkout would have it.
    """
    candidates = model_dir_candidates(name)
    return next((c for c in candidates if (c / "config.json").is_file()), candidates[0])


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory for local state: `$XDG_STATE_HOME/fashionrec`, else `~/.local/state/fashionrec`.

    Args:
        environ: the environment to read (default: os.environ).

    Returns:
        An absolute path (not created here).
    """
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser().resolve() / "fashionrec"
