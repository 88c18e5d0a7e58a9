"""The examples of issue 12, one check each, against ``tests/c/abi_issue12.c``.

Shared by the host test (``test_abi_examples.py``) and the cross-architecture runs
(``abi_cross_driver.py`` runs them under each foreign Python, see
``test_abi_differential_cross.py``), so each example runs natively on x86-64 and i386 and
under qemu for aarch64, armhf and riscv64. Only the standard library and koffi_typed are
imported. Each check declares what it needs (call it in a fresh child process: record names
are defined once per process) and raises ``AssertionError`` on a wrong value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any, Any, bool], None]
EXAMPLES: dict[str, Check] = {}


def example(fn: Check) -> Check:
    EXAMPLES[fn.__name__] = fn
    return fn


def _equal(what: str, got: object, expected: object) -> None:
    assert got == expected, f"{what}: got {got!r}, expected {expected!r}"


@example
def array_hfa_h3(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``struct { double a; double b[2]; }`` (an HFA of 3 doubles) by value and returned."""
    koffi.struct("H3", {"a": "double", "b": "double [2]"})
    _equal("h3_sum", lib.func("double h3_sum(H3 h)")({"a": 1.5, "b": [2.25, -3.5]}),
           1.5 + 22.5 - 350)
    h = lib.func("H3 h3_make(double a, double b0, double b1)")(0.5, 8.0, -1.25)
    _equal("h3_make", (h.a, list(h.b)), (0.5, [8.0, -1.25]))


@example
def array_hfa_h4(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``struct { double m0; double m1[3]; }`` (32 bytes, an HFA of 4 doubles)."""
    koffi.struct("H4", {"m0": "double", "m1": "double [3]"})
    _equal("h4_sum", lib.func("double h4_sum(H4 h)")({"m0": 1.0, "m1": [2.0, 3.0, 4.0]}),
           1.0 + 20 + 300 + 4000)
    h = lib.func("H4 h4_make(double m0, double a, double b, double c)")(9.0, 8.5, 7.0, -6.0)
    _equal("h4_make", (h.m0, list(h.m1)), (9.0, [8.5, 7.0, -6.0]))


@example
def array_hfa_ninth_float(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``struct { float v[3]; }`` after eight doubles: on the stack, then one more double."""
    koffi.struct("F3", {"v": "float [3]"})
    f = lib.func("double f3_late(double d0, double d1, double d2, double d3, double d4, "
                 "double d5, double d6, double d7, F3 f, double after)")
    _equal("f3_late", f(*[float(i) for i in range(8)], {"v": [0.5, 1.5, 2.5]}, 3.0),
           28 + 5 + 150 + 2500 + 30000)


@example
def packed_hfa_on_stack(lib: Any, koffi: Any, char_signed: bool) -> None:
    """Seven doubles, then ``struct __attribute__((packed)) { double m[2]; }``."""
    koffi.pack("PD2", {"m": "double [2]"})
    f = lib.func("double pd2_late(double d0, double d1, double d2, double d3, double d4, "
                 "double d5, double d6, PD2 p, double after)")
    _equal("pd2_late", f(*[1.0] * 7, {"m": [2.5, -4.0]}, 0.25), 7 + 25 - 400 + 250)
    p = lib.func("PD2 pd2_make(double a, double b)")(6.5, -0.5)
    _equal("pd2_make", list(p.m), [6.5, -0.5])


@example
def union_hfa_on_stack(lib: Any, koffi: Any, char_signed: bool) -> None:
    """Seven doubles, then ``union { float f; float g[2]; }`` (an HFA of 2 floats)."""
    koffi.union("UF2", {"f": "float", "g": "float [2]"})
    f = lib.func("double uf2_late(double d0, double d1, double d2, double d3, double d4, "
                 "double d5, double d6, UF2 u, float after)")
    _equal("uf2_late", f(*[2.0] * 7, {"g": [1.5, 3.0]}, 0.5), 14 + 15 + 300 + 500)


@example
def packed_memory_then_stack(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``struct __attribute__((packed)) P12 { float f; double d; }`` then seven longs
    (System V x86-64: MEMORY class, followed by a stack argument)."""
    koffi.pack("P12", {"f": "float", "d": "double"})
    f = lib.func("double p12(P12 p, long a, long b, long c, long d, long e, long g, long h)")
    _equal("p12", f({"f": 0.5, "d": 2.25}, 1, 2, 3, 4, 5, 6, 7),
           0.5 + 22.5 + 100 + 2000 + 30000 + 400000 + 5000000 + 60000000 + 700000000)
    p = lib.func("P12 p12_make(float f, double d)")(-1.5, 1e10)
    _equal("p12_make", (p.f, p.d), (-1.5, 1e10))


@example
def pragma_pack_then_stack(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``#pragma pack(1)`` 11-byte record, then seven 64-bit integers."""
    koffi.pack("PP11", {"c": "char", "v": "int64_t", "s": "short"})
    f = lib.func("int64_t pp11(PP11 p, int64_t a, int64_t b, int64_t c, int64_t d, "
                 "int64_t e, int64_t f, int64_t g)")
    args = [10**9 + i for i in range(7)]
    weights = [7, 11, 13, 17, 19, 23, 29]
    _equal("pp11", f({"c": 5, "v": -(2**40), "s": -300}, *args),
           5 - 3 * 2**40 - 1500 + sum(a * w for a, w in zip(args, weights)))


@example
def aligned_memory_records(lib: Any, koffi: Any, char_signed: bool) -> None:
    """A packed 5-byte record, then a 16-aligned 16-byte one with a misaligned member (a
    stack gap between them on x86-64), among register and stack integers."""
    koffi.struct("A16", {"c": (16, "char"), "d": (1, "double")})
    koffi.pack("P5", {"c": "char", "i": "int"})
    a, p = {"c": 3, "d": 2.5}, {"c": 5, "i": 9}
    f = lib.func("double a16(P5 p, A16 a, long r)")
    _equal("a16", f(p, a, 10), 35 + 99 + 30 + 250 + 130)
    g = lib.func("double a16_late(long x, A16 a, long y, long z, long w, long v, long u, "
                 "long t, long s, P5 p, long r)")
    _equal("a16_late", g(1, a, 2, 3, 4, 5, 6, 7, 8, p, 10),
           1 + 30 + 250 + 2000 + 3 + 4 + 5 + 6 + 14 + 24 + 35 + 99 + 130)


@example
def char_follows_target(lib: Any, koffi: Any, char_signed: bool) -> None:
    """Plain ``char`` arguments and results over the target's whole range."""
    lo, hi = (-128, 127) if char_signed else (0, 255)
    echo = lib.func("char char_echo(char c)")
    value = lib.func("int char_value(char c)")
    from_int = lib.func("char char_from(int v)")
    for v in range(lo, hi + 1):
        _equal(f"char_echo({v})", echo(v), v)
        _equal(f"char_value({v})", value(v), v)
    for v in range(-128, 256):
        expected = v - 256 if char_signed and v >= 128 else v + 256 if v < 0 and not \
            char_signed else v
        _equal(f"char_from({v})", from_int(v), expected)
    for bad in (lo - 1, hi + 1):
        try:
            echo(bad)
        except OverflowError:
            continue
        raise AssertionError(f"char_echo({bad}) was accepted")


def _big(seed: int) -> list[int]:
    return [(seed * 7 + i) & 0xFF for i in range(32)]


def _big_sum(b: list[int], k: int) -> int:
    return b[k % 32] + 3 * b[31 - k % 32]


@example
def many_large_records(lib: Any, koffi: Any, char_signed: bool) -> None:
    """Nine and sixteen ``struct { unsigned char b[32]; }`` by value in one call."""
    koffi.struct("big", {"b": koffi.array("uint8_t", 32, "Array")})
    values = [_big(i + 1) for i in range(16)]
    made = lib.func("big big_make(int seed)")(3)
    _equal("big_make", list(made.b), _big(3))
    args = [{"b": v} for v in values]
    names = ", ".join(f"big s{i}" for i in range(9))
    f9 = lib.func(f"int f9({names})")
    expected9 = sum((k + 1) * _big_sum(values[k], k) for k in range(9))
    _equal("f9", f9(*args[:9]), expected9)
    names = ", ".join(f"big s{i}" for i in range(16))
    f16 = lib.func(f"int f16({names})")
    _equal("f16", f16(*args), expected9 + sum((k + 1) * _big_sum(values[k], k)
                                             for k in range(9, 16)))


@example
def int128(lib: Any, koffi: Any, char_signed: bool) -> None:
    """``__int128`` arguments and results in registers (an odd one skipped on aarch64) and
    on the stack; 32-bit targets refuse the type clearly."""
    if koffi.sizeof("void *") == 4:
        try:
            lib.func("int char_value(__int128 c)")
        except TypeError as exc:
            assert "128-bit" in str(exc), exc
            return
        raise AssertionError("a 32-bit target accepted __int128")
    mix = lib.func("__int128 i128_mix(int a, __int128 v, long b)")
    for v in (0, 1, -1, 2**100 + 12345, -(2**120) + 7, 2**124):
        _equal(f"i128_mix({v})", mix(5, v, 9), v * 3 + 5 - 9)
    echo = lib.func("unsigned __int128 u128_echo(long a, unsigned __int128 v)")
    _equal("u128_echo", echo(7, 2**128 - 8), 2**128 - 1)
    late = lib.func("__int128 i128_late(long a0, long a1, long a2, long a3, long a4, long a5, "
                    "long a6, __int128 v, long after)")
    v = -(2**127) + 2**64 + 3
    _equal("i128_late", late(1, 2, 3, 4, 5, 6, 7, v, 11),
           v - (1 + 4 + 9 + 16 + 25 + 36 + 49) + 11000)
    for bad in (2**127, -(2**127) - 1):
        try:
            mix(0, bad, 0)
        except OverflowError:
            continue
        raise AssertionError(f"i128_mix accepted {bad}")
