"""The networks of the unsupervised methods.

The encoder is the ADDE backbone (fashionrec.model.backbone.ResNetBackbone) followed by
the head ADDE's one-embedding baseline uses (Linear → ReLU → Linear to n·d), so a trained
encoder can be written as an ADDE-compatible artifact (fashionrec.unsupervised.fewlabel)
without any change to the serving code. VAEs add a second head for log σ².
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from fashionrec.model.backbone import BackboneConfig, ResNetBackbone


@dataclass(frozen=True)
class UnsupervisedConfig:
    method: str = "ae"
    n_chunks: int = 6
    chunk_dim: int = 16
    hidden_dim: int = 128
    image_size: int = 32
    # A light ResNet (one block per stage) keeps a few-minute CPU budget.
    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(width=16, blocks=(1, 1, 1, 1),
                                                                          stem_stride=2))
    decoder_width: int = 32
    beta: float = 4.0  # β-VAE: weight of the KL; β-TCVAE: weight of the total correlation
    epochs: int = 20
    max_seconds: float = 240.0  # stop after the epoch that passes this budget
    batch_size: int = 64
    learning_rate: float = 1e-3
    discriminator_learning_rate: float = 2e-4
    # Mixing: weight of the adversarial (generator) loss; 0 = "MIX + C", no discriminator.
    adversarial_weight: float = 1.0
    seed: int = 0
    threads: int = 1

    @property
    def latent_dim(self) -> int:
        return self.n_chunks * self.chunk_dim

    @property
    def variational(self) -> bool:
        return self.method in ("beta-vae", "beta-tcvae")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "UnsupervisedConfig":
        data = dict(data)
        backbone = dict(data.pop("backbone", {}))
        if "blocks" in backbone:
            backbone["blocks"] = tuple(backbone["blocks"])
        return cls(backbone=BackboneConfig(**backbone), **data)


def _head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class Encoder(nn.Module):
    """Normalised images (B, 3, s, s) → (μ or f (B, n·d), log σ² or None)."""

    def __init__(self, config: UnsupervisedConfig) -> None:
        super().__init__()
        self.backbone = ResNetBackbone(config.backbone)
        f = config.backbone.feature_dim
        self.head = _head(f, config.hidden_dim, config.latent_dim)
        self.logvar = _head(f, config.hidden_dim, config.latent_dim) if config.variational else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.backbone(x)
        return self.head(h), (self.logvar(h) if self.logvar is not None else None)


class Decoder(nn.Module):
    """Latent (B, n·d) → images in [0, 1] (B, 3, s, s), s = 4·2^k."""

    def __init__(self, config: UnsupervisedConfig) -> None:
        super().__init__()
        w = config.decoder_width
        ups = max(1, (config.image_size // 4).bit_length() - 1)
        self.start = 4
        self.fc = nn.Sequential(nn.Linear(config.latent_dim, 4 * w * 16), nn.ReLU())
        layers: list[nn.Module] = []
        channels = 4 * w
        for i in range(ups):
            out = max(w, channels // 2)
            layers += [nn.ConvTranspose2d(channels, out, 4, 2, 1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        layers += [nn.Conv2d(channels, 3, 3, 1, 1)]
        self.net = nn.Sequential(*layers)
        self.channels = 4 * w

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.channels, self.start, self.start)
        return torch.sigmoid(self.net(h))


def _conv_stack(in_channels: int, width: int, size: int) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    channels = in_channels
    while size > 4:
        layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels, width, size = width, width * 2, size // 2
    return nn.Sequential(*layers, nn.Flatten()), channels * size * size


class Discriminator(nn.Module):
    """Images in [0, 1] → one real/fake logit each."""

    def __init__(self, config: UnsupervisedConfig) -> None:
        super().__init__()
        self.net, out = _conv_stack(3, config.decoder_width, config.image_size)
        self.fc = nn.Linear(out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.net(x * 2 - 1)).squeeze(1)


class ChunkClassifier(nn.Module):
    """(x1, x2, x3) → per chunk a logit of "x3's chunk came from x2"."""

    def __init__(self, config: UnsupervisedConfig) -> None:
        super().__init__()
        self.net, out = _conv_stack(9, config.decoder_width, config.image_size)
        self.fc = nn.Linear(out, config.n_chunks)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor) -> torch.Tensor:
        return self.fc(self.net(torch.cat([x1, x2, x3], dim=1) * 2 - 1))


class UnsupervisedModel(nn.Module):
    def __init__(self, config: UnsupervisedConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        if config.method == "mixing":
            self.discriminator = Discriminator(config)
            self.classifier = ChunkClassifier(config)

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The representation used for retrieval: μ for VAEs, f otherwise, (B, n·d)."""
        return self.encoder(x)[0]
