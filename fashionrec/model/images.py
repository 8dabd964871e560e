"""Turning catalog images (uint8, N×H×W×3) into model input, the same way in training and serving."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Per-channel statistics of natural images; the synthetic renders are close enough that
# a fixed normalisation beats one fitted per catalog (which would tie a model to its data).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def resize_uint8(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, H, W, 3) of any H, W → uint8 (N, 3, size, size), antialiased bilinear."""
    x = torch.as_tensor(images)
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got shape {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2)
    if x.shape[-2:] == (size, size):
        return x.contiguous()
    resized = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    # interpolate keeps the NHWC strides of the permuted view (channels_last); on CPU, conv
    # backward on such inputs crashed torch 2.13 (segfault at backbone width 8), so return NCHW.
    return resized.round_().clamp_(0, 255).to(torch.uint8).contiguous()


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) → float32 normalised, on the images' device."""
    mean = torch.tensor(_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std
