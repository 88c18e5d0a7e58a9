"""Run mypy (in process, with or without the koffi_typed plugin) and pyright (Node.js) on
files, strict, and return their complaints; the package checked is the one imported (the
checkout's sources when run from a checkout).

`clean_verdict_cached` remembers, on disk (``cbuild.cache_dir()``), that a checker found
nothing in exactly these inputs: the checker's version and configuration, the files, and every
source file of the koffi_typed package it checks against. CI runs the suite twice (compiled,
then pure) over the same sources; the second run finds the verdict instead of spending a
minute of pyright on 60,000 identical lines. Only clean results are remembered.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cbuild
import pytest

import koffi_typed

PACKAGE_ROOT = Path(koffi_typed.__file__).resolve().parent.parent


def _verdict_path(checker: str, files: list[Path], extra: str) -> Path:
    digest = hashlib.sha256()
    for part in (checker, extra):
        digest.update(part.encode() + b"\0")
    package = sorted((PACKAGE_ROOT / "koffi_typed").rglob("*.py")) + sorted(
        (PACKAGE_ROOT / "koffi_typed").rglob("*.pyi"))
    for path in [*files, *package]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return cbuild.cache_dir() / "typecheck" / f"{checker}-{digest.hexdigest()[:32]}.clean"


def clean_verdict_cached(checker: str, files: list[Path], extra: str,
                         run: Callable[[], list[str]]) -> list[str]:
    """``run()`` unless these exact inputs were found clean before; see the module doc."""
    marker = _verdict_path(checker, files, extra)
    if marker.exists():
        return []
    complaints = run()
    if not complaints:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("clean\n")
    return complaints


def mypy_output(tmp: Path, files: list[Path], *, plugin: bool = True) -> list[str]:
    """mypy --strict's output lines (errors and notes) for ``files``."""
    api = pytest.importorskip("mypy.api")
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "mypy.ini"
    plugins = "plugins = koffi_typed.mypy\n" if plugin else ""
    config.write_text(f"[mypy]\nstrict = True\n{plugins}")
    args = ["--config-file", str(config), "--cache-dir", str(tmp / "cache"),
            "--no-error-summary", "--hide-error-context", *map(str, files)]
    old = os.environ.get("MYPYPATH")
    if "site-packages" not in str(PACKAGE_ROOT):
        os.environ["MYPYPATH"] = str(PACKAGE_ROOT)  # a checkout: check against its sources
    try:
        out, err, _ = api.run(args)
    finally:
        if old is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = old
    assert not err, err
    return [line for line in out.splitlines() if line.strip()]


def mypy_errors(tmp: Path, files: list[Path], *, plugin: bool = True) -> list[str]:
    """mypy --strict's error lines."""
    return [line for line in mypy_output(tmp, files, plugin=plugin) if ": error:" in line]


def pyright_command() -> list[str]:
    exe = shutil.which("pyright", path=os.path.dirname(sys.executable)) or shutil.which("pyright")
    if exe is None or shutil.which("node") is None:
        message = "pyright (pip install pyright) and Node.js are needed"
        if os.environ.get("CI"):  # CI must run the pyright check, never pass around it
            pytest.fail(message)
        pytest.skip(message)
    return [exe]


def pyright_report(tmp: Path, files: list[Path], *, strict: bool = True) -> list[dict[str, object]]:
    """pyright's diagnostics (JSON objects) for ``files``."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "pyrightconfig.json"
    settings = {"extraPaths": [str(PACKAGE_ROOT)], "pythonVersion": "3.11"}
    if strict:
        settings["typeCheckingMode"] = "strict"
    config.write_text(json.dumps(settings))
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    threads = ["--threads", str(os.cpu_count() or 1)] if len(files) > 1 else []
    proc = subprocess.run([*pyright_command(), "--outputjson", *threads, "-p", str(config),
                           *map(str, files)], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"pyright failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
                             ) from None
    diagnostics: list[dict[str, object]] = report["generalDiagnostics"]
    return diagnostics


def pyright_errors(tmp: Path, files: list[Path]) -> list[str]:
    """pyright --strict's errors and warnings, as ``file:line: message``."""
    out = []
    for diag in pyright_report(tmp, files):
        if diag["severity"] in ("error", "warning"):
            start = diag["range"]["start"]["line"] + 1  # type: ignore[index]
            out.append(f"{Path(str(diag['file'])).name}:{start}: {diag['message']}")
    return out
