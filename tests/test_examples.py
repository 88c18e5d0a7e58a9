"""The example apps under the interpreter running the tests.

``examples/nuitka_app`` is what ``.ci/nuitka`` compiles with Nuitka; running it here first
keeps the app and its expected output honest on both builds (compiled and pure).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cbuild

import koffi_typed as koffi

APP = Path(__file__).resolve().parent.parent / "examples" / "nuitka_app"


def test_nuitka_app_runs_under_cpython(tmp_path: Path) -> None:
    library = cbuild.build_shared([APP / "shapes.c"], "host")
    done = subprocess.run([sys.executable, str(APP / "app.py"), str(library)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"koffi_typed.compiled: {koffi.compiled}",
                         f"koffi_typed from: {koffi.__file__}"]
    assert lines[2:] == (APP / "expected.txt").read_text().splitlines()
