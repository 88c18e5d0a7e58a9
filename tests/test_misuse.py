"""Records, arrays and memory utilities misused: every wrong value, size or kind raises a
TypeError, ValueError or OverflowError naming the parameter or member, before C sees it.

Each test enumerates (or generates) a whole family: pointee types against buffer kinds,
sizes and placements (parameter, ``_Out_``, ``_Inout_``, record member). Cases that would
let C overrun memory run in a forked child, so one overrun is one failure. Calls go to
tests/c/misuse.c.
"""

from __future__ import annotations

import array
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("misuse"))


def _forked(fn: Callable[[], str]) -> str:
    """``fn()`` run in a forked child: what it returned, 'raised <type>: <message>', or
    'crash <status>'."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(rfd)
        try:
            out = fn()
        except BaseException as exc:
            out = f"raised {type(exc).__name__}: {exc}"
        with os.fdopen(wfd, "w") as w:
            w.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    return data if data else f"crash {status}"


# ------------------------------------------------------- buffers shorter than one pointee

koffi.struct("MPoint", {"x": "int32_t", "y": "double"})
koffi.pack("MPacked", {"tag": "uint8_t", "size": "uint32_t", "v": "int16_t [3]"})
koffi.union("MUnion", {"i": "int64_t", "d": "double"})

POINTEES = ["int16_t", "int32_t", "int64_t", "double", "float", "MPoint", "MPacked", "MUnion"]

WRITABLE: dict[str, Callable[[int], Any]] = {
    "bytearray": lambda n: bytearray(n),
    "memoryview(bytearray)": lambda n: memoryview(bytearray(n)),
    "array('B')": lambda n: array.array("B", bytes(n)),
    "memoryview(bytearray)[1:]": lambda n: memoryview(bytearray(n + 1))[1:],
}
READ_ONLY: dict[str, Callable[[int], Any]] = {
    "bytes": lambda n: bytes(n),
    "memoryview(bytes)": lambda n: memoryview(bytes(n)),
}
PLACEMENTS = ["const", "plain", "_Out_", "_Inout_", "member", "const member"]


def _nbytes(buf: Any) -> int:
    return memoryview(buf).nbytes


def _short_buffer_outcomes(lib: koffi.Library, pointee: str, placement: str) -> str:
    """For every buffer kind and every size below and at one pointee: 'refused' when the
    call (or conversion) raised a ValueError naming the parameter or member, 'passed <sum>'
    when C read or wrote the whole pointee; one line per case."""
    size = koffi.sizeof(pointee)
    kinds = dict(WRITABLE)
    if placement.startswith("const"):
        kinds.update(READ_ONLY)
    holder = koffi.struct(f"MHolder_{pointee}", {"n": "int32_t", "p": f"{pointee} *"})
    lines = []
    for kind, make in kinds.items():
        for n in (1, size - 1, size, size + 3):
            if n <= 0:
                continue
            buf = make(n)
            try:
                if placement == "const":
                    got = lib.func(f"long long SumBytes(const {pointee} *p, size_t size)")(
                        buf, size)
                elif placement == "member":
                    lib.func(f"void HolderFill(MHolder_{pointee} *h, size_t size)")(
                        holder(n=1, p=buf), size)
                    got = sum(bytes(memoryview(buf).cast("B"))[:size])
                elif placement == "const member":
                    got = lib.func(f"long long HolderSum(const MHolder_{pointee} *h, "
                                   "size_t size)")(holder(n=1, p=buf), size)
                else:
                    marker = "" if placement == "plain" else placement + " "
                    lib.func(f"void FillBytes({marker}{pointee} *p, size_t size)")(buf, size)
                    got = sum(bytes(memoryview(buf).cast("B"))[:size])
                outcome = f"passed {got}"
            except ValueError as exc:
                named = "argument 'p'" in str(exc) or "argument 'h'" in str(exc)
                outcome = "refused" if named and "p" in str(exc) else f"unnamed: {exc}"
            lines.append(f"{kind} {n}: {outcome}")
    return "\n".join(lines)


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("pointee", POINTEES)
def test_buffers_shorter_than_one_pointee_are_refused(lib: koffi.Library, pointee: str,
                                                      placement: str) -> None:
    size = koffi.sizeof(pointee)
    got = _forked(lambda: _short_buffer_outcomes(lib, pointee, placement))
    kinds = dict(WRITABLE)
    if placement.startswith("const"):
        kinds.update(READ_ONLY)
    expected = []
    full = 0 if placement.startswith("const") else 0x5A * size
    for kind in kinds:
        for n in (1, size - 1, size, size + 3):
            if n > 0:
                expected.append(f"{kind} {n}: " + ("refused" if n < size else f"passed {full}"))
    assert got.splitlines() == expected, got
