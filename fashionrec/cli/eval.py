"""`fashionrec eval`: measure one or more models on a split of a catalog, with exact search.

    fashionrec eval --model MODEL_DIR [--model OTHER ...] --data DIR --json OUT.json

Prints one table (a column per model) and writes the full reports as JSON: with one
model the report itself (what MODEL_DIR/eval.json holds), with several a mapping
from model directory to report.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate models on a catalog split (exact search)")
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="model directory; repeat to compare models in one table")
    parser.add_argument("--data", type=Path, required=True, help="catalog directory (or a published data set)")
    parser.add_argument("--json", type=Path, default=None, help="write the report(s) here")
    parser.add_argument("--split", default="test", help="query set and gallery (default: test)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the query sets")
    parser.add_argument("--max-queries", type=int, default=2000, help="manipulation queries per kind")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from fashionrec.data import open_dataset
    from fashionrec.model.evaluation import evaluate, model_embeddings
    from fashionrec.model.images import resize_uint8
    from fashionrec.model.inference import Encoder

    catalog = open_dataset(args.data)
    reports: dict[str, dict[str, Any]] = {}
    for directory in args.model:
        started = time.monotonic()
        encoder = Encoder.load(directory, args.device)
        images = resize_uint8(catalog.images, encoder.spec.image_size).to(encoder.device)
        emb = model_embeddings(encoder.model, images, encoder.device)
        report = evaluate(emb, catalog, args.split, args.seed, max_queries=args.max_queries)
        report = {"model_version": encoder.version, "data": str(args.data),
                  "catalog": catalog.provenance, "seed": args.seed, **report,
                  "seconds": round(time.monotonic() - started, 1)}
        reports[str(directory)] = report
    print(format_table(reports))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = next(iter(reports.values())) if len(reports) == 1 else reports
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


def _rows(report: dict[str, Any]) -> list[tuple[str, float]]:
    rows = []
    for kind in ("single", "multi"):
        part = report.get(f"manipulation_{kind}", {})
        rows += [(f"manipulation {kind} {m}", part[m]) for m in ("hit@10", "hit@30", "hit@50", "ndcg@30")
                 if m in part]
    rows += [(f"conditional mAP@10 {a}", v) for a, v in report.get("conditional_map@10", {}).items()]
    outfit = report.get("outfit", {})
    rows += [(f"outfit {m}", outfit[m]) for m in ("fitb", "recall@10", "recall@30", "recall@50") if m in outfit]
    dis = report.get("disentanglement", {})
    rows += [(f"disentanglement {m}", dis[m]) for m in ("own", "others") if m in dis]
    return rows


def format_table(reports: dict[str, dict[str, Any]]) -> str:
    """Metric rows × model columns, figures in [0, 1] with three decimals."""
    names = list(reports)
    columns = [dict(_rows(r)) for r in reports.values()]
    metrics = list(dict.fromkeys(m for r in reports.values() for m, _ in _rows(r)))
    width = max([len(m) for m in metrics] + [6])
    headers = [Path(n).name for n in names]
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{h:>12}" for h in headers)]
    for m in metrics:
        cells = [f"{c[m]:12.3f}" if m in c else f"{'-':>12}" for c in columns]
        lines.append(f"{m:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)
