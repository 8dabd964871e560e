"""Training the unsupervised methods on a catalog's training images (labels are never read).

    fashionrec train --method {ae,beta-vae,beta-tcvae,mixing} --data DIR --out RUN_DIR

A rerun into the same RUN_DIR with the same settings continues after its saved epochs
(`--epochs` counts the total). RUN_DIR gets unsupervised.json (settings, per-epoch losses, seconds),
unsupervised.safetensors (encoder, decoder and, for mixing, discriminator and chunk
classifier), and after every epoch a PNG grid `epoch_NN.png` of fixed validation images:
originals, reconstructions and, for the mixing autoencoder, the second image of each pair
and the mixed image (chunks of both). A tqdm bar shows the epoch's losses while it runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from fashionrec.data.catalog import Catalog
from fashionrec.model.preprocessing import normalise, resize_uint8
from fashionrec.progress import progress_bar
from fashionrec.unsupervised import METHODS, losses
from fashionrec.unsupervised.models import UnsupervisedConfig, UnsupervisedModel
from fashionrec.unsupervised.pictures import save_grid

CONFIG_FILE = "unsupervised.json"
WEIGHTS_FILE = "unsupervised.safetensors"
DEFAULT_BETA = {"ae": 0.0, "beta-vae": 4.0, "beta-tcvae": 6.0, "mixing": 0.0}
_MEAN = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
_STD = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)


def normalise_unit(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (a decoder's output) → the encoder's normalised input."""
    return (x - _MEAN.to(x.device)) / _STD.to(x.device)


@dataclass
class UnsupervisedResult:
    model: UnsupervisedModel
    seconds: float
    history: list[dict[str, float]]
    pictures: list[Path]


def _step(model: UnsupervisedModel, x_uint8: torch.Tensor, opt: torch.optim.Optimizer,
          opt_d: torch.optim.Optimizer | None) -> dict[str, float]:
    cfg = model.config
    target = x_uint8.float() / 255.0
    x = normalise(x_uint8)
    if cfg.method == "ae":
        f, _ = model.encoder(x)
        rec = model.decoder(f)
        out = {"loss": losses.reconstruction_sse(rec, target).mean()}
    elif cfg.variational:
        mu, logvar = model.encoder(x)
        logvar = logvar.clamp(-10, 10)
        z = losses.reparameterise(mu, logvar)
        # Gaussian likelihood with σ = the input normalisation's per-channel std (≈ 0.23):
        # the squared error is taken between normalised images. On [0, 1] pixels (σ = 1/√2)
        # the likelihood is ~20× weaker and β = 4 collapsed every latent (KL 2.8 nats).
        rec = normalise_unit(model.decoder(z))
        target = normalise_unit(target)
        if cfg.method == "beta-vae":
            out = losses.beta_vae_loss(rec, target, mu, logvar, cfg.beta)
        else:
            out = losses.beta_tcvae_loss(rec, target, z, mu, logvar, cfg.beta)
    else:
        out = _mixing_forward(model, x, target)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    if cfg.method == "mixing" and opt_d is not None and cfg.adversarial_weight > 0:
        opt_d.zero_grad(set_to_none=True)
        d_loss = losses.discriminator_loss(model.discriminator(target), model.discriminator(out["x3"].detach()))
        d_loss.backward()
        opt_d.step()
        out["disc"] = d_loss
    return {k: float(v.detach()) for k, v in out.items() if v.dim() == 0}


def _mixing_forward(model: UnsupervisedModel, x: torch.Tensor, x1: torch.Tensor,
                    mask: torch.Tensor | None = None, perm: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """One mixing/unmixing pass (see fashionrec.unsupervised.losses); x normalised, x1 in [0, 1]."""
    n = model.config.n_chunks
    b = x.shape[0]
    perm = torch.roll(torch.arange(b, device=x.device), 1) if perm is None else perm
    mask = (torch.rand(b, n, device=x.device) < 0.5).long() if mask is None else mask
    x2 = x1[perm]
    f1, _ = model.encoder(x)
    f2 = f1[perm]
    decoded = model.decoder(torch.cat([f1, losses.mix(f1, f2, mask, n)]))
    rec1, x3 = decoded[:b], decoded[b:]
    f3, _ = model.encoder(normalise_unit(x3))
    unmixed = model.decoder(torch.cat([losses.mix(f3, f1, mask, n), losses.mix(f2, f3, mask, n)]))
    adversarial = model.config.adversarial_weight
    out = losses.mixing_losses(x1, x2, rec1, unmixed[:b], unmixed[b:], model.classifier(x1, x2, x3), mask,
                               model.discriminator(x3) if adversarial > 0 else None, adversarial)
    out.update(x3=x3, x2=x2)
    return out


@torch.no_grad()
def _pictures(model: UnsupervisedModel, fixed: torch.Tensor, path: Path) -> Path:
    model.eval()
    target = fixed.float() / 255.0
    f, _ = model.encoder(normalise(fixed))
    rows = [target, model.decoder(f)]
    if model.config.method == "mixing":
        n = model.config.n_chunks
        # x1 with one chunk (cycling) taken from x2: what each chunk carries.
        perm = torch.roll(torch.arange(len(fixed)), 1)
        mask = torch.zeros(len(fixed), n, dtype=torch.long)
        mask[torch.arange(len(fixed)), torch.arange(len(fixed)) % n] = 1
        rows += [target[perm], model.decoder(losses.mix(f, f[perm], mask, n))]
    model.train()
    return save_grid(rows, path)


def train_unsupervised(catalog: Catalog, out: Path, config: UnsupervisedConfig, progress: bool | None = None,
                       log=print) -> UnsupervisedResult:
    if config.method not in METHODS:
        raise ValueError(f"unknown method {config.method!r}; known: {', '.join(METHODS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    images = resize_uint8(catalog.images, config.image_size)
    rows = catalog.indices("train")
    val = catalog.indices("val") if (catalog.splits == "val").any() else rows
    fixed = images[torch.as_tensor(val[:12])]
    model = UnsupervisedModel(config)
    gen_params = [p for name, p in model.named_parameters() if not name.startswith("discriminator.")]
    opt = torch.optim.Adam(gen_params, lr=config.learning_rate)
    opt_d = (torch.optim.Adam(model.discriminator.parameters(), lr=config.discriminator_learning_rate,
                              betas=(0.5, 0.999)) if config.method == "mixing" else None)
    history: list[dict[str, float]] = []
    prior_seconds = 0.0
    resumed = _resume(model, out, config)
    if resumed is not None:  # same settings: continue after the saved epochs (Adam restarts)
        history, prior_seconds = resumed
        log(f"resuming {config.method} after epoch {len(history)} ({prior_seconds:.0f} s so far)")
        pictures: list[Path] = []
    else:
        pictures = [_pictures(model, fixed, out / "epoch_00.png")]
    started = time.monotonic() - prior_seconds
    steps = len(rows) // config.batch_size
    for epoch in range(len(history) + 1, config.epochs + 1):
        order = rng.permutation(rows)
        sums: dict[str, float] = {}
        with progress_bar(steps, desc=f"{config.method} epoch {epoch}", unit="batch", enabled=progress) as bar:
            for s in range(steps):
                batch = images[torch.as_tensor(order[s * config.batch_size:(s + 1) * config.batch_size])]
                flip = torch.rand(len(batch)) < 0.5
                batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
                values = _step(model, batch, opt, opt_d)
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.set_postfix({k: f"{v / (s + 1):.3g}" for k, v in sums.items()}, refresh=False)
                bar.update(1)
        row = {k: v / steps for k, v in sums.items()}
        row.update(epoch=epoch, seconds=round(time.monotonic() - started, 1))
        history.append(row)
        pictures.append(_pictures(model, fixed, out / f"epoch_{epoch:02d}.png"))
        log(json.dumps(row))
        save_unsupervised(model, out, history, time.monotonic() - started)
        if time.monotonic() - started > config.max_seconds:
            break
    seconds = time.monotonic() - started
    return UnsupervisedResult(model.eval(), seconds, history, pictures)


def _resume(model: UnsupervisedModel, out: Path, config: UnsupervisedConfig):
    """(history, seconds) of a saved run with the same settings (epochs and time budget aside),
    its weights loaded into model; None when there is none."""
    path = out / CONFIG_FILE
    if not path.exists() or not (out / WEIGHTS_FILE).exists():
        return None
    data = json.loads(path.read_text())
    ignore = ("epochs", "max_seconds")
    saved = {k: v for k, v in data["config"].items() if k not in ignore}
    if saved != {k: v for k, v in json.loads(json.dumps(config.to_json())).items() if k not in ignore}:
        return None
    model.load_state_dict(load_file(str(out / WEIGHTS_FILE)))
    return list(data.get("history", [])), float(data.get("seconds", 0.0))


def save_unsupervised(model: UnsupervisedModel, out: Path, history: list[dict[str, float]], seconds: float) -> None:
    (out / CONFIG_FILE).write_text(json.dumps({"config": model.config.to_json(), "history": history,
                                               "seconds": round(seconds, 1)}, indent=2) + "\n")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS_FILE))


def load_unsupervised(directory: Path) -> UnsupervisedModel:
    data = json.loads((Path(directory) / CONFIG_FILE).read_text())
    model = UnsupervisedModel(UnsupervisedConfig.from_json(data["config"]))
    model.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)))
    return model.eval()


@torch.no_grad()
def encode_latents(model: UnsupervisedModel, images_uint8: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """uint8 (N, H, W, 3) → latent chunks (N, n, d) (μ for VAEs)."""
    model.eval()
    cfg = model.config
    out = []
    for start in range(0, len(images_uint8), batch_size):
        x = resize_uint8(images_uint8[start:start + batch_size], cfg.image_size)
        out.append(model.latent(normalise(x)).float())
    z = torch.cat(out) if out else torch.zeros(0, cfg.latent_dim)
    return z.view(len(z), cfg.n_chunks, cfg.chunk_dim).numpy()
