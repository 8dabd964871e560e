import pytest
import torch

from fashionrec.model.outfit import CompatibilityNet, OutfitConfig


def _net() -> CompatibilityNet:
    torch.manual_seed(0)
    return CompatibilityNet(OutfitConfig(outfit_dim=3, hidden_dim=8, width=4, blocks=(1, 1)))


def test_embeddings_are_unit_vectors_of_outfit_dim():
    e = _net()(torch.randn(5, 3, 16, 16))
    assert e.shape == (5, 3)
    torch.testing.assert_close(e.norm(dim=-1), torch.ones(5))


def test_outfit_score_is_the_mean_bilinear_form_over_real_items():
    net = _net()
    with torch.no_grad():
        net.bilinear.copy_(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]))
    e0, e1, e2 = torch.eye(3)
    items = torch.stack([e0, e1, e2]).unsqueeze(0)  # (B=1, m=3, D)
    mask = torch.tensor([[True, True, False]])  # the third item is padding
    candidates = torch.stack([e1, e2]).unsqueeze(0)  # (B=1, K=2, D)
    # Candidate e1: (e0ᵀA e1 + e1ᵀA e1)/2 = (2 + 1)/2; candidate e2: (0 + 0)/2.
    scores = net.outfit_scores(candidates, items, mask)
    assert scores.tolist() == [[pytest.approx(1.5), pytest.approx(0.0)]]


def test_the_score_is_not_symmetric_in_general():
    # An asymmetric form can say "these shoes go with this dress" without the converse.
    net = _net()
    with torch.no_grad():
        net.bilinear.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    e0, e1, _ = torch.eye(3)
    ones = torch.ones(1, 1, dtype=torch.bool)
    forward = net.outfit_scores(e1.view(1, 1, 3), e0.view(1, 1, 3), ones).item()
    backward = net.outfit_scores(e0.view(1, 1, 3), e1.view(1, 1, 3), ones).item()
    assert (forward, backward) == (1.0, 0.0)


def test_the_class_posteriors_reach_the_embedding():
    torch.manual_seed(0)
    net = CompatibilityNet(OutfitConfig(outfit_dim=3, hidden_dim=8, width=4, blocks=(1, 1)), posterior_dim=5).eval()
    images = torch.randn(2, 3, 16, 16)
    with pytest.raises(ValueError, match="log_probs"):
        net(images)
    a = net(images, torch.log_softmax(torch.randn(2, 5), -1))
    b = net(images, torch.log_softmax(torch.randn(2, 5) * 3, -1))
    assert a.shape == (2, 3) and not torch.allclose(a, b)
    off = CompatibilityNet(OutfitConfig(outfit_dim=3, hidden_dim=8, width=4, blocks=(1, 1), use_posteriors=False),
                           posterior_dim=5)
    assert off.posterior_dim == 0
