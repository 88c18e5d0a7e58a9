"""Shared pytest configuration.

``--cross``
    Tests marked ``@pytest.mark.cross`` need the cross toolchains (qemu-user, the Debian cross
    compilers, MinGW-w64). Without ``--cross`` they are deselected (not skipped). With
    ``--cross``, a missing toolchain makes the test fail, telling you to run
    ``.ci/install-toolchains``. A cross test names its target(s) with the ``target`` or
    ``targets`` argument of the parametrization, or with ``@pytest.mark.cross("aarch64", ...)``.

``c_library``
    Session fixture: ``c_library("records")`` builds ``tests/c/records.c`` into a host shared
    library (cached, see ``tests/cbuild.py``) and returns its path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
C_DIR = TESTS_DIR / "c"

# Make ``import cbuild`` / ``import layoutgen`` work however pytest is invoked, and make the
# package importable from a checkout.
for _path in (str(TESTS_DIR),):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import cbuild  # noqa: E402

INSTALL_HINT = "run .ci/install-toolchains to install the cross toolchains"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cross",
        action="store_true",
        default=False,
        help="also run tests marked 'cross' (need qemu-user and cross compilers; "
        "see .ci/install-toolchains)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cross(*targets): needs cross toolchains; deselected unless --cross is given",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--cross"):
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        (deselected if item.get_closest_marker("cross") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _cross_targets(item: pytest.Item) -> list[str]:
    """The toolchain targets a cross test needs."""
    targets: list[str] = []
    marker = item.get_closest_marker("cross")
    if marker is not None:
        targets.extend(str(a) for a in marker.args)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        params = callspec.params
        if isinstance(params.get("target"), str):
            targets.append(params["target"])
        if isinstance(params.get("targets"), (list, tuple)):
            targets.extend(str(t) for t in params["targets"])
    return [t for t in targets if t in cbuild.TARGETS]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # In the call phase (not setup), so a missing toolchain is reported as a FAILED test.
    if item.get_closest_marker("cross") is None:
        return
    missing = [t for t in _cross_targets(item) if not cbuild.toolchain_available(t)]
    if missing:
        pytest.fail(
            f"toolchain for {', '.join(missing)} is not installed; {INSTALL_HINT}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def c_library() -> Callable[[str], Path]:
    """Return ``build(name) -> Path``: the host shared library built from ``tests/c/<name>.c``.

    Builds happen on demand and are cached on disk (``cbuild.build_shared``) and per session.
    """
    built: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in built:
            source = C_DIR / f"{name}.c"
            if not source.is_file():
                available = sorted(p.stem for p in C_DIR.glob("*.c")) if C_DIR.is_dir() else []
                raise FileNotFoundError(
                    f"no C source {source}; available libraries: {available or 'none'}"
                )
            built[name] = cbuild.build_shared([source], "host")
        return built[name]

    return build
