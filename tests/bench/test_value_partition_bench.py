"""bench/value_partition.py's measurement on small hand-made columns (pure numpy, no timing).

No __init__.py here: this directory must not become a package named `bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench.value_partition import AttributeColumns, measure  # noqa: E402


def _columns(values: int, per_value: int, spread: float, seed: int = 0) -> AttributeColumns:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(values, 8))
    labels = np.repeat(np.arange(values), per_value)
    chunks = centres[labels] + spread * rng.normal(size=(len(labels), 8))
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    posteriors = np.full((len(labels), values), 0.05 / (values - 1))
    posteriors[np.arange(len(labels)), labels] = 0.95
    return AttributeColumns("a", chunks.astype(np.float32), posteriors.astype(np.float32))


def test_separated_values_lose_nothing_and_read_one_value_of_rows() -> None:
    result = measure(_columns(values=4, per_value=50, spread=0.05), omega=0.6, queries=20, seed=1)
    assert result["same_value"] == 1.0
    assert result["nprobe1_recall"] == 1.0 and result["nprobe1_recall_se"] == 0.0
    assert result["nprobe1_rows"] == 0.25 and result["nprobe2_rows"] == 0.5


def test_reading_every_value_is_the_exact_answer() -> None:
    # Two values, nprobe 2: every row is read, whatever the overlap of the clusters.
    result = measure(_columns(values=2, per_value=40, spread=3.0, seed=2), omega=0.0, queries=15, seed=3)
    assert result["nprobe2_rows"] == 1.0 and result["nprobe2_recall"] == 1.0
    # Overlapping clusters scored by the chunks alone: some of the top 10 are predicted the other value.
    assert result["same_value"] < 1.0 and result["nprobe1_recall"] <= result["same_value"] + 1e-9
