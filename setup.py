"""Optional mypyc compilation; all metadata lives in pyproject.toml.

_KOFFI_TYPED_COMPILE is set by _build_backend/backend.py (see there for the switches).
KOFFI_TYPED_REQUIRE_COMPILE=1 turns any compilation failure into a build error (CI);
otherwise a failure installs the pure-Python package instead, says why on the terminal
(pip shows a backend's output only when the build fails, so the notice also goes straight to
the controlling terminal when there is one), and records the reason in the package
(``koffi_typed/_build.json``) so that ``python -m koffi_typed demo`` can tell it later.
"""

from __future__ import annotations

import json
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

# The hot-path modules handed to mypyc; everything else stays interpreted.
COMPILED_MODULES = ["koffi_typed/_codec.py", "koffi_typed/_callers.py"]
BUILD_RECORD = "_build.json"  # written into the built package (never into the sources)

COMPILE = os.environ.get("_KOFFI_TYPED_COMPILE") == "1"
REQUIRED = os.environ.get("KOFFI_TYPED_REQUIRE_COMPILE") == "1"

_failure: list[str] = []  # why mypyc could not compile, once it failed


def tell(message: str) -> None:
    """Show a build message to the person installing, not only in pip's hidden log."""
    print(message, file=sys.stderr, flush=True)
    try:
        with open("/dev/tty", "w", encoding="utf-8") as tty:
            tty.write(f"\n{message}\n")
    except OSError:  # no terminal (CI, Windows): stderr above is all there is
        pass


def _short(text: str, limit: int = 240) -> str:
    # A failed compiler command is quoted whole; its head and its exit status tell enough.
    return text if len(text) <= limit else f"{text[:limit - 80]} ... {text[-70:]}"


def _fallback(reason: object) -> None:
    text = _short(str(reason).strip() or type(reason).__name__)
    _failure[:] = [text]
    tell("WARNING: koffi_typed: the mypyc compilation failed, so the pure-Python package is "
         f"being installed instead (it works, calls are slower).\n  Reason: {text}\n"
         "  Set KOFFI_TYPED_REQUIRE_COMPILE=1 to make this an error, or KOFFI_TYPED_COMPILE=0 "
         "to skip compiling.")


def _write_record(build_lib: str) -> None:
    package = os.path.join(build_lib, "koffi_typed")
    if not os.path.isdir(package):
        return
    path = os.path.join(package, BUILD_RECORD)
    record = {"mypyc": "failed", "reason": _failure[0]} if _failure else \
        {"mypyc": "compiled" if COMPILE else "off"}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(record, out)


class build_py_recorded(build_py):
    """Also writes the build record (what happened to mypyc) into the built package."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            _write_record(self.build_lib)


class build_ext_all_or_nothing(build_ext):
    """mypyc emits one shim extension per module plus a shared group library; if only
    some of them build, the package cannot be imported. So: every extension or none."""

    def run(self) -> None:
        if self.extensions:
            tell(f"koffi_typed: compiling {', '.join(COMPILED_MODULES)} with mypyc and the C "
                 "compiler (about half a minute; KOFFI_TYPED_COMPILE=0 skips it)...")
        try:
            super().run()
        except Exception as exc:  # CompileError, LinkError, missing compiler, ...
            if REQUIRED:
                raise
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)
            _fallback(exc)
        if not self.inplace:
            _write_record(self.build_lib)


def _mypyc_extensions() -> list[Extension]:
    tell("koffi_typed: type-checking the hot path for mypyc (a few seconds)...")
    try:
        from mypyc.build import mypycify

        return mypycify(
            COMPILED_MODULES,
            opt_level="3",
            debug_level="0",
            # Keeps mypyc's shared library inside the package instead of a top-level
            # <hash>__mypyc.so in site-packages once several modules are compiled.
            group_name="koffi_typed._native",
        )
    except (Exception, SystemExit) as exc:  # mypyc reports type errors via sys.exit
        if REQUIRED:
            raise
        _fallback(f"mypyc exited: {exc.code}" if isinstance(exc, SystemExit) else exc)
        return []


setup(
    ext_modules=_mypyc_extensions() if COMPILE else [],
    cmdclass={"build_ext": build_ext_all_or_nothing, "build_py": build_py_recorded},
)
