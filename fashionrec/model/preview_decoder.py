"""The preview decoder: an item's image rendered back from its ADDE representation.

    r (B, n·d) → Linear → (B, C, 4, 4) → 4 × [upsample ×2 → 3×3 conv → BN → ReLU] → 3×3 conv → sigmoid
              → image (B, 3, 64, 64) in [0, 1]

Decoding the manipulated r' = r + M·i shows the shopper the item they asked for ("this
dress, in red with dots") before any catalog item is retrieved. The decoder is trained on
the frozen encoder's representations of catalog images with two terms:

- reconstruction: L1 between decode(r) and the image (keeps pose, shape, background);
- attribute transfer: the frozen ADDE classifies decode(r') and is asked to read the
  target labels off it, for r' both the plain r (its own labels) and a manipulated r'
  (one attribute moved by M·i). Without this term a pixel loss alone blurs the small
  details (pattern, neckline) that make the change visible, and nothing would check that
  the decoded r' actually carries the new value: there is no ground-truth image of it.

The frozen ADDE used as the critic is the same model whose classifiers `fashionrec eval`
uses to measure transfer; the evaluation also reads previews with an independent
classifier trained on real renders, so a decoder that fooled only its critic would show.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DecoderConfig", "PreviewDecoder"]


@dataclass(frozen=True)
class DecoderConfig:
    # Channels after the first projection (4×4); each up-stage halves them down to min_channels.
    channels: int = 128
    min_channels: int = 16
    image_size: int = 64


class PreviewDecoder(nn.Module):
    """r (B, whole_dim) → images (B, 3, image_size, image_size) in [0, 1]."""

    def __init__(self, whole_dim: int, config: DecoderConfig = DecoderConfig()) -> None:
        super().__init__()
        if config.image_size < 8 or config.image_size & (config.image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 8, not {config.image_size}")
        self.config = config
        self.project = nn.Linear(whole_dim, config.channels * 16)
        stages, channels, size = [], config.channels, 4
        while size < config.image_size:
            out = max(config.min_channels, channels // 2)
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(channels, out, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels, size = out, size * 2
        self.stages = nn.Sequential(nn.BatchNorm2d(config.channels), nn.ReLU(inplace=True), *stages)
        self.to_rgb = nn.Conv2d(channels, 3, 3, 1, 1)

    def forward(self, whole: torch.Tensor) -> torch.Tensor:
        x = self.project(whole).view(len(whole), self.config.channels, 4, 4)
        return torch.sigmoid(self.to_rgb(self.stages(x)))
