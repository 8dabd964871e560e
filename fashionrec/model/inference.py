"""The encoder the services call: a model directory in, embeddings and predicted labels out.

Batched, without gradients and deterministic (eval mode, no augmentation): the same
images give the same vectors. Any image size is accepted; images are resized to the
model's input size the same way training resized the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fashionrec.artifact import ModelSpec
from fashionrec.errors import FailedPrecondition
from fashionrec.model.adde import ADDE, log_posteriors
from fashionrec.model.checkpoint import load_model
from fashionrec.model.device import autocast, prepare_model, resolve_device, to_layout
from fashionrec.model.preprocessing import normalise, resize_uint8
from fashionrec.model.preview_decoder import PreviewDecoder
from fashionrec.model.preview_training import load_preview_decoder


@dataclass(frozen=True)
class EncodedBatch:
    attributes: np.ndarray  # float32 (B, n, d): r_a per attribute
    whole: np.ndarray  # float32 (B, n·d): concat_a r_a
    outfit: np.ndarray  # float32 (B, outfit_dim): the unit style embedding e
    labels: np.ndarray  # int64 (B, n): predicted value index per attribute
    confidences: np.ndarray  # float32 (B, n): softmax probability of the predicted value
    log_probs: np.ndarray  # float32 (B, S): log p_a(value), every attribute's values in vocabulary order,
    #                        floored at LOG_PROB_FLOOR


# log p below this carries no more information than "this value is not it", and an
# unbounded penalty would let one mislabelled attribute sink an otherwise perfect match.
LOG_PROB_FLOOR = -6.9  # log(0.001)


@torch.no_grad()
def encode_tensor(model: ADDE, images: torch.Tensor, device: torch.device, batch_size: int = 256,
                  cpu_bfloat16: bool = False) -> EncodedBatch:
    """Encodes uint8 (N, 3, s, s) images already at the model's input size.

    cpu_bfloat16: bfloat16 autocast on the CPU too (fashionrec.model.device.autocast).
    """
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {"chunks": [], "outfit": [], "labels": [], "conf": [], "logp": []}
    for start in range(0, len(images), batch_size):
        x = normalise(to_layout(images[start:start + batch_size], device))
        with autocast(device, cpu_bfloat16):
            enc = model(x)
        chunks = enc.chunks.float()
        probs = [torch.softmax(lg.float(), dim=-1) for lg in enc.logits]
        conf, labels = torch.stack([p.max(dim=-1).values for p in probs], 1), \
            torch.stack([p.argmax(dim=-1) for p in probs], 1)
        parts["chunks"].append(chunks.cpu())
        with autocast(device, cpu_bfloat16):
            outfit = model.outfit_vectors(x, enc.logits)
        parts["outfit"].append(outfit.float().cpu())
        parts["labels"].append(labels.cpu())
        parts["conf"].append(conf.cpu())
        log_probs = log_posteriors(enc.logits)
        parts["logp"].append(log_probs.clamp(min=LOG_PROB_FLOOR).cpu())
    if not parts["chunks"]:
        n, d = model.n_attributes, model.config.attribute_dim
        return EncodedBatch(np.zeros((0, n, d), np.float32), np.zeros((0, n * d), np.float32),
                            np.zeros((0, model.config.outfit.outfit_dim), np.float32),
                            np.zeros((0, n), np.int64), np.zeros((0, n), np.float32),
                            np.zeros((0, model.vocabulary.total_values), np.float32))
    chunks = torch.cat(parts["chunks"]).numpy()
    return EncodedBatch(
        attributes=chunks,
        whole=chunks.reshape(len(chunks), -1),
        outfit=torch.cat(parts["outfit"]).numpy(),
        labels=torch.cat(parts["labels"]).numpy().astype(np.int64),
        confidences=torch.cat(parts["conf"]).numpy(),
        log_probs=torch.cat(parts["logp"]).numpy(),
    )


class Encoder:
    """A loaded model on one device. `encode` takes uint8 (N, H, W, 3) images of any size."""

    def __init__(self, model: ADDE, spec: ModelSpec, device: torch.device, batch_size: int = 256,
                 decoder: PreviewDecoder | None = None, cpu_bfloat16: bool = False) -> None:
        self.model = prepare_model(model.eval(), device)
        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self.cpu_bfloat16 = cpu_bfloat16  # bfloat16 autocast on the CPU too (EncoderSettings.cpu_bfloat16)
        # The model directory's preview decoder (preview.safetensors), if it has one.
        self.decoder = None if decoder is None else decoder.to(device).eval()

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu", batch_size: int = 256,
             cpu_bfloat16: bool = False) -> "Encoder":
        resolved = resolve_device(device)
        model, spec = load_model(directory, "cpu")
        return cls(model, spec, resolved, batch_size, load_preview_decoder(Path(directory)), cpu_bfloat16)

    @torch.no_grad()
    def render(self, whole: np.ndarray) -> np.ndarray:
        """Preview images of representations: r (B, whole_dim) → uint8 (B, s, s, 3).

        Raises:
            FailedPrecondition: the model directory has no preview decoder.
        """
        if self.decoder is None:
            raise FailedPrecondition(f"model {self.spec.version!r} has no preview decoder "
                                     "(train one: fashionrec train --steps preview --data DIR --out MODEL_DIR)")
        r = torch.as_tensor(np.asarray(whole, np.float32), device=self.device)
        images = self.decoder(r).clamp(0, 1) * 255
        return images.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    @property
    def version(self) -> str:
        return self.spec.version

    def encode(self, images: np.ndarray) -> EncodedBatch:
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images, got {images.dtype}")
        if len(images) == 0:
            size = self.spec.image_size
            return encode_tensor(self.model, torch.zeros(0, 3, size, size, dtype=torch.uint8), self.device,
                                 cpu_bfloat16=self.cpu_bfloat16)
        out: list[EncodedBatch] = []
        # Resize batch by batch so a large request never holds every image twice.
        for start in range(0, len(images), self.batch_size):
            chunk = resize_uint8(images[start:start + self.batch_size], self.spec.image_size)
            out.append(encode_tensor(self.model, chunk, self.device, self.batch_size, self.cpu_bfloat16))
        return EncodedBatch(*(np.concatenate([getattr(b, f) for b in out]) for f in EncodedBatch.__dataclass_fields__))
