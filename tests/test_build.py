"""Checks that the installed package is the build CI asked for (compiled or pure), and that
a failed mypyc compile falls back to pure Python loudly (or fails when compiling is
required)."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import koffi_typed


def test_compiled_flag_matches_expected_build() -> None:
    expected = os.environ.get("KOFFI_TYPED_EXPECT_COMPILED")
    if expected is None:
        assert isinstance(koffi_typed.compiled, bool)
    else:
        assert expected in ("0", "1"), f"KOFFI_TYPED_EXPECT_COMPILED={expected!r}"
        assert koffi_typed.compiled is (expected == "1"), (
            f"koffi_typed.compiled={koffi_typed.compiled} imported from {koffi_typed.__file__}"
        )


# ----------------------------------------------------------------------------- the build


REPO = Path(__file__).resolve().parent.parent
_NOT_SOURCES = shutil.ignore_patterns(".venv", "build", "dist", ".git", "*.egg-info", "*.so",
                                      "__pycache__", ".koffi-test-cache", ".hypothesis",
                                      ".mypy_cache", ".ruff_cache")


def _pip_wheel(source: Path, out: Path, env: dict[str, str],
               terminal: bool) -> subprocess.Popen[str]:
    """Build a wheel of ``source`` with pip as a user would (isolated build environment);
    with ``terminal``, under a pseudo-terminal (`script`), as an interactive install."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(source)]
    if terminal:
        command = ["script", "-qec", shlex.join(command), "/dev/null"]
    else:  # no pseudo-terminal here: ask pip to show the backend's output instead
        command.insert(4, "-v")
    return subprocess.Popen(command, cwd=source, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)


def test_failed_compile_warns_the_user_and_require_fails(tmp_path: Path) -> None:
    """CC=/bin/false: the wheel is pure Python and the person installing is told why, on the
    terminal, although pip hides a successful backend's output; with
    KOFFI_TYPED_REQUIRE_COMPILE=1 the build fails instead."""
    if not (REPO / "setup.py").exists():
        pytest.fail("needs the source checkout (setup.py) to build from")
    builds = {}
    for name in ("fallback", "required"):
        source = tmp_path / name / "src"
        shutil.copytree(REPO, source, ignore=_NOT_SOURCES)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOFFI_TYPED")}
        env.update(CC="/bin/false", KOFFI_TYPED_COMPILE="1", PIP_NO_INPUT="1",
                   PIP_DISABLE_PIP_VERSION_CHECK="1")
        if name == "required":
            env["KOFFI_TYPED_REQUIRE_COMPILE"] = "1"
        terminal = name == "fallback" and shutil.which("script") is not None
        builds[name] = (_pip_wheel(source, tmp_path / name / "out", env, terminal),
                        tmp_path / name / "out", terminal)
    outputs = {name: proc.communicate(timeout=600)[0] for name, (proc, _, _) in builds.items()}

    fallback, out, terminal = builds["fallback"]
    assert fallback.returncode == 0, outputs["fallback"]
    text = outputs["fallback"]
    # What a person sees in a terminal without pip -v: the long step and the warning.
    assert "compiling koffi_typed/_codec.py, koffi_typed/_callers.py with mypyc" in text, text
    assert "WARNING: koffi_typed: the mypyc compilation failed" in text, text
    assert "Reason: " in text and "/bin/false" in text, text
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, text
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        record = json.loads(wheel.read("koffi_typed/_build.json"))
    assert not [n for n in names if n.endswith(".so")], names
    assert record["mypyc"] == "failed" and "/bin/false" in record["reason"], record

    required = builds["required"][0]
    assert required.returncode != 0, outputs["required"]
    assert not list(builds["required"][1].glob("*.whl"))
