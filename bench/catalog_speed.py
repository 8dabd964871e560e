"""How fast the synthetic catalog is generated (rendering and outfits, not the disk write).

    python bench/catalog_speed.py [--items 4000] [--image-size 64] [--repeats 3]

Prints items/s per run and the best; the machine is shared, so the best run is the
figure to quote (with the core count and load printed beside it). Items per CPU-second
(user + system time of this process) is the load-independent figure: on two idle cores
the wall-clock rate lies between it and twice it, as rendering runs on two threads.
"""

from __future__ import annotations

import argparse
import os
import time

from fashionrec.data.synthetic import generate_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rates = []
    for run in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        catalog = generate_catalog(args.items, args.seed + run, args.image_size)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        rates.append(args.items / seconds)
        print(f"run {run + 1}: {args.items} items, {len(catalog.outfits)} outfits, "
              f"{seconds:.2f} s, {rates[-1]:.0f} items/s, "
              f"{args.items / cpu:.0f} items per CPU-second")
    print(f"best {max(rates):.0f} items/s at {args.image_size}x{args.image_size} "
          f"({os.cpu_count()} cores visible, load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
