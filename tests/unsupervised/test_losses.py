"""The unsupervised loss terms against values worked out by hand or in closed form."""

import math

import pytest
import torch

from fashionrec.unsupervised import losses


def test_gaussian_kl_matches_closed_form():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [math.log(4.0), math.log(0.25)]])
    kl = losses.gaussian_kl(mu, logvar)
    # item 1: ½[(1 + 4 − log 4 − 1) + (4 + 0.25 − log 0.25 − 1)]
    expected = 0.5 * ((1 + 4 - math.log(4) - 1) + (4 + 0.25 - math.log(0.25) - 1))
    assert kl[0].item() == pytest.approx(0.0, abs=1e-7)
    assert kl[1].item() == pytest.approx(expected, rel=1e-6)


def test_beta_vae_loss_weights_kl_by_beta():
    recon = torch.zeros(1, 3, 2, 2)
    target = torch.full((1, 3, 2, 2), 0.5)
    mu, logvar = torch.tensor([[1.0]]), torch.tensor([[0.0]])
    out = losses.beta_vae_loss(recon, target, mu, logvar, beta=4.0)
    assert out["rec"].item() == pytest.approx(12 * 0.25)  # 12 pixels, (0.5)² each
    assert out["kl"].item() == pytest.approx(0.5)
    assert out["loss"].item() == pytest.approx(3.0 + 4.0 * 0.5)


def _aggregate_sample(duplicated: bool, m: int = 2000, s: float = 0.25, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(m, 2, generator=g)
    if duplicated:
        mu[:, 1] = mu[:, 0]
    logvar = torch.full_like(mu, math.log(s))
    z = mu + torch.randn(m, 2, generator=g) * math.sqrt(s)
    return z, mu, logvar


def test_total_correlation_is_zero_for_independent_factors():
    # q(z) = N(0, (1 + s) I): independent coordinates, TC = 0.
    z, mu, logvar = _aggregate_sample(duplicated=False)
    assert losses.total_correlation(z, mu, logvar).item() == pytest.approx(0.0, abs=0.02)


def test_total_correlation_of_a_duplicated_factor_matches_the_gaussian_value():
    # μ_2 = μ_1 ~ N(0, 1), posterior variance s: q(z) is Gaussian with correlation
    # ρ = 1 / (1 + s), whose total correlation is −½ log(1 − ρ²) (0.511 for s = 0.25).
    # Averaged over five batches of 2000 (one batch's estimate varies by about ±0.03).
    s = 0.25
    rho = 1.0 / (1.0 + s)
    expected = -0.5 * math.log(1 - rho**2)
    estimates = [losses.total_correlation(*_aggregate_sample(duplicated=True, s=s, seed=seed)).item()
                 for seed in range(5)]
    assert sum(estimates) / len(estimates) == pytest.approx(expected, abs=0.02)
    assert min(estimates) > 0.4


def test_tc_decomposition_sums_to_the_sampled_kl_and_mi_matches_closed_form():
    s = 0.25
    z, mu, logvar = _aggregate_sample(duplicated=False, s=s)
    parts = losses.tc_decomposition(z, mu, logvar)
    log_q = losses.log_density_gaussian(z, mu, logvar).sum(1)
    log_p = losses.log_density_gaussian(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    total = parts["mi"] + parts["tc"] + parts["dim_kl"]
    assert total.item() == pytest.approx((log_q - log_p).mean().item(), abs=1e-4)
    # I(z; x) for z = μ + √s ε, μ ~ N(0, I₂): 2 · ½ log((1 + s) / s) = log 5.
    assert parts["mi"].item() == pytest.approx(math.log(5.0), abs=0.1)
    # q(z_k) = N(0, 1 + s) vs p = N(0, 1): KL = ½(1 + s − 1 − log(1 + s)) per dimension.
    expected_dim_kl = 2 * 0.5 * (s - math.log(1 + s))
    assert parts["dim_kl"].item() == pytest.approx(expected_dim_kl, abs=0.03)


def test_beta_tcvae_loss_combines_the_terms():
    z, mu, logvar = _aggregate_sample(duplicated=True, m=64)
    recon = torch.zeros(64, 1, 1, 1)
    target = torch.ones(64, 1, 1, 1)
    out = losses.beta_tcvae_loss(recon, target, z, mu, logvar, beta=6.0)
    assert out["rec"].item() == pytest.approx(1.0)
    assert out["loss"].item() == pytest.approx(1.0 + out["mi"].item() + 6.0 * out["tc"].item()
                                               + out["dim_kl"].item(), rel=1e-5)


def test_mix_takes_each_chunk_from_the_masked_source():
    f1 = torch.tensor([[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]])
    f2 = torch.tensor([[-1.0, -1.0, -2.0, -2.0, -3.0, -3.0]])
    mask = torch.tensor([[0, 1, 0]])
    assert losses.mix(f1, f2, mask, 3).tolist() == [[1.0, 1.0, -2.0, -2.0, 3.0, 3.0]]


def test_mixing_losses_on_a_hand_built_batch():
    x1 = torch.zeros(2, 1, 1, 2)
    x2 = torch.ones(2, 1, 1, 2)
    rec1 = torch.full_like(x1, 0.5)  # mse 0.25
    unmix1 = x1.clone()  # 0
    unmix2 = torch.zeros_like(x2)  # mse 1
    mask = torch.tensor([[1, 0], [0, 1]])
    class_logits = torch.zeros(2, 2)  # BCE log 2
    fake_logits = torch.zeros(2)  # generator BCE log 2
    out = losses.mixing_losses(x1, x2, rec1, unmix1, unmix2, class_logits, mask, fake_logits)
    assert out["rec"].item() == pytest.approx(0.25)
    assert out["mix_rec"].item() == pytest.approx(1.0)
    assert out["classifier"].item() == pytest.approx(math.log(2))
    assert out["generator"].item() == pytest.approx(math.log(2))
    assert out["loss"].item() == pytest.approx(10 * 1.25 + 2 * math.log(2))
    # A confident, correct classifier costs ~0.
    confident = (mask.float() * 2 - 1) * 20
    assert losses.mixing_losses(x1, x2, rec1, unmix1, unmix2, confident, mask,
                                fake_logits)["classifier"].item() < 1e-6


def test_discriminator_loss():
    assert losses.discriminator_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2 * math.log(2))
    assert losses.discriminator_loss(torch.full((3,), 30.0), torch.full((3,), -30.0)).item() < 1e-9


def test_mix_plus_c_leaves_the_adversarial_term_out():
    x1, x2 = torch.zeros(2, 1, 1, 2), torch.ones(2, 1, 1, 2)
    mask = torch.tensor([[1, 0], [0, 1]])
    out = losses.mixing_losses(x1, x2, x1.clone(), x1.clone(), x2.clone(), torch.zeros(2, 2), mask, None,
                               adversarial_weight=0.0)
    assert out["generator"].item() == 0.0
    assert out["loss"].item() == pytest.approx(math.log(2))
