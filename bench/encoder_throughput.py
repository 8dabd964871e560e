"""Inference throughput of the encoder (images/s), as the encoder service runs it.

    python bench/encoder_throughput.py --model models/adde-synthetic [--device cpu|cuda]
        [--batch-sizes 1,32,256] [--images 1024] [--image-size 64]

Encodes random uint8 images of the catalog's size (resize included, as in serving)
after one warm-up pass and prints images/s per batch size. Figures depend on the
machine and its load; report them with the hardware.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from fashionrec.model.inference import Encoder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/adde-synthetic")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,32,256")
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=64, help="side of the input images")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = np.random.default_rng(0).integers(0, 256, (args.images, args.image_size, args.image_size, 3),
                                               dtype=np.uint8)
    results = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        encoder = Encoder.load(args.model, args.device, batch_size=batch_size)
        n = min(args.images, max(batch_size * 8, 64))
        encoder.encode(images[:batch_size])  # warm-up: allocations, kernel selection
        _sync(encoder.device)
        started = time.perf_counter()
        encoder.encode(images[:n])
        _sync(encoder.device)
        seconds = time.perf_counter() - started
        results.append({"batch_size": batch_size, "images": n, "images_per_s": round(n / seconds, 1)})
        print(f"batch {batch_size:5d}: {n / seconds:9.1f} images/s")
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(json.dumps({"model": args.model, "device": device, "threads": args.threads,
                      "cpus": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
