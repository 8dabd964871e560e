"""One example per subcommand, shown at the end of its --help (and checked by tests/fashionrec_cli)."""

from __future__ import annotations

__all__ = ["EXAMPLES", "examples_for"]

# Keyed by the subcommand path after "fashionrec". Addresses and SKUs are the demo's.
EXAMPLES: dict[str, str] = {
    "dev": "fashionrec dev --grpc-port 50051 --broker-port 9092   # from any directory",
    "demo": "fashionrec demo --once --items 300 --out /tmp/demo-output",
    "catalog": "fashionrec catalog generate --out /tmp/catalog --items 2000 --seed 7",
    "catalog generate": "fashionrec catalog generate --out /tmp/catalog --items 2000 --seed 7",
    "catalog preview": "fashionrec catalog preview /tmp/catalog --out /tmp/sheet.png",
    "catalog export": "fashionrec catalog export /tmp/catalog --format shopping --out /tmp/shopping",
    "catalog info": "fashionrec catalog info /tmp/catalog",
    "train": "fashionrec train --data /tmp/catalog --out /tmp/my-model --epochs 2 --seed 1",
    "eval": "fashionrec eval --model models/adde-synthetic --data /tmp/catalog --json /tmp/eval.json",
    "query": "fashionrec query manipulate --sku SYN2026-000000 --change color=red --address 127.0.0.1:50051",
    "query manipulate": "fashionrec query manipulate --sku SYN2026-000000 --change color=red --change pattern=striped",
    "query similar": "fashionrec query similar --sku SYN2026-000000 --weight pattern=1 --weight color=0.5 --in-stock",
    "query outfit": "fashionrec query outfit --sku SYN2026-000001 --sku SYN2026-000002 --target sneakers",
    "reindex": "FASHIONREC_QDRANT_URL=http://qdrant:6334 fashionrec reindex --model /models/adde-v2",
}


def examples_for(prog: str) -> str | None:
    """The epilog for a subcommand's parser.

    Args:
        prog: the parser's prog, e.g. "fashionrec catalog generate".

    Returns:
        "example:" and the command, or None for a subcommand without one.
    """
    command = prog.split(" ", 1)[1] if " " in prog else ""
    example = EXAMPLES.get(command)
    return f"example:\n  {example}" if example else None
