"""The Attribute-Driven Disentangled Encoder (ADDE): backbone → one d-dim chunk per attribute.

    image → ResNet backbone → for each attribute a: Linear → ReLU → Linear → r_a (d)
                                                   → classifier Linear(d, |values_a|)
    r = concat_a r_a; prototype memory M (n·d × S).
    image → compatibility network (its own backbone, fashionrec.model.outfit) → e (D)

With `disentangled=False` the same class is the AMNet-like baseline: one global
n·d embedding (every attribute reads all of it), a full (not block-diagonal)
memory of learned per-value offsets. Its outfit head still sees n slices of the
vector, so both models export the same artifact shapes and share one harness.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from fashionrec.model.backbone import BackboneConfig, ResNetBackbone
from fashionrec.model.memory import PrototypeMemory
from fashionrec.model.outfit import CompatibilityNet, OutfitConfig
from fashionrec.vocab import Vocabulary


@dataclass(frozen=True)
class ADDEConfig:
    attribute_dim: int = 32
    hidden_dim: int = 128
    image_size: int = 64
    category_attribute: str = "category"
    disentangled: bool = True
    # 64 px through a stride-2 stem: necklines stay visible (at chance at 32 px), same cost.
    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(stem_stride=2))
    outfit: OutfitConfig = field(default_factory=OutfitConfig)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ADDEConfig":
        data = dict(data)
        backbone = dict(data.pop("backbone", {}))
        if "blocks" in backbone:
            backbone["blocks"] = tuple(backbone["blocks"])
        outfit = dict(data.pop("outfit", {}))
        if "blocks" in outfit:
            outfit["blocks"] = tuple(outfit["blocks"])
        return cls(backbone=BackboneConfig(**backbone), outfit=OutfitConfig(**outfit), **data)


def log_posteriors(logits: list[torch.Tensor]) -> torch.Tensor:
    """Per-attribute logits → concatenated log-softmax (B, S), vocabulary order."""
    return torch.cat([torch.log_softmax(lg.float(), dim=-1) for lg in logits], dim=1)


@dataclass
class Encoding:
    """What one forward pass gives: chunks (B, n, d) and one logit tensor per attribute."""

    chunks: torch.Tensor
    logits: list[torch.Tensor]

    @property
    def whole(self) -> torch.Tensor:
        return self.chunks.flatten(1)


class ADDE(nn.Module):
    def __init__(self, vocabulary: Vocabulary, config: ADDEConfig) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.config = config
        n, d = len(vocabulary.attributes), config.attribute_dim
        self.category_position = vocabulary.position(config.category_attribute)
        self.backbone = ResNetBackbone(config.backbone)
        feature_dim = config.backbone.feature_dim
        # The baseline has one head for the whole vector; ADDE one per attribute.
        n_heads, head_dim = (n, d) if config.disentangled else (1, n * d)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(feature_dim, config.hidden_dim), nn.ReLU(), nn.Linear(config.hidden_dim, head_dim))
            for _ in range(n_heads)
        )
        classifier_in = d if config.disentangled else n * d
        self.classifiers = nn.ModuleList(nn.Linear(classifier_in, len(a.values)) for a in vocabulary.attributes)
        self.memory = PrototypeMemory(vocabulary, d)
        if not config.disentangled:
            self.memory.mask.fill_(1.0)
        self.outfit = CompatibilityNet(config.outfit, posterior_dim=vocabulary.total_values)

    @property
    def n_attributes(self) -> int:
        return len(self.vocabulary.attributes)

    def forward(self, images: torch.Tensor) -> Encoding:
        """Normalised images (B, 3, H, W) → Encoding."""
        features = self.backbone(images)
        if self.config.disentangled:
            chunks = torch.stack([head(features) for head in self.heads], dim=1)
            logits = [clf(chunks[:, a]) for a, clf in enumerate(self.classifiers)]
        else:
            whole = self.heads[0](features)
            chunks = whole.view(whole.shape[0], self.n_attributes, self.config.attribute_dim)
            logits = [clf(whole) for clf in self.classifiers]
        return Encoding(chunks=chunks, logits=logits)

    def attribute_vectors(self, chunks: torch.Tensor, position: int) -> torch.Tensor:
        """The vector that stands for one attribute: its chunk, or the whole vector for the baseline."""
        return chunks[:, position] if self.config.disentangled else chunks.flatten(1)

    def outfit_vectors(self, images: torch.Tensor, logits: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Normalised images (B, 3, H, W) → unit style embeddings e (B, outfit_dim).

        logits: this model's classifier logits for the same images (computed when not given).
        """
        if logits is None and self.outfit.posterior_dim:
            with torch.no_grad():
                logits = self(images).logits
        log_probs = None if logits is None else log_posteriors(logits)
        return self.outfit(images, log_probs)
