"""Image grids (PNG) that show a method learning: originals, reconstructions, mixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def save_grid(rows: list[torch.Tensor], path: Path, scale: int = 2) -> Path:
    """rows: tensors (k, 3, s, s) in [0, 1], one grid row each (same k and s) → PNG at path."""
    arrays = [r.detach().float().clamp(0, 1).cpu().numpy() for r in rows]
    k, _, s, _ = arrays[0].shape
    pad = 2
    grid = np.ones((len(arrays) * (s + pad) + pad, k * (s + pad) + pad, 3), np.float32)
    for i, row in enumerate(arrays):
        for j in range(k):
            y, x = pad + i * (s + pad), pad + j * (s + pad)
            grid[y:y + s, x:x + s] = row[j].transpose(1, 2, 0)
    image = Image.fromarray((grid * 255).round().astype(np.uint8))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
