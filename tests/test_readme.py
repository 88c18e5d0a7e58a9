"""Every ```python example of README.md, joined in order into one module: it runs, and passes
``mypy --strict`` (with the plugin) and ``pyright --strict`` (no plugin)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typecheck import mypy_errors, pyright_errors

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert len(blocks) >= 4
    path = tmp_path_factory.mktemp("readme") / "readme_examples.py"
    path.write_text("\n\n".join(blocks))
    return path


def test_readme_examples_run(examples: Path) -> None:
    proc = subprocess.run([sys.executable, str(examples)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "out of range for int" in proc.stdout


def test_readme_examples_pass_mypy_strict(examples: Path, tmp_path: Path) -> None:
    assert mypy_errors(tmp_path, [examples]) == []


def test_readme_examples_pass_pyright_strict(examples: Path, tmp_path: Path) -> None:
    assert pyright_errors(tmp_path, [examples]) == []
