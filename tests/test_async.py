"""Asynchronous calls: ``f.async_()`` (a `concurrent.futures.Future`) and ``await f.acall()``
against tests/c/callbacks.c (in the spirit of Koffi's async.js).

Results are computed by C; ``SleepAndCount`` counts how many calls run at once in C, which
shows the GIL is released and ``max_async_calls`` is respected. Settings and
``koffi.reset()`` are per process, so the tests that change them run in a subprocess. Type
names start with ``CbAsync``: record and prototype names are global per process.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c

REPO = Path(__file__).resolve().parent.parent


@koffi.struct
class CbAsyncPair:
    key: c.int
    value: c.double


AsyncUnary = koffi.proto("int CbAsyncUnary(int x)")

CONCAT = ("int64_t ConcatenateToInt(int8_t a, int8_t b, int8_t c, int8_t d, int8_t e, "
          "int8_t f, int8_t g, int8_t h, int8_t i, int8_t j, int8_t k, int8_t l)")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("callbacks"))


def digits_of(n: int) -> list[int]:
    """Twelve decimal digits of ``n`` (zero-padded)."""
    return [int(ch) for ch in f"{n:012d}"]


def run_script(script: str, timeout: float = 60) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# ----------------------------------------------------------------------------- futures


def test_async_returns_a_future_with_the_result(lib: Any) -> None:
    concat = lib.func(CONCAT)
    fut = concat.async_(5, 6, 1, 2, 3, 9, 4, 4, 0, 6, 8, 7)
    assert isinstance(fut, Future)
    assert fut.result(timeout=10) == 561239440687
    assert concat.async_(*range(1, 10), 0, 1, 2).result(timeout=10) == 123456789012


def test_async_with_an_out_record(lib: Any) -> None:
    make = lib.func("double MakeAsyncPair(int key, double value, _Out_ CbAsyncPair *out)")
    out = CbAsyncPair()
    fut = make.async_(21, 5.0, out)
    assert fut.result(timeout=10) == 26.0
    assert out == CbAsyncPair(key=42, value=2.5)


def test_acall_from_asyncio(lib: Any) -> None:
    concat = lib.func(CONCAT)
    sleep = lib.func("int SleepAndCount(int ms, int value)")

    async def main() -> tuple[int, int]:
        a = await concat.acall(*digits_of(987654321012))
        b = await sleep.acall(5, 21)
        return a, b

    assert asyncio.run(main()) == (987654321012, 42)


def test_200_concurrent_calls_from_asyncio(lib: Any) -> None:
    concat = lib.func(CONCAT)
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    numbers = [i * 7919 + 13 for i in range(200)]

    async def main() -> tuple[list[int], list[int]]:
        first = asyncio.gather(*(concat.acall(*digits_of(n)) for n in numbers))
        second = asyncio.gather(*(sleep.acall(1, i) for i in range(200)))
        return list(await first), list(await second)

    concats, sleeps = asyncio.run(main())
    assert concats == numbers
    assert sleeps == [2 * i for i in range(200)]


def test_200_concurrent_calls_from_a_thread_pool(lib: Any) -> None:
    concat = lib.func(CONCAT)
    numbers = [i * 104729 + 1 for i in range(200)]

    def work(n: int) -> tuple[int, int]:
        sync = concat(*digits_of(n))
        through_future = concat.async_(*digits_of(n + 1)).result(timeout=30)
        return sync, through_future

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, numbers))
    assert results == [(n, n + 1) for n in numbers]


def test_sync_calls_while_async_calls_run(lib: Any) -> None:
    concat = lib.func(CONCAT)
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    futures = [sleep.async_(20, i) for i in range(16)]
    for n in range(100):
        assert concat(*digits_of(n * 31)) == n * 31
    assert [f.result(timeout=30) for f in futures] == [2 * i for i in range(16)]


def test_async_calls_run_in_parallel_without_the_gil(lib: Any) -> None:
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    lib.func("void ResetConcurrency(void)")()
    assert koffi.config()["max_async_calls"] >= 4
    futures = [sleep.async_(50, i) for i in range(8)]
    assert [f.result(timeout=30) for f in futures] == [2 * i for i in range(8)]
    assert lib.func("int GetMaxConcurrency(void)")() >= 2
    assert lib.func("int GetRunning(void)")() == 0


# ----------------------------------------------------------------------------- errno


def test_errno_is_captured_per_call(lib: Any) -> None:
    set_errno = lib.func("int SetErrnoAfter(int value, int ms)")
    koffi.errno(0)
    fut = set_errno.async_(errno.EACCES, 0)
    assert fut.result(timeout=10) == -1
    assert fut.errno == errno.EACCES  # type: ignore[attr-defined]
    assert koffi.errno() == 0  # the main thread's errno is untouched


def test_errno_of_concurrent_calls(lib: Any) -> None:
    set_errno = lib.func("int SetErrnoAfter(int value, int ms)")
    codes = [errno.ENOENT, errno.EACCES, errno.EINTR, errno.ERANGE, errno.EAGAIN,
             errno.ENOMEM, errno.EBADF, errno.EEXIST] * 3
    koffi.errno(errno.EPERM)
    futures = [set_errno.async_(code, 5 * (len(codes) - i) % 17) for i, code in
               enumerate(codes)]
    assert all(f.result(timeout=30) == -1 for f in futures)
    assert [f.errno for f in futures] == codes  # type: ignore[attr-defined]
    assert koffi.errno() == errno.EPERM
    assert set_errno(errno.EDOM, 0) == -1 and koffi.errno() == errno.EDOM


# ----------------------------------------------------------------------------- callbacks


def test_callbacks_from_a_c_thread_during_an_async_call(lib: Any) -> None:
    threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
    count = [0]

    def cb(i: int) -> int:
        count[0] += 1
        return i * 3

    fut = threaded.async_(cb, 1000)
    assert fut.result(timeout=30) == 3 * sum(range(1000))
    assert count[0] == 1000


def test_registered_callback_in_concurrent_async_calls(lib: Any) -> None:
    threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
    lock = threading.Lock()
    seen = [0]

    def cb(i: int) -> int:
        with lock:
            seen[0] += 1
        return 1

    ptr = koffi.register(cb, "CbAsyncUnary *")
    try:
        futures = [threaded.async_(ptr, 250) for _ in range(4)]
        futures += [threaded.async_(lambda i: i, 100) for _ in range(4)]
        assert [f.result(timeout=30) for f in futures] == [250] * 4 + [sum(range(100))] * 4
        assert seen[0] == 1000
    finally:
        koffi.unregister(ptr)


def test_simple_callback_in_async_call(lib: Any) -> None:
    call = lib.func("int CallSimple(CbAsyncUnary *cb, int x)")
    threads: list[int] = []

    def cb(x: int) -> int:
        threads.append(threading.get_ident())
        return x + 1

    assert call.async_(cb, 41).result(timeout=10) == 42

    async def run() -> int:
        return int(await call.acall(cb, 99))

    assert asyncio.run(run()) == 100
    assert len(threads) == 2


def test_concurrent_async_calls_with_their_own_transient_callbacks(lib: Any) -> None:
    call = lib.func("int CallSimple(CbAsyncUnary *cb, int x)")
    threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
    simple = [call.async_(lambda x, k=k: x + k, 1000) for k in range(300)]
    threads = [threaded.async_(lambda i, k=k: k, 100) for k in range(40)]
    assert [f.result(timeout=30) for f in simple] == [1000 + k for k in range(300)]
    assert [f.result(timeout=30) for f in threads] == [100 * k for k in range(40)]


def test_exception_in_a_c_thread_callback_during_an_async_call(lib: Any) -> None:
    threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
    err = ValueError("thread boom")

    def cb(i: int) -> int:
        if i == 3:
            raise err
        return 0

    with pytest.raises(ValueError) as exc:
        threaded.async_(cb, 10).result(timeout=30)
    assert exc.value is err


def test_thread_callback_exception_is_not_raised_by_other_async_calls(lib: Any) -> None:
    """Only the future of the call whose callback raised gets the exception."""
    threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    err = ArithmeticError("thread boom")

    def cb(i: int) -> int:
        if i == 500:
            raise err
        return 1

    wrong: list[BaseException] = []
    outcomes: list[str] = []
    for _ in range(30):
        failing = threaded.async_(cb, 1000)
        while not failing.done():  # other calls keep finishing while it runs
            others = [sleep.async_(0, i) for i in range(8)]
            for i, fut in enumerate(others):
                try:
                    assert fut.result(timeout=30) == 2 * i
                except ArithmeticError as exc:
                    wrong.append(exc)
        try:
            failing.result(timeout=30)
        except ArithmeticError as exc:
            outcomes.append("raised" if exc is err else repr(exc))
        else:
            outcomes.append("returned")
    assert wrong == []
    assert outcomes == ["raised"] * 30


def test_callback_of_an_async_call_calls_c(lib: Any) -> None:
    twice = lib.func("int ApplyTwice(CbAsyncUnary *f, int x)")
    triple = lib.func("int Triple(int x)")
    futures = [twice.async_(lambda v: triple(v) + 1, x) for x in range(20)]
    assert [f.result(timeout=30) for f in futures] == [9 * x + 5 for x in range(20)]


def test_exception_in_a_callback_propagates_through_the_future(lib: Any) -> None:
    call = lib.func("int CallSimple(CbAsyncUnary *cb, int x)")
    err = ValueError("async boom")

    def failing(x: int) -> int:
        raise err

    fut = call.async_(failing, 1)
    with pytest.raises(ValueError) as exc:
        fut.result(timeout=10)
    assert exc.value is err
    assert "failing" in [f.name for f in traceback.extract_tb(err.__traceback__)]
    assert lib.func("int GetLastResult(void)")() == 0

    async def run() -> None:
        await call.acall(failing, 2)

    with pytest.raises(ValueError) as exc2:
        asyncio.run(run())
    assert exc2.value is err


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("bad", ["5", None, 1.5, 2**40])
def test_bad_argument_error_through_the_future(lib: Any, bad: object) -> None:
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    with pytest.raises((TypeError, OverflowError)) as sync_exc:
        sleep(0, bad)
    fut = sleep.async_(0, bad)
    with pytest.raises(type(sync_exc.value)) as async_exc:
        fut.result(timeout=10)
    assert str(async_exc.value) == str(sync_exc.value)
    assert "SleepAndCount()" in str(async_exc.value)


def test_bad_argument_error_through_acall(lib: Any) -> None:
    sleep = lib.func("int SleepAndCount(int ms, int value)")

    async def run() -> None:
        await sleep.acall(0, "x")

    with pytest.raises(TypeError, match=r"SleepAndCount\(\)"):
        asyncio.run(run())


def test_wrong_argument_count_through_async(lib: Any) -> None:
    sleep = lib.func("int SleepAndCount(int ms, int value)")
    error: BaseException | None = None
    try:
        fut = sleep.async_(1)
    except TypeError as exc:  # raising at once is fine too
        error = exc
    else:
        with pytest.raises(TypeError) as exc_info:
            fut.result(timeout=10)
        error = exc_info.value
    assert "SleepAndCount() missing 1 required positional argument: 'value'" in str(error)


# ----------------------------------------------------------------------------- subprocesses


def test_max_async_calls_is_respected(c_library: Callable[[str], Path]) -> None:
    script = f"""
import koffi_typed as koffi
koffi.config({{"max_async_calls": 4}})
assert koffi.config()["max_async_calls"] == 4
lib = koffi.load({str(c_library("callbacks"))!r})
sleep = lib.func("int SleepAndCount(int ms, int value)")
futures = [sleep.async_(10, i) for i in range(50)]
results = [f.result(timeout=60) for f in futures]
assert results == [2 * i for i in range(50)], results
peak = lib.func("int GetMaxConcurrency(void)")()
assert 2 <= peak <= 4, peak
assert lib.func("int GetRunning(void)")() == 0
print("peak", peak)
"""
    out = run_script(script)
    assert out.startswith("peak ")


def test_reset_waits_for_pending_async_calls(c_library: Callable[[str], Path]) -> None:
    script = f"""
import time
import koffi_typed as koffi
path = {str(c_library("callbacks"))!r}
lib = koffi.load(path)
koffi.proto("int CbAsyncUnary(int x)")
sleep = lib.func("int SleepAndCount(int ms, int value)")
threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
def slow(i):
    time.sleep(0.0005)
    return 1
registered = koffi.register(lambda x: x, "CbAsyncUnary *")
assert koffi.stats()["callbacks"] == 1
futures = [sleep.async_(100, i) for i in range(8)]
pending = threaded.async_(slow, 100)
koffi.reset()
assert koffi.stats()["callbacks"] == 0, koffi.stats()
assert all(f.done() for f in [*futures, pending]), [f.done() for f in futures]
assert [f.result(timeout=0) for f in futures] == [2 * i for i in range(8)]
assert pending.result(timeout=30) == 100
lib = koffi.load(path)
assert lib.func("int GetRunning(void)")() == 0
koffi.proto("int CbAsyncUnary(int x)")
threaded = lib.func("int CallThreaded(CbAsyncUnary *cb, int n)")
assert threaded.async_(lambda i: 2, 10).result(timeout=30) == 20
print("ok")
"""
    assert run_script(script).strip() == "ok"
