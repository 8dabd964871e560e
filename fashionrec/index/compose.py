"""Query vectors composed before the search, so that one search ranks exactly.

Pure numpy on the model artifact; the search side is in fashionrec.index.catalog_index.

- Manipulation: r' = r + M·i with i in {-1, 0, +1}^S, t the one-hot target labels (the
  item's labels with the changes applied); rank by
  <L2n(r'), L2n(g)> + β Σ_a ℓ_g[t_a] = <concat(L2n(r'), β·t), concat(L2n(g), ℓ_g)>
  (the `manipulation` vector). β = 0 is ADDE's composed query alone; the posterior term
  is what made it beat its own classifier heads at catalog scale (docs/model.md).
- Similar items: cos(r_q, r_g) = <concat(L2n(r_q), 0, 0), concat(L2n(r_g), ℓ_g, e_g)>
  (the `manipulation` vector: its first part is L2n(r)).
- Weighted attribute similarity: sum_a w_a <s_a(q), s_a(g)>
  = <concat_a w_a s_a(q), concat_a s_a(g)>   (the `chunks` vector; s_a in schema.py).
- Outfit completion: mean_o e_o^T A e_c = <A^T mean_o e_o, e_c>   (the `outfit` vector).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fashionrec.artifact import ModelArtifact, ModelSpec
from fashionrec.errors import InvalidArgument
from fashionrec.index.schema import CHUNKS, MANIPULATION, attr_vector, attribute_slices, attribute_vectors, unit


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
            raise exc.at(f"changes[{j}].attribute") from None
        if change.attribute in seen:
            raise InvalidArgument.for_field(f"changes[{j}].attribute", f"{change.attribute!r} is changed twice")
        seen.add(change.attribute)
        try:
            target = vocab.global_index(change.attribute, change.value)
        except InvalidArgument as exc:
            raise exc.at(f"changes[{j}].value") from None
        current = current_value(change.attribute)
        if current is not None:
            out[vocab.global_index(change.attribute, current)] -= 1.0
        out[target] += 1.0
    return out


def target_labels(spec: ModelSpec, i: np.ndarray, current_value: Callable[[str], str | None]) -> np.ndarray:
    """t (S,): one-hot of the value each attribute should have: the item's own, moved by i.

    An attribute whose current value is unknown and that is not changed gets no entry.
    """
    vocab = spec.vocabulary
    t = np.zeros(vocab.total_values, dtype=np.float32)
    for attribute in spec.attribute_names:
        value = current_value(attribute)
        if value is not None:
            t[vocab.global_index(attribute, value)] = 1.0
    return np.clip(t + i, 0.0, 1.0)


def manipulation_query(artifact: ModelArtifact, whole: np.ndarray, i: np.ndarray, target: np.ndarray,
                       outfit: np.ndarray | None = None) -> np.ndarray:
    """concat(L2n(r + M·i), β·t, γ·e): the query of the `manipulation` vector.

    Against a stored concat(L2n(r_g), ℓ_g, e_g) it scores cos(r + M·i, r_g) + β·Σ_a ℓ_g[t_a]
    + γ·⟨e, e_g⟩. Args: whole r (n·d,), i (S,) the change indicator, target t (S,) one-hot
    per attribute, outfit e (D,) the query item's style embedding (None, e.g. a photo encoded
    without it: the style term is left out, the same for every candidate).
    """
    moved = whole + artifact.prototypes @ i
    if not np.linalg.norm(moved) > 0:
        raise InvalidArgument.for_field("changes", "the manipulated representation is zero")
    spec = artifact.spec
    style = np.zeros(spec.outfit_dim, np.float32) if outfit is None else \
        np.float32(spec.style_weight) * outfit.astype(np.float32)
    return np.concatenate([unit(moved.astype(np.float32)), np.float32(spec.posterior_weight) * target.astype(np.float32),
                           style])


def similar_query(spec: ModelSpec, whole: np.ndarray) -> tuple[str, np.ndarray]:
    """(vector name, query vector) ranking by cos(r_q, r_g): L2n(r_q) padded with zeros to `manipulation`.

    Args: whole r_q (n·d,), non-zero. Returns the query (n·d + S + D,); its score against a
    stored concat(L2n(r_g), ℓ_g, e_g) is cos(r_q, r_g), the posterior and style parts weigh 0.
    """
    padding = np.zeros(spec.vocabulary.total_values + spec.outfit_dim, np.float32)
    return MANIPULATION, np.concatenate([unit(np.asarray(whole, np.float32)), padding])


def normalised_weights(spec: ModelSpec, weights: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Attribute -> weight, validated, zero weights dropped, summing to one."""
    out: dict[str, float] = {}
    for j, (attribute, weight) in enumerate(weights):
        try:
            spec.vocabulary.position(attribute)
        except InvalidArgument as exc:
            raise exc.at(f"weights[{j}].attribute") from None
        if attribute in out:
            raise InvalidArgument.for_field(f"weights[{j}].attribute", f"{attribute!r} is weighted twice")
        if not np.isfinite(weight) or weight < 0:
            raise InvalidArgument.for_field(f"weights[{j}].weight", "must be a finite number >= 0")
        out[attribute] = float(weight)
    total = sum(out.values())
    if total <= 0:
        raise InvalidArgument.for_field("weights", "at least one attribute needs a positive weight")
    return {a: w / total for a, w in out.items() if w > 0}


def weighted_query(spec: ModelSpec, whole: np.ndarray, log_probs: np.ndarray,
                   weights: dict[str, float]) -> tuple[str, np.ndarray]:
    """(vector name, query vector) ranking by sum_a w_a <s_a(q), s_a(g)>; one attribute uses its own vector."""
    chunks = attribute_vectors(spec, whole, log_probs)
    slices = attribute_slices(spec)
    if len(weights) == 1:
        [attribute] = weights
        return attr_vector(attribute), chunks[slices[attribute]]
    query = np.zeros_like(chunks)
    for attribute, weight in weights.items():
        part = slices[attribute]
        query[part] = weight * chunks[part]
    return CHUNKS, query


def outfit_query(artifact: ModelArtifact, outfit: Sequence[np.ndarray]) -> np.ndarray:
    """A^T mean_o e_o: its inner product with a candidate's e_c is the candidate's mean compatibility."""
    mean = np.mean(np.stack([np.asarray(e, np.float32) for e in outfit]), axis=0)
    return (artifact.outfit_bilinear.T @ mean).astype(np.float32)


def pair_score(artifact: ModelArtifact, a: np.ndarray, b: np.ndarray) -> float:
    """Compatibility of two items, the same in both directions: (e_a^T A e_b + e_b^T A e_a) / 2."""
    form = artifact.outfit_bilinear
    return float(0.5 * (a @ form @ b + b @ form @ a))
