"""The unsupervised-disentanglement table: nearest-neighbour mAP per chunk, linear probes, leakage.

For every method (random encoder, AE, β-VAE, β-TCVAE, mixing, ADDE) the latent of each
gallery item is split into n chunks (n = number of attributes). On one unseen gallery:

- NN mAP@k of chunk c for attribute b: the chunk's cosine nearest neighbours of a query
  item (the query itself excluded), relevant = same value of b; queries are items with a
  known value of b other than "n/a". Per attribute the best chunk's figure is reported
  (the notes' Sprites table: "nearest-neighbour classification on a chunk, mAP").
- Linear probe accuracy per attribute: multinomial logistic regression on the whole
  latent, fitted on one half of the gallery, tested on the other half; applicable items
  only (value known and not "n/a").
- Leakage matrix (chunk × attribute): probe accuracy of chunk c alone for attribute b
  (and the NN mAP matrix). "own" = the best chunk's probe accuracy, "others" = the mean
  of the other chunks', both averaged over attributes; for a disentangled code own ≫
  others, each attribute living in one chunk.

evaluate_unsupervised(latents, catalog, rows) returns everything as a dict;
table_markdown(result) renders the summary table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fashionrec.data.catalog import Catalog
from fashionrec.progress import progress_bar
from fashionrec.unsupervised.fewlabel import fit_linear_probe, probe_predict
from fashionrec.vocab import UNKNOWN

NOT_APPLICABLE = "n/a"


def applicable(catalog: Catalog, rows: np.ndarray, attribute: int) -> np.ndarray:
    """Boolean mask over rows: value of the attribute known and not "n/a"."""
    values = catalog.labels[rows, attribute]
    ok = values != UNKNOWN
    names = catalog.vocabulary.attributes[attribute].values
    if NOT_APPLICABLE in names:
        ok &= values != names.index(NOT_APPLICABLE)
    return ok


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def nn_map(vectors: np.ndarray, values: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """mAP@k: vectors (G, D) of the gallery, values (G,) of one attribute, queries: positions in
    the gallery (excluded from their own ranking). AP@k = Σ_i P@i·rel_i / min(R, k)."""
    g = _normalise(vectors)
    scores = g[queries] @ g.T
    scores[np.arange(len(queries)), queries] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, 1)
    rel = values[top] == values[queries][:, None]
    n_rel = (values[None, :] == values[queries][:, None]).sum(1) - 1
    precision = np.cumsum(rel, 1) / np.arange(1, k + 1)
    defined = n_rel > 0
    ap = (precision * rel).sum(1)[defined] / np.minimum(n_rel[defined], k)
    return float(ap.mean()) if ap.size else 0.0


def _probe_accuracy(x: np.ndarray, y: np.ndarray, fit: np.ndarray, test: np.ndarray, n_classes: int) -> float:
    probe = fit_linear_probe(x[fit], y[fit], n_classes)
    return float((probe_predict(x[test], probe) == y[test]).mean())


def evaluate_latents(latents: np.ndarray, catalog: Catalog, rows: np.ndarray, seed: int = 0, k: int = 10,
                     queries_per_attribute: int = 500, bar=None) -> dict[str, object]:
    """One method: latents (len(rows), n, d) of catalog rows `rows` (the gallery); bar: a
    progress bar advanced once per attribute."""
    n_items, n_chunks, _ = latents.shape
    rng = np.random.default_rng([seed, 41])
    half = rng.permutation(n_items)
    fit_part, test_part = np.zeros(n_items, bool), np.zeros(n_items, bool)
    fit_part[half[: n_items // 2]] = True
    test_part[half[n_items // 2:]] = True
    whole = latents.reshape(n_items, -1)
    out: dict[str, dict] = {"nn_map": {}, "best_chunk": {}, "probe": {}, "majority": {},
                            "nn_map_matrix": {}, "probe_matrix": {}}
    for b, attribute in enumerate(catalog.vocabulary.attributes):
        values = catalog.labels[rows, b]
        ok = applicable(catalog, rows, b)
        candidates = np.flatnonzero(ok)
        queries = np.sort(rng.choice(candidates, size=min(queries_per_attribute, len(candidates)), replace=False))
        per_chunk = [nn_map(latents[:, c], values, queries, k) for c in range(n_chunks)]
        fit, test = np.flatnonzero(ok & fit_part), np.flatnonzero(ok & test_part)
        n_classes = len(attribute.values)
        probes = [_probe_accuracy(latents[:, c], values, fit, test, n_classes) for c in range(n_chunks)]
        best = int(np.argmax(per_chunk))
        out["nn_map"][attribute.name] = per_chunk[best]
        out["best_chunk"][attribute.name] = best
        out["nn_map_matrix"][attribute.name] = per_chunk
        out["probe_matrix"][attribute.name] = probes
        out["probe"][attribute.name] = _probe_accuracy(whole, values, fit, test, n_classes)
        counts = np.bincount(values[test], minlength=n_classes)
        out["majority"][attribute.name] = float(counts.max() / max(len(test), 1))
        if bar is not None:
            bar.update(1)
    names = [a.name for a in catalog.vocabulary.attributes]
    own = [max(out["probe_matrix"][a]) for a in names]
    others = [(sum(out["probe_matrix"][a]) - max(out["probe_matrix"][a])) / max(n_chunks - 1, 1) for a in names]
    out["summary"] = {
        "nn_map_avg": float(np.mean([out["nn_map"][a] for a in names])),
        "probe_avg": float(np.mean([out["probe"][a] for a in names])),
        "leakage_own": float(np.mean(own)),
        "leakage_others": float(np.mean(others)),
        "distinct_best_chunks": len(set(out["best_chunk"].values())),
    }
    return out


def evaluate_unsupervised(latents: Mapping[str, np.ndarray], catalog: Catalog, rows: np.ndarray, seed: int = 0,
                          k: int = 10, queries_per_attribute: int = 500, progress: bool | None = None
                          ) -> dict[str, object]:
    """The table for several methods: latents maps a method name to (len(rows), n, d).

    progress: a tqdm bar over (method, attribute); None draws it when a person watches.
    """
    n_attributes = len(catalog.vocabulary.attributes)
    with progress_bar(len(latents) * n_attributes, desc="unsupervised table", unit="attribute",
                      enabled=progress) as bar:
        methods = {name: evaluate_latents(z, catalog, rows, seed, k, queries_per_attribute, bar)
                   for name, z in latents.items()}
    return {
        "gallery": {"items": int(len(rows)), "provenance": catalog.provenance, "k": k,
                    "queries_per_attribute": queries_per_attribute, "seed": seed},
        "attributes": [a.name for a in catalog.vocabulary.attributes],
        "methods": methods,
    }


def table_markdown(result: Mapping[str, object]) -> str:
    names = result["attributes"]
    head = "| method | " + " | ".join(names) + " | average |"
    sep = "|" + " --- |" * (len(names) + 2)
    lines = ["NN mAP@%d of the best chunk per attribute (chunk index in brackets):" % result["gallery"]["k"], "",
             head, sep]
    for method, r in result["methods"].items():
        cells = [f"{r['nn_map'][a]:.2f} ({r['best_chunk'][a]})" for a in names]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | **{r['summary']['nn_map_avg']:.2f}** |")
    lines += ["", "Linear probe accuracy on the whole latent (majority-class rate in the last row):", "", head, sep]
    for method, r in result["methods"].items():
        cells = [f"{r['probe'][a]:.2f}" for a in names]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | **{r['summary']['probe_avg']:.2f}** |")
    first = next(iter(result["methods"].values()))
    lines.append("| majority | " + " | ".join(f"{first['majority'][a]:.2f}" for a in names)
                 + f" | {np.mean([first['majority'][a] for a in names]):.2f} |")
    lines += ["", "Leakage (probe accuracy of one chunk): own = best chunk, others = mean of the other chunks, "
                  "averaged over attributes; distinct = how many different chunks are some attribute's best:", "",
              "| method | own | others | distinct best chunks |", "| --- | --- | --- | --- |"]
    for method, r in result["methods"].items():
        s = r["summary"]
        lines.append(f"| {method} | {s['leakage_own']:.2f} | {s['leakage_others']:.2f} | "
                     f"{s['distinct_best_chunks']} / {len(names)} |")
    return "\n".join(lines) + "\n"


def leakage_markdown(result: Mapping[str, object], method: str) -> str:
    """The chunk × attribute probe-accuracy matrix of one method."""
    r = result["methods"][method]
    names = result["attributes"]
    n_chunks = len(next(iter(r["probe_matrix"].values())))
    lines = [f"{method}: probe accuracy of chunk c (rows) for attribute b (columns)", "",
             "| chunk | " + " | ".join(names) + " |", "|" + " --- |" * (len(names) + 1)]
    for c in range(n_chunks):
        lines.append(f"| {c} | " + " | ".join(f"{r['probe_matrix'][a][c]:.2f}" for a in names) + " |")
    return "\n".join(lines) + "\n"


def latents_of(model_dir, images: np.ndarray, n_attributes: int, batch_size: int = 1024) -> np.ndarray:
    """(N, n, d) chunks of uint8 images (N, H, W, 3) for any model: None = the unsupervised encoder at
    its random initialisation (seed 0, the "random" row); a run directory of `fashionrec train
    --method ...` (unsupervised.json); or any model artifact (ADDE, or an exported unsupervised
    run: the same latents), through fashionrec.model.inference.Encoder."""
    from pathlib import Path

    import torch

    from fashionrec.unsupervised.models import UnsupervisedConfig, UnsupervisedModel
    from fashionrec.unsupervised.training import CONFIG_FILE, encode_latents, load_unsupervised

    if model_dir is None:
        torch.manual_seed(0)
        return encode_latents(UnsupervisedModel(UnsupervisedConfig(n_chunks=n_attributes)), images)
    if (Path(model_dir) / CONFIG_FILE).exists():
        return encode_latents(load_unsupervised(Path(model_dir)), images)
    from fashionrec.model.inference import Encoder
    encoder = Encoder.load(model_dir, batch_size=256)
    return np.concatenate([encoder.encode(images[s:s + batch_size]).attributes
                           for s in range(0, len(images), batch_size)])
