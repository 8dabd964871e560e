"""Loss terms of the unsupervised methods, written out so each can be checked by hand.

- gaussian_kl: KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_k (μ_k² + σ_k² − log σ_k² − 1), per item.
- β-VAE (Higgins et al. 2017): reconstruction + β·KL.
- β-TCVAE (Chen et al. 2018): the KL term decomposed into index-code mutual information,
  total correlation and dimension-wise KL,
      E_x KL(q(z|x) ‖ p(z)) = I_q(z; x) + KL(q(z) ‖ Π_k q(z_k)) + Σ_k KL(q(z_k) ‖ p(z_k)),
  loss = reconstruction + α·MI + β·TC + γ·dimKL (α = γ = 1). q(z) and q(z_k) are
  estimated on the minibatch by minibatch weighted sampling: for sample z_i of item i,
      log q(z_i)   ≈ logsumexp_j log q(z_i | x_j) − log M
      log q(z_ik)  ≈ logsumexp_j log q(z_ik | x_j) − log M
  Chen et al. write the constant as log(N·M) (N = data set size); it does not change a
  gradient but shifts the TC estimate by (K − 1)·log N. With log M (the batch stands for
  the data set) the three terms still sum to the KL exactly and
  the TC estimate is that of the empirical aggregate posterior — near zero for
  independent latents (tests/unsupervised/test_losses.py checks both against closed forms).
- Mixing autoencoder (Hu et al. 2018), for a batch x1, its permutation x2 and a chunk mask
  m (1 = the chunk comes from x2):
      f_mix = (1 − m)·f1 + m·f2,  x3 = Dec(f_mix),  f3 = Enc(x3)
      unmix back to x1: Dec((1 − m)·f3 + m·f1) ≈ x1;  to x2: Dec(m·f3 + (1 − m)·f2) ≈ x2
      loss = 10·(rec(x1) + unmix1 + unmix2) + 1·G(x3) + 1·C(x1, x2, x3 → m)
  (weights of the authors' Sprites code), G the non-saturating generator loss against a
  discriminator trained on real x1 vs x3, C the chunk classifier's binary cross-entropy,
  trained together with the encoder and decoder (it fights the shortcut where one chunk
  carries the whole image).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag exp(logvar)) ‖ N(0, I)) per item: (B, K) → (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=-1)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def log_density_gaussian(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag exp(logvar)) elementwise (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def reconstruction_sse(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Σ over pixels of squared error per image (a Gaussian likelihood up to constants), (B,)."""
    return (recon - target).pow(2).flatten(1).sum(dim=1)


def tc_decomposition(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    """Minibatch-weighted-sampling estimates of MI, TC and dimension-wise KL, batch means.

    z (M, K): one sample of q(z|x_i) per item; mu, logvar (M, K): the posteriors of the
    same items. Returns {"mi", "tc", "dim_kl"} (scalars); mi + tc + dim_kl equals the
    batch mean of log q(z_i|x_i) − log p(z_i), a one-sample estimate of the KL.
    """
    m = z.shape[0]
    # log q(z_i,k | x_j): (M items i, M posteriors j, K)
    log_q_pairs = log_density_gaussian(z[:, None, :], mu[None, :, :], logvar[None, :, :])
    log_qz_given_x = log_density_gaussian(z, mu, logvar).sum(dim=1)
    log_norm = math.log(m)
    log_qz = torch.logsumexp(log_q_pairs.sum(dim=2), dim=1) - log_norm
    log_qz_marginals = torch.logsumexp(log_q_pairs, dim=1) - log_norm  # (M, K)
    log_prod_qz = log_qz_marginals.sum(dim=1)
    log_pz = log_density_gaussian(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)
    return {
        "mi": (log_qz_given_x - log_qz).mean(),
        "tc": (log_qz - log_prod_qz).mean(),
        "dim_kl": (log_prod_qz - log_pz).mean(),
    }


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The minibatch-weighted-sampling estimate of KL(q(z) ‖ Π_k q(z_k)) (see tc_decomposition)."""
    return tc_decomposition(z, mu, logvar)["tc"]


def beta_vae_loss(recon: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                  beta: float) -> dict[str, torch.Tensor]:
    rec = reconstruction_sse(recon, target).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return {"loss": rec + beta * kl, "rec": rec, "kl": kl}


def beta_tcvae_loss(recon: torch.Tensor, target: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                    logvar: torch.Tensor, beta: float, alpha: float = 1.0, gamma: float = 1.0
                    ) -> dict[str, torch.Tensor]:
    rec = reconstruction_sse(recon, target).mean()
    parts = tc_decomposition(z, mu, logvar)
    loss = rec + alpha * parts["mi"] + beta * parts["tc"] + gamma * parts["dim_kl"]
    return {"loss": loss, "rec": rec, **parts}


def chunk_mask_features(f: torch.Tensor, mask: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """Expands a chunk mask (B, n) to the feature dimensions (B, n·d)."""
    d = f.shape[1] // n_chunks
    return mask.repeat_interleave(d, dim=1).to(f.dtype)


def mix(f1: torch.Tensor, f2: torch.Tensor, mask: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """Chunk i from f2 where mask[:, i] = 1, from f1 where 0."""
    m = chunk_mask_features(f1, mask, n_chunks)
    return (1 - m) * f1 + m * f2


def mixing_losses(x1: torch.Tensor, x2: torch.Tensor, rec1: torch.Tensor, unmix1: torch.Tensor,
                  unmix2: torch.Tensor, class_logits: torch.Tensor, mask: torch.Tensor,
                  fake_logits: torch.Tensor | None, adversarial_weight: float = 1.0,
                  classifier_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """The encoder/decoder/classifier side of the mixing autoencoder's objective.

    rec1 = Dec(f1); unmix1, unmix2 = the images decoded after unmixing (targets x1, x2);
    class_logits (B, n) = the chunk classifier on (x1, x2, x3), target mask (1 = from x2);
    fake_logits (B,) = the discriminator on x3 (non-saturating generator loss).
    Reconstruction terms are mean squared errors per pixel. adversarial_weight = 0 (and
    fake_logits None) is the notes' "MIX + C" variant.
    """
    rec = F.mse_loss(rec1, x1)
    mix_rec = F.mse_loss(unmix1, x1) + F.mse_loss(unmix2, x2)
    classifier = F.binary_cross_entropy_with_logits(class_logits, mask.float())
    generator = (F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
                 if fake_logits is not None else torch.zeros((), device=x1.device))
    loss = 10.0 * (rec + mix_rec) + adversarial_weight * generator + classifier_weight * classifier
    return {"loss": loss, "rec": rec, "mix_rec": mix_rec, "classifier": classifier, "generator": generator}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
