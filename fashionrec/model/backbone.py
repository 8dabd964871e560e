"""The image backbone: a ResNet18 layout in plain torch (there is no torchvision here).

Width and input size are configurable so the same code trains a narrow net on
small synthetic images on a CPU and a full-width one on real photos on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class BackboneConfig:
    # Channels of the first stage; stages have width, 2·width, 4·width, 8·width (ResNet18: 64).
    width: int = 16
    # Basic blocks per stage (ResNet18: 2, 2, 2, 2).
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    # Small images keep their resolution in the stem (3×3, stride 1, no max-pool); large ones
    # (≥ 128 px) use the ImageNet stem (7×7, stride 2, max-pool) to stay affordable.
    imagenet_stem: bool = False
    # Stride of the small stem's 3×3 conv. 2 lets a 64 px input keep its fine details (a
    # neckline is a few pixels) in the first conv while every later stage costs what it
    # costs at 32 px: measured 64 px / stride 2 trains at about the speed of 32 px / stride 1.
    stem_stride: int = 1

    @property
    def feature_dim(self) -> int:
        return self.width * 2 ** (len(self.blocks) - 1)


class _BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """Images (B, 3, H, W), normalised → features (B, feature_dim) after global average pooling."""

    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        if config.imagenet_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1),
            )
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, w, 3, config.stem_stride, 1, bias=False), nn.BatchNorm2d(w),
                                      nn.ReLU(inplace=True))
        stages, channels = [], w
        for i, n_blocks in enumerate(config.blocks):
            out_channels = w * 2**i
            blocks = [_BasicBlock(channels, out_channels, 1 if i == 0 else 2)]
            blocks += [_BasicBlock(out_channels, out_channels, 1) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero the last BN of each residual branch so every block starts as the identity,
        # which makes the narrow net train stably from scratch.
        for m in self.modules():
            if isinstance(m, _BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))
