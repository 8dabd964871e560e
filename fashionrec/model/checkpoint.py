"""Saving and loading models: the artifact directory the services read, and the
resumable training state.

The artifact (fashionrec.artifact) holds config.json, weights.safetensors,
prototypes.npy and outfit_bilinear.npy; the training state is one torch file in the
output directory that is rewritten after every epoch and removed at the end.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from fashionrec.artifact import WEIGHTS_FILE, ModelArtifact, ModelSpec, load_spec
from fashionrec.model.adde import ADDE, ADDEConfig

TRAINING_STATE_FILE = "training_state.pt"


def spec_for(model: ADDE, version: str) -> ModelSpec:
    return ModelSpec(
        version=version,
        vocabulary=model.vocabulary,
        attribute_dim=model.config.attribute_dim,
        outfit_dim=model.config.outfit.outfit_dim,
        image_size=model.config.image_size,
        category_attribute=model.config.category_attribute,
        model=model.config.to_json(),
    )


def weights_digest(model: ADDE) -> str:
    """A short content hash of the weights: the default model version suffix."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:10]


@torch.no_grad()
def save_model(model: ADDE, directory: Path, version: str) -> ModelSpec:
    """Writes the artifact directory (everything but eval.json) and returns its spec."""
    spec = spec_for(model, version)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    ModelArtifact(
        spec=spec,
        prototypes=model.memory.weight.detach().cpu().float().numpy(),
        outfit_bilinear=model.outfit.bilinear.detach().cpu().float().numpy(),
    ).save(directory)
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"version": version})
    return spec


def set_posterior_weights(directory: Path, posterior_weight: float, similarity_posterior_weight: float,
                          style_weight: float | None = None) -> ModelSpec:
    """Rewrites the artifact's config.json with new β, w and γ (fashionrec.model.tuning); γ None: kept."""
    import dataclasses
    import json

    from fashionrec.artifact import CONFIG_FILE

    spec = load_spec(directory)
    spec = dataclasses.replace(spec, posterior_weight=float(posterior_weight),
                               similarity_posterior_weight=float(similarity_posterior_weight),
                               style_weight=spec.style_weight if style_weight is None else float(style_weight))
    path = Path(directory) / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(spec.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return spec


def build_model(spec: ModelSpec) -> ADDE:
    return ADDE(spec.vocabulary, ADDEConfig.from_json(spec.model))


def load_model(directory: str | Path, device: torch.device | str = "cpu") -> tuple[ADDE, ModelSpec]:
    """The model of an artifact directory, in eval mode on `device`."""
    spec = load_spec(directory)
    model = build_model(spec)
    model.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)))
    return model.to(device).eval(), spec


def save_training_state(directory: Path, state: dict[str, Any]) -> None:
    # Write then rename, so a crash mid-write leaves the previous state readable.
    tmp = directory / (TRAINING_STATE_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(directory / TRAINING_STATE_FILE)


def load_training_state(directory: Path) -> dict[str, Any] | None:
    path = directory / TRAINING_STATE_FILE
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
