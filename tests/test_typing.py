"""Type checking: the mypy plugin on sample files (expectations in comments, as in mypy's own
test data: ``# N: <note>`` and ``# E: <error>`` on the line), pyright (no plugin) on the
typed-declaration samples (``# P: <revealed type>``), and the shipped bindings under both
checkers, strict."""

from __future__ import annotations

import re
from pathlib import Path

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
