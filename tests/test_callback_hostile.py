"""Hostile uses of callbacks, variadic calls and ``koffi.call``, against tests/c/callbacks.c:
values a callback returns that C cannot receive, malformed variadic type/value pairs, and
function pointers that do not point to a function of the given prototype. Each misuse must
raise a clear error naming the function (or callback) and the value, and C must never
receive a silently changed value.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import textwrap
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
Unary = koffi.proto("int CbHostileUnary(int x)")


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


# ------------------------------------------------------------------ koffi.call on bad pointers

def _child(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a crash there is one failed test)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


#: How a test makes a pointer that is not a function: Python statements leaving it in ``p``
#: (``safety`` is tests/c/safety.c loaded), and what the error must say.
NOT_FUNCTIONS: dict[str, tuple[str, str]] = {
    "alloc": ("p = koffi.alloc('int', 4)", "koffi.alloc"),
    "alloc-address": ("p = int(koffi.alloc('int', 4))", "koffi.alloc"),
    "alloc-interior": ("a = koffi.alloc('int', 4); p = a + 1", "koffi.alloc"),
    "alloc-as-void": ("p = koffi.as_(int(koffi.alloc('int', 4)), 'void *')", "koffi.alloc"),
    "alloc-of-fnptr": ("p = koffi.alloc('CbHostileUnary *', 1)", "koffi.alloc"),
    "freed": ("p = koffi.alloc('int', 4); koffi.free(p)", "freed"),
    "freed-address": ("a = koffi.alloc('int', 4); koffi.free(a); p = int(a)", "freed"),
    "freed-interior": ("a = koffi.alloc('int', 4); koffi.free(a); p = a + 2", "freed"),
    "call-memory": ("second = safety.func('int *Second(int *values)'); p = second([1, 2, 3])",
                    "made for a call"),
}


@pytest.mark.parametrize("kind", list(NOT_FUNCTIONS))
def test_call_refuses_pointers_to_data(c_library: Callable[[str], Path], kind: str) -> None:
    make, says = NOT_FUNCTIONS[kind]
    done = _child(f"""
        import koffi_typed as koffi
        safety = koffi.load({str(c_library("safety"))!r})
        Unary = koffi.proto("int CbHostileUnary(int x)")
        {make}
        for _ in range(2):
            try:
                koffi.call(p, Unary, 5)
            except ValueError as exc:
                print("ValueError:", exc)
            else:
                print("called")
        print(koffi.call(koffi.register(lambda x: x + 1, Unary), Unary, 5))
    """)
    assert done.returncode == 0, f"child crashed ({done.returncode}):\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[2] == "6", done.stdout
    for line in lines[:2]:
        assert line.startswith("ValueError: call(): ") and says in line, line
        assert "not a function" in line, line


#: Prototypes a registered ``int CbHostileUnary(int x)`` callback is called with.
MISMATCHED = ["double CbHostileM1(int x)", "int CbHostileM2(double x)",
              "int CbHostileM3(int x, int y)", "int CbHostileM4(void)",
              "int CbHostileM5(int x, ...)", "int CbHostileM6(CbHostileVec v)",
              "CbHostileVec CbHostileM7(int x)", "int64_t CbHostileM8(int x)",
              "int CbHostileM9(int8_t x)", "void *CbHostileM10(int x)"]
MATCHING = ["int CbHostileOk1(int y)", "int32_t CbHostileOk2(int32_t)",
            "int CbHostileOk3(int x)"]


@pytest.mark.parametrize("decl", MISMATCHED)
def test_call_refuses_a_function_pointer_of_another_prototype(decl: str) -> None:
    other = koffi.proto(decl)
    calls = [0]

    def plus_one(x: int) -> int:
        calls[0] += 1
        return x + 1

    pointer = koffi.register(plus_one, Unary)
    try:
        with pytest.raises(TypeError, match=r"call\(\): .*CbHostileUnary.*CbHostileM"):
            koffi.call(pointer, other, *([1] if "..." not in decl else [1, "int", 2]))
        assert calls[0] == 0
        assert koffi.call(pointer, Unary, 5) == 6 and calls[0] == 1
    finally:
        koffi.unregister(pointer)


@pytest.mark.parametrize("decl", MATCHING)
def test_call_accepts_an_equivalent_prototype(decl: str) -> None:
    pointer = koffi.register(lambda x: x * 3, Unary)
    try:
        assert koffi.call(pointer, koffi.proto(decl), 7) == 21
        assert koffi.call(int(pointer), Unary, 2) == 6  # a bare address is not checked
    finally:
        koffi.unregister(pointer)


# ------------------------------------------------------------------ function pointers as values

#: Each place a function pointer of prototype ``int CbHostileBin(int a, int b)`` goes to C:
#: (declaration, how to call it with the function pointer ``f`` (an addition), the result).
BinOp = koffi.proto("int CbHostileBin(int a, int b)")
HOps = koffi.struct("CbHostileOps", {"add": "CbHostileBin *", "mul": "CbHostileBin *"})
PLACES: dict[str, tuple[str, Callable[[Any, Any], Any], int]] = {
    "parameter": ("int ApplyBinary(CbHostileBin *op, int a, int b)",
                  lambda fn, f: fn(f, 20, 22), 42),
    "member-by-pointer": ("int ApplyOps(const CbHostileOps *ops, int a, int b)",
                          lambda fn, f: fn({"add": f, "mul": lambda a, b: a * b}, 20, 2), 44),
    "member-by-value": ("int ApplyOpsValue(CbHostileOps ops, int a, int b)",
                        lambda fn, f: fn({"add": f, "mul": lambda a, b: a * b}, 20, 2), 44),
}
#: Prototypes whose functions C must not call as ``int (int, int)``.
OTHER_PROTOS = ["double CbHostileO1(int a, int b)", "int CbHostileO2(double a, int b)",
                "int CbHostileO3(int a)", "int CbHostileO4(int a, int b, int c)",
                "int64_t CbHostileO6(int a, int b)",
                "int CbHostileO7(CbHostileVec v, int b)"]
#: Same values, other names: accepted.
SAME_PROTOS = ["int CbHostileS1(int x, int y)", "int32_t CbHostileS2(int32_t, int32_t)"]


_protos: dict[str, Any] = {}


def _register_as(decl: str, function: Callable[..., Any]) -> Any:
    if decl not in _protos:
        _protos[decl] = koffi.proto(decl)
    return koffi.register(function, _protos[decl])


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("decl", OTHER_PROTOS)
def test_function_pointer_of_another_prototype_is_refused(lib: Any, place: str,
                                                          decl: str) -> None:
    declaration, use, _ = PLACES[place]
    fn = lib.func(declaration)
    calls = [0]

    def wrong(*args: Any) -> int:
        calls[0] += 1
        return 0

    pointer = _register_as(decl, wrong)
    try:
        with pytest.raises(TypeError, match=r"CbHostileBin \*.*CbHostileO"):
            use(fn, pointer)
        assert calls[0] == 0
    finally:
        koffi.unregister(pointer)


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("decl", SAME_PROTOS)
def test_function_pointer_of_an_equivalent_prototype_is_accepted(lib: Any, place: str,
                                                                 decl: str) -> None:
    declaration, use, expected = PLACES[place]
    pointer = _register_as(decl, lambda a, b: a + b)
    try:
        assert use(lib.func(declaration), pointer) == expected
    finally:
        koffi.unregister(pointer)


@pytest.mark.parametrize("decl", ["double CbHostileA1(int a)", "int CbHostileA2(double a)",
                                  "int CbHostileA3(int a, int b)", "int64_t CbHostileA4(int a)",
                                  "int CbHostileA5(CbHostileVec v)", "void CbHostileA6(int a)"])
def test_array_of_function_pointers_refuses_another_prototype(lib: Any, decl: str) -> None:
    apply_many = lib.func("int ApplyMany(CbHostileUnary **funcs, int n, int x)")
    pointer = _register_as(decl, lambda *a: None)
    good = koffi.register(lambda x: x + 1, Unary)
    try:
        with pytest.raises(TypeError, match=r"CbHostileUnary.*CbHostileA"):
            apply_many([good, pointer], 2, 1)
        assert apply_many([good, good], 2, 1) == 3
    finally:
        koffi.unregister(pointer)
        koffi.unregister(good)


#: Pointers to data given for a function pointer parameter (Python statements leaving it in
#: ``p``): C would jump into them.
DATA_FOR_FUNCTIONS = {
    "int": "p = koffi.alloc('int', 4)",
    "double": "p = koffi.alloc('double', 1)",
    "pointer-to-function-pointer": "p = koffi.alloc('CbHostileUnary *', 1)",
    "record": "p = koffi.alloc(koffi.struct('CbHostileR', {'x': 'int'}), 1)",
    "opaque": "koffi.opaque('CbHostileOp'); p = koffi.alloc('int', 1).cast('CbHostileOp *')",
}


@pytest.mark.parametrize("kind", list(DATA_FOR_FUNCTIONS))
def test_data_pointer_for_a_function_pointer_is_refused(c_library: Callable[[str], Path],
                                                        kind: str) -> None:
    done = _child(f"""
        import koffi_typed as koffi
        lib = koffi.load({str(c_library("callbacks"))!r})
        koffi.proto("int CbHostileUnary(int x)")
        call = lib.func("int CallSimple(CbHostileUnary *cb, int x)")
        {DATA_FOR_FUNCTIONS[kind]}
        try:
            call(p, 1)
        except TypeError as exc:
            print("TypeError:", exc)
        else:
            print("called")
    """)
    assert done.returncode == 0, f"child crashed ({done.returncode}):\n{done.stderr}"
    assert done.stdout.startswith("TypeError: CallSimple(): argument 'cb'"), done.stdout


# ------------------------------------------------------------------ malformed declarations

#: Bad type specs in Koffi's ``(name, result, [parameters])`` form: (spec, exception).
BAD_SPECS: list[tuple[object, type[BaseException]]] = [
    ("nosuch_type", koffi.ParseError), ("int int", koffi.ParseError), ("", koffi.ParseError),
    ("int (", koffi.ParseError), (5, TypeError), (None, TypeError), (["int"], TypeError),
    (1.5, TypeError), (object(), TypeError)]


@pytest.mark.parametrize("where", ["parameter", "result", "proto-parameter", "proto-result"])
@pytest.mark.parametrize(("spec", "error"), BAD_SPECS, ids=[repr(s) for s, _ in BAD_SPECS])
def test_classic_declaration_with_a_bad_type_names_the_function(
        lib: Any, where: str, spec: object, error: type[BaseException]) -> None:
    params: list[object] = ["int", spec] if where.endswith("parameter") else ["int"]
    result = spec if where.endswith("result") else "int"
    with pytest.raises(error) as exc:
        if where.startswith("proto"):
            koffi.proto("CbHostileBadDecl", result, params)
        else:
            lib.func("Triple", result, params)
    message = str(exc.value)
    name = "CbHostileBadDecl" if where.startswith("proto") else "Triple"
    what = "parameter 2" if where.endswith("parameter") else "result"
    assert f"{name}(): {what}: " in message, message


#: Typed declarations (``@lib.function``) whose annotations cannot be read: (source of the
#: def, what the message must name).
BAD_TYPED = {
    "undefined-name": ("def Triple(x: 'nosuch_name') -> c.int: ...", "parameter 'x'"),
    "bad-syntax": ("def Triple(x: 'int int') -> c.int: ...", "parameter 'x'"),
    "bad-c-string": ("def Triple(x: Annotated[int, 'nosuch_type']) -> c.int: ...",
                     "parameter 'x'"),
    "not-a-c-type": ("def Triple(x: list[int]) -> c.int: ...", "parameter 'x'"),
    "undefined-result": ("def Triple(x: c.int) -> 'nosuch_name': ...", "result"),
    "bad-syntax-result": ("def Triple(x: c.int) -> 'int int': ...", "result"),
    "not-a-c-result": ("def Triple(x: c.int) -> list[int]: ...", "result"),
    "bad-c-string-result": ("def Triple(x: c.int) -> Annotated[int, 'nosuch_type']: ...",
                            "result"),
    "second-undefined": ("def Triple(x: c.int, y: 'nosuch_name') -> c.int: ...",
                         "parameter 'y'"),
}


@pytest.mark.parametrize("kind", list(BAD_TYPED))
def test_typed_declaration_with_a_bad_annotation_names_the_function(lib: Any,
                                                                    kind: str) -> None:
    source, says = BAD_TYPED[kind]
    namespace: dict[str, Any] = {"c": c, "Annotated": __import__("typing").Annotated}
    exec(source, namespace)
    with pytest.raises((TypeError, ValueError)) as exc:
        lib.function(namespace["Triple"])
    message = str(exc.value)
    assert f"Triple(): {says}" in message, message


@pytest.mark.parametrize("bad", [5, 1.5, object(), type("Triple", (), {}), [1]])
@pytest.mark.parametrize("named", [False, True])
def test_typed_declaration_of_a_non_function(lib: Any, bad: object, named: bool) -> None:
    decorate: Any = lib.function("Triple") if named else lib.function
    with pytest.raises(TypeError, match=r"function\(\) expects a function"):
        decorate(bad)


# ------------------------------------------------------------------ errors after the last unregister

def _then_raise(release: Callable[[], None]) -> Any:
    release()
    raise RuntimeError("late boom")


def _then_bad_type(release: Callable[[], None]) -> Any:
    release()
    return "not an int"


def _then_out_of_range(release: Callable[[], None]) -> Any:
    release()
    return 2**40


def _then_release_again(release: Callable[[], None]) -> Any:
    release()
    release()  # ValueError: no longer registered
    return 0


#: What a registered callback does once it has released every registered callback (itself
#: included): each makes the callback fail, and that error must come out of the call that
#: ran it. (name, callback body given ``release``).
AFTER_RELEASE: dict[str, Callable[[Callable[[], None]], Any]] = {
    "raise": _then_raise,
    "bad-result-type": _then_bad_type,
    "out-of-range": _then_out_of_range,
    "unregister-twice": _then_release_again,
}
RELEASES = ["unregister-self", "unregister-all"]


@pytest.mark.parametrize("release_kind", RELEASES)
@pytest.mark.parametrize("kind", list(AFTER_RELEASE))
def test_callback_error_after_releasing_every_callback_reaches_its_call(
        lib: Any, kind: str, release_kind: str) -> None:
    set_indirect = lib.func("void SetIndirect(CbHostileUnary *cb)")
    call_indirect = lib.func("int CallIndirect(int x)")
    triple = lib.func("int Triple(int x)")
    holder: list[Any] = []

    def release() -> None:
        koffi.unregister(holder[0])
        if release_kind == "unregister-all":
            for other in holder[1:]:
                koffi.unregister(other)

    def callback(x: int) -> Any:
        return AFTER_RELEASE[kind](release)

    holder.append(koffi.register(callback, Unary))
    if release_kind == "unregister-all":
        holder += [koffi.register(lambda x: x, Unary) for _ in range(3)]
    set_indirect(holder[0])
    try:
        with pytest.raises((RuntimeError, TypeError, OverflowError, ValueError)):
            call_indirect(1)
        assert triple(2) == 6  # nothing left over for the next call
    finally:
        set_indirect(None)


def test_callback_error_after_reset_reaches_its_call(c_library: Callable[[str], Path]) -> None:
    done = _child(f"""
        import koffi_typed as koffi
        lib = koffi.load({str(c_library("callbacks"))!r})
        koffi.proto("int CbHostileUnary(int x)")
        set_indirect = lib.func("void SetIndirect(CbHostileUnary *cb)")
        call_indirect = lib.func("int CallIndirect(int x)")
        triple = lib.func("int Triple(int x)")

        def callback(x):
            koffi.reset()
            raise RuntimeError("after reset")

        set_indirect(koffi.register(callback, "CbHostileUnary *"))
        try:
            call_indirect(1)
        except RuntimeError as exc:
            print("raised", exc)
        print(triple(2))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["raised after reset", "6"], done.stdout + done.stderr


# ------------------------------------------------------------------ stale pointers called many times

@pytest.mark.parametrize("times", [1, 2, 50])
@pytest.mark.parametrize("caller", ["same-thread", "c-thread"])
def test_stale_callback_called_many_times_raises_once(lib: Any, caller: str,
                                                      times: int) -> None:
    """C calling an unregistered callback N times: the call that did it raises one error
    (C got zeros), and later calls are not charged with the other N - 1."""
    apply_many = lib.func("int ApplyMany(CbHostileUnary **funcs, int n, int x)")
    threaded = lib.func("int CallThreaded(CbHostileUnary *cb, int n)")
    triple = lib.func("int Triple(int x)")
    keep = koffi.register(lambda x: x, Unary)  # a callback stays bound meanwhile
    pointer = koffi.register(lambda x: x + 1, Unary)
    koffi.unregister(pointer)
    try:
        with pytest.raises(koffi.Error, match="non-registered callback"):
            if caller == "same-thread":
                apply_many([pointer] * times, times, 5)
            else:
                threaded(pointer, times)
        for _ in range(3):
            assert triple(2) == 6
            assert apply_many([keep], 1, 4) == 4
    finally:
        koffi.unregister(keep)


# ------------------------------------------------------------------ errno and async misuse

@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**40, 2**64, -(2**70)])
def test_errno_out_of_range(value: int) -> None:
    before = koffi.errno()
    with pytest.raises(OverflowError, match=r"^errno: .* out of range for int"):
        koffi.errno(value)
    assert koffi.errno() == before


@pytest.mark.parametrize("value", [2**31 - 1, -(2**31), 0, 34])
def test_errno_in_range_reaches_c(sync: Any, value: int) -> None:
    koffi.errno(value)
    assert koffi.errno() == value


@pytest.mark.parametrize("how", ["async_", "acall"])
@pytest.mark.parametrize("kwargs", [{"x": 1}, {"cb": None, "x": 1}, {"function": 1}])
def test_async_calls_refuse_keyword_arguments(lib: Any, how: str,
                                              kwargs: dict[str, Any]) -> None:
    call = lib.func("int CallSimple(CbHostileUnary *cb, int x)")
    with pytest.raises(TypeError, match=rf"CallSimple\.{how}\(\) takes the C arguments by "
                                        "position"):
        if how == "async_":
            call.async_(**kwargs).result(10)
        else:
            asyncio.run(call.acall(**kwargs))
    assert call.async_(lambda x: x + 1, 1).result(10) == 2


@pytest.mark.parametrize("decl", ["int CallSimple(int (*cb)(int x), int x)",
                                  "int CallSimple(CbHostileUnary *cb, int x)"])
def test_callback_error_message_names_the_callback_once(lib: Any, decl: str) -> None:
    call = lib.func(decl)
    with pytest.raises(TypeError) as exc:
        call(lambda x: "no", 1)
    message = str(exc.value)
    assert "callback callback" not in message and "callback: return value" in message, message


# ------------------------------------------------------------------ koffi.call's cache

def test_call_uses_the_prototype_given_even_after_types_are_forgotten(
        c_library: Callable[[str], Path]) -> None:
    """``koffi.call`` caches a function per (address, prototype): a prototype that died (after
    `koffi.reset`) must not lend its signature to a new one that Python put at its id."""
    done = _child(f"""
        import gc
        import koffi_typed as koffi
        safety = koffi.load({str(c_library("safety"))!r})
        address = safety.func("void *Identity(void *p)").address
        wrong = 0
        for k in range(120):
            kind = ("int", "double", "CbHostileRec")[k % 3]
            if kind == "CbHostileRec":
                koffi.struct("CbHostileRec", {{"x": "int8_t", "y": "double"}})
            proto = koffi.proto(f"{{kind}} *CbHostileId({{kind}} *p)")
            values = koffi.alloc(kind, 1)
            got = koffi.call(address, proto, values)
            if got.type.name != kind or got.address != values.address:
                wrong += 1
            koffi.free(values)
            del proto, values, got
            koffi.reset()
            gc.collect()
        print("wrong", wrong)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wrong 0", done.stdout


#: Type names redefined after `koffi.reset`, given to a variadic call before and after:
#: (spec, definition, format, value, output) before, then the same after.
Use = tuple[str, str, str, str, str]
REDEFINED: dict[str, tuple[Use, Use]] = {
    "record-double-to-int64": (
        ("CbHostileV", "koffi.struct('CbHostileV', {'a': 'double'})", "%g", "{'a': 1.5}", "1.5"),
        ("CbHostileV", "koffi.struct('CbHostileV', {'a': 'int64_t'})", "%lld", "{'a': 5}",
         "5")),
    "alias-width": (
        ("CbHostileT", "koffi.alias('CbHostileT', 'int8_t')", "%d", "5", "5"),
        ("CbHostileT", "koffi.alias('CbHostileT', 'int64_t')", "%lld", "2**40",
         "1099511627776")),
    "alias-double-to-int": (
        ("CbHostileT", "koffi.alias('CbHostileT', 'double')", "%g", "2.5", "2.5"),
        ("CbHostileT", "koffi.alias('CbHostileT', 'int')", "%d", "7", "7")),
    "pointer-alias": (
        ("CbHostileT", "koffi.alias('CbHostileT', 'int *')", "%d", "None", ""),
        ("CbHostileT", "koffi.alias('CbHostileT', 'const char *')", "%s", "'text'", "text")),
}


@pytest.mark.parametrize("kind", list(REDEFINED))
def test_variadic_type_names_follow_redefinitions(c_library: Callable[[str], Path],
                                                  kind: str) -> None:
    uses = REDEFINED[kind]
    steps = []
    for spec, define, fmt, value, _ in uses:
        steps.append(f"""
        koffi.reset()
        {define}
        try:
            n = printf(buf, 64, {fmt!r}, {spec!r}, {value})
            print(bytes(buf[:n]).decode())
        except (TypeError, ValueError) as exc:
            print(type(exc).__name__, exc)""")
    done = _child(f"""
        import koffi_typed as koffi
        sync = koffi.load({str(c_library("sync"))!r})
        printf = sync.func("int PrintFmt(char *out, size_t size, const char *fmt, ...)")
        buf = bytearray(64)""" + "".join(steps))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line, use in zip(lines, uses):
        if use[4]:
            assert line == use[4], done.stdout
