"""The outfit compatibility head (CSA-Net style, on ADDE's attribute chunks).

Each chunk r_a gets a projection P_a; an item's outfit vector is concat_a L2n(P_a r_a).
How much each attribute matters depends on the pair of categories being matched, so
the weights w[s, t, ·] come from an MLP on the (source, target) category embeddings
and are exported as a (C, C, n) table. Score of item x (category s) against a
candidate y of category t: Σ_a w[s,t,a]·⟨L2n(P_a x_a), L2n(P_a y_a)⟩; the matching
distance Σ_a w·‖L2n(P_a x_a) − L2n(P_a y_a)‖² = 2 − 2·score (weights sum to 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class OutfitConfig:
    outfit_dim: int = 16
    category_embedding_dim: int = 16
    hidden_dim: int = 32


class OutfitHead(nn.Module):
    def __init__(self, n_chunks: int, chunk_dim: int, n_categories: int, config: OutfitConfig) -> None:
        super().__init__()
        self.config = config
        self.projections = nn.Parameter(torch.randn(n_chunks, chunk_dim, config.outfit_dim) / chunk_dim**0.5)
        self.category_embedding = nn.Embedding(n_categories, config.category_embedding_dim)
        self.weight_mlp = nn.Sequential(
            nn.Linear(2 * config.category_embedding_dim, config.hidden_dim),
            nn.ReLU(),
            nn.Linear(config.hidden_dim, n_chunks),
        )

    def project(self, chunks: torch.Tensor) -> torch.Tensor:
        """Chunks (..., n, d) → unit projections (..., n, outfit_dim)."""
        return F.normalize(torch.einsum("...nd,ndo->...no", chunks, self.projections), dim=-1)

    def weights(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Category ids of any equal shape → attribute weights (..., n), positive, summing to 1."""
        pair = torch.cat([self.category_embedding(source), self.category_embedding(target)], dim=-1)
        return torch.softmax(self.weight_mlp(pair), dim=-1)

    def weight_table(self) -> torch.Tensor:
        """w[s, t, a] for every pair of categories: (C, C, n)."""
        c = self.category_embedding.num_embeddings
        ids = torch.arange(c, device=self.category_embedding.weight.device)
        return self.weights(ids.view(c, 1).expand(c, c), ids.view(1, c).expand(c, c))

    def distance(self, candidates: torch.Tensor, candidate_category: torch.Tensor,
                 items: torch.Tensor, item_categories: torch.Tensor, item_mask: torch.Tensor) -> torch.Tensor:
        """Mean weighted distance of each candidate to the items of its outfit.

        candidates: projections (B, K, n, o) of K candidates per outfit, all of category
        candidate_category (B,); items: projections (B, m, n, o) of the outfit's items with
        categories (B, m) and item_mask (B, m) (False = padding). Returns (B, K).
        """
        w = self.weights(item_categories, candidate_category.unsqueeze(1).expand_as(item_categories))  # (B, m, n)
        sq = (candidates.unsqueeze(2) - items.unsqueeze(1)).pow(2).sum(-1)  # (B, K, m, n)
        per_item = (sq * w.unsqueeze(1)).sum(-1)  # (B, K, m)
        mask = item_mask.unsqueeze(1).to(per_item.dtype)
        return (per_item * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
