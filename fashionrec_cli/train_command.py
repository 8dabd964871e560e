"""`fashionrec train`: train ADDE on a catalog directory and write the model artifact.

    fashionrec train --data DIR --out MODEL_DIR [--device cpu|cuda] [--epochs N]

Resumes from MODEL_DIR/training_state.pt when a run with the same settings stopped
there; `--fresh` starts over. `--from OTHER_MODEL_DIR` starts from another artifact's
weights and trains the outfit stage (the compatibility network) only.

After the network, two steps finish the artifact (`--steps` picks which run):
  tune     the posterior weights β and w (fashionrec.model.tuning) on --tune-on, a
           validation catalog (default: the training catalog's validation split)
  preview  the preview decoder (fashionrec.model.preview_training), --preview-epochs
`--steps tune,preview` without `train` finishes the artifact already in --out.
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
    parser.add_argument("--manipulation-epochs", type=int, default=None,
                        help="epochs of the manipulation stage (default: --epochs, else 5); on a large "
                             "catalog one epoch already samples one triplet per training item")
    parser.add_argument("--outfit-epochs", type=int, default=None, help="epochs of the outfit head")
    parser.add_argument("--outfit-from", type=Path, default=None, metavar="MODEL_DIR",
                        help="start the compatibility network from this model's (a warm start when "
                             "only the encoder changed; same outfit settings required)")
    parser.add_argument("--image-size", type=int, default=None, help="model input size in pixels")
    parser.add_argument("--width", type=int, default=None, help="backbone width (ResNet18: 64)")
    parser.add_argument("--attribute-dim", type=int, default=None, help="dimensions per attribute chunk")
    parser.add_argument("--method", choices=("adde", "beta-vae", "beta-tcvae", "mixing", "ae"), default="adde",
                        help="adde (default, supervised) or an unsupervised method trained on the images alone "
                             "(fashionrec.unsupervised)")
    parser.add_argument("--baseline", choices=("amnet",), default=None,
                        help="train a baseline instead of ADDE (one global embedding)")
    parser.add_argument("--ablate", action="append", default=[], metavar="LOSS",
                        help="drop a loss term (classification, attribute_triplet, label_triplet, "
                             "compositional, consistency, memory); repeatable")
    parser.add_argument("--outfit-negatives", type=int, default=None,
                        help="sampled same-category negatives per outfit (default 4)")
    parser.add_argument("--outfit-learning-rate", type=float, default=None,
                        help="Adam learning rate of the outfit stage (default 2e-3)")
    parser.add_argument("--outfit-every-item", action=argparse.BooleanOptionalAction, default=None,
                        help="every item of an outfit is a target in turn, or only the held-out one (default)")
    parser.add_argument("--from", dest="init_from", type=Path, default=None, metavar="MODEL_DIR",
                        help="start from this model's weights and train the outfit stage only")
    parser.add_argument("--steps", default="train,tune,preview",
                        help="comma-separated steps to run: train, tune, preview (default: all three)")
    parser.add_argument("--tune-on", type=Path, default=None, metavar="DIR",
                        help="validation catalog for choosing β and w (default: the --data catalog's val split)")
    parser.add_argument("--preview-epochs", type=int, default=8, help="epochs of the preview decoder")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--version", default=None, help="model version (default: directory name + weight hash)")
    parser.add_argument("--fresh", action="store_true", help="ignore a saved training state")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from fashionrec_cli.train_unsupervised import add_arguments as add_unsupervised_arguments
    add_unsupervised_arguments(parser)
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
    if getattr(args, "manipulation_epochs", None) is not None:
        config = dataclasses.replace(config, manipulation_epochs=args.manipulation_epochs)
    if args.outfit_epochs is not None:
        config = dataclasses.replace(config, outfit_epochs=args.outfit_epochs)
    if getattr(args, "outfit_negatives", None):
        config = dataclasses.replace(config, outfit_negatives=args.outfit_negatives)
    if getattr(args, "outfit_learning_rate", None):
        config = dataclasses.replace(config, outfit_learning_rate=args.outfit_learning_rate)
    if getattr(args, "outfit_every_item", None) is not None:
        config = dataclasses.replace(config, outfit_every_item=args.outfit_every_item)
    if args.baseline == "amnet":
        config = amnet_like(config)
    for term in args.ablate:
        config = ablated(config, term)
    return config


def run(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import open_dataset
    from fashionrec.model.checkpoint import TRAINING_STATE_FILE
    from fashionrec.model.device import resolve_device
    from fashionrec.model.training import train

    if getattr(args, "method", "adde") != "adde":
        from fashionrec_cli.train_unsupervised import run as run_unsupervised
        return run_unsupervised(args)
    steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    unknown = steps - set(STEPS)
    if unknown or not steps:
        raise SystemExit(f"fashionrec train: --steps takes a comma-separated subset of {', '.join(STEPS)}, "
                         f"not {args.steps!r}")
    device = resolve_device(args.device)
    catalog = open_dataset(args.data)
    if "train" in steps:
        config = build_config(args)
        if args.fresh:
            (args.out / TRAINING_STATE_FILE).unlink(missing_ok=True)
        print(f"training on {len(catalog.indices('train'))} items ({args.data}), device {device}")
        result = train(catalog, args.out, config, device, version=args.version, progress=not args.quiet,
                       init_from=args.init_from, outfit_from=args.outfit_from)
        print(json.dumps({"model": str(args.out), "version": result.version,
                          "seconds": round(result.seconds, 1), "validation": result.validation}, indent=2))
    if "tune" in steps:
        _tune(args, catalog, device)
    if "preview" in steps and args.preview_epochs > 0:
        _train_preview(args, catalog, device)
    return 0


STEPS = ("train", "tune", "preview")


def _tune(args: argparse.Namespace, catalog, device) -> None:
    """Chooses β and w on the validation catalog and writes them into the artifact's config."""
    from fashionrec.data.datasets import open_dataset
    from fashionrec.model.checkpoint import load_model, set_posterior_weights
    from fashionrec.model.evaluation import model_embeddings
    from fashionrec.model.preprocessing import resize_uint8
    from fashionrec.model.tuning import tune_posterior_weights

    validation, gallery = (open_dataset(args.tune_on), "all") if args.tune_on else (catalog, "val")
    model, spec = load_model(args.out, device)
    emb = model_embeddings(model, resize_uint8(validation.images, spec.image_size).to(device), device)
    result = tune_posterior_weights(emb, validation, gallery=gallery, seed=args.seed)
    set_posterior_weights(args.out, result.posterior_weight, result.similarity_posterior_weight, result.style_weight)
    print(json.dumps({"tuned_on": str(args.tune_on or f"{args.data} (val split)"),
                      "posterior_weight": result.posterior_weight, "style_weight": result.style_weight,
                      "similarity_posterior_weight": result.similarity_posterior_weight,
                      "manipulation_hit@1_style_hit@1": {f"beta={b:g} gamma={g:g}": v
                                                         for (b, g), v in result.manipulation.items()},
                      "similarity_map@10": result.similarity}, indent=2))


def _train_preview(args: argparse.Namespace, catalog, device) -> None:
    """Trains the preview decoder on the frozen model and saves it into the artifact."""
    import time

    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.preview_training import save_preview_decoder, train_preview_decoder

    model, _ = load_model(args.out, device)
    started = time.monotonic()
    decoder = train_preview_decoder(model, catalog, device, epochs=args.preview_epochs, seed=args.seed,
                                    progress=not args.quiet)
    path = save_preview_decoder(decoder, args.out)
    print(json.dumps({"preview_decoder": str(path), "seconds": round(time.monotonic() - started, 1)}))
