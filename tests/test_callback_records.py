"""Callbacks with records by value (libffi closures), inline function-pointer types and
variadic prototypes, against tests/c/callbacks.c and libc (issue #13).

The full family of record shapes, per ABI, is in ``test_callback_differential.py``; these
tests pin the behaviours a user sees: results, registration, threads, exceptions, stats,
explain, the README examples, and the errors.
"""

from __future__ import annotations

import array
import ctypes
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c


@koffi.struct(name="CbVec2")
class Vec2:
    x: c.double
    y: c.double


@koffi.struct(name="CbBig")
class Big:
    a: c.int64
    b: c.int64
    c: c.int64


Transform = koffi.proto("CbVec2 CbTransform(CbVec2 v, void *user)")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("callbacks"))


@pytest.fixture(scope="module")
def libc() -> Iterator[Any]:
    yield koffi.load("libc.so.6")


def test_callback_returning_a_record(lib: Any) -> None:
    twice = lib.func("double TransformTwice(CbTransform *f, double x, double y, void *user)")
    seen: list[tuple[float, float]] = []

    def rotate(v: Vec2, user: Any) -> Vec2:
        seen.append((v.x, v.y))
        return Vec2(x=-v.y * 10, y=v.x)

    assert twice(rotate, 1.5, 2.0, None) == (-20.0 + 1.5) + (-15.0 - 2.0)
    assert seen == [(1.5, 2.0), (-2.0, 1.5)]
    # a dict (Koffi's form) works as a result too, and so does the same instance back
    assert twice(lambda v, u: {"x": v.x, "y": 0.0}, 3.0, 4.0, None) == 3.0 - 4.0
    assert twice(lambda v, u: v, 3.0, 4.0, None) == 3.0 + 4.0 - 4.0 + 3.0


def test_inline_prototype_with_a_record_result(lib: Any) -> None:
    make = lib.func("int64_t MakeBigs(CbBig (*make)(int i), int n)")
    assert make(lambda i: Big(a=i, b=2, c=3), 4) == sum(i * 100 + 23 for i in range(4))


def test_registered_record_callback(lib: Any) -> None:
    twice = lib.func("double TransformTwice(CbTransform *f, double x, double y, void *user)")
    before = koffi.stats()["callbacks"]
    ptr = koffi.register(lambda v, u: Vec2(x=v.x + 1, y=v.y + 1), "CbTransform *")
    try:
        assert koffi.stats()["callbacks"] == before + 1
        assert twice(ptr, 1.0, 2.0, None) == (2.0 + 3.0) + (-1.0 + 2.0)
        assert koffi.call(ptr, Transform, Vec2(x=5, y=6), None) == Vec2(x=6, y=7)
    finally:
        koffi.unregister(ptr)
    assert koffi.stats()["callbacks"] == before


@pytest.mark.parametrize("registered", [False, True])
def test_record_callback_from_a_c_thread(lib: Any, registered: bool) -> None:
    in_thread = lib.func("double TransformInThread(CbTransform *f)")

    def double_it(v: Vec2, user: Any) -> Vec2:
        return Vec2(x=v.x * 2, y=v.y * 2)

    target: Any = koffi.register(double_it, "CbTransform *") if registered else double_it
    try:
        assert in_thread(target) == sum(6 * i for i in range(10))
    finally:
        if registered:
            koffi.unregister(target)


def test_exception_in_a_record_callback(lib: Any) -> None:
    """C gets a zeroed record; the exception is raised once C returns; nothing leaks."""
    twice = lib.func("double TransformTwice(CbTransform *f, double x, double y, void *user)")
    make = lib.func("int64_t MakeBigs(CbBig (*make)(int i), int n)")
    before = koffi.stats()["callbacks"]
    calls: list[int] = []

    def fail_second(i: int) -> Big:
        calls.append(i)
        if i == 1:
            raise KeyError("boom")
        return Big(a=1, b=1, c=1)

    with pytest.raises(KeyError, match="boom"):
        make(fail_second, 3)
    assert calls == [0, 1, 2]  # C went on, with zeros for the failed call
    with pytest.raises(TypeError, match=r"CbTransform callback: return value.*CbVec2"):
        twice(lambda v, u: 42, 1.0, 2.0, None)
    with pytest.raises(OverflowError, match="return value"):
        make(lambda i: Big(a=2**70), 1)
    assert koffi.stats()["callbacks"] == before
    assert twice(lambda v, u: v, 1.0, 1.0, None) == 2.0  # and the next call is clean


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) < 8, reason="__int128 is 64-bit only")
@pytest.mark.parametrize("result", ["__int128", "unsigned __int128"])
def test_callbacks_with_128_bit_integers(lib: Any, result: str) -> None:
    """A callback takes and returns 128-bit integers as Python ints, range-checked against the
    result type; a bad result gives C a zero and raises once C returns (the whole family of
    placements is in test_callback_differential.py)."""
    name = "CbWide128" if result == "__int128" else "CbWideU128"
    koffi.proto(f"{result} {name}(__int128 v, int k)")
    call = lib.func(f"int CallWide({name} *f, int k, _Out_ long long *lo, _Out_ long long *hi)")
    lo, hi = [0], [0]
    got: list[int] = []

    def back(v: int, k: int) -> int:
        got.append(v)
        return v * -2 if result == "__int128" else 2**128 - 1 - k

    assert call(back, 3, lo, hi) == 3
    assert got == [(3 << 70) - 1]
    want = ((3 << 70) - 1) * -2 if result == "__int128" else 2**128 - 4
    assert ((hi[0] % 2**64) << 64) | (lo[0] % 2**64) == want % 2**128
    assert "libffi closure" in koffi.type(name).explain()
    before = koffi.stats()["callbacks"]
    bad = 2**127 if result == "__int128" else -1
    with pytest.raises(OverflowError, match=f"{name} callback: return value"):
        call(lambda v, k: bad, 1, lo, hi)
    with pytest.raises(TypeError, match=f"{name} callback: return value"):
        call(lambda v, k: 1.5, 1, lo, hi)
    pointer = koffi.register(back, f"{name} *")
    try:
        assert call(pointer, 5, lo, hi) == 5
    finally:
        koffi.unregister(pointer)
    assert koffi.stats()["callbacks"] == before
    assert call(back, 1, lo, hi) == 1  # and the next call is clean


def test_exception_in_a_record_callback_on_a_c_thread(lib: Any) -> None:
    in_thread = lib.func("double TransformInThread(CbTransform *f)")

    def bad(v: Vec2, user: Any) -> Vec2:
        raise ValueError("from a C thread")

    with pytest.raises(ValueError, match="from a C thread"):
        in_thread(bad)


def test_explain_shows_where_the_result_goes() -> None:
    text = Transform.explain()
    assert "libffi closure" in text and "CbVec2" in text
    big = koffi.type("CbBig (*)(int)")
    text = big.explain()
    if koffi.abi.host() in ("sysv_x64", "x86_cdecl", "aarch64", "riscv64_lp64d"):
        assert "hidden result pointer" in text
    scalar = koffi.proto("int CbScalarExplained(int)")
    assert "ctypes thunk" in scalar.explain()
    with pytest.raises(TypeError, match="prototype"):
        koffi.type("int").explain()


# ----------------------------------------------------------------------------- inline types


def test_qsort_with_an_inline_comparator(libc: Any) -> None:
    """The README example: qsort declared exactly as C writes it."""
    qsort = libc.func("void qsort(_Inout_ void *base, size_t nmemb, size_t size, "
                      "int (*compar)(const void *, const void *))")
    values = array.array("i", [5, -3, 9, 1, 0])

    def compare(a: koffi.Pointer[Any], b: koffi.Pointer[Any]) -> int:
        x, y = koffi.decode(a, "int"), koffi.decode(b, "int")
        return (x > y) - (x < y)

    qsort(values, len(values), values.itemsize, compare)
    assert list(values) == [-3, 0, 1, 5, 9]
    cmp_type = qsort.info.arguments[3].type
    assert cmp_type.primitive == "Callback" and cmp_type.ref.primitive == "Prototype"
    assert re.fullmatch(r"<anonymous_\d+> \*", cmp_type.name)
    assert str(cmp_type.ref.proto) == "int (const void *, const void *)"


def test_inline_types_in_type_strings_and_members(lib: Any) -> None:
    t = koffi.type("int (*)(int)")
    assert t.primitive == "Callback" and t.size == ctypes.sizeof(ctypes.c_void_p)
    assert koffi.type("int (*)(int)") is t  # the same string names the same type
    arr = koffi.type("void (*[3])(int)")
    assert arr.primitive == "Array" and arr.length == 3 and arr.ref.primitive == "Callback"

    Holder = koffi.struct("CbHolder", {"apply": "int (*)(int)",
                                       "release": "void (*)(void *)", "x": "int"})
    use = lib.func("int UseHolder(const CbHolder *h)")
    released: list[bool] = []
    assert use(Holder(apply=lambda x: x * 2, release=lambda p: released.append(bool(p)),
                      x=21)) == 42
    assert released == [True]
    assert use(Holder(apply=lambda x: -x, release=None, x=5)) == -5


def test_inline_type_errors() -> None:
    assert koffi.type("int (*f)(int)").ref.proto.result.name == "int"  # the name is ignored
    for bad, where in [("int (*)(int", 11), ("int (*)(int x y)", 14),
                       ("int (*)(void", 12), ("int (*))(int)", 7)]:
        with pytest.raises(koffi.ParseError) as info:
            koffi.type(bad)
        assert info.value.pos == where, (bad, info.value)
    with pytest.raises(koffi.ParseError, match="Unknown or invalid type name 'nope_t'"):
        koffi.proto("void f(int (*cb)(nope_t))")


# ----------------------------------------------------------------------------- variadic


def test_variadic_prototype_pointers_can_be_received_and_called(lib: Any) -> None:
    Fmt = koffi.proto("int CbFmt(_Out_ char *buf, size_t size, const char *fmt, ...)")
    get = lib.func("CbFmt *GetFormatter(void)")
    fmt = get()
    buf = bytearray(32)
    n = koffi.call(fmt, Fmt, buf, len(buf), "%d-%s", "int", 7, "str", "seven")
    assert buf[:n] == b"7-seven"


def test_variadic_callbacks_are_refused_naming_the_prototype(lib: Any) -> None:
    koffi.proto("int CbFmt2(char *buf, size_t size, const char *fmt, ...)")
    takes = lib.func("void SetIndirect(CbFmt2 *cb)")  # declaring is fine
    with pytest.raises(NotImplementedError, match="variadic prototype 'CbFmt2'"):
        takes(lambda *args: 0)
    with pytest.raises(NotImplementedError, match="variadic prototype 'CbFmt2'"):
        koffi.register(lambda *args: 0, "CbFmt2 *")
    takes(None)
