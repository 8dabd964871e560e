"""The model artifact directory, as the index and the query services read it (no torch).

    MODEL_DIR/
      config.json          ModelSpec: version, vocabulary, dimensions, backbone settings
      weights.safetensors  the encoder's weights (read by fashionrec.model only)
      prototypes.npy       M, float32 (whole_dim, S): column j is the prototype of value j
      outfit_bilinear.npy  float32 (D, D): A, compatibility(x, y) = e_x^T A e_y
      eval.json            the evaluation report of this model

Vectors that the index stores, per item (see fashionrec.index):
  whole    = concat_a r_a                       (d per attribute; cosine)
  attr:<a> = r_a                                (cosine)
  outfit   = e, the unit style embedding        (D = outfit_dim; dot)
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
OUTFIT_BILINEAR_FILE = "outfit_bilinear.npy"
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
    # β: manipulation ranks by cos(r + M·i, g) + β·Σ_a log p_g(target_a) (0: the pure composed
    # query). Chosen on the validation split after training (fashionrec.model.tuning).
    posterior_weight: float = 0.0
    # w: similarity on attribute a ranks by (1−w)·cos(r_a, g_a) + w·BC(p_a, p_ga), BC the
    # Bhattacharyya coefficient of the two class posteriors. Chosen on validation too.
    similarity_posterior_weight: float = 0.0
    # γ: manipulation adds γ·⟨e_q, e_g⟩, the cosine of the two items' style embeddings (the
    # compatibility network's e, learned from outfits alone): "this dress in red" stays the
    # same kind of dress in what no label names. Chosen on validation with β.
    style_weight: float = 0.0

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self.vocabulary.names

    @property
    def whole_dim(self) -> int:
        return self.attribute_dim * len(self.vocabulary.attributes)

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
            "posterior_weight": self.posterior_weight,
            "similarity_posterior_weight": self.similarity_posterior_weight,
            "style_weight": self.style_weight,
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
            posterior_weight=float(data.get("posterior_weight", 0.0)),
            similarity_posterior_weight=float(data.get("similarity_posterior_weight", 0.0)),
            style_weight=float(data.get("style_weight", 0.0)),
        )


@dataclass(frozen=True)
class ModelArtifact:
    """What the services need of a model without torch: spec, prototypes, the outfit form A."""

    spec: ModelSpec
    prototypes: np.ndarray  # M (whole_dim, S)
    outfit_bilinear: np.ndarray  # A (outfit_dim, outfit_dim)
    directory: Path | None = None

    def __post_init__(self) -> None:
        expected = (self.spec.whole_dim, self.spec.vocabulary.total_values)
        if self.prototypes.shape != expected:
            raise ValueError(f"prototypes have shape {self.prototypes.shape}, expected {expected}")
        if not (np.isfinite(self.spec.posterior_weight) and self.spec.posterior_weight >= 0):
            raise ValueError(f"posterior_weight must be a finite number >= 0, not {self.spec.posterior_weight}")
        if not (np.isfinite(self.spec.style_weight) and self.spec.style_weight >= 0):
            raise ValueError(f"style_weight must be a finite number >= 0, not {self.spec.style_weight}")
        if not 0.0 <= self.spec.similarity_posterior_weight <= 1.0:
            raise ValueError("similarity_posterior_weight must be in [0, 1], "
                             f"not {self.spec.similarity_posterior_weight}")
        d = self.spec.outfit_dim
        if self.outfit_bilinear.shape != (d, d):
            raise ValueError(f"the outfit form has shape {self.outfit_bilinear.shape}, expected {(d, d)}")

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(json.dumps(self.spec.to_json(), indent=2) + "\n")
        np.save(directory / PROTOTYPES_FILE, self.prototypes.astype(np.float32))
        np.save(directory / OUTFIT_BILINEAR_FILE, self.outfit_bilinear.astype(np.float32))


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
        outfit_bilinear=np.load(directory / OUTFIT_BILINEAR_FILE),
        directory=directory,
    )
