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
    # The first lines tell truthfully what runs (CI checks `compiled` against the build it
    # asked for in test_build.py) and from where.
    head = result.stdout.splitlines()[:2]
    package = Path(koffi_typed.__file__).parent
    assert ("compiled with mypyc" if koffi_typed.compiled else "pure Python") in head[0], head
    assert head[1] == f"  imported from {package}", head
    if not koffi_typed.compiled:
        assert "compiled" not in head[0], head


def test_demo_notices_a_source_tree_shadowing_the_installed_copy(tmp_path: Path) -> None:
    """`python -m koffi_typed` from a checkout root imports the checkout, not the install:
    the demo says so, and `python -P` (what the note suggests) avoids it."""
    package = Path(koffi_typed.__file__).parent
    (tmp_path / "koffi_typed").symlink_to(package, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    code = "from koffi_typed.demo import describe_build; print(describe_build())"
    shadowed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert shadowed.returncode == 0, shadowed.stderr
    assert f"imported from {tmp_path / 'koffi_typed'}" in shadowed.stdout
    assert f"the copy installed at {package} is not the one running" in shadowed.stdout
    isolated = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert isolated.returncode == 0, isolated.stderr
    assert f"imported from {package}" in isolated.stdout
    assert "NOTE" not in isolated.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_module("nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr


def test_console_script_runs_the_installed_package(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "koffi-typed"
    assert script.exists(), "install the package (pip install .) to get the koffi-typed script"
    result = subprocess.run([str(script), "nope"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "usage: koffi-typed" in result.stderr
