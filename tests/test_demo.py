"""The demo runs against real libc and reports agreement with the C compiler and Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_everything_agrees(tmp_path: Path) -> None:
    # Run outside the checkout so the installed package (compiled or pure) is what runs.
    result = subprocess.run([sys.executable, "-m", "koffi_typed", "demo"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the C compiler agrees" in result.stdout
    assert "MISMATCH" not in result.stdout
    assert "All checks agree." in result.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "koffi_typed", "nope"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
