"""Training the preview decoder on a frozen ADDE, and saving it beside the model.

    loss = L1(decode(r), x) + λ·[Σ_a CE(ADDE(decode(r)), y) + Σ_a CE(ADDE(decode(r + M·i)), t)]

x the catalog image in [0, 1], y its labels, i a random one-attribute change of the item
(never from or to "n/a", never the category: a category change moves which attributes
apply) and t the labels with that change. The ADDE (encoder, classifiers, memory) is frozen
and in eval mode; gradients flow through it to the decoder only.

The decoder is saved as MODEL_DIR/preview.safetensors (its DecoderConfig in the file's
metadata), so a model directory without one still loads and serves everything else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from fashionrec.data.catalog import Catalog
from fashionrec.model import losses
from fashionrec.model.adde import ADDE
from fashionrec.model.preprocessing import normalise, resize_uint8
from fashionrec.model.memory import manipulation_indicator
from fashionrec.model.preview_decoder import DecoderConfig, PreviewDecoder
from fashionrec.progress import progress_bar
from fashionrec.vocab import UNKNOWN, Vocabulary

__all__ = ["PREVIEW_FILE", "load_preview_decoder", "random_changes", "save_preview_decoder",
           "train_preview_decoder"]

PREVIEW_FILE = "preview.safetensors"
NOT_APPLICABLE = "n/a"


def random_changes(labels: np.ndarray, vocabulary: Vocabulary, rng: np.random.Generator,
                   category_position: int = 0) -> np.ndarray:
    """Target labels (B, n): each row with one attribute moved to another applicable value.

    Rows with no attribute that can move keep their labels (no change).
    """
    target = labels.copy()
    for row in range(len(labels)):
        movable = [a for a, attr in enumerate(vocabulary.attributes)
                   if a != category_position and labels[row, a] != UNKNOWN
                   and attr.values[labels[row, a]] != NOT_APPLICABLE]
        if not movable:
            continue
        a = int(rng.choice(movable))
        values = vocabulary.attributes[a].values
        choices = [v for v in range(len(values)) if v != labels[row, a] and values[v] != NOT_APPLICABLE]
        if choices:
            target[row, a] = int(rng.choice(choices))
    return target


def train_preview_decoder(model: ADDE, catalog: Catalog, device: torch.device, epochs: int = 8,
                          batch_size: int = 64, learning_rate: float = 2e-3, classifier_weight: float = 0.1,
                          config: DecoderConfig = DecoderConfig(), seed: int = 0, progress: bool = True,
                          log: Callable[[str], None] = print) -> PreviewDecoder:
    """Trains a decoder for the (frozen) model on the catalog's training split.

    Args:
        model: a trained ADDE; it is put in eval mode and not changed.
        catalog: images and labels; the "train" split is used.
        device: where to train.
        epochs, batch_size, learning_rate: the schedule (Adam, learning rate halved at the middle).
        classifier_weight: λ of the attribute-transfer terms.
        config: the decoder's shape.
        seed: batches and changes come from it alone.
        progress: show a progress bar.
        log: where the per-epoch line goes.

    Returns:
        The trained decoder, in eval mode.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 31])
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    vocab = model.vocabulary
    whole_dim = len(vocab.attributes) * model.config.attribute_dim
    decoder = PreviewDecoder(whole_dim, config).to(device)
    images = resize_uint8(catalog.images, config.image_size)
    model_images = images if config.image_size == model.config.image_size else \
        resize_uint8(catalog.images, model.config.image_size)
    labels = torch.as_tensor(catalog.labels.astype(np.int64))
    rows = catalog.indices("train")
    optimizer = torch.optim.Adam(decoder.parameters(), lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, max(1, epochs // 2), 0.5)
    memory = model.memory.weight.detach()
    for epoch in range(epochs):
        started, total, steps = time.monotonic(), 0.0, 0
        order = rng.permutation(rows)
        decoder.train()
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        with progress_bar(total=len(batches), desc=f"preview {epoch + 1}/{epochs}", enabled=progress) as bar:
            for batch in batches:
                index = torch.as_tensor(batch)
                y = labels[index].to(device)
                target = torch.as_tensor(random_changes(catalog.labels[batch].astype(np.int64), vocab, rng,
                                                        model.category_position)).to(device)
                with torch.no_grad():
                    r = model(normalise(model_images[index].to(device))).whole.float()
                    moved = r + manipulation_indicator(y, target, vocab) @ memory.T
                decoded = decoder(torch.cat([r, moved]))
                pixels = images[index].to(device).float() / 255.0
                loss = F.l1_loss(decoded[:len(batch)], pixels)
                if classifier_weight:
                    critic = _as_model_input(decoded, model.config.image_size)
                    logits = model(critic).logits
                    loss = loss + classifier_weight * losses.classification_loss(logits, torch.cat([y, target]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, steps = total + loss.item(), steps + 1
                bar.update(1)
        scheduler.step()
        log(f"preview epoch {epoch + 1}/{epochs}: loss {total / max(steps, 1):.4f} "
            f"({time.monotonic() - started:.0f}s)")
    return decoder.eval()


def _as_model_input(decoded: torch.Tensor, size: int) -> torch.Tensor:
    """Decoder output in [0, 1] → the encoder's normalised input (the same path as catalog images)."""
    x = decoded * 255.0
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return normalise(x)


def save_preview_decoder(decoder: PreviewDecoder, directory: Path) -> Path:
    """Writes MODEL_DIR/preview.safetensors (weights, and the config in the metadata)."""
    path = Path(directory) / PREVIEW_FILE
    state = {k: v.detach().cpu().contiguous() for k, v in decoder.state_dict().items()}
    meta = {"config": json.dumps(decoder.config.__dict__), "whole_dim": str(decoder.project.in_features)}
    save_file(state, str(path), metadata=meta)
    return path


def load_preview_decoder(directory: Path, device: torch.device | str = "cpu") -> PreviewDecoder | None:
    """The model directory's decoder in eval mode, or None when it has none."""
    from safetensors import safe_open

    path = Path(directory) / PREVIEW_FILE
    if not path.exists():
        return None
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    decoder = PreviewDecoder(int(meta["whole_dim"]), DecoderConfig(**json.loads(meta["config"])))
    decoder.load_state_dict(load_file(str(path)))
    return decoder.to(device).eval()
