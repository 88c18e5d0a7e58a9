"""A small koffi_typed app that CI compiles with Nuitka (see .ci/nuitka and the README).

    python examples/nuitka_app/app.py path/to/libshapes.so

It uses the public API only: records by value (in and out), an ``_Out_`` record, a union by
value, records declared inside a function (string annotations naming local classes), a typed
declaration, a transient and a registered callback, an exception raised in a callback, and a
variadic call. The first two lines say whether the mypyc-compiled modules are loaded and where
the package was imported from; every other line is fixed (``expected.txt`` beside this file).
"""

from __future__ import annotations

import array
import sys
from types import SimpleNamespace

import koffi_typed as koffi
from koffi_typed import c


def declare(path: str) -> SimpleNamespace:
    """The app's bindings, declared inside a function as an app might."""
    lib = koffi.load(path)
    libc = koffi.load(None)

    @koffi.struct
    class Vec:
        x: c.int32
        y: c.double

    @koffi.struct
    class Segment:
        a: Vec                     # a string annotation naming a local class
        b: Vec

    @koffi.struct
    class Stats:
        count: c.int32
        min: c.double
        max: c.double
        mean: c.double

    @koffi.union
    class Num:
        i: c.int64 = 0
        d: c.double = 0.0

    @libc.function
    def abs(x: c.int) -> c.int: ...

    @lib.function
    def vec_scale(v: Vec, k: c.int32) -> Vec: ...  # typed, naming a local record

    koffi.proto("int Cmp(const void *a, const void *b)")
    koffi.proto("int32_t Step(int32_t x)")
    return SimpleNamespace(
        Vec=Vec, Segment=Segment, Stats=Stats, Num=Num, abs=abs, vec_scale=vec_scale,
        segment_dx=lib.func("double segment_dx(Segment s)"),
        stats=lib.func("int32_t stats(const double *values, int32_t n, _Out_ Stats *out)"),
        num_bits=lib.func("int64_t num_bits(Num n)"),
        apply_twice=lib.func("int32_t apply_twice(Step *fn, int32_t x)"),
        qsort=libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, Cmp *cmp)"),
        snprintf=libc.func("int snprintf(char *buf, size_t n, const char *fmt, ...)"),
    )


def compare(a: koffi.Pointer[None], b: koffi.Pointer[None]) -> int:
    x, y = koffi.decode(a, "int"), koffi.decode(b, "int")
    return (x > y) - (x < y)


def run(path: str) -> list[str]:
    """Call every feature once; one line of output each."""
    ns = declare(path)
    lines = [f"abs: {ns.abs(-7)}"]
    try:
        ns.abs(2**40)
    except OverflowError:
        lines.append("abs(2**40): OverflowError")
    lines.append(f"vec_scale: {ns.vec_scale(ns.Vec(3, 1.5), 4)}")
    segment = ns.Segment(ns.Vec(1, 0.5), ns.Vec(4, 2.0))
    lines.append(f"segment_dx: {ns.segment_dx(segment)}")
    out = ns.Stats()
    status = ns.stats([1.5, -2.0, 4.0, 0.5], 4, out)
    lines.append(f"stats: {status} {out}")
    lines.append(f"num_bits: {ns.num_bits(ns.Num(d=1.0)):#x}")
    data = array.array("i", [5, -3, 9, 0, 2])
    ns.qsort(data, len(data), data.itemsize, compare)
    lines.append(f"qsort: {data.tolist()}")

    def failing(a: koffi.Pointer[None], b: koffi.Pointer[None]) -> int:
        raise LookupError("from the comparator")

    try:
        ns.qsort(array.array("i", [2, 1]), 2, 4, failing)
    except LookupError as exc:
        lines.append(f"callback error: LookupError({exc})")
    step = koffi.register(lambda x: x * 3, "Step *")
    try:
        lines.append(f"apply_twice: {ns.apply_twice(step, 5)}")
    finally:
        koffi.unregister(step)
    buf = bytearray(64)
    n = ns.snprintf(buf, len(buf), "%d|%s|%.2f", "int", 42, "str", "forty-two", "double", 2.5)
    lines.append(f"snprintf: {n} {buf[:n].decode()}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} path/to/libshapes.so", file=sys.stderr)
        return 2
    print(f"koffi_typed.compiled: {koffi.compiled}")
    print(f"koffi_typed from: {koffi.__file__}")
    for line in run(argv[1]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
