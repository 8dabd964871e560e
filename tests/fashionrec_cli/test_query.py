from fashionrec_cli import main
from fashionrec_cli.dev_command import Stack
from fashionrec.data.catalog import Catalog


def test_query_prints_a_table(stack: Stack, catalog: Catalog, capsys) -> None:
    sku = catalog.items[0].sku
    assert main(["query", "--address", stack.grpc_address, "manipulate", "--sku", sku, "--change", "color=red",
                 "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "sku", "score", "category", "color", "pattern", "price", "stock"]
    assert len(lines) == 1 + 3 + 1 and lines[-1].endswith("3 results")


def test_connection_options_after_the_query_kind(stack: Stack, catalog: Catalog, capsys) -> None:
    assert main(["query", "manipulate", "--sku", catalog.items[0].sku, "--change", "color=red", "-k", "2",
                 "--address", stack.grpc_address, "--timeout", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("2 results")


def test_query_reports_field_violations(stack: Stack, catalog: Catalog, capsys) -> None:
    assert main(["query", "--address", stack.grpc_address, "similar", "--sku", catalog.items[0].sku,
                 "--weight", "colour=1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fashionrec query similar: error: INVALID_ARGUMENT")
    assert "weights[0].attribute" in err or "colour" in err


def test_outfit_query(stack: Stack, catalog: Catalog, capsys) -> None:
    outfit = catalog.outfits[0]
    target = catalog.items[outfit.items[-1]].category
    args = ["query", "--address", stack.grpc_address, "outfit", "--target", target, "-k", "2"]
    for row in outfit.items[:-1]:
        args += ["--sku", catalog.items[row].sku]
    assert main(args) == 0
    assert all(target in line for line in capsys.readouterr().out.splitlines()[1:3])
