"""`fashionrec catalog`: generate the synthetic catalog, look at it, export it.

    fashionrec catalog generate --out DIR --items N --seed S [--image-size 64]
    fashionrec catalog preview DIR --out sheet.png      (also writes sheet-outfits.png)
    fashionrec catalog export DIR --format shopping|polyvore --out OUT
    fashionrec catalog info DIR
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fashionrec_cli.failures import UsageError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `fashionrec catalog generate|preview|export|info`."""
    parser = subparsers.add_parser("catalog", help="synthetic catalog and data set files")
    commands = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)

    generate = commands.add_parser("generate", help="render a synthetic catalog with outfits")
    generate.add_argument("--out", type=Path, required=True, help="directory to write")
    generate.add_argument("--items", type=int, required=True, help="number of items (at least 40)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    generate.add_argument("--image-size", type=int, default=64, help="square image side, pixels")
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.set_defaults(handler=_generate)

    preview = commands.add_parser("preview", help="contact sheets of items and outfits")
    preview.add_argument("data", type=Path, help="catalog or data set directory")
    preview.add_argument("--out", type=Path, required=True, help="PNG to write (items); "
                         "outfits go to <name>-outfits.png beside it")
    preview.add_argument("--items", type=int, default=48, help="items on the items sheet")
    preview.add_argument("--outfits", type=int, default=12, help="outfits on the outfits sheet")
    preview.set_defaults(handler=_preview)

    export = commands.add_parser("export", help="write a catalog in a published format")
    export.add_argument("data", type=Path, help="catalog or data set directory")
    export.add_argument("--format", choices=("shopping", "polyvore"), required=True, help="published format")
    export.add_argument("--out", type=Path, required=True, help="directory to write")
    export.add_argument("--seed", type=int, default=0, help="seed of the query and triplet files")
    export.set_defaults(handler=_export)

    info = commands.add_parser("info", help="sizes of a catalog and its query sets")
    info.add_argument("data", type=Path, help="catalog or data set directory")
    info.set_defaults(handler=_info)


def _generate(args: argparse.Namespace) -> int:
    from fashionrec.data.catalog import save_catalog
    from fashionrec.data.synthetic import generate_catalog
    from fashionrec.data.synthetic import MIN_ITEMS

    if args.items < MIN_ITEMS:
        raise UsageError(f"--items {args.items}: at least {MIN_ITEMS} are needed for three splits with outfits")
    if not 16 <= args.image_size <= 512:
        raise UsageError(f"--image-size {args.image_size}: must be between 16 and 512 pixels")
    start = time.perf_counter()
    catalog = generate_catalog(args.items, args.seed, args.image_size, progress=False if args.quiet else None)
    made = time.perf_counter() - start
    save_catalog(catalog, args.out)
    print(f"{len(catalog)} items, {len(catalog.outfits)} outfits in {made:.2f} s "
          f"({len(catalog) / made:.0f} items/s); written to {args.out}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import open_dataset
    from fashionrec.data.contact_sheet import write_sheets

    for path in write_sheets(open_dataset(args.data), args.out, args.items, args.outfits):
        print(path)
    return 0


def _export(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import open_dataset
    from fashionrec.data.formats import polyvore, shopping

    writer = shopping.write if args.format == "shopping" else polyvore.write
    writer(open_dataset(args.data), args.out, seed=args.seed)
    print(f"{args.format} files written to {args.out}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from fashionrec.data.datasets import detect_format, open_dataset
    from fashionrec.data import queries as q
    from fashionrec.data.catalog import SPLITS

    catalog = open_dataset(args.data)
    print(f"format {detect_format(args.data)}, {len(catalog)} items, "
          f"{catalog.image_size}x{catalog.image_size} pixels")
    for a in catalog.vocabulary.attributes:
        print(f"  {a.name}: {', '.join(a.values)}")
    for split in SPLITS:
        print(f"{split:5s} items {len(catalog.indices(split)):6d}  "
              f"outfits {len(catalog.outfits_of(split)):6d}  "
              f"manipulation queries {len(q.manipulation_queries(catalog, split, 0)):6d}  "
              f"fitb {len(q.fitb_questions(catalog, split, 0)):6d}")
    return 0
