"""Turning catalog images (uint8, N×H×W×3) into model input, the same way in training and serving:
`resize_uint8` (fashionrec.data.images, the one resize, also the data set readers') then `normalise`."""

from __future__ import annotations

import torch

from fashionrec.data.images import resize_uint8

__all__ = ["normalise", "resize_uint8"]

# Per-channel statistics of natural images; the synthetic renders are close enough that
# a fixed normalisation beats one fitted per catalog (which would tie a model to its data).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) → float32 normalised, on the images' device."""
    mean = torch.tensor(_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std
