"""`fashionrec eval`: the catalog-scale benchmark of one or more models, with exact search.

    fashionrec eval --model MODEL_DIR [--model OTHER ...] --data DIR [--gallery all|split]
                    [--json OUT.json] [--through-services]

By default every item of the catalog is in the gallery and the queries come from the whole
catalog (use a catalog the model never saw, ≥ 20,000 items). For each model it prints one
table (methods × figures, mean±standard error: the model, its ablations and the baselines
on the same queries; see fashionrec.model.benchmark), the per-attribute tables, and writes
the full report(s) as JSON: with one model the report itself, with several a mapping from
model directory to report.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

EPILOG = """\
example:
  fashionrec eval --model models/adde-synthetic --data /tmp/cat23 --json /tmp/eval23.json

more examples:
  fashionrec catalog generate --out /tmp/cat23 --items 24000 --seed 23
  fashionrec eval --model models/adde-synthetic --data /tmp/catalog --json /tmp/eval.json
  fashionrec eval --model models/adde-synthetic --data /tmp/cat23 --posterior-weight 1 --through-services
  fashionrec eval --model models/adde-synthetic --data /tmp/cat7 --gallery split --split test

rows: model (β, w from the model's config unless overridden), served (gRPC, with
--through-services), ablation β=0 (r + M·i alone), ablation w=0 (chunk cosine alone),
posterior only (w=1), classifier soft (Σ_a log p(target_a)), hard filter (predicted labels
== target, by cosine), change ignored (cos(r_q, r_g)), random."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="benchmark models on a whole catalog (exact search, baselines, SE)",
                                   epilog=EPILOG)
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="model directory; repeat to measure several models on the same queries")
    parser.add_argument("--data", type=Path, required=True,
                        help="catalog directory (or a published data set), ideally from a seed the model never saw")
    parser.add_argument("--json", type=Path, default=None, help="write the report(s) here")
    parser.add_argument("--gallery", choices=("all", "split"), default="all",
                        help="all: every item is in the gallery and queries come from the whole catalog; "
                             "split: the --split alone is query set and gallery (the old, small benchmark)")
    parser.add_argument("--split", default="test", help="the split for --gallery split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the query sets and the random baselines")
    parser.add_argument("--max-queries", type=int, default=2000,
                        help="manipulation queries per kind (single, two attributes), balanced over attributes")
    parser.add_argument("--conditional-per-attribute", type=int, default=300,
                        help="conditional-similarity references per attribute")
    parser.add_argument("--outfit-queries", type=int, default=2000,
                        help="FITB questions and complementary queries, each")
    parser.add_argument("--posterior-weight", type=float, default=None,
                        help="β of the model row (default: the model's posterior_weight)")
    parser.add_argument("--similarity-posterior-weight", type=float, default=None,
                        help="w of the model row (default: the model's similarity_posterior_weight)")
    parser.add_argument("--style-weight", type=float, default=None,
                        help="γ of the model row (default: the model's style_weight)")
    parser.add_argument("--through-services", action="store_true",
                        help="also start the embedded stack, publish the gallery to Kafka, wait until it is "
                             "indexed and ask the same queries over gRPC (a 'served' row)")
    parser.add_argument("--served-k", type=int, default=100, help="results asked of the services per query")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--cpu-bfloat16", action="store_true",
                        help="encode under bfloat16 autocast on the CPU, as an encoder with FASHIONREC_CPU_BFLOAT16 "
                             "does (the served row then uses the services' own setting)")
    parser.add_argument("--disentanglement", action="append", default=[], metavar="NAME=DIR",
                        help="also the unsupervised-style table (NN mAP of the best chunk, linear probes, "
                             "leakage) for this run or artifact, beside every --model; NAME=random for a "
                             "randomly initialised encoder; repeatable")
    parser.add_argument("--disentanglement-items", type=int, default=5000,
                        help="gallery items (drawn with --seed) for that table (default: 5000)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import open_dataset
    from fashionrec.model.benchmark import BenchmarkConfig, QuerySets, format_report, run_benchmark
    from fashionrec.model.evaluation import model_embeddings
    from fashionrec.model.preprocessing import resize_uint8
    from fashionrec.model.inference import Encoder

    catalog = open_dataset(args.data)
    gallery = "all" if args.gallery == "all" else args.split
    progress = False if args.quiet else None
    sets = None
    reports: dict[str, dict[str, Any]] = {}
    for directory in args.model:
        started = time.monotonic()
        encoder = Encoder.load(directory, args.device)
        spec = encoder.spec
        config = BenchmarkConfig(
            gallery=gallery, seed=args.seed, max_queries=args.max_queries,
            conditional_per_attribute=args.conditional_per_attribute, outfit_queries=args.outfit_queries,
            posterior_weight=_pick(args.posterior_weight, getattr(spec, "posterior_weight", 0.0)),
            similarity_posterior_weight=_pick(args.similarity_posterior_weight,
                                              getattr(spec, "similarity_posterior_weight", 0.0)),
            style_weight=_pick(args.style_weight, getattr(spec, "style_weight", 0.0)),
            progress=progress)
        sets = sets or QuerySets.make(catalog, config)  # the same queries for every model
        images = resize_uint8(catalog.images, spec.image_size).to(encoder.device)
        encode_started = time.monotonic()
        emb = model_embeddings(encoder.model, images, encoder.device, cpu_bfloat16=args.cpu_bfloat16)
        encode_seconds = time.monotonic() - encode_started
        if args.through_services:
            from fashionrec_cli.served_eval import served_stack

            with served_stack(directory, catalog, config.gallery, k=args.served_k,
                              progress=progress) as served:
                report = run_benchmark(emb, catalog, config, served=served, sets=sets)
                report["served"] = served.facts()
        else:
            report = run_benchmark(emb, catalog, config, sets=sets)
        report["seconds"]["encode"] = round(encode_seconds, 1)
        report = {"model_version": encoder.version, "model": str(directory), "data": str(args.data),
                  "catalog": catalog.provenance, **report,
                  "wall_seconds": round(time.monotonic() - started, 1)}
        reports[str(directory)] = report
        print(format_report(report, title=f"{encoder.version} on {args.data}: "))
        if "served" in report:
            print("served: " + ", ".join(f"{k} {v}" for k, v in report["served"].items()))
        print()
    if args.disentanglement:
        table = _disentanglement_table(args, catalog, progress)
        for report in reports.values():
            report["disentanglement_table"] = table
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = next(iter(reports.values())) if len(reports) == 1 else reports
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


def _disentanglement_table(args: argparse.Namespace, catalog, progress: bool | None) -> dict[str, Any]:
    """fashionrec.unsupervised's table for the --disentanglement runs and every --model, printed."""
    import numpy as np

    from fashionrec.unsupervised.evaluation import evaluate_unsupervised, latents_of, table_markdown

    runs: dict[str, Path | None] = {}
    for entry in args.disentanglement:
        name, sep, directory = entry.partition("=")
        if not sep or not name:
            raise SystemExit(f"fashionrec eval: --disentanglement takes NAME=DIR (or random=), not {entry!r}")
        runs[name] = None if name == "random" and not directory else Path(directory)
    runs.update({str(d): d for d in args.model})
    rng = np.random.default_rng([args.seed, 77])
    rows = np.sort(rng.choice(len(catalog), size=min(args.disentanglement_items, len(catalog)), replace=False))
    n = len(catalog.vocabulary.attributes)
    latents = {name: latents_of(d, catalog.images[rows], n) for name, d in runs.items()}
    table = evaluate_unsupervised(latents, catalog, rows, seed=args.seed, progress=progress)
    print(table_markdown(table))
    return table


def _pick(override: float | None, default: float) -> float:
    return float(default if override is None else override)
