"""What `fashionrec train --method {ae,beta-vae,beta-tcvae,mixing}` runs (fashionrec_cli.train_command)."""

from __future__ import annotations

import argparse
import dataclasses
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("unsupervised methods (--method other than adde)")
    group.add_argument("--beta", type=float, default=None,
                       help="β-VAE: KL weight (default 4); β-TCVAE: total-correlation weight (default 6)")
    group.add_argument("--minutes", type=float, default=None,
                       help="stop after the epoch that passes this many minutes (default 4; mixing 7)")
    group.add_argument("--adversarial-weight", type=float, default=1.0,
                       help="mixing: weight of the adversarial loss (0: MIX + C, no discriminator)")
    group.add_argument("--label-fraction", type=float, default=1.0,
                       help="share of the training items whose labels give the prototypes M and the "
                            "probe classifiers of the exported artifact (default 1.0; 0: no labels)")


def run(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import open_dataset
    from fashionrec.unsupervised.fewlabel import export_artifact
    from fashionrec.unsupervised.models import UnsupervisedConfig
    from fashionrec.unsupervised.training import DEFAULT_BETA, train_unsupervised

    catalog = open_dataset(args.data)
    config = UnsupervisedConfig(method=args.method, n_chunks=len(catalog.vocabulary.attributes), seed=args.seed,
                                beta=args.beta if args.beta is not None else DEFAULT_BETA[args.method],
                                max_seconds=60 * (args.minutes if args.minutes is not None
                                                  else (7.0 if args.method == "mixing" else 4.0)))
    config = dataclasses.replace(config, adversarial_weight=args.adversarial_weight)
    if args.epochs:
        config = dataclasses.replace(config, epochs=args.epochs)
    if args.image_size:
        config = dataclasses.replace(config, image_size=args.image_size)
    if args.attribute_dim:
        config = dataclasses.replace(config, chunk_dim=args.attribute_dim)
    if args.width:
        config = dataclasses.replace(config, backbone=dataclasses.replace(config.backbone, width=args.width))
    print(f"training {args.method} on {len(catalog.indices('train'))} items ({args.data}), no labels, cpu")
    result = train_unsupervised(catalog, args.out, config, progress=not args.quiet)
    summary = export_artifact(result.model, catalog, args.out, fraction=args.label_fraction,
                              seed=args.seed, version=args.version)
    print(json.dumps({"model": str(args.out), "method": args.method, "seconds": round(result.seconds, 1),
                      "epochs": len(result.history), "last": result.history[-1] if result.history else {},
                      "pictures": str(args.out / "epoch_NN.png"), **summary}, indent=2))
    return 0
