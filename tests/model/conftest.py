"""A tiny catalog whose attributes are visible in the pixels, small enough to train in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from fashionrec.data.catalog import Catalog, Outfit
from fashionrec.items import Item
from fashionrec.vocab import Vocabulary

VOCAB = Vocabulary.from_mapping({
    "category": ["top", "bottom", "shoe"],
    "color": ["red", "green", "blue"],
    "pattern": ["plain", "striped"],
})
_RGB = np.array([[220, 30, 30], [30, 200, 40], [40, 60, 230]], dtype=np.float32)


def make_catalog(n: int = 96, size: int = 16, seed: int = 0) -> Catalog:
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, 3, n), rng.integers(0, 3, n), rng.integers(0, 2, n)], 1).astype(np.int64)
    images = np.full((n, size, size, 3), 128, np.float32)
    for i, (cat, color, pattern) in enumerate(labels):
        top, bottom = [(2, 8), (6, 14), (10, 15)][cat]
        images[i, top:bottom, 3:13] = _RGB[color]
        if pattern:
            images[i, top:bottom:2, 3:13] *= 0.4
    images = np.clip(images + rng.normal(0, 8, images.shape), 0, 255).astype(np.uint8)
    labels[5, 2] = -1  # one unknown label, which every loss must ignore
    splits = np.array(["train", "train", "train", "val", "test"] * (n // 5 + 1))[:n]
    items = [Item(f"sku-{i}", VOCAB.attributes[0].values[labels[i, 0]], price=1.0, currency="EUR")
             for i in range(n)]
    outfits = []
    for split in ("train", "val", "test"):
        rows = np.flatnonzero(splits == split)
        by_cat = [rows[labels[rows, 0] == c] for c in range(3)]
        for k in range(len(rows) // 2):
            pick = tuple(int(rng.choice(r)) for r in by_cat)
            outfits.append(Outfit(f"{split}-{k}", pick, split))
    return Catalog(vocabulary=VOCAB, images=images, labels=labels, items=items, splits=splits, outfits=outfits)


@pytest.fixture(scope="session")
def tiny_catalog() -> Catalog:
    return make_catalog()


@pytest.fixture(scope="session")
def tiny_config():
    """A model and schedule small enough to train on the tiny catalog in a few seconds."""
    from fashionrec.model.adde import ADDEConfig
    from fashionrec.model.backbone import BackboneConfig
    from fashionrec.model.outfit import OutfitConfig
    from fashionrec.model.training import TrainConfig

    model = ADDEConfig(attribute_dim=8, hidden_dim=16, image_size=16,
                       backbone=BackboneConfig(width=4, blocks=(1, 1)),
                       outfit=OutfitConfig(outfit_dim=4, hidden_dim=8, width=4, blocks=(1, 1)))
    return TrainConfig(model=model, pretrain_epochs=2, manipulation_epochs=2, outfit_epochs=2, batch_size=32,
                       triplets_per_batch=8, validation_queries=50, threads=1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_catalog, tiny_config):
    import torch

    from fashionrec.model.training import train

    out = tmp_path_factory.mktemp("model") / "tiny"
    train(tiny_catalog, out, tiny_config, torch.device("cpu"), progress=False, log=lambda _: None)
    return out
