"""The unsupervised-disentanglement table and the few-label manipulation curve (issue 13, items 2-3).

    # table: NN mAP of the best chunk, linear probes, leakage; one row per method
    python bench/unsupervised.py table --gallery /tmp/cat23 --items 5000 \
        --run ae=/tmp/unsup/ae --run beta-vae=/tmp/unsup/beta-vae --run beta-tcvae=/tmp/unsup/beta-tcvae \
        --run mixing=/tmp/unsup/mixing --adde /tmp/m_v2 --json /tmp/unsup/table.json --markdown /tmp/unsup/table.md

    # few labels: M from a labelled fraction of the training catalog, manipulation hit@10/30 on the gallery
    python bench/unsupervised.py fewlabel --train /tmp/cat1 --gallery /tmp/cat23 \
        --run mixing=/tmp/unsup/mixing --adde /tmp/m_v2 --fractions 0.001 0.01 0.1 1 --json /tmp/unsup/fewlabel.json

Runs (`--run NAME=DIR`) are directories written by `fashionrec train --method ...`; the
"random" row is the same encoder architecture at its random initialisation (seed 0).
Latents are cached under --cache (default /tmp/unsup/cache) by model and catalog.
One torch thread (shared machines).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from fashionrec.data.datasets import open_dataset
from fashionrec.unsupervised.evaluation import evaluate_unsupervised, latents_of, leakage_markdown, table_markdown
from fashionrec.unsupervised.fewlabel import PLACEMENTS, few_label_prototypes, labelled_subset, manipulation_hits


def _cache_path(cache: Path, model: str, catalog: Path, rows: np.ndarray) -> Path:
    key = hashlib.sha1(f"{model}|{catalog.resolve()}|{rows.tobytes().hex()[:64]}|{len(rows)}".encode()).hexdigest()[:16]
    return cache / f"{key}.npy"


def latents_for(name: str, source: str | None, catalog, catalog_dir: Path, rows: np.ndarray, cache: Path) -> np.ndarray:
    """(len(rows), n, d) latents of a method; source: run dir, ADDE model dir, or None (random)."""
    stamp = ""
    if source:
        for f in ("weights.safetensors", "unsupervised.safetensors"):
            if (Path(source) / f).exists():
                stamp += str((Path(source) / f).stat().st_mtime_ns)
    path = _cache_path(cache, f"{name}|{source}|{stamp}", catalog_dir, rows)
    if path.exists():
        return np.load(path)
    started = time.monotonic()
    z = latents_of(source, catalog.images[rows], len(catalog.vocabulary.attributes))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, z)
    print(f"encoded {len(rows)} items for {name} in {time.monotonic() - started:.0f} s", flush=True)
    return z


def _runs(args) -> dict[str, str | None]:
    runs: dict[str, str | None] = {}
    if args.with_random:
        runs["random"] = None
    for item in args.run:
        name, _, path = item.partition("=")
        runs[name] = path
    if args.adde:
        runs["adde"] = str(args.adde)
    return runs


def table(args) -> None:
    catalog = open_dataset(args.gallery)
    rows = np.arange(len(catalog))
    if args.items and args.items < len(rows):
        rows = np.sort(np.random.default_rng([args.seed, 7]).choice(rows, size=args.items, replace=False))
    latents = {name: latents_for(name, src, catalog, args.gallery, rows, args.cache) for name, src in _runs(args).items()}
    started = time.monotonic()
    result = evaluate_unsupervised(latents, catalog, rows, seed=args.seed, k=args.k)
    result["gallery"]["directory"] = str(args.gallery)
    result["seconds"] = round(time.monotonic() - started, 1)
    text = table_markdown(result) + "\n" + "\n".join(leakage_markdown(result, m) for m in result["methods"])
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text)


def fewlabel(args) -> None:
    from fashionrec.data.queries import manipulation_queries

    train_catalog = open_dataset(args.train)
    gallery = open_dataset(args.gallery)
    train_rows = train_catalog.indices("train")
    all_rows = np.arange(len(gallery))
    queries = manipulation_queries(gallery, "all", seed=args.seed, n_changes=1, max_queries=args.queries,
                                   balanced=True)
    out = {"train": str(args.train), "gallery": str(args.gallery), "gallery_items": len(gallery),
           "queries": len(queries), "protocol": "single-attribute changes, balanced over attributes, "
           "hit = a top-k item with exactly the target label vector, reference excluded", "results": []}
    for name, src in _runs(args).items():
        z_train = latents_for(name, src, train_catalog, args.train, train_rows, args.cache)
        z_gallery = latents_for(name, src, gallery, args.gallery, all_rows, args.cache)
        whole = z_gallery.reshape(len(z_gallery), -1)
        placements = ["block", "full", "ridge"] if name == "adde" else ["full", "ridge"]
        if name == "adde" and args.adde:
            trained = np.load(Path(src) / "prototypes.npy")
            r = manipulation_hits(whole, gallery.labels, trained, queries, gallery.vocabulary)
            out["results"].append({"encoder": name, "placement": "trained M", "fraction": 1.0, **r})
            print(json.dumps(out["results"][-1]), flush=True)
        for fraction in args.fractions:
            for placement in placements:
                hits = []
                for repeat in range(args.repeats if fraction < 1 else 1):
                    labelled = labelled_subset(np.arange(len(train_rows)), fraction, args.seed + repeat)
                    m = few_label_prototypes(z_train[labelled], train_catalog.labels[train_rows[labelled]],
                                             train_catalog.vocabulary, placement)
                    hits.append(manipulation_hits(whole, gallery.labels, m, queries, gallery.vocabulary))
                row = {"encoder": name, "placement": placement, "fraction": fraction,
                       "labelled_items": int(len(labelled)), "repeats": len(hits),
                       "hit@10": float(np.mean([h["hit@10"] for h in hits])),
                       "hit@30": float(np.mean([h["hit@30"] for h in hits])),
                       "hit@30_min": float(np.min([h["hit@30"] for h in hits])),
                       "hit@30_max": float(np.max([h["hit@30"] for h in hits]))}
                out["results"].append(row)
                print(json.dumps(row), flush=True)
        # No prototypes at all (M = 0): the query is the reference itself.
        r = manipulation_hits(whole, gallery.labels, np.zeros((whole.shape[1], gallery.vocabulary.total_values),
                                                                np.float32), queries, gallery.vocabulary)
        out["results"].append({"encoder": name, "placement": "none (M = 0)", "fraction": 0.0, **r})
        print(json.dumps(out["results"][-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("table", "fewlabel"):
        p = sub.add_parser(name)
        p.add_argument("--gallery", type=Path, required=True)
        p.add_argument("--run", action="append", default=[], metavar="NAME=DIR")
        p.add_argument("--adde", type=Path, default=None)
        p.add_argument("--no-random", dest="with_random", action="store_false")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--cache", type=Path, default=Path("/tmp/unsup/cache"))
        p.add_argument("--json", type=Path, default=None)
    sub.choices["table"].add_argument("--items", type=int, default=5000)
    sub.choices["table"].add_argument("--k", type=int, default=10)
    sub.choices["table"].add_argument("--markdown", type=Path, default=None)
    fl = sub.choices["fewlabel"]
    fl.add_argument("--train", type=Path, required=True)
    fl.add_argument("--fractions", type=float, nargs="+", default=[0.001, 0.01, 0.1, 1.0])
    fl.add_argument("--queries", type=int, default=2000)
    fl.add_argument("--repeats", type=int, default=3, help="labelled subsets drawn per fraction below 1")
    fl.set_defaults(with_random=False)
    args = parser.parse_args()
    torch.set_num_threads(1)
    table(args) if args.command == "table" else fewlabel(args)


if __name__ == "__main__":
    main()
