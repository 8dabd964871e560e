"""bench/value_partition.py: its score is one-attribute similarity, and its recall counts right
(hand-made columns; no timing).

No __init__.py here: this directory must not become a package named `bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ is

from bench.scale_index import SHIPPED_MODEL, bench_artifact, catalog_items  # noqa: E402
from bench.value_partition import AttributeColumns, columns_of, measure, measure_tables, scores  # noqa: E402
from fashionrec.index.exact import ExactCatalog  # noqa: E402
from fashionrec.index.filters import Filters  # noqa: E402

OMEGA = 0.6


def _columns(values: int, per_value: int, spread: float, copies: int = 1, seed: int = 0,
             confidence: float = 0.95) -> AttributeColumns:
    """values clusters of per_value items, each predicted its own value with `confidence` (each
    item repeated `copies` times: identical items tie)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(values), per_value)
    chunks = rng.normal(size=(values, 8))[labels] + spread * rng.normal(size=(len(labels), 8))
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    posteriors = np.full((len(labels), values), (1 - confidence) / (values - 1))
    posteriors[np.arange(len(labels)), labels] = confidence
    vectors = np.hstack([np.sqrt(1 - OMEGA) * chunks, np.sqrt(OMEGA) * np.sqrt(posteriors)]).astype(np.float32)
    return AttributeColumns("a", np.repeat(vectors, copies, axis=0), value_dim=8,
                            categories=np.array(["tops", "shoes"] * (len(labels) * copies // 2)))


def test_the_score_is_one_attribute_similarity() -> None:
    artifact = bench_artifact(SHIPPED_MODEL, 0)
    items = catalog_items(artifact, 300, 0)
    exact = ExactCatalog(artifact, items)
    columns = columns_of(artifact.spec, np.stack([e.whole for e in items]), np.stack([e.log_probs for e in items]),
                         np.array([e.item.category for e in items]))
    assert [c.name for c in columns] == list(artifact.spec.attribute_names)
    for c in columns:
        for row in (0, 17, 299):
            expected = exact.similar_by(items[row].item.sku, {c.name: 1.0}, Filters(), 10)
            s = scores(c, row)
            top = np.argsort(-s)[:10]
            assert [items[i].item.sku for i in top] == [sku for sku, _ in expected], (c.name, row)
            np.testing.assert_allclose(s[top], [score for _, score in expected], rtol=1e-4, atol=1e-5)


def test_separated_values_lose_nothing_and_read_one_value_of_rows() -> None:
    result = measure(_columns(values=4, per_value=50, spread=0.05), queries=20, seed=1)
    assert result["nprobe1_recall"] == 1.0 and result["nprobe1_recall_se"] == 0.0
    assert result["nprobe1_rows"] == 0.25 and result["nprobe2_rows"] == 0.5


def test_reading_every_value_is_exact_even_among_tied_items() -> None:
    # Two overlapping values, every item three times over: nprobe 2 reads every row, and a tied
    # item picked in place of its copy is no miss.
    result = measure(_columns(values=2, per_value=40, spread=3.0, copies=3, seed=2, confidence=0.6), queries=15, seed=3)
    assert result["nprobe2_rows"] == 1.0 and result["nprobe2_recall"] == 1.0
    assert result["nprobe1_recall"] < 1.0  # the overlap: some of the top 10 are predicted the other value


def test_the_bounded_table_gives_the_whole_scans_answer_from_one_value_of_rows() -> None:
    result = measure_tables(_columns(values=4, per_value=50, spread=0.05), queries=20, seed=1)
    assert result["differ"] == 0
    assert result["by category"]["rows"] == 1.0
    assert result["bounded"]["rows"] == 0.25  # the query's value, in both categories
