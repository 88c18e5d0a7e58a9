"""Type checking: the mypy plugin on sample files (expectations in comments, as in mypy's own
test data: ``# N: <note>`` and ``# E: <error>`` on the line), pyright (no plugin) on the
typed-declaration samples (``# P: <revealed type>``), and the shipped bindings under both
checkers, strict."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typecheck import mypy_errors, mypy_output, pyright_errors, pyright_report

import koffi_typed.bindings

SAMPLES = Path(__file__).resolve().parent / "typing_samples"
_EXPECT = re.compile(r"#\s*([NE]):\s*(.*?)\s*(?=#\s*[NEP]:|$)")


def _expected(path: Path) -> list[str]:
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        for kind, msg in _EXPECT.findall(line):
            severity = "note" if kind == "N" else "error"
            out.append(f"{path.name}:{lineno}: {severity}: {msg}")
    return out


def _strip(lines: list[str]) -> list[str]:
    return [re.sub(r"^.*?([^/\\]+\.py:\d+: )", r"\1", line) for line in lines]


@pytest.mark.parametrize("sample", ["prototypes.py", "declarations.py"])
def test_mypy_plugin(sample: str, tmp_path: Path) -> None:
    path = SAMPLES / sample
    assert _strip(mypy_output(tmp_path, [path])) == _expected(path)


def test_shipped_bindings_are_strict_clean(tmp_path: Path) -> None:
    package = Path(koffi_typed.bindings.__file__).parent
    files = []
    for name in koffi_typed.bindings.BINDINGS:  # copies: mypy skips installed packages
        files.append(tmp_path / f"shipped_{name}.py")
        files[-1].write_text((package / f"{name}.py").read_text())
    assert mypy_errors(tmp_path / "plugin", files) == []
    assert mypy_errors(tmp_path / "plain", files, plugin=False) == []
    assert pyright_errors(tmp_path / "pyright", files) == []


def test_pyright_sees_typed_declarations(tmp_path: Path) -> None:
    path = SAMPLES / "declarations.py"
    got = []
    for diag in pyright_report(tmp_path, [path], strict=False):
        m = re.match(r'Type of ".*" is "(.*)"$', str(diag["message"]))
        assert m or diag["severity"] != "error", diag
        if m:
            got.append((diag["range"]["start"]["line"] + 1, m[1]))  # type: ignore[index]
    expected = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        pm = re.search(r"#\s*P:\s*(.*?)\s*$", line)
        if pm:
            expected.append((lineno, pm[1]))
    assert got == expected


# ---------------------------------------------------------------- the plugin against run time

_PARAM_TYPES = ["int", "double", "float", "char", "int8_t", "uint64_t", "bool", "size_t",
                "TcEnum", "TcPoint", "TcPoint *", "int *", "void *", "str", "const char *",
                "char **", "TcIntP", "TcFn *", "int (*)(int)", "TcFn", "TcOpaque",
                "TcOpaque *", "TcArr", "TcArr *", "void", "str16", "char16_t *", "TcPoint **",
                "long double", "TcEnum *", "const TcPoint *"]
_DIRECTIONS = ["", "_In_ ", "_Out_ ", "_Inout_ "]
_PRELUDE = '''\
import koffi_typed as koffi
from koffi_typed import c


@koffi.struct(name="TcPoint")
class TcPoint:
    x: c.int32


koffi.enumeration("TcEnum", {"A": 1})
koffi.alias("TcIntP", "int *")
koffi.proto("int TcFn(int)")
koffi.opaque("TcOpaque")
koffi.alias("TcArr", "int [3]")
lib = koffi.load("libc.so.6")
'''


_NAMESPACE: dict[str, Any] = {}


def _prelude_namespace() -> dict[str, Any]:
    """The prelude run once in this process (its type names can be registered only once)."""
    if not _NAMESPACE:
        exec(compile(_PRELUDE, "prelude", "exec"), _NAMESPACE)
    return _NAMESPACE


def _declarations() -> list[tuple[str, str]]:
    """(Python call, the C prototype it declares) over parameter types x directions x forms
    (the string form, the same with ``release_gil=False``, the classic form with the
    keyword), then the same types as results."""
    out = []
    for i, (t, d) in enumerate((t, d) for t in _PARAM_TYPES for d in _DIRECTIONS):
        param = f"{t.replace('(*)', '(*x)')}" if "(*)" in t else f"{t} x"
        proto = f"void abs({d}{param})"
        form = i % 3
        if form == 0:
            out.append((f"lib.func({proto!r})", proto))
        elif form == 1:
            out.append((f"lib.func({proto!r}, release_gil=False)", proto))
        elif "(*)" not in t:
            out.append((f"lib.func('abs', 'void', [{d + t!r}], release_gil=False)", proto))
    for i, t in enumerate(_PARAM_TYPES):  # the same types as results
        proto = f"{t.replace('(*)', '(*abs(int x))')} " if "(*)" in t else f"{t} abs(int x)"
        proto = proto.strip()
        out.append((f"lib.func({proto!r}{', release_gil=False' if i % 2 else ''})", proto))
    return out


def test_plugin_refuses_what_the_runtime_refuses(tmp_path: Path) -> None:
    """Every generated declaration: mypy's plugin reports koffi-decl exactly where
    koffi_typed raises at declaration time, whatever the form and its keywords."""
    import koffi_typed as koffi

    decls = _declarations()
    source = _PRELUDE + "".join(f"f{i} = {call}\n" for i, (call, _) in enumerate(decls))
    path = tmp_path / "generated_decls.py"
    path.write_text(source)
    namespace = _prelude_namespace()
    first = len(_PRELUDE.splitlines()) + 1
    runtime = set()
    for i, (call, _) in enumerate(decls):
        try:
            eval(call, namespace)
        except (TypeError, ValueError, koffi.Error):
            runtime.add(first + i)
    reported = set()
    for line in mypy_errors(tmp_path / "mypy", [path]):
        assert "[koffi-decl]" in line, line
        reported.add(int(line.split(":")[1]))
    assert len(runtime) > 20 and len(decls) - len(runtime) > 20
    wrong = sorted(reported ^ runtime)
    assert not wrong, [(n, decls[n - first][1], "runtime raises" if n in runtime
                        else "plugin reports") for n in wrong]


def test_plugin_refuses_bool_for_numbers(tmp_path: Path) -> None:
    """bool is an int to the type system, but a C integer or floating-point parameter refuses
    it at run time: the plugin reports it on calls, async calls and typed declarations."""
    import koffi_typed as koffi

    path = tmp_path / "bools.py"
    path.write_text(_PRELUDE + '''
f = lib.func("int abs(int x)")
g = lib.func("double cos(double x)", release_gil=False)
b = lib.func("int h(bool flag, int n, TcEnum e)")


@lib.function(release_gil=False)
def labs(x: c.long) -> c.long: ...


flag = True
f(True)  # E: Argument 1 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
f(1)
f(flag)  # E: Argument 1 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
g(False)  # E: Argument 1 is a bool, but the C parameter is a floating-point number (koffi_typed refuses bool there; pass float(...))  [koffi-bool]
g(1)
labs(True)  # E: Argument 1 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
f.async_(True)  # E: Argument 1 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
b(True, 2, 1)
b(True, False, True)  # E: Argument 2 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool] # E: Argument 3 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
''')
    assert _strip(mypy_output(tmp_path / "mypy", [path])) == _expected(path)
    libc: Any = _prelude_namespace()["lib"]
    with pytest.raises(TypeError, match="got bool"):
        libc.func("int abs(int x)")(True)
    with pytest.raises(TypeError, match="got bool"):
        koffi.load("libm.so.6").func("double cos(double x)")(False)
    assert libc.func("int abs(int x)")(-3) == 3
