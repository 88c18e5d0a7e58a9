"""Optional mypyc compilation; all metadata lives in pyproject.toml.

_KOFFI_TYPED_COMPILE is set by _build_backend/backend.py (see there for the switches).
KOFFI_TYPED_REQUIRE_COMPILE=1 turns any compilation failure into a build error (CI);
otherwise a failure installs the pure-Python package instead.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The hot-path modules handed to mypyc; everything else stays interpreted.
COMPILED_MODULES = ["koffi_typed/_codec.py"]

COMPILE = os.environ.get("_KOFFI_TYPED_COMPILE") == "1"
REQUIRED = os.environ.get("KOFFI_TYPED_REQUIRE_COMPILE") == "1"


def _fallback(reason: object) -> None:
    print(
        f"koffi_typed: mypyc compilation failed ({reason}); building pure Python", file=sys.stderr
    )


class build_ext_all_or_nothing(build_ext):
    """mypyc emits one shim extension per module plus a shared group library; if only
    some of them build, the package cannot be imported. So: every extension or none."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # CompileError, LinkError, missing compiler, ...
            if REQUIRED:
                raise
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)
            _fallback(exc)


def _mypyc_extensions() -> list[Extension]:
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
    cmdclass={"build_ext": build_ext_all_or_nothing},
)
