"""`fashionrec train`: train ADDE on a catalog directory and write the model artifact.

    fashionrec train --data DIR --out MODEL_DIR [--device cpu|cuda] [--epochs N]

Resumes from MODEL_DIR/training_state.pt when a run with the same settings stopped
there; `--fresh` starts over. `--from OTHER_MODEL_DIR` starts from another artifact's
weights and trains the outfit stage (the compatibility network) only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train the ADDE model on a catalog")
    parser.add_argument("--data", type=Path, required=True, help="catalog directory (or a published data set)")
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of the pretraining and the manipulation stage each")
    parser.add_argument("--outfit-epochs", type=int, default=None, help="epochs of the outfit head")
    parser.add_argument("--image-size", type=int, default=None, help="model input size in pixels")
    parser.add_argument("--width", type=int, default=None, help="backbone width (ResNet18: 64)")
    parser.add_argument("--attribute-dim", type=int, default=None, help="dimensions per attribute chunk")
    parser.add_argument("--baseline", choices=("amnet",), default=None,
                        help="train a baseline instead of ADDE (one global embedding)")
    parser.add_argument("--ablate", action="append", default=[], metavar="LOSS",
                        help="drop a loss term (classification, attribute_triplet, label_triplet, "
                             "compositional, consistency, memory); repeatable")
    parser.add_argument("--outfit-negatives", type=int, default=None,
                        help="sampled same-category negatives per outfit (default 15)")
    parser.add_argument("--from", dest="init_from", type=Path, default=None, metavar="MODEL_DIR",
                        help="start from this model's weights and train the outfit stage only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", default=None, help="model version (default: directory name + weight hash)")
    parser.add_argument("--fresh", action="store_true", help="ignore a saved training state")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def build_config(args: argparse.Namespace):
    """The training settings: the shipped model's defaults with the command line's changes."""
    from fashionrec.model.baselines import ablated, amnet_like
    from fashionrec.model.training import TrainConfig

    config = TrainConfig(seed=args.seed)
    model = config.model
    if args.image_size:
        model = dataclasses.replace(model, image_size=args.image_size)
    if args.width:
        model = dataclasses.replace(model, backbone=dataclasses.replace(model.backbone, width=args.width))
    if args.attribute_dim:
        model = dataclasses.replace(model, attribute_dim=args.attribute_dim)
    config = dataclasses.replace(config, model=model)
    if args.epochs:
        config = dataclasses.replace(config, pretrain_epochs=args.epochs, manipulation_epochs=args.epochs)
    if args.outfit_epochs:
        config = dataclasses.replace(config, outfit_epochs=args.outfit_epochs)
    if getattr(args, "outfit_negatives", None):
        config = dataclasses.replace(config, outfit_negatives=args.outfit_negatives)
    if args.baseline == "amnet":
        config = amnet_like(config)
    for term in args.ablate:
        config = ablated(config, term)
    return config


def run(args: argparse.Namespace) -> int:
    from fashionrec.data import open_dataset
    from fashionrec.model.checkpoint import TRAINING_STATE_FILE
    from fashionrec.model.device import resolve_device
    from fashionrec.model.training import train

    device = resolve_device(args.device)
    config = build_config(args)
    if args.fresh:
        (args.out / TRAINING_STATE_FILE).unlink(missing_ok=True)
    catalog = open_dataset(args.data)
    print(f"training on {len(catalog.indices('train'))} items ({args.data}), device {device}")
    result = train(catalog, args.out, config, device, version=args.version, progress=not args.quiet,
                   init_from=args.init_from)
    print(json.dumps({"model": str(args.out), "version": result.version, "seconds": round(result.seconds, 1),
                      "validation": result.validation}, indent=2))
    return 0
