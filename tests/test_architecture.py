"""The package's imports run one way, as ARCHITECTURE.md draws them.

Every module of ``koffi_typed`` has a layer below; a module may import only modules of its
own layer or lower ones (module-level and function-level imports alike; imports under
``if TYPE_CHECKING:`` serve annotations only), and no two modules import each other, even
through others. A new module must be given a layer here (and in ARCHITECTURE.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "koffi_typed"

#: Bottom to top. Same layer = peers (may import each other's lower parts, never in a circle).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "settings", "markers", "datamodel", "cparser", "layout", "primitives",
     "asyncpool", "probe", "names", "libffi", "bases", "_callers"),
    ("typesystem",),
    ("types", "c", "pointer", "callstate"),
    ("typehints", "heap"),
    ("declarations",),
    ("abi.plan", "abi.ruleset"),
    ("abi.sysv_x64", "abi.win64", "abi.aarch64", "abi.x86", "abi.arm32_hf", "abi.riscv64"),
    ("abi",),
    ("_codec", "flatgen"),
    ("marshal",),
    ("records", "buffers", "carriers"),
    ("converters.base",),
    ("converters.scalars", "converters.records"),
    ("converters.pointers",),
    ("converters",),
    ("callbackgen",),
    ("callbacks",),
    ("callplan",),
    ("callers",),
    ("functions",),
    ("memory", "library"),
    ("runtime",),
    ("",),  # koffi_typed/__init__.py: the public API
    # tools over the public API; stubgen's steps first, each above what it uses
    ("stubgen.errors", "stubgen.cexpr", "stubgen.cmodel"),
    ("stubgen.preprocess", "stubgen.names"),
    ("stubgen.parse", "stubgen.pytypes"),
    ("stubgen.builder", "stubgen.compiler", "stubgen.emit"),
    ("stubgen.macros",),
    ("stubgen.pipeline",),
    ("stubgen.cli",),
    ("stubgen",),
    ("demo", "stubgen.__main__", "mypy", "abi.cli", "__main__", "bindings", "bindings.__main__",
     "bindings.libc", "bindings.sqlite3", "bindings.zlib"),  # tools over the public API
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The koffi_typed modules ``name`` imports (anywhere but under TYPE_CHECKING)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(x) for stmt in node.body for x in ast.walk(stmt))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = ["koffi_typed", *filter(None, package.split("."))]
                base_parts = base_parts[:len(base_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        for target in targets:
            if target != "koffi_typed" and not target.startswith("koffi_typed."):
                continue
            short = target.removeprefix("koffi_typed").removeprefix(".")
            while short and short not in MODULES:
                short = short.rpartition(".")[0]
            if short and short != name:
                found.add(short)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def test_every_module_has_a_layer() -> None:
    missing = sorted(set(MODULES) - set(LAYER))
    assert not missing, f"give these modules a layer in tests/test_architecture.py: {missing}"
    stale = sorted(set(LAYER) - set(MODULES))
    assert not stale, f"these layers name modules that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_go_down(name: str) -> None:
    upward = sorted(t for t in GRAPH[name] if LAYER.get(t, 0) > LAYER.get(name, 0))
    assert not upward, f"koffi_typed.{name or '__init__'} imports from above it: {upward}"


def test_no_import_circle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles


def test_the_compiled_modules_import_only_below_themselves() -> None:
    # mypyc compiles these; they may use the standard library and lower koffi modules only
    for name in ("_codec", "_callers"):
        assert all(LAYER[t] < LAYER[name] for t in GRAPH[name]), GRAPH[name]


def test_the_compiled_callers_are_generated_current() -> None:
    import subprocess
    import sys
    tool = PACKAGE.parent / "tools" / "gen_callers.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
