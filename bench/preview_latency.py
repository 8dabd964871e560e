"""Preview latency on CPU: one EncoderService.Preview call over real sockets on the embedded stack,
Manipulate with and without include_preview, and `Encoder.render` alone.

    .venv/bin/python bench/preview_latency.py [--items 200] [--calls 100] [--model models/adde-synthetic]

The model directory needs a preview decoder (preview.safetensors). Starts `fashionrec dev`
in-process (FASHIONREC_TORCH_THREADS threads for torch, default 1), publishes a synthetic catalog
through Kafka, waits until it is indexed, then makes `--calls` sequential calls per case (one
client, varied items and colors) and prints p50/p99 as a Markdown table. Client-side wall time,
so the gRPC cases include serialisation and the loopback socket; `Encoder.render` is timed on the
same model loaded the same way as the stack's, one representation per call.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import grpc
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from encoder_svc.server import load_encoder  # noqa: E402
from fashionrec import config  # noqa: E402
from fashionrec.data.images import encode_png  # noqa: E402
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc  # noqa: E402
from grpc_stack import indexed_stack, time_calls  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--model", type=Path, default=Path("models/adde-synthetic"))
    args = parser.parse_args()
    if not (args.model / "preview.safetensors").exists():
        raise SystemExit(f"preview_latency: {args.model} has no preview decoder (preview.safetensors)")
    rng = np.random.default_rng(0)
    with indexed_stack(args.model, args.items, Path(".fashionrec/bench-preview")) as (stack, catalog):
        rows = rng.integers(0, len(catalog), args.calls)
        colors = [v for v in catalog.vocabulary.attribute("color").values if v != "n/a"]
        changes = [[common_pb2.AttributeChange(attribute="color", value=colors[i % len(colors)])]
                   for i in range(args.calls)]
        skus = [common_pb2.ItemRef(sku=catalog.items[r].sku) for r in rows]
        photos = [common_pb2.ItemRef(image=encode_png(catalog.images[r])) for r in rows]
        with grpc.insecure_channel(stack.grpc_address) as channel:
            encoder = encoder_pb2_grpc.EncoderServiceStub(channel)
            retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
            cases = {
                "EncoderService.Preview (sku, 1 change)": (encoder.Preview, [
                    encoder_pb2.PreviewRequest(item=s, changes=c) for s, c in zip(skus, changes)]),
                "EncoderService.Preview (photo, 1 change)": (encoder.Preview, [
                    encoder_pb2.PreviewRequest(item=p, changes=c) for p, c in zip(photos, changes)]),
                "RetrievalService.Manipulate (sku)": (retrieval.Manipulate, [
                    retrieval_pb2.ManipulateRequest(item=s, changes=c, k=10) for s, c in zip(skus, changes)]),
                "RetrievalService.Manipulate (sku, include_preview)": (retrieval.Manipulate, [
                    retrieval_pb2.ManipulateRequest(item=s, changes=c, k=10, include_preview=True)
                    for s, c in zip(skus, changes)]),
            }
            print(f"{args.items} items, {args.calls} sequential calls per case, model {stack.model_version}, "
                  f"{platform.processor() or platform.machine()}, embedded stack (qdrant-edge, Tansu), CPU\n")
            print("| what | p50 ms | p99 ms |\n| --- | --- | --- |")
            for name, (call, requests) in cases.items():
                call(requests[0], timeout=30)  # warm-up
                ms = time_calls(call, requests)
                print(f"| {name} | {np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f} |", flush=True)
        wholes = [e.whole for e in stack.index.get_items([catalog.items[r].sku for r in rows])]
        render = load_encoder(config.load_or_exit(config.EncoderSettings), args.model).render  # as the stack loads it
        render(wholes[0][None])  # warm-up
        ms = []
        for whole in wholes:
            started = time.perf_counter()
            render(whole[None])
            ms.append((time.perf_counter() - started) * 1000)
        print(f"| Encoder.render (1 representation, in-process) | {np.percentile(ms, 50):.2f} | "
              f"{np.percentile(ms, 99):.2f} |")


if __name__ == "__main__":
    main()
