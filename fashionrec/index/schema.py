"""What one catalog item looks like in the index: point id, named vectors and payload.

Per item, for a model with attributes a = 1..n (see fashionrec.artifact):

  manipulation  concat(L2n(r), ℓ, e)       manipulation: one composed query (compose.py);
                                           "similar items": concat(L2n(r_q), 0, 0), whose
                                           score is cos(r_q, r); r, ℓ, e are read back from it
  attr_<a>      s_a = concat(√(1−w)·L2n(r_a), √w·√p_a)
                                           conditional similarity on one attribute
  chunks        concat_a s_a               weighted similarity: one composed query
  outfit        e                          outfit completion: one composed query

ℓ (S) is the classifier heads' log-posteriors (floored), p_a = exp(ℓ_a) attribute a's
class posterior, w the model's similarity_posterior_weight. s_a is a unit vector, so
⟨s_a, s'_a⟩ = (1−w)·cos(r_a, r'_a) + w·Σ_v √(p_a(v) p'_a(v)) (Bhattacharyya coefficient).
Measured on a 20k-item unseen catalog (docs/model.md): the class posteriors carry what
the chunks alone rank poorly (sleeve, neckline), the chunks what the labels do not name.

Until round 8 L2n(r) was also a vector of its own (`whole`, with its own HNSW graph) for
`similar`, which no service calls; the manipulation graph answers that query at recall@10 0.99
(1M points, a beam of 1024), and the graph was about a fifth of a 1M build.

Every vector is stored with the Dot distance and normalised here, so both
backends hold the very same numbers and Dot over unit vectors is cosine. Dot
(not Qdrant's Cosine) because Cosine would normalise `chunks` and `outfit`
as a whole and break the composed-query identities. The norm of r goes into
the payload (`whole_norm`) so that the raw r, which manipulation needs
(r' = r + M·i keeps the item's own residual), can be read back.

Payload: sku, category, labels (given, attribute -> value), predicted_labels,
title, brand, price, currency, in_stock (int 0/1: qdrant-edge's
MatchValue(True) on a bool matches nothing), updated_at (float seconds since
the Unix epoch, UTC), model_version, image_uri, whole_norm.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fashionrec.artifact import ModelSpec
from fashionrec.errors import InvalidArgument
from fashionrec.items import Item

MANIPULATION = "manipulation"
CHUNKS = "chunks"
OUTFIT = "outfit"

# Fixed forever: changing it would give every SKU a new point id.
SKU_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fashionrec.invalid/sku")

# Attribute names become vector names and payload paths (labels.<name>).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_]+$")

KEYWORD, FLOAT, INTEGER = "keyword", "float", "integer"
# Payload fields that filters use, with their index type; plus predicted_labels.<a>.
BASE_PAYLOAD_INDEXES: dict[str, str] = {
    "category": KEYWORD,
    "brand": KEYWORD,
    "price": FLOAT,
    "in_stock": INTEGER,
}


# The longest SKU the index holds: ingest refuses longer ones (fashionrec.events.codec), so a
# longer SKU in a query names nothing, and echoing it back would overflow gRPC's 16 KiB limit
# on the trailing metadata that carries the error (the client then sees RESOURCE_EXHAUSTED).
MAX_SKU_CHARS = 256


def check_sku(sku: str, field_name: str) -> None:
    """Refuses a SKU longer than MAX_SKU_CHARS.

    Raises:
        InvalidArgument: naming the field.
    """
    if len(sku) > MAX_SKU_CHARS:
        raise InvalidArgument.for_field(field_name, f"a SKU has at most {MAX_SKU_CHARS} characters, not {len(sku)}")


@functools.lru_cache(maxsize=1 << 16)
def point_id(sku: str) -> str:
    """The point id of a SKU: the same on every backend, version and process.

    Cached: every query by SKU needs it twice (the lookup and the exclusion of the item itself),
    and uuid5 (a SHA-1) was 0.12 ms of a ~2 ms in-process Manipulate (cProfile, 2k-point index).
    """
    return str(uuid.uuid5(SKU_NAMESPACE, sku))


ATTRIBUTE_PREFIX = "attr_"


def attr_vector(attribute: str) -> str:
    return f"{ATTRIBUTE_PREFIX}{attribute}"


def predicted_key(attribute: str) -> str:
    return f"predicted_labels.{attribute}"


def collection_name(prefix: str, version: str) -> str:
    """A collection name for a model version: readable, and unique even when slugs collide."""
    slug = re.sub(r"[^a-z0-9]+", "_", version.lower()).strip("_")[:40] or "v"
    digest = hashlib.sha1(version.encode()).hexdigest()[:8]
    return f"{prefix}_items_{slug}_{digest}"


def check_spec(spec: ModelSpec) -> None:
    """Rejects a model whose attribute names cannot be vector names and payload paths."""
    for name in spec.attribute_names:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"attribute name {name!r} must match {_SAFE_NAME.pattern} to be indexed")


def attribute_vector_dim(spec: ModelSpec, attribute: str) -> int:
    """Dimensions of s_a: the chunk and the attribute's class posterior."""
    return spec.attribute_dim + len(spec.vocabulary.attribute(attribute).values)


def vector_dims(spec: ModelSpec) -> dict[str, int]:
    total_values = spec.vocabulary.total_values
    dims = {MANIPULATION: spec.whole_dim + total_values + spec.outfit_dim,
            CHUNKS: spec.whole_dim + total_values, OUTFIT: spec.outfit_dim}
    dims.update({attr_vector(a): attribute_vector_dim(spec, a) for a in spec.attribute_names})
    return dims


def payload_indexes(spec: ModelSpec) -> dict[str, str]:
    indexes = dict(BASE_PAYLOAD_INDEXES)
    indexes.update({predicted_key(a): KEYWORD for a in spec.attribute_names})
    return indexes


def item_to_payload(item: Item, model_version: str, whole_norm: float) -> dict[str, Any]:
    """The point's payload for an item (the module docstring lists the fields)."""
    return {
        "sku": item.sku,
        "category": item.category,
        "labels": dict(item.labels),
        "predicted_labels": dict(item.predicted_labels),
        "title": item.title,
        "brand": item.brand,
        "price": float(item.price),
        "currency": item.currency,
        "in_stock": int(bool(item.in_stock)),
        "updated_at": float(item.updated_at),
        "image_uri": item.image_uri,
        "model_version": model_version,
        "whole_norm": whole_norm,
    }


def item_from_payload(payload: Mapping[str, Any]) -> Item:
    """The item a point's payload describes (missing fields take Item's defaults)."""
    return Item(
        sku=payload["sku"],
        category=payload.get("category", ""),
        labels=dict(payload.get("labels") or {}),
        predicted_labels=dict(payload.get("predicted_labels") or {}),
        title=payload.get("title", ""),
        brand=payload.get("brand", ""),
        price=float(payload.get("price", 0.0)),
        currency=payload.get("currency", ""),
        in_stock=bool(payload.get("in_stock", 0)),
        updated_at=float(payload.get("updated_at", 0.0)),
        image_uri=payload.get("image_uri", ""),
        model_version=payload.get("model_version", ""),
    )


@dataclass(frozen=True)
class IndexedItem:
    """An item with its raw vectors: what the encoder writes and what get_items returns."""

    item: Item
    whole: np.ndarray  # r = concat_a r_a, (whole_dim,)
    outfit: np.ndarray  # e, the unit style embedding, (outfit_dim,)
    log_probs: np.ndarray  # ℓ, floored class log-posteriors in vocabulary order, (S,)


@dataclass(frozen=True)
class ItemPatch:
    """A payload-only change: the fields that are not None are set, vectors stay."""

    sku: str
    updated_at: float
    price: float | None = None
    currency: str | None = None
    in_stock: bool | None = None
    title: str | None = None
    brand: str | None = None
    image_uri: str | None = None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"updated_at": float(self.updated_at)}
        for name in ("price", "currency", "title", "brand", "image_uri"):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value) if name == "price" else value
        if self.in_stock is not None:
            out["in_stock"] = int(bool(self.in_stock))
        return out


def as_vector(value: Any, dim: int, field_name: str) -> np.ndarray:
    """A finite float32 vector of length dim, or InvalidArgument naming the field."""
    try:
        vec = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidArgument.for_field(field_name, "is not a vector of numbers") from None
    if vec.ndim != 1 or vec.shape[0] != dim:
        raise InvalidArgument.for_field(field_name, f"has shape {vec.shape}, expected ({dim},)")
    if not np.all(np.isfinite(vec)):
        raise InvalidArgument.for_field(field_name, "contains NaN or infinity")
    return vec


def chunk_norms(spec: ModelSpec, whole: np.ndarray) -> np.ndarray:
    return np.linalg.norm(whole.reshape(len(spec.attribute_names), spec.attribute_dim), axis=1)


def check_vocabulary(spec: ModelSpec, item: Item, field_name: str) -> None:
    """Checks an item's SKU, category and label values against the model's vocabulary.

    Args:
        spec: the model whose categories and attribute values are allowed.
        item: the item to check (labels and predicted labels).
        field_name: the request field the item came from, for the error.

    Raises:
        InvalidArgument: naming the first field that is not in the vocabulary.
    """
    if not item.sku:
        raise InvalidArgument.for_field(f"{field_name}.sku", "must not be empty")
    if item.category not in spec.categories:
        raise InvalidArgument.for_field(
            f"{field_name}.category", f"unknown category {item.category!r}; known: {', '.join(spec.categories)}"
        )
    vocab = spec.vocabulary
    for kind, labels in (("labels", item.labels), ("predicted_labels", item.predicted_labels)):
        for attribute, value in labels.items():
            try:
                vocab.global_index(attribute, value)
            except InvalidArgument as exc:
                raise exc.at(f"{field_name}.{kind}[{attribute}]") from None


def check_item(spec: ModelSpec, entry: IndexedItem, field_name: str) -> IndexedItem:
    """Validates one item to write: vectors, category and label values."""
    item = entry.item
    check_vocabulary(spec, item, field_name)
    whole = as_vector(entry.whole, spec.whole_dim, f"{field_name}.whole")
    outfit = as_vector(entry.outfit, spec.outfit_dim, f"{field_name}.outfit")
    log_probs = check_log_probs(spec, entry.log_probs, f"{field_name}.log_probs")
    zero = np.flatnonzero(chunk_norms(spec, whole) == 0)
    if zero.size:
        name = spec.attribute_names[int(zero[0])]
        raise InvalidArgument.for_field(f"{field_name}.whole", f"the chunk of attribute {name!r} is all zeros")
    return IndexedItem(item, whole, outfit, log_probs)


def check_log_probs(spec: ModelSpec, value: Any, field_name: str) -> np.ndarray:
    """Class log-posteriors (S,): finite and ≤ 0, or InvalidArgument naming the field."""
    log_probs = as_vector(value, spec.vocabulary.total_values, field_name)
    if np.any(log_probs > 1e-4):
        raise InvalidArgument.for_field(field_name, "log-probabilities must be <= 0")
    return log_probs


def unit(vec: np.ndarray) -> np.ndarray:
    return vec / np.float32(np.linalg.norm(vec))


def attribute_vectors(spec: ModelSpec, whole: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
    """s_a for every attribute, concatenated (the `chunks` vector); each s_a has unit norm.

    Args:
        spec: the model (attribute_dim, vocabulary, similarity_posterior_weight).
        whole: r (whole_dim,).
        log_probs: ℓ (S,).

    Returns:
        float32 (whole_dim + S,): concat_a [√(1−w)·L2n(r_a), √w·√p_a] with p_a renormalised.
    """
    w = spec.similarity_posterior_weight
    chunks = whole.reshape(len(spec.attribute_names), spec.attribute_dim).astype(np.float64)
    unit_chunks = chunks / np.linalg.norm(chunks, axis=1, keepdims=True)
    parts = []
    for a, offset in enumerate(spec.vocabulary.offsets):
        size = len(spec.vocabulary.attributes[a].values)
        p = np.exp(np.asarray(log_probs[offset:offset + size], np.float64))
        parts += [np.sqrt(1.0 - w) * unit_chunks[a], np.sqrt(w) * np.sqrt(p / p.sum())]
    return np.concatenate(parts).astype(np.float32)


def attribute_slices(spec: ModelSpec) -> dict[str, slice]:
    """Where each s_a sits in the `chunks` vector."""
    out, start = {}, 0
    for name in spec.attribute_names:
        size = attribute_vector_dim(spec, name)
        out[name] = slice(start, start + size)
        start += size
    return out


def split_manipulation_vector(spec: ModelSpec, vector: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three parts of a stored manipulation vector, as float32 arrays.

    Args:
        spec: the model version's spec (whole_dim W, S values, outfit_dim D).
        vector: the stored manipulation vector, (W + S + D,).

    Returns:
        (L2n(r) (W,), ℓ (S,), e (D,)): what point_vectors concatenated.
    """
    array = np.asarray(vector, dtype=np.float32)
    w, s = spec.whole_dim, spec.vocabulary.total_values
    return array[:w], array[w:w + s], array[w + s:]


def point_vectors(spec: ModelSpec, whole: np.ndarray, outfit: np.ndarray,
                  log_probs: np.ndarray) -> dict[str, list[float]]:
    """The named vectors of one (validated) item."""
    whole_unit = unit(whole)
    chunks = attribute_vectors(spec, whole, log_probs)
    vectors = {
        MANIPULATION: np.concatenate([whole_unit, log_probs.astype(np.float32), outfit.astype(np.float32)]).tolist(),
        CHUNKS: chunks.tolist(),
        OUTFIT: outfit.astype(np.float32).tolist(),
    }
    for name, part in attribute_slices(spec).items():
        vectors[attr_vector(name)] = chunks[part].tolist()
    return vectors
