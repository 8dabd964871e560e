"""Few-label prototypes: the memory M from a small labelled subset, on top of any encoder.

Manipulation is r' = r + M·i (fashionrec.model.memory): with i = +1 at the wanted value
and −1 at the current one, r' = r + m_wanted − m_current. Prototypes here are centred
class-conditional means of the representation over the labelled items:

    m_j = mean(r | value j) − mean(r)      (labelled items only; 0 when no labelled item has j)

so a value nobody labelled contributes nothing rather than a whole mean vector.
Placement:
- "block": ADDE's chunks are aligned to attributes, m_j lives in its attribute's chunk
  (M block-diagonal, as ADDE's own initialisation);
- "full": an unsupervised encoder's chunks are not aligned to attributes, so m_j is the
  mean of the whole latent (M dense);
- "ridge": a least-squares map instead of means, r ≈ b + Σ_a W·onehot(y_a) fitted with a
  small ridge penalty, M = W (dense); it separates correlated attributes (a dress is
  sleeveless more often) that per-value means mix.

`export_artifact` writes an unsupervised encoder as an ordinary model artifact: its encoder
is ADDE's one-embedding layout (ADDEConfig(disentangled=False): the same backbone and
Linear → ReLU → Linear head), its classifiers are linear probes fitted on the labelled
subset (so Encode's predicted labels and log-probabilities mean something), its memory
the few-label M. `fashionrec reindex` serves it like any other version. The outfit
network is left at its initialisation (no outfit training in this path).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from fashionrec.data.catalog import Catalog
from fashionrec.vocab import UNKNOWN, Vocabulary

PLACEMENTS = ("block", "full", "ridge")


def labelled_subset(rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A random fraction of rows (at least one when fraction > 0), sorted."""
    if fraction <= 0:
        return rows[:0]
    k = min(len(rows), max(1, int(round(fraction * len(rows)))))
    return np.sort(np.random.default_rng([seed, 31]).choice(rows, size=k, replace=False))


def few_label_prototypes(latents: np.ndarray, labels: np.ndarray, vocabulary: Vocabulary,
                         placement: str = "full", ridge: float = 1.0) -> np.ndarray:
    """M (n·d, S) from labelled items' latents (L, n, d) and labels (L, n) (UNKNOWN allowed)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, not {placement!r}")
    n_items, n, d = latents.shape
    whole = latents.reshape(n_items, n * d).astype(np.float64)
    out = np.zeros((n * d, vocabulary.total_values), np.float64)
    if n_items == 0:
        return out.astype(np.float32)
    if placement == "ridge":
        return _ridge_prototypes(whole, labels, vocabulary, ridge)
    for a, (offset, attribute) in enumerate(zip(vocabulary.offsets, vocabulary.attributes)):
        known = labels[:, a] != UNKNOWN
        if not known.any():
            continue
        rows = slice(a * d, (a + 1) * d) if placement == "block" else slice(0, n * d)
        centre = whole[known, rows].mean(0)
        for v in range(len(attribute.values)):
            has = labels[:, a] == v
            if has.any():
                out[rows, offset + v] = whole[has, rows].mean(0) - centre
    return out.astype(np.float32)


def _ridge_prototypes(whole: np.ndarray, labels: np.ndarray, vocabulary: Vocabulary, ridge: float) -> np.ndarray:
    """Least squares r ≈ b + Y W (Y the multi-hot of known values), ridge on W; M = Wᵀ."""
    y = np.zeros((len(whole), vocabulary.total_values))
    for a, offset in enumerate(vocabulary.offsets):
        known = labels[:, a] != UNKNOWN
        y[np.flatnonzero(known), offset + labels[known, a]] = 1.0
    y_c = y - y.mean(0)
    r_c = whole - whole.mean(0)
    gram = y_c.T @ y_c + ridge * np.eye(y.shape[1])
    w = np.linalg.solve(gram, y_c.T @ r_c)  # (S, n·d)
    w[y.sum(0) == 0] = 0.0
    return w.T.astype(np.float32)


def fit_linear_probe(x: np.ndarray, y: np.ndarray, n_classes: int, weight_decay: float = 1e-3,
                     iterations: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial logistic regression by L-BFGS on standardised x.

    Returns (W (C, D), b (C,), mean (D,), std (D,)): logits = ((x − mean)/std) Wᵀ + b.
    Classes absent from y get a bias of −20 (never predicted).
    """
    x_t = torch.as_tensor(x, dtype=torch.float64)
    mean, std = x_t.mean(0), x_t.std(0, unbiased=False).clamp(min=1e-6)
    xs = (x_t - mean) / std
    y_t = torch.as_tensor(y, dtype=torch.long)
    w = torch.zeros(n_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    present = torch.zeros(n_classes, dtype=torch.bool)
    present[y_t.unique()] = True
    absent = torch.where(present, 0.0, -20.0).to(torch.float64)
    opt = torch.optim.LBFGS([w, b], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = xs @ w.T + b + absent
        loss = torch.nn.functional.cross_entropy(logits, y_t) + weight_decay * w.pow(2).sum()
        loss.backward()
        return loss

    if len(y):
        opt.step(closure)
    with torch.no_grad():
        return ((w).numpy().copy(), (b + absent).numpy().copy(), mean.numpy(), std.numpy())


def probe_predict(x: np.ndarray, probe) -> np.ndarray:
    w, b, mean, std = probe
    return (((x - mean) / std) @ w.T + b).argmax(1)


def export_artifact(model, catalog: Catalog, out: Path, fraction: float = 1.0, placement: str = "full",
                    seed: int = 0, version: str | None = None) -> dict[str, object]:
    """Writes an unsupervised encoder (fashionrec.unsupervised.models.UnsupervisedModel) as a
    model artifact with few-label prototypes and probe classifiers; returns a summary."""
    from fashionrec.model.adde import ADDE, ADDEConfig
    from fashionrec.model.checkpoint import save_model, weights_digest
    from fashionrec.unsupervised.training import encode_latents

    cfg = model.config
    vocabulary = catalog.vocabulary
    if cfg.n_chunks != len(vocabulary.attributes):
        raise ValueError(f"{cfg.n_chunks} chunks but {len(vocabulary.attributes)} attributes: an artifact needs "
                         "one chunk per attribute")
    adde = ADDE(vocabulary, ADDEConfig(attribute_dim=cfg.chunk_dim, hidden_dim=cfg.hidden_dim,
                                       image_size=cfg.image_size, disentangled=False, backbone=cfg.backbone))
    adde.backbone.load_state_dict(model.encoder.backbone.state_dict())
    adde.heads[0].load_state_dict(model.encoder.head.state_dict())
    labelled = labelled_subset(catalog.indices("train"), fraction, seed)
    latents = encode_latents(model, catalog.images[labelled])
    labels = catalog.labels[labelled]
    prototypes = few_label_prototypes(latents, labels, vocabulary, placement)
    whole = latents.reshape(len(latents), -1)
    with torch.no_grad():
        adde.memory.weight.copy_(torch.as_tensor(prototypes))
        for a, clf in enumerate(adde.classifiers):
            known = labels[:, a] != UNKNOWN
            w, b, mean, std = fit_linear_probe(whole[known], labels[known, a], clf.out_features)
            # logits = ((x − μ)/σ) Wᵀ + b = x (W/σ)ᵀ + (b − (W/σ)·μ)
            w_x = w / std[None, :]
            clf.weight.copy_(torch.as_tensor(w_x, dtype=torch.float32))
            clf.bias.copy_(torch.as_tensor(b - w_x @ mean, dtype=torch.float32))
    adde.eval()
    version = version or f"{Path(out).name}-{cfg.method}-f{fraction:g}-{weights_digest(adde)}"
    save_model(adde, Path(out), version)
    return {"artifact": str(out), "version": version, "labelled_items": int(len(labelled)),
            "placement": placement, "fraction": fraction}


def manipulation_hits(whole: np.ndarray, labels: np.ndarray, prototypes: np.ndarray, queries, vocabulary,
                      ks: tuple[int, ...] = (10, 30), chunk: int = 256) -> dict[str, float]:
    """hit@k of r + M·i over a gallery (every row of `whole`, the reference excluded): a hit is
    a top-k item whose full label vector equals the query's target (paper protocol)."""
    refs = np.array([q.reference for q in queries])
    indicators = np.stack([q.indicator(vocabulary) for q in queries]).astype(np.float32)
    targets = np.array([q.target_labels for q in queries])
    g = whole.astype(np.float32)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    kmax = max(ks)
    hits = {k: 0 for k in ks}
    for s in range(0, len(refs), chunk):
        r = refs[s:s + chunk]
        qv = whole[r].astype(np.float32) + indicators[s:s + chunk] @ prototypes.T
        qv = qv / np.maximum(np.linalg.norm(qv, axis=1, keepdims=True), 1e-12)
        scores = qv @ g.T
        scores[np.arange(len(r)), r] = -np.inf
        top = np.argpartition(-scores, kmax - 1, axis=1)[:, :kmax]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, 1)
        match = (labels[top] == targets[s:s + chunk, None, :]).all(-1)
        for k in ks:
            hits[k] += int(match[:, :k].any(1).sum())
    n = max(len(refs), 1)
    return {f"hit@{k}": hits[k] / n for k in ks} | {"queries": len(refs),
                                                   "se@30": math.sqrt(max(hits.get(30, 0) / n * (1 - hits.get(30, 0) / n), 0) / n)}
