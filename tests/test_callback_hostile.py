"""Hostile uses of callbacks, variadic calls and ``koffi.call``, against tests/c/callbacks.c:
values a callback returns that C cannot receive, malformed variadic type/value pairs, and
function pointers that do not point to a function of the given prototype. Each misuse must
raise a clear error naming the function (or callback) and the value, and C must never
receive a silently changed value.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c

FLT_MAX = 3.4028234663852886e38


@koffi.struct(name="CbHostileVec")
class HVec:  # the layout of CbVec2 in callbacks.c
    x: c.double
    y: c.double


FloatFn = koffi.proto("float CbHostileFloatFn(int x)")
FloatVecFn = koffi.proto("float CbHostileFloatVecFn(CbHostileVec v)")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("callbacks"))


# ------------------------------------------------------------------ float callback results

#: Finite values a C ``float`` cannot hold: C must never receive them as infinities.
BEYOND_FLOAT: list[float | int] = [
    3.4028236e38, -3.4028236e38, 1e39, -1e39, 1e300, -1e300, sys.float_info.max,
    -sys.float_info.max, 2**128, -(2**128), 10**300]
#: Values a C ``float`` holds (or that are infinite / NaN on purpose).
WITHIN_FLOAT: list[float | int] = [FLT_MAX, -FLT_MAX, math.inf, -math.inf, math.nan, 0.5,
                                   -2.0, 2**127, 3, 1.1754943508222875e-38]
#: Each way C reaches a Python callback returning a float: a ctypes thunk (scalars only) or
#: a libffi closure (a record by value), transient or registered.
FLOAT_SHAPES = ["thunk-transient", "thunk-registered", "closure-transient",
                "closure-registered"]


def call_float_callback(lib: Any, shape: str, value: float | int) -> Any:
    """What C returns after calling a callback (of ``shape``) that returns ``value``."""
    closure = shape.startswith("closure")
    if closure:
        call = lib.func("float CallFloatVec(CbHostileFloatVecFn *cb, double x, double y)")

        def vec_cb(v: HVec) -> float | int:
            return value
        target: Any = vec_cb
        args: tuple[Any, ...] = (1.0, 2.0)
        spec = "CbHostileFloatVecFn *"
    else:
        call = lib.func("float CallFloatResult(CbHostileFloatFn *cb, int x)")

        def int_cb(x: int) -> float | int:
            return value
        target = int_cb
        args = (1,)
        spec = "CbHostileFloatFn *"
    if shape.endswith("registered"):
        pointer = koffi.register(target, spec)
        try:
            return call(pointer, *args)
        finally:
            koffi.unregister(pointer)
    return call(target, *args)


@pytest.mark.parametrize("shape", FLOAT_SHAPES)
@pytest.mark.parametrize("value", BEYOND_FLOAT, ids=repr)
def test_float_result_beyond_float_range_raises(lib: Any, shape: str,
                                                value: float | int) -> None:
    last = lib.func("float GetLastFloat(void)")
    with pytest.raises(OverflowError, match=r"callback: return value: .* out of range for float"):
        call_float_callback(lib, shape, value)
    assert last() == 0.0  # C received a zero value, not an infinity


@pytest.mark.parametrize("shape", FLOAT_SHAPES)
@pytest.mark.parametrize("value", WITHIN_FLOAT, ids=repr)
def test_float_result_within_range_reaches_c(lib: Any, shape: str,
                                             value: float | int) -> None:
    got = call_float_callback(lib, shape, value)
    assert lib.func("float GetLastFloat(void)")() == got or math.isnan(got)
    if math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == float(value)


# ------------------------------------------------------------------ variadic type/value pairs

@pytest.fixture(scope="module")
def sync(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("sync"))


#: (type spec, value, expected exception, what the message must say): a bad pair in a
#: variadic call of ``int SumVariadic(int count, ...)``.
BAD_PAIRS: list[tuple[object, object, type[BaseException], str]] = [
    ("nosuch_type", 1, koffi.ParseError, "nosuch_type"),
    ("int int int", 1, koffi.ParseError, ""),
    ("", 1, koffi.ParseError, ""),
    (5, 1, TypeError, "type specifier"),
    (1.5, 1, TypeError, "type specifier"),
    (None, 1, TypeError, "type specifier"),
    (["int"], 1, TypeError, "type specifier"),
    ("void", 1, TypeError, "void"),
    (koffi.types.void, None, TypeError, "void"),
    ("CbHostileFloatFn", lambda x: 1.0, TypeError, "CbHostileFloatFn"),
    ("int [2]", [1, 2], TypeError, "int"),
    ("int", "1", TypeError, "expected int"),
    ("int", 2**31, OverflowError, "out of range"),
    ("double", "x", TypeError, "expected float"),
    ("float", 1e300, OverflowError, "out of range"),
]


@pytest.mark.parametrize("where", ["alone", "first", "middle", "last"])
@pytest.mark.parametrize(("spec", "value", "error", "says"), BAD_PAIRS,
                         ids=[repr(p[0]) for p in BAD_PAIRS])
def test_bad_variadic_pair_names_the_function_and_argument(
        sync: Any, where: str, spec: object, value: object, error: type[BaseException],
        says: str) -> None:
    total = sync.func("int SumVariadic(int count, ...)")
    good = ["int", 1]
    before = {"alone": 0, "first": 0, "middle": 1, "last": 2}[where]
    after = {"alone": 0, "first": 2, "middle": 1, "last": 0}[where]
    pairs = good * before + [spec, value] + good * after
    for _ in range(2):  # a second time: no cache may remember a half-built call
        with pytest.raises(error) as exc:
            total(len(pairs) // 2, *pairs)
        message = str(exc.value)
        assert f"SumVariadic(): variadic argument {before + 1}" in message, message
        assert says in message, message
    assert total(2, "int", 40, "int", 2) == 42  # the function still works


@pytest.mark.parametrize("count", [62, 63, 64, 100, 1100])
def test_variadic_call_beyond_the_parameter_limit(sync: Any, count: int) -> None:
    total = sync.func("int SumVariadic(int count, ...)")
    pairs: list[object] = ["int", 1] * count
    if 1 + count <= 64:
        assert total(count, *pairs) == count
    else:
        with pytest.raises(TypeError, match=r"SumVariadic\(\): .*more than 64 parameters"):
            total(count, *pairs)


@pytest.mark.parametrize("extra", [(), ("int",), ("int", 1, "int")])
def test_odd_variadic_pairs(sync: Any, extra: tuple[object, ...]) -> None:
    total = sync.func("int SumVariadic(int count, ...)")
    if len(extra) % 2 == 0:
        assert total(len(extra) // 2, *extra) == len(extra) // 2
    else:
        with pytest.raises(TypeError, match=r"SumVariadic\(\): missing value"):
            total(1, *extra)
