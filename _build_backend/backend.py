"""In-tree PEP 517 backend: setuptools, plus mypy as a build requirement only when compiling.

KOFFI_TYPED_COMPILE=1 forces mypyc compilation, =0 turns it off; unset means compile
regular wheels on CPython and never editable installs (compiled editables would shadow
the sources). The decision reaches setup.py through a private variable set only inside
the build_* hooks: setuptools also runs setup.py while answering get_requires_*, before
mypy is installed into the isolated build environment.
"""

from __future__ import annotations

import os
import platform
import shutil
from typing import Any

from setuptools import build_meta as _orig
from setuptools.build_meta import *  # noqa: F403  (re-export every other hook)

MYPYC_REQUIREMENT = "mypy>=1.18,<3"
_DECISION_VAR = "_KOFFI_TYPED_COMPILE"  # read by setup.py

ConfigSettings = dict[str, Any] | None


def _want_compile(editable: bool) -> bool:
    flag = os.environ.get("KOFFI_TYPED_COMPILE", "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    if flag:
        raise ValueError(f"KOFFI_TYPED_COMPILE must be 0, 1 or unset, not {flag!r}")
    return not editable and platform.python_implementation() == "CPython"


def _clean_build_lib() -> None:
    # setuptools reuses build/lib*/ between builds: a .so left there by an earlier build
    # (e.g. of a module since dropped from COMPILED_MODULES) would land in the new wheel.
    if os.path.isdir("build"):
        for entry in os.listdir("build"):
            if entry.startswith("lib"):
                shutil.rmtree(os.path.join("build", entry), ignore_errors=True)


def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> list[str]:
    reqs = list(_orig.get_requires_for_build_wheel(config_settings))
    return [*reqs, MYPYC_REQUIREMENT] if _want_compile(editable=False) else reqs


def get_requires_for_build_editable(config_settings: ConfigSettings = None) -> list[str]:
    reqs = list(_orig.get_requires_for_build_editable(config_settings))
    return [*reqs, MYPYC_REQUIREMENT] if _want_compile(editable=True) else reqs


def build_wheel(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: str | None = None,
) -> str:
    os.environ[_DECISION_VAR] = "1" if _want_compile(editable=False) else "0"
    _clean_build_lib()
    return _orig.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: str | None = None,
) -> str:
    os.environ[_DECISION_VAR] = "1" if _want_compile(editable=True) else "0"
    _clean_build_lib()
    return _orig.build_editable(wheel_directory, config_settings, metadata_directory)
