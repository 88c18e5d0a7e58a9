"""``release_gil``: calls release the GIL by default; ``release_gil=False`` keeps it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("safety"))


def _ticks_during(call: Callable[[], object]) -> int:
    """How many times another Python thread ran its loop while ``call`` ran."""
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(0.05)
    before = ticks
    call()
    during = ticks - before
    stop.set()
    thread.join()
    return during


def test_calls_release_the_gil_by_default(lib: koffi.Library) -> None:
    slow = lib.func("int SleepThenAdd(int ms, int a, int b)")
    assert _ticks_during(lambda: slow(300, 1, 2)) > 10


@pytest.mark.parametrize("form", ["func", "classic", "typed"])
def test_release_gil_false_keeps_it(lib: koffi.Library, form: str) -> None:
    if form == "func":
        slow = lib.func("int SleepThenAdd(int ms, int a, int b)", release_gil=False)
    elif form == "classic":
        slow = lib.func("SleepThenAdd", "int", ["int", "int", "int"], release_gil=False)
    else:
        @lib.function(release_gil=False)
        def SleepThenAdd(ms: c.int, a: c.int, b: c.int) -> c.int: ...
        slow = SleepThenAdd
    results: list[Any] = []
    assert _ticks_during(lambda: results.append(slow(300, 1, 2))) <= 1
    assert results == [3]
    assert slow(0, 2, 3) == 5
    with pytest.raises(OverflowError, match=r"SleepThenAdd\(\): argument"):
        slow(0, 2**40, 1)


def test_release_gil_false_keeps_errno(lib: koffi.Library) -> None:
    libc = koffi.load(None)
    close = libc.func("int close(int fd)", release_gil=False)
    assert close(-1) == -1
    assert koffi.errno() == koffi.os.errno.EBADF
