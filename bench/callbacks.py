"""Cost of one C→Python callback: the qsort comparator, koffi_typed against plain ctypes;
record-returning callbacks next to a scalar one; register/unregister pairs.

    python bench/callbacks.py

Sorts the same 1000 shuffled ints with libc qsort and a Python comparator, through
koffi_typed (a ``QCmp *`` parameter, ``koffi.decode`` of both pointers) and through a plain
ctypes ``CFUNCTYPE`` (``a[0]`` on ``POINTER(c_int)``), interleaved, and divides by the number
of comparator calls glibc makes. Then C (bench/bench.c) calls a callback 20000 times:
``double f(double)`` (a ctypes thunk), ``Vec2 f(Vec2, void *)`` (two doubles in and out, a
libffi closure) and ``Big3 f(int)`` (a 24-byte record returned through the hidden pointer).
Last, 20000 ``register``/``unregister`` pairs: time per pair and memory growth.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import koffi_typed as koffi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import build_library


def main() -> None:
    libc_k = koffi.load(ctypes.util.find_library("c"))
    koffi.proto("int QCmp(const void *a, const void *b)")
    qsort_k = libc_k.func("void qsort(_Inout_ void *base, size_t n, size_t size, QCmp *cmp)")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                ctypes.POINTER(ctypes.c_int))
    libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, cmp_type]
    libc.qsort.restype = None
    random.seed(1)
    data = list(range(1000))
    random.shuffle(data)
    count = [0]

    def koffi_cmp(a: Any, b: Any) -> int:
        x, y = koffi.decode(a, "int"), koffi.decode(b, "int")
        return (x > y) - (x < y)

    def ctypes_cmp(a: Any, b: Any) -> int:
        x, y = a[0], b[0]
        return (x > y) - (x < y)

    def counting(a: Any, b: Any) -> int:
        count[0] += 1
        return ctypes_cmp(a, b)

    ctypes_callback, counting_callback = cmp_type(ctypes_cmp), cmp_type(counting)
    libc.qsort((ctypes.c_int * 1000)(*data), 1000, 4, counting_callback)
    calls = count[0]
    times_k: list[float] = []
    times_c: list[float] = []
    for _ in range(9):
        start = time.perf_counter()
        qsort_k(array.array("i", data), 1000, 4, koffi_cmp)
        times_k.append(time.perf_counter() - start)
        start = time.perf_counter()
        libc.qsort((ctypes.c_int * 1000)(*data), 1000, 4, ctypes_callback)
        times_c.append(time.perf_counter() - start)
    k, c = statistics.median(times_k), statistics.median(times_c)
    print(f"qsort of 1000 shuffled ints: {calls} comparator calls, median of 9 sorts")
    print(f"koffi_typed:      {k * 1e3:6.2f} ms per sort = {k / calls * 1e9:5.0f} ns per call")
    print(f"ctypes CFUNCTYPE: {c * 1e3:6.2f} ms per sort = {c / calls * 1e9:5.0f} ns per call")
    print(f"ratio {k / c:.2f}")
    records()
    registrations()


def _per_call(fn: Any, n: int) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / n


def records() -> None:
    lib = koffi.load(str(build_library()))
    koffi.struct("BVec2", {"x": "double", "y": "double"})
    koffi.struct("BBig3", {"a": "int64_t", "b": "int64_t", "c": "int64_t"})
    scalar = lib.func("double call_scalar_n(double (*f)(double), int n)")
    vec2 = lib.func("double call_vec2_n(BVec2 (*f)(BVec2, void *), int n)")
    big3 = lib.func("int64_t call_big3_n(BBig3 (*f)(int), int n)")
    Vec2 = koffi.type("BVec2").python_class
    Big3 = koffi.type("BBig3").python_class
    assert Vec2 is not None and Big3 is not None
    n = 20000
    rows = [
        ("double f(double)               ", lambda k: scalar(lambda x: x, k)),
        ("Vec2 f(Vec2, void *) -> instance", lambda k: vec2(lambda v, _: v, k)),
        ("Vec2 f(Vec2, void *) -> new Vec2", lambda k: vec2(lambda v, _: Vec2(x=v.y, y=v.x), k)),
        ("Vec2 f(Vec2, void *) -> dict    ", lambda k: vec2(lambda v, _: {"x": 1.0, "y": 2.0},
                                                            k)),
        ("Big3 f(int) (hidden pointer)   ", lambda k: big3(lambda i: Big3(a=i, b=1, c=2), k)),
    ]
    print(f"\nC calls a Python callback {n} times (median of 5 runs):")
    for label, fn in rows:
        print(f"  {label}  {_per_call(fn, n) * 1e9:6.0f} ns per call")


def registrations() -> None:
    n = 20000
    for _ in range(100):
        koffi.unregister(koffi.register(lambda x: x, "QCmp *"))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    for _ in range(n):
        koffi.unregister(koffi.register(lambda a, b: 0, "QCmp *"))
    elapsed = time.perf_counter() - start
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"\n{n} register/unregister pairs: {elapsed / n * 1e6:.1f} us per pair, "
          f"{grown / n:.1f} bytes per pair kept")


if __name__ == "__main__":
    main()
