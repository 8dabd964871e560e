"""Preview quality on an unseen catalog: reconstruction, attribute transfer, preservation.

    python bench/preview_quality.py --model models/adde-synthetic --train-data /tmp/cat1 \
        --data /tmp/cat23 --queries 600 --json /tmp/preview_quality.json

The independent reader is trained here on --train-data's real renders (a plain strided CNN,
no code shared with ADDE), so a decoder that fooled only its training critic would show.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from fashionrec.data.datasets import open_dataset
from fashionrec.data.images import encode_png
from fashionrec.model.checkpoint import load_model
from fashionrec.model.preview_eval import evaluate_preview, to_uint8, train_independent_classifier
from fashionrec.model.preview_training import load_preview_decoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--train-data", type=Path, required=True, help="the catalog the reader learns from")
    parser.add_argument("--data", type=Path, required=True, help="an unseen catalog to measure on")
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, spec = load_model(args.model)
    decoder = load_preview_decoder(args.model)
    if decoder is None:
        raise SystemExit(f"{args.model} has no preview decoder")
    started = time.monotonic()
    reader = train_independent_classifier(open_dataset(args.train_data))
    reader_seconds = time.monotonic() - started
    catalog = open_dataset(args.data)
    report = evaluate_preview(model, decoder, catalog, reader, max_queries=args.queries,
                              posterior_weight=spec.posterior_weight)
    with torch.no_grad():  # latency of one preview: decode r' and PNG-encode it (the RPC's own work)
        r = torch.randn(1, spec.whole_dim)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            encode_png(to_uint8(decoder(r))[0])
            times.append((time.perf_counter() - t) * 1000)
    report["render_png_ms"] = {"p50": float(np.percentile(times, 50)), "p99": float(np.percentile(times, 99))}
    report["model_version"] = spec.version
    report["data"] = str(args.data)
    report["reader_training_seconds"] = round(reader_seconds, 1)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
