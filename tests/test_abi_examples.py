"""The examples of issue 12 (``abi_examples.py``, ``c/abi_issue12.c``) on the host.

The same checks run on i386, aarch64, armhf and riscv64 in ``test_abi_differential_cross.py``
(``test_examples_cross``). Each runs in a forked child: a wrong placement may crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import abi_examples
import abigen
import pytest
from test_abi_differential import run_forked


@pytest.mark.parametrize("name", list(abi_examples.EXAMPLES))
def test_example(name: str, c_library: Callable[[str], Path]) -> None:
    path = c_library("abi_issue12")

    def check() -> str:
        import koffi_typed as koffi

        abi_examples.EXAMPLES[name](koffi.load(str(path)), koffi, abigen.CHAR_SIGNED["host"])
        return "passed"

    status, text = run_forked(check)
    assert (status, text) == ("ok", "passed"), text
