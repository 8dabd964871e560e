"""How good the previews are, measured the way attribute-editing work measures edits.

For manipulation queries (an item, one attribute changed) on a catalog the model never saw:

- reconstruction: L1 and PSNR between decode(r) and the item's image;
- transfer: the changed attribute read off decode(r + M·i) equals the target value —
  read by the model's own classifiers (the decoder's training critic) and by an
  independent classifier (another architecture, trained only on real renders);
- preservation: every unchanged attribute read off the preview equals what the same
  classifier reads off the original image;
- retrieval from the preview: the preview, PNG-encoded and sent through the photo path
  (decode, encode), used as a query by itself (its own predicted labels as target) —
  hit@10 against the manipulation query's own hit@10 on the same gallery.

Latency (decode one preview and PNG-encode it) is measured separately (bench/preview.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import decode_image, encode_png
from fashionrec.model.adde import ADDE
from fashionrec.model.preprocessing import normalise, resize_uint8
from fashionrec.model.preview_decoder import PreviewDecoder
from fashionrec.progress import progress_bar
from fashionrec.ranking_metrics import mean_se
from fashionrec.vocab import UNKNOWN

__all__ = ["IndependentClassifier", "evaluate_preview", "train_independent_classifier", "to_uint8"]


class IndependentClassifier(nn.Module):
    """A plain strided CNN (no residuals, no shared code with ADDE) with one head per attribute."""

    def __init__(self, n_values: list[int], width: int = 32) -> None:
        super().__init__()
        layers, channels = [], 3
        for out in (width, 2 * width, 4 * width, 4 * width):
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.heads = nn.ModuleList(nn.Linear(channels, n) for n in n_values)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        f = self.features(images)
        return [head(f) for head in self.heads]


def train_independent_classifier(catalog: Catalog, epochs: int = 4, size: int = 64, seed: int = 0,
                                 progress: bool = True) -> IndependentClassifier:
    """Trains the independent reader on the catalog's real renders (train split), CPU-sized."""
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 41])
    net = IndependentClassifier([len(a.values) for a in catalog.vocabulary.attributes])
    images = resize_uint8(catalog.images, size)
    labels = torch.as_tensor(catalog.labels.astype(np.int64))
    rows = catalog.indices("train")
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    net.train()
    batches = [b for _ in range(epochs) for b in np.array_split(rng.permutation(rows), max(1, len(rows) // 128))]
    with progress_bar(total=len(batches), desc="independent classifier", enabled=progress) as bar:
        for batch in batches:
            index = torch.as_tensor(batch)
            logits = net(normalise(images[index]))
            loss = sum(F.cross_entropy(lg, labels[index, a], ignore_index=UNKNOWN) for a, lg in enumerate(logits))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.update(1)
    return net.eval()


def to_uint8(decoded: torch.Tensor) -> np.ndarray:
    """Decoder output (B, 3, H, W) in [0, 1] → uint8 (B, H, W, 3), as the service would PNG-encode it."""
    return (decoded.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@dataclass(frozen=True)
class _Readers:
    model: ADDE
    independent: IndependentClassifier

    @torch.no_grad()
    def read(self, images: np.ndarray, size: int) -> dict[str, np.ndarray]:
        """uint8 (B, H, W, 3) → predicted labels (B, n) by each reader."""
        x = normalise(resize_uint8(images, size))
        own = torch.stack([lg.argmax(-1) for lg in self.model(x).logits], 1).numpy()
        independent = torch.stack([lg.argmax(-1) for lg in self.independent(normalise(resize_uint8(images, 64)))],
                                  1).numpy()
        return {"model classifiers": own, "independent classifier": independent}


def _summary(values: list[float]) -> dict[str, float]:
    """{"mean", "se" (standard error of the mean), "n"} of per-query values."""
    return {"mean": float(np.mean(values)), "se": mean_se(values), "n": len(values)}


@torch.no_grad()
def evaluate_preview(model: ADDE, decoder: PreviewDecoder, catalog: Catalog, independent: IndependentClassifier,
                     seed: int = 0, max_queries: int = 600, gallery: str = q.ALL,
                     posterior_weight: float = 0.0, progress: bool = True) -> dict[str, object]:
    """The preview table: reconstruction, transfer and preservation per reader, retrieval from the preview.

    Args:
        model: the trained ADDE (its memory composes r + M·i).
        decoder: its preview decoder.
        catalog: an unseen catalog; its `gallery` rows are searched.
        independent: the independent reader (train_independent_classifier on the training catalog).
        seed, max_queries: the single-change manipulation queries (balanced, no "n/a").
        posterior_weight: β of the served score, for the retrieval rows.
        progress: show a progress bar.

    Returns:
        A JSON-able report.
    """
    model.eval()
    size = model.config.image_size
    readers = _Readers(model, independent)
    queries = q.manipulation_queries(catalog, gallery, seed, 1, max_queries, balanced=True,
                                     exclude_not_applicable=True)
    rows = q.split_rows(catalog, gallery)
    memory = model.memory.weight.detach().float()
    vocab = catalog.vocabulary

    def encode(images: np.ndarray):
        enc = model(normalise(resize_uint8(images, size)))
        log_probs = torch.cat([torch.log_softmax(lg.float(), -1) for lg in enc.logits], 1).clamp(min=-6.9)
        return enc.whole.float(), log_probs

    gallery_whole, gallery_logp = [], []
    with progress_bar(total=len(rows) + len(queries), desc="preview eval", unit="item", enabled=progress) as bar:
        for start in range(0, len(rows), 512):
            w, lp = encode(catalog.images[rows[start:start + 512]])
            gallery_whole.append(F.normalize(w, dim=-1))
            gallery_logp.append(lp)
            bar.update(len(rows[start:start + 512]))
        gallery_whole, gallery_logp = torch.cat(gallery_whole), torch.cat(gallery_logp)
        position = np.full(len(catalog), -1)
        position[rows] = np.arange(len(rows))

        l1, psnr = [], []
        transfer = {name: [] for name in ("model classifiers", "independent classifier")}
        preservation = {name: [] for name in transfer}
        hits = {"manipulation query": [], "photo query from the preview": []}
        for start in range(0, len(queries), 64):
            part = queries[start:start + 64]
            refs = np.array([x.reference for x in part])
            originals = catalog.images[refs]
            r, _ = encode(originals)
            indicator = torch.as_tensor(np.stack([x.indicator(vocab) for x in part]), dtype=torch.float32)
            reconstructed = decoder(r)
            pixels = torch.as_tensor(resize_uint8(originals, decoder.config.image_size)).float() / 255.0
            err = (reconstructed - pixels).abs().mean(dim=(1, 2, 3))
            mse = (reconstructed - pixels).pow(2).mean(dim=(1, 2, 3)).clamp(min=1e-10)
            l1 += err.tolist()
            psnr += (10 * torch.log10(1.0 / mse)).tolist()
            previews = to_uint8(decoder(r + indicator @ memory.T))
            # The photo path: PNG bytes back to pixels, as a shopper's upload of the preview would be.
            previews = np.stack([decode_image(encode_png(p), previews.shape[1]) for p in previews])
            read_preview, read_original = readers.read(previews, size), readers.read(originals, size)
            changed = np.array([x.changes[0].attribute for x in part])
            wanted = np.array([x.changes[0].target for x in part])
            kept = np.ones((len(part), len(vocab.attributes)), bool)
            kept[np.arange(len(part)), changed] = False
            for name in transfer:
                transfer[name] += (read_preview[name][np.arange(len(part)), changed] == wanted).tolist()
                same = read_preview[name] == read_original[name]
                preservation[name] += [float(same[i][kept[i]].mean()) for i in range(len(part))]
            targets = np.array([x.target_labels for x in part])
            onehot = np.zeros((len(part), vocab.total_values), np.float32)
            for a in range(len(vocab.attributes)):
                onehot[np.arange(len(part)), vocab.offsets[a] + targets[:, a]] = 1.0
            composed = F.normalize(r + indicator @ memory.T, dim=-1) @ gallery_whole.T
            soft = torch.as_tensor(onehot) @ gallery_logp.T
            p_whole, p_logp = encode(previews)
            p_onehot = torch.zeros(len(part), vocab.total_values)
            for a, lo in enumerate(vocab.offsets):
                p_onehot[torch.arange(len(part)), lo + p_logp[:, lo:lo + len(vocab.attributes[a].values)].argmax(1)] = 1
            from_preview = F.normalize(p_whole, dim=-1) @ gallery_whole.T
            for name, scores in (("manipulation query", composed + posterior_weight * soft),
                                 ("photo query from the preview", from_preview + posterior_weight * (p_onehot @ gallery_logp.T))):
                scores = scores.clone()
                own = position[refs]
                mask = own >= 0
                scores[torch.as_tensor(np.flatnonzero(mask)), torch.as_tensor(own[mask])] = -float("inf")
                top = scores.topk(10, dim=1).indices.numpy()
                labels = catalog.labels[rows[top]]  # (Q, 10, n)
                hits[name] += (labels == targets[:, None, :]).all(-1).any(-1).tolist()
            bar.update(len(part))

    return {
        "queries": len(queries),
        "gallery_items": int(len(rows)),
        "reconstruction": {"l1": _summary(l1), "psnr_db": _summary(psnr)},
        "transfer": {name: _summary(v) for name, v in transfer.items()},
        "preservation": {name: _summary(v) for name, v in preservation.items()},
        "retrieval_hit@10": {name: _summary(v) for name, v in hits.items()},
    }
