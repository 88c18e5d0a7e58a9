"""``release_gil``: calls release the GIL by default; ``release_gil=False`` keeps it."""

from __future__ import annotations

import itertools
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


def _longest_pause(call: Callable[[], object]) -> float:
    """The longest time, in seconds, another Python thread could not run while ``call`` ran.

    Counting the other thread's loops is timing-sensitive: the interpreter may switch
    threads in the Python code just before or after the C call. The longest gap
    between two of its loops is not: a C call that keeps the GIL for 300 ms leaves a
    gap of at least 300 ms, one that releases it leaves none.
    """
    stamps: list[float] = []
    stop = threading.Event()
    started = threading.Event()

    def spin() -> None:
        started.set()
        while not stop.is_set():
            stamps.append(time.monotonic())
            time.sleep(0)

    thread = threading.Thread(target=spin)
    thread.start()
    started.wait()
    time.sleep(0.05)
    begin = time.monotonic()
    call()
    end = time.monotonic()
    stop.set()
    thread.join()
    inside = [begin] + [t for t in stamps if begin < t < end] + [end]
    return max(b - a for a, b in itertools.pairwise(inside))


def test_calls_release_the_gil_by_default(lib: koffi.Library) -> None:
    slow = lib.func("int SleepThenAdd(int ms, int a, int b)")
    assert _longest_pause(lambda: slow(300, 1, 2)) < 0.15


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
    assert _longest_pause(lambda: results.append(slow(300, 1, 2))) >= 0.29
    assert results == [3]
    assert slow(0, 2, 3) == 5
    with pytest.raises(OverflowError, match=r"SleepThenAdd\(\): argument"):
        slow(0, 2**40, 1)


def test_release_gil_false_keeps_errno(lib: koffi.Library) -> None:
    libc = koffi.load(None)
    close = libc.func("int close(int fd)", release_gil=False)
    assert close(-1) == -1
    assert koffi.errno() == koffi.os.errno.EBADF
