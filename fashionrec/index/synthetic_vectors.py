"""Synthetic model artifacts and catalog vectors with the cluster structure of real embeddings.

For tests and benchmarks of the index before (and besides) a trained model:
each attribute chunk r_a is the prototype of the item's value plus noise, so
items sharing a value cluster together as they do with a trained encoder.
Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fashionrec.artifact import ModelArtifact, ModelSpec
from fashionrec.index.schema import IndexedItem, Item
from fashionrec.vocab import Vocabulary

BRANDS = ("acme", "borealis", "corvid", "dune", "ember")


@dataclass(frozen=True)
class SyntheticShape:
    n_attributes: int = 6  # the first one is "category"
    n_categories: int = 6
    values_per_attribute: int = 5
    attribute_dim: int = 32
    outfit_dim: int = 8
    noise: float = 0.5


def synthetic_artifact(version: str, shape: SyntheticShape = SyntheticShape(), seed: int = 0) -> ModelArtifact:
    rng = np.random.default_rng(seed)
    mapping = {"category": [f"cat{c}" for c in range(shape.n_categories)]}
    for a in range(1, shape.n_attributes):
        mapping[f"attr{a}"] = [f"a{a}v{v}" for v in range(shape.values_per_attribute)]
    vocab = Vocabulary.from_mapping(mapping)
    # Non-zero posterior weights, so that tests exercise both halves of every composed query.
    spec = ModelSpec(version, vocab, shape.attribute_dim, shape.outfit_dim, image_size=64,
                     posterior_weight=0.05, similarity_posterior_weight=0.3, style_weight=0.2)
    prototypes = np.zeros((spec.whole_dim, vocab.total_values), dtype=np.float32)
    d = shape.attribute_dim
    for a, offset in enumerate(vocab.offsets):
        for v in range(len(vocab.attributes[a].values)):
            # Block-diagonal, as the memory loss makes M: value prototypes live in their attribute's slice.
            prototypes[a * d:(a + 1) * d, offset + v] = rng.normal(size=d) / np.sqrt(d)
    # An outfit form near the identity with an asymmetric part, as training leaves it.
    form = np.eye(shape.outfit_dim) * 5.0 + rng.normal(size=(shape.outfit_dim, shape.outfit_dim))
    return ModelArtifact(spec, prototypes, form.astype(np.float32))


def _projection(artifact: ModelArtifact, seed: int) -> np.ndarray:
    """(outfit_dim, whole_dim): style embeddings as a fixed random view of the chunks."""
    spec = artifact.spec
    rng = np.random.default_rng(seed + 7919)
    return rng.normal(size=(spec.outfit_dim, spec.whole_dim)).astype(np.float32)


def _log_probs(vocab: Vocabulary, predicted: list[int]) -> np.ndarray:
    """A confident classifier: p = 0.9 on the predicted value, the rest spread evenly."""
    parts = []
    for attribute, value in zip(vocab.attributes, predicted):
        size = len(attribute.values)
        p = np.full(size, 0.1 / (size - 1)) if size > 1 else np.ones(1)
        p[value] = 0.9 if size > 1 else 1.0
        parts.append(np.log(p))
    return np.concatenate(parts).astype(np.float32)


def synthetic_items(
    artifact: ModelArtifact, count: int, shape: SyntheticShape = SyntheticShape(), seed: int = 0, start: int = 0
) -> list[IndexedItem]:
    """count items with SKUs sku-<start>.. : labels, payload and vectors drawn at random."""
    spec = artifact.spec
    vocab = spec.vocabulary
    rng = np.random.default_rng(seed * 1_000_003 + start)
    projection = _projection(artifact, seed)
    d = spec.attribute_dim
    out = []
    for j in range(count):
        values = [int(rng.integers(len(a.values))) for a in vocab.attributes]
        chunks = np.stack([
            artifact.prototypes[a * d:(a + 1) * d, vocab.offsets[a] + v] + shape.noise * rng.normal(size=d) / np.sqrt(d)
            for a, v in enumerate(values)
        ]).astype(np.float32)
        projected = projection @ chunks.reshape(-1)
        outfit = projected / np.linalg.norm(projected)
        truth = {a.name: a.values[v] for a, v in zip(vocab.attributes, values)}
        # Catalogs label some attributes; the model predicts all of them, and is sometimes wrong.
        labels = {k: v for k, v in truth.items() if k == "category" or rng.random() < 0.6}
        predicted_values = [int(rng.integers(len(a.values))) if rng.random() < 0.1 else v
                            for a, v in zip(vocab.attributes, values)]
        predicted = {a.name: a.values[v] for a, v in zip(vocab.attributes, predicted_values)}
        item = Item(
            sku=f"sku-{start + j}",
            category=truth["category"],
            labels=labels,
            predicted_labels=predicted,
            title=f"item {start + j}",
            brand=BRANDS[int(rng.integers(len(BRANDS)))],
            price=float(np.round(rng.uniform(10.0, 200.0), 2)),
            currency="EUR",
            in_stock=bool(rng.random() < 0.5),
            updated_at=1_700_000_000.0 + start + j,
            image_uri=f"file:///images/{start + j}.png",
        )
        out.append(IndexedItem(item, chunks.reshape(-1), outfit.astype(np.float32),
                               _log_probs(vocab, predicted_values)))
    return out
