"""Cost of one C→Python callback: the qsort comparator, koffi_typed against plain ctypes.

    python bench/callbacks.py

Sorts the same 1000 shuffled ints with libc qsort and a Python comparator, through
koffi_typed (a ``QCmp *`` parameter, ``koffi.decode`` of both pointers) and through a plain
ctypes ``CFUNCTYPE`` (``a[0]`` on ``POINTER(c_int)``), interleaved, and divides by the number
of comparator calls glibc makes.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import random
import statistics
import time
from typing import Any

import koffi_typed as koffi


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


if __name__ == "__main__":
    main()
