"""`fashionrec query manipulate|similar|outfit`: a gRPC client for people, printing a table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fashionrec_cli.failures import UsageError

__all__ = ["format_hits", "register", "run"]

# Connection options, accepted before or after the query kind.
_CONNECTION = (
    ("--address", {"default": "127.0.0.1:50051", "help": "gRPC address of the services"}),
    ("--token", {"default": "", "help": "bearer token, when the services require one"}),
    ("--timeout", {"type": float, "default": 10.0, "help": "deadline in seconds"}),
)


def _add_connection(parser: argparse.ArgumentParser, defaults: bool) -> None:
    # After the kind the defaults are suppressed, so a value given before it is not overwritten.
    for flag, options in _CONNECTION:
        parser.add_argument(flag, **(options if defaults else {**options, "default": argparse.SUPPRESS}))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `fashionrec query manipulate|similar|outfit`."""
    parser = subparsers.add_parser("query", help="ask the running services (manipulate, similar, outfit)")
    _add_connection(parser, defaults=True)
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    manipulate = kinds.add_parser("manipulate", help="this item, but with other attribute values")
    _add_item(manipulate)
    manipulate.add_argument("--change", action="append", required=True, metavar="ATTR=VALUE",
                            help="e.g. color=red; repeat for several")
    manipulate.add_argument("--require-predicted", action="store_true",
                            help="keep only results predicted to have the new values")
    manipulate.add_argument("--preview", type=Path, default=None, metavar="OUT.png",
                            help="also write the model's preview of the item with the changes (a PNG)")

    similar = kinds.add_parser("similar", help="items like this one in some attributes")
    _add_item(similar)
    similar.add_argument("--weight", action="append", required=True, metavar="ATTR=WEIGHT",
                         help="e.g. pattern=1; repeat for a weighted mix")

    outfit = kinds.add_parser("outfit", help="what completes this outfit")
    outfit.add_argument("--sku", action="append", required=True, help="an outfit item; repeat")
    outfit.add_argument("--target", required=True, help="category to complete with, e.g. sneakers")

    for sub in (manipulate, similar, outfit):
        _add_connection(sub, defaults=False)
        sub.add_argument("-k", type=int, default=10, help="number of results")
        sub.add_argument("--category", action="append", default=[], help="filter: category (repeatable)")
        sub.add_argument("--brand", action="append", default=[], help="filter: brand (repeatable)")
        sub.add_argument("--min-price", type=float, default=None, help="filter: lowest price")
        sub.add_argument("--max-price", type=float, default=None, help="filter: highest price")
        sub.add_argument("--in-stock", action="store_true", help="filter: only items in stock")
    parser.set_defaults(handler=run)


def _add_item(parser: argparse.ArgumentParser) -> None:
    item = parser.add_mutually_exclusive_group(required=True)
    item.add_argument("--sku", help="the query item's SKU")
    item.add_argument("--image", type=argparse.FileType("rb"), help="a photo (JPEG, PNG, WebP)")


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise UsageError(f"{flag} takes ATTR=VALUE, not {value!r}")
        out.append((name, rest))
    return out


def _weights(values: list[str]) -> list[tuple[str, float]]:
    out = []
    for name, raw in _pairs(values, "--weight"):
        try:
            out.append((name, float(raw)))
        except ValueError:
            raise UsageError(f"--weight {name}={raw}: the weight must be a number, e.g. {name}=1") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Sends one query and prints the hits as a table (or the error, with exit code 1)."""
    import grpc

    from fashionrec_grpc.status import field_violations
    from fashionrec.v1 import common_pb2, outfit_pb2, outfit_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc

    filters = common_pb2.Filters(categories=args.category, brands=args.brand, min_price=args.min_price,
                                 max_price=args.max_price, in_stock=True if args.in_stock else None)
    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    with grpc.insecure_channel(args.address) as channel:
        try:
            if args.kind == "outfit":
                reply = outfit_pb2_grpc.OutfitServiceStub(channel).Complete(outfit_pb2.CompleteRequest(
                    outfit_skus=args.sku, target_category=args.target, filters=filters, k=args.k),
                    timeout=args.timeout, metadata=metadata)
            else:
                item = common_pb2.ItemRef(sku=args.sku) if args.sku else common_pb2.ItemRef(image=args.image.read())
                stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
                if args.kind == "manipulate":
                    changes = [common_pb2.AttributeChange(attribute=a, value=v) for a, v in _pairs(args.change, "--change")]
                    reply = stub.Manipulate(retrieval_pb2.ManipulateRequest(
                        item=item, changes=changes, filters=filters, k=args.k,
                        require_predicted_target=args.require_predicted, include_preview=args.preview is not None),
                        timeout=args.timeout, metadata=metadata)
                else:
                    weights = [retrieval_pb2.AttributeWeight(attribute=a, weight=w) for a, w in _weights(args.weight)]
                    reply = stub.SimilarBy(retrieval_pb2.SimilarByRequest(
                        item=item, weights=weights, filters=filters, k=args.k), timeout=args.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            hint = (f" (is `fashionrec dev` or a service running at {args.address}? set --address)"
                    if exc.code() == grpc.StatusCode.UNAVAILABLE else "")
            print(f"fashionrec query {args.kind}: error: {exc.code().name}: {exc.details()}{hint}", file=sys.stderr)
            for field, description in field_violations(exc):
                print(f"  {field}: {description}", file=sys.stderr)
            return 1
    print(format_hits(reply))
    if getattr(args, "preview", None) is not None:
        args.preview.write_bytes(reply.preview_png)
        print(f"preview: {args.preview}")
    return 0


def format_hits(reply: "object") -> str:
    """A plain-text table of a SearchResponse."""
    rows = [("#", "sku", "score", "category", "color", "pattern", "price", "stock")]
    for rank, hit in enumerate(reply.hits, 1):  # type: ignore[attr-defined]
        labels = {**hit.item.predicted_labels, **hit.item.labels}
        rows.append((str(rank), hit.sku, f"{hit.score:.4f}", hit.item.category, labels.get("color", ""),
                     labels.get("pattern", ""), f"{hit.item.price:.2f} {hit.item.currency}",
                     "yes" if hit.item.in_stock else "no"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + [f"model {reply.model_version}, {len(reply.hits)} results"])  # type: ignore[attr-defined]
