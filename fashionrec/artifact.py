"""The model artifact directory, as the index and the query services read it (no torch).

    MODEL_DIR/
      config.json          ModelSpec: version, vocabulary, dimensions, backbone settings
      weights.safetensors  the encoder's weights (read by fashionrec.model only)
      prototypes.npy       M, float32 (whole_dim, S): column j is the prototype of value j
      outfit_weights.npy   float32 (C, C, n): weight of attribute a when an item of
                           category s is matched against target category t
      eval.json            the evaluation report of this model

Vectors that the index stores, per item (see fashionrec.index):
  whole    = concat_a r_a                       (d per attribute; cosine)
  attr:<a> = r_a                                (cosine)
  outfit   = concat_a L2n(P_a r_a)              (outfit_dim per attribute; dot)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.errors import NotFound
from fashionrec.vocab import Vocabulary

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
PROTOTYPES_FILE = "prototypes.npy"
OUTFIT_WEIGHTS_FILE = "outfit_weights.npy"
EVAL_FILE = "eval.json"


@dataclass(frozen=True)
class ModelSpec:
    version: str
    vocabulary: Vocabulary
    attribute_dim: int
    outfit_dim: int
    image_size: int
    # The attribute that names an item's category (outfit weights are indexed by it).
    category_attribute: str = "category"
    # Free-form settings the torch model needs to rebuild itself (backbone width, ...).
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self.vocabulary.names

    @property
    def whole_dim(self) -> int:
        return self.attribute_dim * len(self.vocabulary.attributes)

    @property
    def outfit_whole_dim(self) -> int:
        return self.outfit_dim * len(self.vocabulary.attributes)

    @property
    def categories(self) -> tuple[str, ...]:
        return self.vocabulary.attribute(self.category_attribute).values

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "vocabulary": self.vocabulary.to_mapping(),
            "attribute_dim": self.attribute_dim,
            "outfit_dim": self.outfit_dim,
            "image_size": self.image_size,
            "category_attribute": self.category_attribute,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ModelSpec":
        return cls(
            version=data["version"],
            vocabulary=Vocabulary.from_mapping(data["vocabulary"]),
            attribute_dim=int(data["attribute_dim"]),
            outfit_dim=int(data["outfit_dim"]),
            image_size=int(data["image_size"]),
            category_attribute=data.get("category_attribute", "category"),
            model=dict(data.get("model", {})),
        )


@dataclass(frozen=True)
class ModelArtifact:
    """What the services need of a model without torch: spec, prototypes, outfit weights."""

    spec: ModelSpec
    prototypes: np.ndarray
    outfit_weights: np.ndarray
    directory: Path | None = None

    def __post_init__(self) -> None:
        expected = (self.spec.whole_dim, self.spec.vocabulary.total_values)
        if self.prototypes.shape != expected:
            raise ValueError(f"prototypes have shape {self.prototypes.shape}, expected {expected}")
        c, n = len(self.spec.categories), len(self.spec.vocabulary.attributes)
        if self.outfit_weights.shape != (c, c, n):
            raise ValueError(f"outfit weights have shape {self.outfit_weights.shape}, expected {(c, c, n)}")

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(json.dumps(self.spec.to_json(), indent=2) + "\n")
        np.save(directory / PROTOTYPES_FILE, self.prototypes.astype(np.float32))
        np.save(directory / OUTFIT_WEIGHTS_FILE, self.outfit_weights.astype(np.float32))


def load_spec(directory: str | Path) -> ModelSpec:
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        raise NotFound(f"no model at {directory}: {CONFIG_FILE} is missing")
    return ModelSpec.from_json(json.loads(path.read_text()))


def load_artifact(directory: str | Path) -> ModelArtifact:
    directory = Path(directory)
    spec = load_spec(directory)
    return ModelArtifact(
        spec=spec,
        prototypes=np.load(directory / PROTOTYPES_FILE),
        outfit_weights=np.load(directory / OUTFIT_WEIGHTS_FILE),
        directory=directory,
    )
