"""Type checking: the mypy plugin on sample files (expectations in comments, as in mypy's own
test data: ``# N: <note>`` and ``# E: <error>`` on the line), and pyright (no plugin) on the
typed-declaration samples (``# P: <revealed type>``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import koffi_typed

mypy_api = pytest.importorskip("mypy.api")

SAMPLES = Path(__file__).resolve().parent / "typing_samples"
ROOT = Path(__file__).resolve().parent.parent
_EXPECT = re.compile(r"#\s*([NE]):\s*(.*?)\s*(?=#\s*[NEP]:|$)")


def _mypy(tmp_path: Path, files: list[Path], plugin: bool = True) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "mypy.ini"
    plugins = "plugins = koffi_typed.mypy\n" if plugin else ""
    config.write_text(f"[mypy]\nstrict = True\n{plugins}")
    env_path = Path(koffi_typed.__file__).resolve().parent.parent
    args = ["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"),
            "--no-error-summary", "--hide-error-context", *map(str, files)]
    old = os.environ.get("MYPYPATH")
    if "site-packages" not in str(env_path):
        os.environ["MYPYPATH"] = str(env_path)  # a checkout: check against its sources
    try:
        out, err, _ = mypy_api.run(args)
    finally:
        if old is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = old
    assert not err, err
    return [line for line in out.splitlines() if line.strip()]


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
    assert _strip(_mypy(tmp_path, [path])) == _expected(path)


def test_stubs_are_mypy_strict_clean(tmp_path: Path) -> None:
    stubs = sorted((ROOT / "stubs").glob("kt_*.py"))
    assert stubs
    assert _mypy(tmp_path / "plugin", stubs) == []
    assert _mypy(tmp_path / "plain", stubs, plugin=False) == []


def _pyright() -> list[str]:
    exe = shutil.which("pyright", path=os.path.dirname(sys.executable)) or shutil.which("pyright")
    if exe is None or shutil.which("node") is None:
        message = "pyright (pip install pyright) and Node.js are needed"
        if os.environ.get("CI"):  # CI must run the pyright check, never pass around it
            pytest.fail(message)
        pytest.skip(message)
    return [exe]


def test_pyright_sees_typed_declarations(tmp_path: Path) -> None:
    path = SAMPLES / "declarations.py"
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    env_path = Path(koffi_typed.__file__).resolve().parent.parent
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"extraPaths": [str(env_path)],
                                  "pythonVersion": "3.11"}))
    proc = subprocess.run([*_pyright(), "--outputjson", "-p", str(config), str(path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    report = json.loads(proc.stdout)
    got = []
    for diag in report["generalDiagnostics"]:
        m = re.match(r'Type of ".*" is "(.*)"$', diag["message"])
        assert m or diag["severity"] != "error", diag
        if m:
            got.append((diag["range"]["start"]["line"] + 1, m[1]))
    expected = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        pm = re.search(r"#\s*P:\s*(.*?)\s*$", line)
        if pm:
            expected.append((lineno, pm[1]))
    assert got == expected
