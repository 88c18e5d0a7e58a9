"""The demo runs against real libc and reports agreement with the C compiler and Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import koffi_typed


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Run outside the checkout, importing the very package under test (installed or not).
    env = {**os.environ, "PYTHONPATH": str(Path(koffi_typed.__file__).parent.parent)}
    return subprocess.run([sys.executable, "-m", "koffi_typed", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_runs_and_everything_agrees(tmp_path: Path) -> None:
    result = run_module("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the C compiler agrees" in result.stdout
    assert "MISMATCH" not in result.stdout
    assert "All checks agree." in result.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_module("nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
