"""Callbacks: koffi_typed against tests/c/callbacks.c and libc (in the spirit of Koffi's
callbacks.js).

C calls Python with every kind of value (ints, floats, bool, int64, strings, pointers,
records), re-entrantly, from an array or a struct of function pointers, after the call
(``SetIndirect``/``CallIndirect``) and from a thread it creates. Every check reads a value
computed by C from what the callback returned. Type names start with ``Cb``: record and
prototype names are global per process.
"""

from __future__ import annotations

import array
import contextlib
import gc
import os
import re
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c

REPO = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- declarations


@koffi.struct
class CbBFG:
    a: c.int8_t
    b: c.int64_t
    c: c.int8_t
    d: c.str
    e: c.int16_t
    f: c.float
    g: c.double


@koffi.struct
class CbPair:
    key: c.int
    weight: c.double


Unary = koffi.proto("int CbUnary(int x)")
BinOp = koffi.proto("int CbBinOp(int a, int b)")
BinOp2 = koffi.proto("CbBinOp2", "int", ["int", "int"])
RecurseFn = koffi.proto("int CbRecurseFn(int depth, const char *name, double d)")
Recurse8Fn = koffi.proto("double CbRecurse8Fn(int i1, float f1, double d1, int i2, float f2, "
                         "double d2, int i3, float f3, double d3)")
FillBFGFn = koffi.proto("void CbFillBFGFn(CbBFG *out, int x)")
InspectBFGFn = koffi.proto("double CbInspectBFGFn(CbBFG v)")
StrFn = koffi.proto("int CbStrFn(const char *s, int len)")
StrResultFn = koffi.proto("const char *CbStrResultFn(int x)")
IntsFn = koffi.proto("int CbIntsFn(const int *values, int n)")
NullFn = koffi.proto("int CbNullFn(const int *values)")
FillIntsFn = koffi.proto("void CbFillIntsFn(int *out, int n)")
Int64Fn = koffi.proto("int64_t CbInt64Fn(int64_t v, bool flag)")
BoolFn = koffi.proto("bool CbBoolFn(bool b, int x)")
UInt8Fn = koffi.proto("uint8_t CbUInt8Fn(uint8_t v)")
FloatFn = koffi.proto("float CbFloatFn(float a, double b)")
VoidFn = koffi.proto("void CbVoidFn(int x)")
Cmp = koffi.proto("int CbCmp(const void *a, const void *b)")
CbOps = koffi.struct("CbOps", {"add": "CbBinOp *", "mul": "CbBinOp *"})


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("callbacks"))


@pytest.fixture(scope="module")
def libc() -> Iterator[Any]:
    yield koffi.load("libc.so.6")


@pytest.fixture
def registered() -> Iterator[list[Any]]:
    """Pointers appended here are unregistered after the test (if still registered)."""
    pointers: list[Any] = []
    yield pointers
    for p in pointers:
        with contextlib.suppress(ValueError):
            koffi.unregister(p)


def sign(x: float) -> int:
    return (x > 0) - (x < 0)


def frames(exc: BaseException) -> list[str]:
    return [f.name for f in traceback.extract_tb(exc.__traceback__)]


# ----------------------------------------------------------------------------- transient


def test_prototype_types() -> None:
    assert Unary.primitive == "Prototype"
    assert BinOp2.primitive == "Prototype"
    assert koffi.type("CbBinOp *").ref.name == "CbBinOp"
    assert koffi.type("CbBinOp *").primitive in ("Callback", "Pointer")


def test_simple_transient_callback(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    seen: list[int] = []

    def double(x: int) -> int:
        seen.append(x)
        return x * 2

    assert call(double, 21) == 42
    assert seen == [21]
    assert call(lambda x: -x, 7) == -7
    assert lib.func("int GetLastResult(void)")() == -7


def test_binary_callback_both_declaration_forms(lib: Any) -> None:
    apply = lib.func("int ApplyBinary(CbBinOp *op, int a, int b)")
    assert apply(lambda a, b: a * b, 6, 7) == 42
    assert apply(lambda a, b: a - b, 6, 7) == -1
    classic = lib.func("ApplyBinary", "int", ["CbBinOp2 *", "int", "int"])
    assert classic(lambda a, b: a * 10 + b, 4, 2) == 42


def test_callback_can_be_any_callable(lib: Any) -> None:
    apply = lib.func("int ApplyBinary(CbBinOp *op, int a, int b)")

    class Adder:
        def __init__(self, k: int) -> None:
            self.k = k

        def __call__(self, a: int, b: int) -> int:
            return a + b + self.k

        def method(self, a: int, b: int) -> int:
            return a * b * self.k

    adder = Adder(100)
    assert apply(adder, 1, 2) == 103
    assert apply(adder.method, 2, 3) == 600


def test_transient_callbacks_do_not_leak(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    before = koffi.stats()["callbacks"]
    for i in range(200):
        assert call(lambda x, i=i: x + i, 1) == 1 + i
    assert koffi.stats()["callbacks"] == before


def test_non_callable_for_a_callback_parameter(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    with pytest.raises(TypeError) as exc:
        call(5, 1)
    assert "CallSimple()" in str(exc.value) and "'cb'" in str(exc.value), str(exc.value)


def test_void_callback(lib: Any) -> None:
    call_void = lib.func("void CallVoid(CbVoidFn *cb, int x)")
    seen: list[int] = []
    assert call_void(seen.append, 5) is None
    assert seen == [5, 6]


# ----------------------------------------------------------------------------- values


def test_nine_mixed_arguments(lib: Any) -> None:
    recurse8 = lib.func("double Recurse8(CbRecurse8Fn *cb, int i, float f, double d)")
    calls: list[tuple[Any, ...]] = []

    def cb(*args: Any) -> float:
        calls.append(args)
        return float(sum(args))

    assert recurse8(cb, 3, 1.5, 2.25) == 42.75 * 1000 - 6.75
    assert calls == [
        (3, 1.5, 2.25, 4, 3.0, 6.75, 5, 6.0, 11.25),
        (-3, -1.5, -2.25, 100, 0.5, 0.25, -100, -0.5, -0.25),
    ]
    for args in calls:
        assert [type(v) for v in args] == [int, float, float] * 3


def test_string_arguments(lib: Any) -> None:
    call = lib.func("int CallWithString(CbStrFn *cb, const char *s)")
    seen: list[tuple[Any, int]] = []

    def cb(s: str | None, n: int) -> int:
        seen.append((s, n))
        return n * 100 + (len(s) if s is not None else 0)

    assert call(cb, "hello") == (500 + 5) * 2
    assert call(cb, "héllo €") == (1000 + 7) * 2  # 10 UTF-8 bytes, 7 characters
    assert call(cb, "") == 0
    assert call(cb, None) == -100 * 2
    assert seen == [("hello", 5), ("héllo €", 10), ("", 0), (None, -1)]
    assert all(isinstance(s, str) for s, _ in seen[:3])


def test_string_result(lib: Any) -> None:
    call = lib.func("int CallStrResult(CbStrResultFn *cb, int x)")
    assert call(lambda x: "ab" * x, 3) == 6
    assert call(lambda x: "é" * x, 4) == 8
    assert call(lambda x: None, 1) == -1


def test_pointer_arguments_arrive_as_pointers(lib: Any) -> None:
    call = lib.func("int CallWithInts(CbIntsFn *cb)")
    seen: list[Any] = []

    def cb(values: Any, n: int) -> int:
        seen.append(values)
        assert isinstance(values, koffi.Pointer)
        items = koffi.decode(values, "int", n)
        assert items == [values[i] for i in range(n)]
        assert values.cast("int *").deref() == items[0]
        return int(sum(items))

    assert call(cb) == 3 + 1 + 4 + 1 + 5 + 1
    assert len(seen) == 1 and bool(seen[0])


def test_null_pointer_argument_is_none(lib: Any) -> None:
    call = lib.func("int CallWithNull(CbNullFn *cb)")
    seen: list[Any] = []

    def cb(values: Any) -> int:
        seen.append(values)
        return 5

    assert call(cb) == 12
    assert seen == [None]


def test_callback_writes_through_a_pointer(lib: Any) -> None:
    fill = lib.func("int FillInts(CbFillIntsFn *fill, int n)")

    def squares(out: Any, n: int) -> None:
        koffi.encode(out, "int", [i * i for i in range(n)], count=n)

    assert fill(squares, 5) == sum(i * i * (i + 1) for i in range(5))

    def by_index(out: Any, n: int) -> None:
        for i in range(n):
            out[i] = -i

    assert fill(by_index, 4) == sum(-i * (i + 1) for i in range(4))


def test_int64_and_bool(lib: Any) -> None:
    call = lib.func("int64_t CallInt64(CbInt64Fn *cb, int64_t v, bool flag)")
    seen: list[tuple[Any, Any]] = []

    def cb(v: int, flag: bool) -> int:
        seen.append((v, flag))
        return v + (2**62 - 10) if flag else -v

    assert call(cb, 2**62 + 5, True) == 2**63 - 6
    assert call(cb, 2**62 + 5, False) == -(2**62 + 5) - 1
    assert seen == [(2**62 + 5, True), (2**62 + 5, False)]
    assert all(type(flag) is bool for _, flag in seen)
    assert call(lambda v, flag: v + 1, -(2**63), False) == -(2**63)

    call_bool = lib.func("int CallBool(CbBoolFn *cb, bool b, int x)")
    got: list[Any] = []

    def pred(b: bool, x: int) -> bool:
        got.append(b)
        return b and x > 2

    assert call_bool(pred, True, 3) == 100
    assert call_bool(pred, True, 1) == 200
    assert call_bool(pred, False, 9) == 200
    assert got == [True, True, False] and all(type(b) is bool for b in got)


def test_small_integers_and_floats(lib: Any) -> None:
    call_u8 = lib.func("uint8_t CallUInt8(CbUInt8Fn *cb, uint8_t v)")
    assert call_u8(lambda v: v + 55, 200) == 255
    assert call_u8(lambda v: 0, 200) == 0
    call_float = lib.func("float CallFloat(CbFloatFn *cb, float a, double b)")
    assert call_float(lambda a, b: a * b, 1.5, 2.25) == 6.75
    assert call_float(lambda a, b: 3, 1.0, 1.0) == 6.0  # ints are accepted for floats


# ----------------------------------------------------------------------------- records


def test_record_by_value_to_a_callback(lib: Any) -> None:
    inspect = lib.func("double InspectBFG(CbInspectBFGFn *inspect, int8_t a, int64_t b, "
                       "const char *d)")
    seen: list[Any] = []

    def cb(v: Any) -> float:
        seen.append(v)
        return v.a + v.b + len(v.d)

    assert inspect(cb, -5, 2**40, "hello") == (-5 + 2**40 + 5) * 2
    assert seen == [CbBFG(a=-5, b=2**40, c=-4, d="hello", e=-300, f=0.25, g=-0.5)]
    assert isinstance(seen[0], CbBFG)


def test_callback_fills_a_record_through_a_pointer(lib: Any) -> None:
    fill_bfg = lib.func("double FillBFG(CbFillBFGFn *fill, int x, _Out_ CbBFG *out)")
    seen: list[Any] = []

    def fill(p: Any, x: int) -> None:
        seen.append(p)
        koffi.encode(p, CbBFG, CbBFG(a=x, b=-(2**40), c=3, d="four", e=-500, f=0.5, g=0.25))

    out = CbBFG()
    total = fill_bfg(fill, 7, out)
    assert total == 7 - 2**40 + 3 + 4 - 500 + 0.5 + 0.25
    assert out == CbBFG(a=7, b=-(2**40), c=3, d="filled", e=-500, f=0.5, g=0.25)
    assert isinstance(seen[0], koffi.Pointer)

    def fill_by_deref(p: Any, x: int) -> None:
        rec = p.deref()
        assert rec == CbBFG()  # C zeroed it
        rec.a, rec.e, rec.g = x, x * 100, x / 4
        p[0] = rec

    out = CbBFG()
    assert fill_bfg(fill_by_deref, -3, out) == -3 - 300 - 0.75
    assert out == CbBFG(a=-3, d="filled", e=-300, g=-0.75)


def test_record_returned_by_a_callback_works_or_is_clearly_unsupported(lib: Any) -> None:
    received: list[tuple[Any, ...]] = []

    def modify(bfg: Any) -> Any:
        received.append((bfg.a, bfg.b, bfg.c, bfg.d, bfg.e, bfg.f, bfg.g))
        bfg.d = "New!"
        bfg.e = -bfg.e
        bfg.g *= 2
        return bfg

    out = CbBFG()
    try:
        koffi.proto("CbBFG CbModifyBFGFn(CbBFG bfg)")
        modify_bfg = lib.func("CbBFG ModifyBFG(int x, double y, const char *str, "
                              "CbModifyBFGFn *func, _Out_ CbBFG *p)")
        result = modify_bfg(2, 5.0, "Yo!", modify, out)
    except NotImplementedError as exc:
        message = str(exc)
        assert re.search(r"(?i)record|struct|CbBFG", message), message
        assert re.search(r"(?i)return", message), message
        return
    assert received == [(2, 4, -25, "Yo!", 54, 10.0, 3.0)]
    assert out == CbBFG(a=2, b=4, c=-25, d="Yo!", e=54, f=10.0, g=3.0)
    assert result == CbBFG(a=2, b=4, c=-25, d="New!", e=-54, f=10.0, g=6.0)


# ----------------------------------------------------------------------------- re-entrancy


def test_python_callback_calls_c(lib: Any) -> None:
    triple = lib.func("int Triple(int x)")
    twice = lib.func("int ApplyTwice(CbUnary *f, int x)")
    assert twice(lambda v: triple(v) + 1, 2) == 23  # f(f(2)) + 1 with f(v) = 3v + 1


def test_nested_transient_callbacks_stay_valid(lib: Any) -> None:
    """The outer transient callback is called again by C after a nested call (with its own
    transient callback of the same prototype) has returned."""
    twice = lib.func("int ApplyTwice(CbUnary *f, int x)")
    outer_calls: list[int] = []

    def outer(v: int) -> int:
        outer_calls.append(v)
        return int(twice(lambda w: w + 1, v))  # v + 3

    assert twice(outer, 1) == 8  # outer(outer(1)) + 1
    assert outer_calls == [1, 4]


def test_recursive_c_python_c(lib: Any) -> None:
    recursive = lib.func("int CallRecursive(int depth, CbRecurseFn *cb)")
    seen: list[tuple[int, str, float]] = []

    def cb(depth: int, name: str, d: float) -> int:
        seen.append((depth, name, d))
        return 1 if depth == 0 else recursive(depth - 1, cb)

    assert recursive(4, cb) == 101234
    assert seen == [(4, "level4", 6.0), (3, "level3", 4.5), (2, "level2", 3.0),
                    (1, "level1", 1.5), (0, "level0", 0.0)]


def test_recursion_with_a_registered_callback(lib: Any, registered: list[Any]) -> None:
    recursive = lib.func("int CallRecursive(int depth, CbRecurseFn *cb)")
    holder: list[Any] = []

    def cb(depth: int, name: str, d: float) -> int:
        return 1 if depth == 0 else recursive(depth - 1, holder[0])

    ptr = koffi.register(cb, "CbRecurseFn *")
    registered.append(ptr)
    holder.append(ptr)
    assert recursive(3, ptr) == 10123
    assert recursive(3, cb) == 10123  # mixing transient and registered


def test_exception_deep_in_a_recursion(lib: Any) -> None:
    recursive = lib.func("int CallRecursive(int depth, CbRecurseFn *cb)")
    err = LookupError("bottom")

    def cb(depth: int, name: str, d: float) -> int:
        if depth == 0:
            raise err
        return recursive(depth - 1, cb)

    with pytest.raises(LookupError) as exc:
        recursive(3, cb)
    assert exc.value is err
    assert frames(err).count("cb") >= 1
    assert recursive(2, lambda depth, name, d: 7) == 72  # nothing left pending


# ----------------------------------------------------------------------------- arrays, structs


def test_array_of_registered_callbacks(lib: Any, registered: list[Any]) -> None:
    many = lib.func("int ApplyMany(CbUnary **funcs, int n, int x)")
    funcs = [koffi.register(f, "CbUnary *")
             for f in (lambda x: x + 1, lambda x: x * 2, lambda x: x - 3)]
    registered.extend(funcs)
    assert many(funcs, 3, 5) == 9
    assert many(funcs[::-1], 3, 5) == 5
    assert many(funcs, 1, 5) == 6


def test_array_of_transient_callbacks(lib: Any) -> None:
    many = lib.func("int ApplyMany(CbUnary **funcs, int n, int x)")
    order: list[str] = []

    def step(name: str, k: int) -> Callable[[int], int]:
        def f(x: int) -> int:
            order.append(name)
            return x * k + 1
        return f

    assert many([step("a", 2), step("b", 3), step("c", 4)], 3, 1) == ((3 * 3 + 1) * 4 + 1)
    assert order == ["a", "b", "c"]


def test_sixteen_transient_callbacks_in_one_call(lib: Any) -> None:
    many = lib.func("int ApplyMany(CbUnary **funcs, int n, int x)")
    before = koffi.stats()["callbacks"]
    funcs = [lambda x, k=k: x * 2 + k % 2 for k in range(16)]
    expected = 0
    for k in range(16):
        expected = expected * 2 + k % 2
    assert many(funcs, 16, 0) == expected
    assert koffi.stats()["callbacks"] == before


def test_struct_of_callbacks(lib: Any, registered: list[Any]) -> None:
    apply_ops = lib.func("int ApplyOps(const CbOps *ops, int a, int b)")
    add = koffi.register(lambda a, b: a + b, "CbBinOp *")
    mul = koffi.register(lambda a, b: a * b, "CbBinOp *")
    registered.extend([add, mul])
    assert apply_ops(CbOps(add=add, mul=mul), 2, 3) == 15
    assert apply_ops(CbOps(add=mul, mul=add), 2, 3) == 9
    assert apply_ops(CbOps(add=lambda a, b: a - b, mul=lambda a, b: a * b), 10, 4) == 24

    by_value = lib.func("int ApplyOpsValue(CbOps ops, int a, int b)")
    assert by_value(CbOps(add=add, mul=mul), 4, 5) == 45
    assert by_value(CbOps(add=lambda a, b: a | b, mul=mul), 4, 1) == 5


# ----------------------------------------------------------------------------- libc


def test_qsort_ints(libc: Any) -> None:
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, CbCmp *cmp)")
    kinds: set[type] = set()

    def cmp(a: Any, b: Any) -> int:
        kinds.add(type(a))
        kinds.add(type(b))
        return sign(koffi.decode(a, "int") - koffi.decode(b, "int"))

    values = [42, -7, 0, 2**31 - 1, 5, -(2**31), 5, 13]
    arr = array.array("i", values)
    qsort(arr, len(arr), arr.itemsize, cmp)
    assert arr.tolist() == sorted(values)
    assert kinds == {koffi.Pointer}

    buf = bytearray(array.array("i", values).tobytes())
    qsort(buf, len(values), 4, lambda a, b: sign(koffi.decode(b, "int") - koffi.decode(a, "int")))
    assert array.array("i", bytes(buf)).tolist() == sorted(values, reverse=True)

    p = koffi.alloc("int", len(values))
    try:
        koffi.encode(p, "int", values, count=len(values))
        qsort(p, len(values), 4, cmp)
        assert koffi.decode(p, "int", len(values)) == sorted(values)
    finally:
        koffi.free(p)


def test_qsort_strings_by_address(libc: Any) -> None:
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, CbCmp *cmp)")
    words = ["pear", "apple", "fig", "banana", "cherry", "äpfel", "date"]
    blob = bytearray()
    offsets = []
    for w in words:
        offsets.append(len(blob))
        blob += w.encode() + b"\0"
    base = koffi.address(blob)
    by_address = {base + off: w for off, w in zip(offsets, words, strict=True)}
    ptrs = array.array("Q", [base + off for off in offsets])

    def cmp(a: Any, b: Any) -> int:
        sa = koffi.decode(a, "const char *")
        sb = koffi.decode(b, "const char *")
        return (sa > sb) - (sa < sb)

    qsort(ptrs, len(ptrs), koffi.sizeof("char *"), cmp)
    assert [by_address[p] for p in ptrs] == sorted(words)


def test_qsort_strings_in_a_list(libc: Any) -> None:
    qsort = libc.func("void qsort(_Inout_ const char **base, size_t n, size_t size, "
                      "CbCmp *cmp)")
    words = ["pear", "apple", "fig", "banana", "cherry", "äpfel", "date"]

    def cmp(a: Any, b: Any) -> int:
        sa = a.cast("const char **").deref()
        sb = b.cast("const char **").deref()
        return (len(sa) > len(sb)) - (len(sa) < len(sb)) or (sa > sb) - (sa < sb)

    items = list(words)
    qsort(items, len(items), koffi.sizeof("char *"), cmp)
    assert items == sorted(words, key=lambda w: (len(w), w))


def test_qsort_records(libc: Any) -> None:
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, CbCmp *cmp)")
    pairs = [CbPair(key=k, weight=k / 8) for k in (9, -2, 4, 100, 0, -50, 7)]

    def cmp(a: Any, b: Any) -> int:
        x = koffi.decode(a, CbPair)
        y = b.cast("CbPair *").deref()
        assert isinstance(x, CbPair) and isinstance(y, CbPair)
        return sign(x.key - y.key)

    n = len(pairs)
    p = koffi.alloc(CbPair, n)
    try:
        koffi.encode(p, CbPair, pairs, count=n)
        qsort(p, n, koffi.sizeof(CbPair), cmp)
        assert koffi.decode(p, CbPair, n) == sorted(pairs, key=lambda r: r.key)
    finally:
        koffi.free(p)


def test_bsearch_ints(libc: Any) -> None:
    bsearch = libc.func("void *bsearch(const void *key, const void *base, size_t n, "
                        "size_t size, CbCmp *cmp)")
    arr = array.array("i", [-40, -3, 0, 8, 15, 16, 23, 42, 1000])
    calls = [0]

    def cmp(key: Any, elem: Any) -> int:
        calls[0] += 1
        return sign(key.cast("int *").deref() - koffi.decode(elem, "int"))

    base = koffi.address(arr)
    for index, value in enumerate(arr):
        found = bsearch(array.array("i", [value]), arr, len(arr), 4, cmp)
        assert found and (int(found) - base) // 4 == index
    for missing in (-41, 1, 17, 2000):
        assert not bsearch(array.array("i", [missing]), arr, len(arr), 4, cmp)
    assert calls[0] > 0


# ----------------------------------------------------------------------------- registered


def test_register_call_unregister(lib: Any) -> None:
    before = koffi.stats()["callbacks"]
    ptr = koffi.register(lambda a, b: a + b, "CbBinOp *")
    try:
        assert isinstance(ptr, koffi.Pointer)
        assert ptr and int(ptr) != 0
        assert ptr.type.primitive == "Prototype" and ptr.type.name == "CbBinOp"
        assert koffi.stats()["callbacks"] == before + 1
        assert koffi.call(ptr, BinOp, 3, 4) == 7
        assert koffi.call(ptr, BinOp2, -3, 4) == 1
        apply = lib.func("int ApplyBinary(CbBinOp *op, int a, int b)")
        assert apply(ptr, 40, 2) == 42
    finally:
        koffi.unregister(ptr)
    assert koffi.stats()["callbacks"] == before
    with pytest.raises(ValueError):
        koffi.unregister(ptr)
    assert koffi.stats()["callbacks"] == before


def test_register_with_a_type_object(registered: list[Any]) -> None:
    ptr = koffi.register(lambda x: x * x, koffi.pointer(Unary))
    registered.append(ptr)
    assert koffi.call(ptr, Unary, 12) == 144
    ptr2 = koffi.register(lambda x: x * x, koffi.type("CbUnary *"))
    registered.append(ptr2)
    assert int(ptr2) != int(ptr)  # each registration gets its own trampoline


def test_many_registrations(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    before = koffi.stats()["callbacks"]
    ptrs = [koffi.register(lambda x, k=k: x + k, "CbUnary *") for k in range(100)]
    try:
        assert len({int(p) for p in ptrs}) == 100
        assert koffi.stats()["callbacks"] == before + 100
        assert [call(p, 1000) for p in ptrs] == [1000 + k for k in range(100)]
    finally:
        for p in ptrs:
            koffi.unregister(p)
    assert koffi.stats()["callbacks"] == before


def test_registered_callback_survives_garbage_collection(lib: Any,
                                                         registered: list[Any]) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    ptr = koffi.register(lambda x: x + 42, "CbUnary *")
    registered.append(ptr)
    gc.collect()
    assert call(ptr, 1) == 43
    assert koffi.call(ptr, Unary, -42) == 0


def test_registered_pointer_decoded_as_a_function(registered: list[Any]) -> None:
    ptr = koffi.register(lambda a, b: a * b, "CbBinOp *")
    registered.append(ptr)
    fn = koffi.decode(ptr, BinOp)
    assert fn(3, 4) == 12
    assert fn.async_(5, 6).result(timeout=10) == 30


def test_register_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        koffi.register(lambda x: x, "int")
    with pytest.raises(TypeError):
        koffi.register(42, "CbUnary *")  # type: ignore[arg-type]
    with pytest.raises(koffi.ParseError):
        koffi.register(lambda x: x, "CbNoSuchProto *")


def test_unregister_something_never_registered(lib: Any) -> None:
    p = koffi.alloc("int", 1)
    try:
        with pytest.raises(ValueError):
            koffi.unregister(p)
    finally:
        koffi.free(p)


def test_registered_callback_stored_by_c(lib: Any, registered: list[Any]) -> None:
    set_indirect = lib.func("void SetIndirect(CbUnary *cb)")
    call_indirect = lib.func("int CallIndirect(int x)")
    ptr = koffi.register(lambda x: x * 3, "CbUnary *")
    registered.append(ptr)
    set_indirect(ptr)
    try:
        assert call_indirect(5) == 15
        assert call_indirect(-2) == -6
    finally:
        set_indirect(None)
    assert call_indirect(5) == -1


def test_exception_in_registered_callback_through_call(registered: list[Any]) -> None:
    err = KeyError("registered")

    def cb(a: int, b: int) -> int:
        raise err

    ptr = koffi.register(cb, "CbBinOp *")
    registered.append(ptr)
    with pytest.raises(KeyError) as exc:
        koffi.call(ptr, BinOp, 1, 2)
    assert exc.value is err
    assert "cb" in frames(err)


# ----------------------------------------------------------------------------- errors


def test_exception_is_reraised_and_c_receives_zero(lib: Any,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    last = lib.func("int GetLastResult(void)")
    assert call(lambda x: x + 1, 5) == 6 and last() == 6
    err = ValueError("boom in callback")

    def failing(x: int) -> int:
        raise err

    with pytest.raises(ValueError) as exc:
        call(failing, 5)
    assert exc.value is err
    assert err.__traceback__ is not None
    assert "failing" in frames(err)
    assert last() == 0  # what C received meanwhile
    assert "boom in callback" not in capfd.readouterr().err  # never printed
    assert call(lambda x: x + 2, 5) == 7  # nothing left pending


def test_base_exceptions_are_reraised_too(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")

    def interrupt(x: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call(interrupt, 1)
    assert call(lambda x: x, 3) == 3


def test_exception_in_a_float_callback(lib: Any) -> None:
    recurse8 = lib.func("double Recurse8(CbRecurse8Fn *cb, int i, float f, double d)")
    with pytest.raises(ZeroDivisionError):
        recurse8(lambda *args: 1 / 0, 1, 1.0, 1.0)


def test_qsort_comparator_raising(libc: Any) -> None:
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, CbCmp *cmp)")
    count = [0]

    def cmp(a: Any, b: Any) -> int:
        count[0] += 1
        raise RuntimeError(f"boom {count[0]}")

    arr = array.array("i", [3, 1, 2, 5, 4])
    with pytest.raises(RuntimeError, match=r"^boom 1\b") as raised:
        qsort(arr, len(arr), 4, cmp)  # the first exception, and how many followed
    assert raised.value.__notes__ == [f"({count[0] - 1} more exceptions were raised by "
                                      "callbacks before this call returned; only the first "
                                      "is raised)"]
    assert sorted(arr.tolist()) == [1, 2, 3, 4, 5]  # a permutation, not garbage


@pytest.mark.parametrize("bad", ["5", None, 1.5, [1], b"1"])
def test_wrong_return_type(lib: Any, bad: object) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    lib.func("void SetLastResult(int value)")(99)

    def bad_return(x: int) -> object:
        return bad

    with pytest.raises(TypeError) as exc:
        call(bad_return, 1)
    message = str(exc.value)
    assert "CbUnary" in message or "bad_return" in message, message
    assert lib.func("int GetLastResult(void)")() == 0


def test_wrong_return_type_for_bool(lib: Any) -> None:
    call_bool = lib.func("int CallBool(CbBoolFn *cb, bool b, int x)")
    with pytest.raises(TypeError) as exc:
        call_bool(lambda b, x: 1, True, 1)
    message = str(exc.value)
    assert "CbBoolFn" in message or "lambda" in message, message


@pytest.mark.parametrize("bad", [256, -1, 2**70])
def test_out_of_range_return(lib: Any, bad: int) -> None:
    call_u8 = lib.func("uint8_t CallUInt8(CbUInt8Fn *cb, uint8_t v)")
    with pytest.raises(OverflowError):
        call_u8(lambda v: bad, 1)


def test_int_return_out_of_range(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    with pytest.raises(OverflowError):
        call(lambda x: 2**31, 1)
    assert call(lambda x: 2**31 - 1, 1) == 2**31 - 1


def test_wrong_arity(lib: Any) -> None:
    call = lib.func("int CallSimple(CbUnary *cb, int x)")
    lib.func("void SetLastResult(int value)")(99)
    with pytest.raises(TypeError):
        call(lambda: 1, 1)
    assert lib.func("int GetLastResult(void)")() == 0
    apply = lib.func("int ApplyBinary(CbBinOp *op, int a, int b)")
    with pytest.raises(TypeError):
        apply(lambda a: a, 1, 2)
    assert apply(lambda a, b, c=10: a + b + c, 1, 2) == 13  # defaults are fine


def test_transient_callback_used_after_its_call(c_library: Callable[[str], Path]) -> None:
    """C keeps a transient callback and calls it later: an error, never a crash."""
    script = f"""
import gc
import koffi_typed as koffi
lib = koffi.load({str(c_library("callbacks"))!r})
koffi.proto("int CbUnary(int x)")
set_indirect = lib.func("void SetIndirect(CbUnary *cb)")
call_indirect = lib.func("int CallIndirect(int x)")
set_indirect(lambda x: x + 1)
gc.collect()
for attempt in range(3):
    try:
        value = call_indirect(5)
    except koffi.Error as exc:
        assert "beyond" in str(exc), exc
        print("error:", exc)
    else:
        raise AssertionError(f"stale transient callback returned {{value!r}}")
ptr = koffi.register(lambda x: x * 3, "CbUnary *")
set_indirect(ptr)
assert call_indirect(5) == 15
koffi.unregister(ptr)
set_indirect(None)
assert call_indirect(5) == -1
print("ok")
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "ok" and len(lines) == 4, proc.stdout
    assert all("beyond" in line for line in lines[:3])


# ----------------------------------------------------------------------------- threads


def test_callback_from_a_c_thread(lib: Any) -> None:
    threaded = lib.func("int CallThreaded(CbUnary *cb, int n)")
    idents: set[int] = set()
    count = [0]

    def cb(i: int) -> int:
        idents.add(threading.get_ident())
        count[0] += 1
        return i * 2

    assert threaded(cb, 1000) == 2 * sum(range(1000))
    assert count[0] == 1000
    assert len(idents) == 1


def test_registered_callback_from_two_c_threads(lib: Any, registered: list[Any]) -> None:
    twice = lib.func("int CallThreadedTwice(CbUnary *cb, int n)")
    lock = threading.Lock()
    seen: list[int] = []

    def cb(i: int) -> int:
        with lock:
            seen.append(i)
        return i + 1

    ptr = koffi.register(cb, "CbUnary *")
    registered.append(ptr)
    assert twice(ptr, 500) == 2 * sum(range(1, 501))
    assert sorted(seen) == sorted(list(range(500)) * 2)
    assert twice(lambda i: 1, 1000) == 2000


def test_exception_in_a_c_thread_callback(lib: Any) -> None:
    threaded = lib.func("int CallThreaded(CbUnary *cb, int n)")
    err = ArithmeticError("thread boom")

    def cb(i: int) -> int:
        if i == 500:
            raise err
        return 1

    with pytest.raises(ArithmeticError) as exc:
        threaded(cb, 1000)
    assert exc.value is err
    assert threaded(lambda i: 1, 10) == 10


def test_thread_callback_exception_goes_to_its_own_call(lib: Any) -> None:
    """An exception raised in a callback that a C thread runs during a call is raised by
    that call, not by a call that another Python thread happens to finish meanwhile."""
    threaded = lib.func("int CallThreaded(CbUnary *cb, int n)")
    triple = lib.func("int Triple(int x)")
    err = ArithmeticError("thread boom")

    def cb(i: int) -> int:
        if i == 500:
            raise err
        return 1

    stop = threading.Event()
    stolen: list[BaseException] = []

    def background() -> None:
        while not stop.is_set():
            try:
                assert triple(1) == 3
            except BaseException as exc:
                stolen.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    outcomes: list[str] = []
    try:
        for _ in range(10):
            try:
                threaded(cb, 1000)
            except ArithmeticError as exc:
                outcomes.append("raised" if exc is err else repr(exc))
            else:
                outcomes.append("returned")
    finally:
        stop.set()
        thread.join()
    assert stolen == []
    assert outcomes == ["raised"] * 10


# ------------------------------------------- one failing call reports its callbacks' errors

@settings(max_examples=30, deadline=None)
@given(source=st.sampled_from(["raises, calling thread", "raises, C thread",
                               "stale, calling thread", "stale, C thread"]),
       times=st.integers(1, 6), after=st.integers(1, 4))
def test_callback_errors_are_raised_by_one_call_and_never_leak_into_later_ones(
        c_library: Callable[[str], Path], source: str, times: int, after: int) -> None:
    """However many times C runs a failing (or stale) callback during one call, that call
    raises once (naming how many more there were) and the calls after it are clean."""
    script = f"""
import koffi_typed as koffi
lib = koffi.load({str(c_library("callbacks"))!r})
koffi.proto("int CbUnary(int x)")
set_indirect = lib.func("void SetIndirect(CbUnary *cb)")
times_here = lib.func("int CallIndirectTimes(int x, int n)")
times_thread = lib.func("int CallIndirectThreaded(int n)")
threaded = lib.func("int CallThreaded(CbUnary *cb, int n)")
simple = lib.func("int CallSimple(CbUnary *cb, int x)")
source, times, after = {source!r}, {times}, {after}
def boom(x):
    raise KeyError("boom")
if source.startswith("stale"):
    set_indirect(lambda x: x + 1)  # transient: stale once set_indirect returns
try:
    if source == "raises, calling thread":
        set_indirect(koffi.register(boom, "CbUnary *"))
        times_here(1, times)
    elif source == "raises, C thread":
        threaded(boom, times)
    elif source == "stale, calling thread":
        times_here(1, times)
    else:
        times_thread(times)
except (KeyError, koffi.Error) as exc:
    notes = getattr(exc, "__notes__", [])
    print("raised", type(exc).__name__, notes)
else:
    print("not raised")
for k in range(after):
    print("clean", simple(lambda x: x * 2, k))
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    expected = "KeyError" if source.startswith("raises") else "Error"
    assert lines[0].startswith(f"raised {expected} "), lines
    if times > 1:
        assert f"{times - 1} more" in lines[0], lines
    assert lines[1:] == [f"clean {2 * k}" for k in range(after)], lines
