"""The layers of docs/architecture.md, checked against every import in the code.

Every `import` and `from ... import` counts, at module level or inside a function (a lazy
import is still a dependency), except those under `if TYPE_CHECKING:`. A rule that fails
names the importing module, the line and the layer it crossed into.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fashionrec", "fashionrec_grpc", "fashionrec_cli", "encoder_svc", "retrieval_svc", "outfit_svc")

# Layer of a module: the first prefix that matches (most specific first).
LAYERS: tuple[tuple[str, str], ...] = (
    ("fashionrec.v1", "api"),  # generated from protos/
    ("fashionrec.model", "model"),
    ("fashionrec.unsupervised", "model"),
    ("fashionrec.data", "data"),
    ("fashionrec.embedded", "embedded"),
    ("fashionrec.protogen", "tools"),
    ("fashionrec.docgen", "tools"),
    ("fashionrec", "core"),
    ("fashionrec_grpc", "edge"),
    ("encoder_svc", "encoder_svc"),
    ("retrieval_svc", "retrieval_svc"),
    ("outfit_svc", "outfit_svc"),
    ("fashionrec_cli", "cli"),
)
SERVICES = {"encoder_svc", "retrieval_svc", "outfit_svc"}
# Which of the project's layers each layer may import (its own always).
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"api"},
    "api": set(),
    "data": {"core"},
    "model": {"core", "data"},
    "embedded": {"core"},
    "tools": {"core", "api"},
    "edge": {"core", "api"},
    "encoder_svc": {"core", "api", "data", "model", "edge"},
    "retrieval_svc": {"core", "api", "edge"},
    "outfit_svc": {"core", "api", "edge"},
    "cli": {"core", "api", "data", "model", "embedded", "edge", *SERVICES},
}
# Third-party packages a layer must never import.
TORCH = {"torch", "torchvision", "safetensors"}
GRPC_SERVER = {"grpc", "grpc_health", "grpc_reflection", "grpc_status"}
FORBIDDEN: dict[str, set[str]] = {
    "core": TORCH | GRPC_SERVER,
    "data": GRPC_SERVER,
    "model": GRPC_SERVER,
    "edge": TORCH,
    "retrieval_svc": TORCH,
    "outfit_svc": TORCH,
}
# The one exception, with its reason: the index's Qdrant-server backend talks to Qdrant
# through qdrant-client's gRPC transport and must recognise that transport's errors.
ALLOWED_EXCEPTIONS = {("fashionrec.index.server_store", "grpc")}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, absolute
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports() -> list[Import]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _type_checking_lines(tree)
            for node in ast.walk(tree):
                if getattr(node, "lineno", None) in skip:
                    continue
                if isinstance(node, ast.Import):
                    out += [Import(module, alias.name, node.lineno) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    # `from fashionrec import x` imports the submodule fashionrec.x when there is one.
                    for alias in node.names:
                        candidate = f"{node.module}.{alias.name}"
                        is_module = (ROOT / candidate.replace(".", "/")).with_suffix(".py").exists() or \
                            (ROOT / candidate.replace(".", "/")).is_dir()
                        out.append(Import(module, candidate if is_module else node.module, node.lineno))
    return out


def layer_of(module: str) -> str | None:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def violations(imports: list[Import]) -> list[str]:
    """Every import that crosses a rule, as 'module:line imports target (why)'."""
    bad = []
    for imp in imports:
        source, target = layer_of(imp.module), layer_of(imp.target)
        top = imp.target.split(".")[0]
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if target is not None and target != source and target not in MAY_IMPORT[source]:
            bad.append(f"{where} (layer {source} may not import layer {target})")
        if top in FORBIDDEN.get(source, set()) and (imp.module, top) not in ALLOWED_EXCEPTIONS:
            bad.append(f"{where} (layer {source} never imports {top})")
        if imp.target.startswith("fashionrec.v1.") and imp.target.endswith("_pb2_grpc") and source == "core":
            bad.append(f"{where} (the core uses the API's messages, never its gRPC stubs)")
    return bad


def test_every_module_has_a_layer() -> None:
    modules = {imp.module for imp in _imports()}
    assert modules and not [m for m in modules if layer_of(m) is None]


def test_no_import_crosses_a_layer() -> None:
    assert violations(_imports()) == []


@pytest.mark.parametrize(("module", "target", "message"), [
    ("fashionrec.index.compose", "torch", "layer core never imports torch"),
    ("fashionrec.events.apply", "grpc", "layer core never imports grpc"),
    ("fashionrec.index.catalog_index", "encoder_svc.server", "layer core may not import layer encoder_svc"),
    ("retrieval_svc.servicer", "outfit_svc.servicer", "layer retrieval_svc may not import layer outfit_svc"),
    ("outfit_svc.server", "fashionrec.model.inference", "layer outfit_svc may not import layer model"),
    ("fashionrec.data.catalog", "fashionrec.model.training", "layer data may not import layer model"),
    ("encoder_svc.server", "fashionrec_cli.dev_command", "layer encoder_svc may not import layer cli"),
    ("fashionrec.events.publish", "fashionrec.v1.catalog_pb2_grpc", "never its gRPC stubs"),
])
def test_a_crossed_layer_is_reported(module: str, target: str, message: str) -> None:
    [reported] = [v for v in violations([Import(module, target, 7)]) if message in v]
    assert reported.startswith(f"{module}:7 imports {target}")


def test_nothing_imports_the_cli() -> None:
    importers = {imp.module for imp in _imports() if layer_of(imp.target) == "cli"}
    assert {layer_of(m) for m in importers} <= {"cli"}


def test_query_services_start_without_the_extras() -> None:
    """What an install without extras has (pyproject's base dependencies): the packages of the
    `encoder` and `embedded` extras fail to import. The query services, the bootstrap job and
    the command line's parser must still load."""
    script = textwrap.dedent("""
        import importlib.abc, sys
        EXTRAS = {"torch", "torchvision", "safetensors", "PIL", "tqdm", "calfkit"}
        class NoExtras(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in EXTRAS:
                    raise ModuleNotFoundError(f"No module named {name!r} (blocked: installed without extras)")
                return None
        sys.meta_path.insert(0, NoExtras())
        import retrieval_svc.server, outfit_svc.server
        sys.path.insert(0, "deploy")
        import bootstrap
        from fashionrec_cli import build_parser
        build_parser()
        assert not [m for m in sys.modules if m.split(".")[0] in EXTRAS]
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
