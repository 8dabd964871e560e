"""gRPC latency per method on the demo catalog, over real sockets on the embedded stack.

    .venv/bin/python bench/grpc_latency.py [--items 600] [--calls 200] [--model models/adde-synthetic]

Starts `fashionrec dev` in-process, publishes a synthetic catalog through
Kafka, waits until it is indexed, then calls each method `--calls` times
(one client, sequential, varied query items) and prints p50/p99 per method
as a Markdown table. Client-side wall time, so it includes serialisation and
the loopback socket.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import grpc
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fashionrec.data.images import encode_png  # noqa: E402
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc  # noqa: E402
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc  # noqa: E402
from grpc_stack import indexed_stack, time_calls  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--model", type=Path, default=Path("models/adde-synthetic"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with indexed_stack(args.model, args.items, Path(".fashionrec/bench-grpc")) as (stack, catalog):
        rows = rng.integers(0, len(catalog), args.calls)
        skus = [catalog.items[r].sku for r in rows]
        colors = catalog.vocabulary.attribute("color").values
        with grpc.insecure_channel(stack.grpc_address) as channel:
            retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
            outfits = outfit_pb2_grpc.OutfitServiceStub(channel)
            encoder = encoder_pb2_grpc.EncoderServiceStub(channel)
            outfit_list = [o for o in catalog.outfits if len(o.items) >= 3]
            cases = {
                "RetrievalService.Manipulate (sku)": (retrieval.Manipulate, [retrieval_pb2.ManipulateRequest(
                    item=common_pb2.ItemRef(sku=s), k=10,
                    changes=[common_pb2.AttributeChange(attribute="color", value=colors[i % len(colors)])])
                    for i, s in enumerate(skus)]),
                "RetrievalService.Manipulate (sku, category+in_stock filter)": (retrieval.Manipulate, [
                    retrieval_pb2.ManipulateRequest(
                        item=common_pb2.ItemRef(sku=s), k=10,
                        changes=[common_pb2.AttributeChange(attribute="color", value="red")],
                        filters=common_pb2.Filters(categories=[catalog.items[r].category], in_stock=True))
                    for s, r in zip(skus, rows)]),
                "RetrievalService.Manipulate (photo)": (retrieval.Manipulate, [retrieval_pb2.ManipulateRequest(
                    item=common_pb2.ItemRef(image=encode_png(catalog.images[r])), k=10,
                    changes=[common_pb2.AttributeChange(attribute="color", value="red")]) for r in rows]),
                "RetrievalService.SimilarBy (1 attribute)": (retrieval.SimilarBy, [retrieval_pb2.SimilarByRequest(
                    item=common_pb2.ItemRef(sku=s), k=10,
                    weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1)]) for s in skus]),
                "RetrievalService.SimilarBy (weighted)": (retrieval.SimilarBy, [retrieval_pb2.SimilarByRequest(
                    item=common_pb2.ItemRef(sku=s), k=10,
                    weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1),
                             retrieval_pb2.AttributeWeight(attribute="color", weight=2)]) for s in skus]),
                "OutfitService.Complete": (outfits.Complete, [outfit_pb2.CompleteRequest(
                    outfit_skus=[catalog.items[r].sku for r in o.items[:-1]], k=10,
                    target_category=catalog.items[o.items[-1]].category)
                    for o in (outfit_list[i % len(outfit_list)] for i in range(args.calls))]),
                "OutfitService.ScoreOutfit": (outfits.ScoreOutfit, [outfit_pb2.ScoreOutfitRequest(
                    skus=[catalog.items[r].sku for r in o.items])
                    for o in (outfit_list[i % len(outfit_list)] for i in range(args.calls))]),
                "EncoderService.Encode (1 image)": (encoder.Encode, [encoder_pb2.EncodeRequest(
                    images=[encode_png(catalog.images[r])]) for r in rows]),
            }
            print(f"{args.items} items, {args.calls} sequential calls per method, model {stack.model_version}, "
                  f"{platform.processor() or platform.machine()}, embedded stack (qdrant-edge, Tansu)\n")
            print("| method | p50 ms | p99 ms |\n| --- | --- | --- |")
            for name, (call, requests) in cases.items():
                call(requests[0], timeout=30)  # warm-up
                ms = time_calls(call, requests)
                print(f"| {name} | {np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f} |")


if __name__ == "__main__":
    main()
