import pytest
import torch

from fashionrec.model.outfit import OutfitConfig, OutfitHead


def _head(n_chunks: int = 2, dim: int = 3, categories: int = 3) -> OutfitHead:
    torch.manual_seed(0)
    return OutfitHead(n_chunks, dim, categories, OutfitConfig(outfit_dim=2, category_embedding_dim=4, hidden_dim=8))


def test_weights_are_a_distribution_over_attributes_and_the_table_matches():
    head = _head()
    table = head.weight_table()
    assert table.shape == (3, 3, 2)
    assert torch.allclose(table.sum(-1), torch.ones(3, 3))
    assert torch.allclose(table[2, 1], head.weights(torch.tensor(2), torch.tensor(1)))


def test_distance_is_the_mean_over_real_items_of_weighted_squared_distances():
    head = _head()
    with torch.no_grad():  # uniform weights: w = 1/2 for both chunks
        head.weight_mlp[-1].weight.zero_()
        head.weight_mlp[-1].bias.zero_()
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    candidate = torch.stack([e0, e0]).view(1, 1, 2, 2)  # (B=1, K=1, n=2, o=2)
    items = torch.stack([torch.stack([e0, e1]), torch.stack([e1, e1]), torch.stack([e0, e0])]).unsqueeze(0)
    mask = torch.tensor([[True, True, False]])  # the third item is padding
    categories = torch.tensor([[0, 1, 2]])
    # Item 0: ½·0 + ½·2 = 1; item 1: ½·2 + ½·2 = 2; mean 1.5.
    d = head.distance(candidate, torch.tensor([2]), items, categories, mask)
    assert d.item() == pytest.approx(1.5)


def test_distance_equals_two_minus_two_times_the_index_score():
    head = _head()
    chunks = torch.randn(4, 2, 3)
    proj = head.project(chunks)
    cats = torch.tensor([0, 1, 2, 1])
    # Outfit = items 0..2, candidate = item 3 (category 1).
    d = head.distance(proj[3].view(1, 1, 2, 2), cats[3:], proj[:3].unsqueeze(0), cats[:3].unsqueeze(0),
                      torch.ones(1, 3, dtype=torch.bool))
    table = head.weight_table()
    # What the index computes: ⟨mean_i concat_a w[s_i,t,a]·x̂_ia, outfit(y)⟩.
    query = torch.stack([(table[cats[i], 1].unsqueeze(-1) * proj[i]).flatten() for i in range(3)]).mean(0)
    score = query @ proj[3].flatten()
    assert d.item() == pytest.approx(2 - 2 * score.item(), abs=1e-5)
