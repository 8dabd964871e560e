"""Query vectors composed before the search, so that one search ranks exactly.

Pure numpy on the model artifact; the search side is in fashionrec.index.catalog.

- Manipulation: r' = r + M·i with i in {-1, 0, +1}^S; rank by <L2n(r'), L2n(g)>.
- Weighted attribute similarity: sum_a w_a cos(q_a, g_a)
  = <concat_a w_a L2n(q_a), concat_a L2n(g_a)>   (the `chunks` vector).
- Outfit completion: mean_o sum_a W[cat(o), t, a] <o_a, c_a>
  = <mean_o concat_a W[cat(o), t, a] o_a, outfit(c)>   (the `outfit` vector).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fashionrec.artifact import ModelArtifact, ModelSpec
from fashionrec.errors import InvalidArgument
from fashionrec.index.schema import CHUNKS, attr_vector, unit


@dataclass(frozen=True)
class Change:
    """Change attribute to value, e.g. Change("color", "red")."""

    attribute: str
    value: str


def indicator(
    spec: ModelSpec, changes: Sequence[Change], current_value: Callable[[str], str | None]
) -> np.ndarray:
    """i: -1 at the item's current value of each changed attribute, +1 at the target value."""
    if not changes:
        raise InvalidArgument.for_field("changes", "at least one change is needed")
    vocab = spec.vocabulary
    out = np.zeros(vocab.total_values, dtype=np.float32)
    seen: set[str] = set()
    for j, change in enumerate(changes):
        try:
            vocab.position(change.attribute)
        except InvalidArgument as exc:
            raise InvalidArgument.for_field(f"changes[{j}].attribute", str(exc)) from None
        if change.attribute in seen:
            raise InvalidArgument.for_field(f"changes[{j}].attribute", f"{change.attribute!r} is changed twice")
        seen.add(change.attribute)
        try:
            target = vocab.global_index(change.attribute, change.value)
        except InvalidArgument as exc:
            raise InvalidArgument.for_field(f"changes[{j}].value", str(exc)) from None
        current = current_value(change.attribute)
        if current is not None:
            out[vocab.global_index(change.attribute, current)] -= 1.0
        out[target] += 1.0
    return out


def manipulation_query(artifact: ModelArtifact, whole: np.ndarray, i: np.ndarray) -> np.ndarray:
    """L2n(r + M·i)."""
    moved = whole + artifact.prototypes @ i
    if not np.linalg.norm(moved) > 0:
        raise InvalidArgument.for_field("changes", "the manipulated representation is zero")
    return unit(moved.astype(np.float32))


def normalised_weights(spec: ModelSpec, weights: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Attribute -> weight, validated, zero weights dropped, summing to one."""
    out: dict[str, float] = {}
    for j, (attribute, weight) in enumerate(weights):
        try:
            spec.vocabulary.position(attribute)
        except InvalidArgument as exc:
            raise InvalidArgument.for_field(f"weights[{j}].attribute", str(exc)) from None
        if attribute in out:
            raise InvalidArgument.for_field(f"weights[{j}].attribute", f"{attribute!r} is weighted twice")
        if not np.isfinite(weight) or weight < 0:
            raise InvalidArgument.for_field(f"weights[{j}].weight", "must be a finite number >= 0")
        out[attribute] = float(weight)
    total = sum(out.values())
    if total <= 0:
        raise InvalidArgument.for_field("weights", "at least one attribute needs a positive weight")
    return {a: w / total for a, w in out.items() if w > 0}


def weighted_query(spec: ModelSpec, whole: np.ndarray, weights: dict[str, float]) -> tuple[str, np.ndarray]:
    """(vector name, query vector) ranking by sum_a w_a cos(q_a, g_a); one attribute uses its own vector."""
    chunks = whole.reshape(len(spec.attribute_names), spec.attribute_dim)
    if len(weights) == 1:
        [attribute] = weights
        return attr_vector(attribute), unit(chunks[spec.vocabulary.position(attribute)])
    query = np.zeros_like(chunks)
    for attribute, weight in weights.items():
        pos = spec.vocabulary.position(attribute)
        query[pos] = weight * unit(chunks[pos])
    return CHUNKS, query.reshape(-1)


def outfit_query(artifact: ModelArtifact, outfit: Sequence[tuple[str, np.ndarray]], target: str) -> np.ndarray:
    """mean over the outfit's (category, outfit vector) of concat_a W[cat, target, a] o_a."""
    spec = artifact.spec
    categories = spec.categories
    t = categories.index(target)
    n = len(spec.attribute_names)
    total = np.zeros((n, spec.outfit_dim), dtype=np.float32)
    for category, vec in outfit:
        weights = artifact.outfit_weights[categories.index(category), t]
        total += weights[:, None] * vec.reshape(n, spec.outfit_dim)
    return (total / len(outfit)).reshape(-1)


def pair_score(artifact: ModelArtifact, a: tuple[str, np.ndarray], b: tuple[str, np.ndarray]) -> float:
    """Compatibility of two items: the weighted per-attribute inner product, averaged over both directions."""
    spec = artifact.spec
    n, categories = len(spec.attribute_names), spec.categories
    ca, cb = categories.index(a[0]), categories.index(b[0])
    per_attr = np.sum(a[1].reshape(n, -1) * b[1].reshape(n, -1), axis=1)
    weights = 0.5 * (artifact.outfit_weights[ca, cb] + artifact.outfit_weights[cb, ca])
    return float(weights @ per_attr)
