"""The outfit compatibility network: a style embedding learned from outfit co-occurrence alone.

What makes two synthetic items go together (a hidden style, colour compatibility, at most
one loud pattern) is a logical AND of pairwise rules. The earlier head on ADDE's attribute
chunks could not learn it: its hinge loss sat at the margin and its softmax weights routed
97–99% of the weight to one chunk, often one that is "n/a" for the target category (FITB
0.31–0.37, chance 0.25). A style signal is in the pixels but not in the attribute labels,
so this network has a backbone of its own, trained on outfits only (no style labels):

    image (B, 3, s, s) → ResNet backbone ─┐
    ADDE's class posteriors p (B, S) ─────┴→ concat → Linear → ReLU → Linear → e = L2n(·)  (B, D)
    compatibility(x, y) = e_x^T A e_y                                            A: (D, D)

The posteriors (frozen, from the ADDE heads) hand the network the colour, pattern and
category it would otherwise have to learn again from outfits alone; the backbone is left
to find what no label names (the style marks). Trained on images alone the embeddings
stayed collapsed (mean cosine 0.95) and FITB at 0.28–0.36 after five epochs.

An AND of pairwise rules is a product of bilinear forms, which is itself one bilinear form
on the tensor product of the item's factors (style ⊗ colour ⊗ loudness: 96 dims for the
synthetic rules), and a non-linear tower can compute such a product from the image; so one
D-dim embedding per item and one matrix A suffice. The score of a candidate y for an outfit
{x_i} is mean_i e_{x_i}^T A e_y = ⟨A^T mean_i e_{x_i}, e_y⟩: one composed query vector
against the stored e_y, which the index serves without torch (fashionrec.index.compose).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fashionrec.model.backbone import BackboneConfig, ResNetBackbone

__all__ = ["OutfitConfig", "CompatibilityNet"]


@dataclass(frozen=True)
class OutfitConfig:
    # D: dimensions of the style embedding e (the index's `outfit` vector).
    outfit_dim: int = 64
    hidden_dim: int = 128
    # The style network's own backbone (stem stride 2: 64 px input costs what 32 px does).
    width: int = 16
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    stem_stride: int = 2
    # Initial scale of A (= the inverse softmax temperature of the InfoNCE loss at the start).
    initial_scale: float = 10.0
    # Feed the ADDE heads' class posteriors beside the backbone's features.
    use_posteriors: bool = True


class CompatibilityNet(nn.Module):
    """Images (B, 3, s, s), normalised → unit style embeddings (B, D); a bilinear form A (D, D)."""

    def __init__(self, config: OutfitConfig, posterior_dim: int = 0) -> None:
        super().__init__()
        self.config = config
        self.posterior_dim = posterior_dim if config.use_posteriors else 0
        self.backbone = ResNetBackbone(BackboneConfig(width=config.width, blocks=tuple(config.blocks),
                                                      stem_stride=config.stem_stride))
        self.embed = nn.Sequential(nn.Linear(self.backbone.config.feature_dim + self.posterior_dim, config.hidden_dim),
                                   nn.ReLU(), nn.Linear(config.hidden_dim, config.outfit_dim))
        self.bilinear = nn.Parameter(torch.eye(config.outfit_dim) * config.initial_scale)

    def forward(self, images: torch.Tensor, log_probs: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, 3, s, s) and, when the config uses them, log-posteriors (B, S) → e (B, D), unit norm."""
        features = self.backbone(images)
        if self.posterior_dim:
            if log_probs is None:
                raise ValueError("this compatibility network reads the class posteriors: pass log_probs")
            features = torch.cat([features, log_probs.float().exp()], dim=-1)
        return F.normalize(self.embed(features).float(), dim=-1)

    def outfit_scores(self, candidates: torch.Tensor, items: torch.Tensor, item_mask: torch.Tensor) -> torch.Tensor:
        """Mean compatibility of each candidate with the items of its outfit.

        Args:
            candidates: embeddings (B, K, D) of K candidates per outfit.
            items: embeddings (B, m, D) of the outfit's items.
            item_mask: bool (B, m), False for padding.

        Returns:
            (B, K): mean_i e_i^T A e_c over the outfit's real items.
        """
        mask = item_mask.to(items.dtype).unsqueeze(-1)
        mean_items = (items * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, D)
        query = mean_items @ self.bilinear  # (B, D): A^T applied on the right = (A^T q)^T
        return torch.einsum("bd,bkd->bk", query, candidates)
