"""Calling C: koffi_typed against tests/c/sync.c (in the spirit of Koffi's sync.js).

Every test checks values computed by C. Record and type names are unique to this module
(``IntPoint``, ``Pack3``...) because prototypes resolve names at declaration time and other
test modules register their own ``Point``.
"""

from __future__ import annotations

import array
import enum
import errno
import inspect
import math
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c

# ----------------------------------------------------------------------------- declarations


@koffi.struct
class Pack1:
    a: c.int


@koffi.struct
class Pack2:
    a: c.int
    b: c.int


@koffi.struct
class Pack3:
    a: c.int
    b: c.int
    c: c.int


@koffi.struct
class Float2:
    a: c.float
    b: c.float


@koffi.struct
class Double3:
    a: c.double
    b: c.double
    c: c.double


@koffi.struct
class IntDouble:
    i: c.int
    d: c.double


@koffi.struct
class DoubleInt:
    d: c.double
    i: c.int


@koffi.struct
class BFG:
    a: c.int8_t
    b: c.int64_t
    c: c.int8_t
    d: c.str
    e: c.int16_t
    f: c.float
    g: c.double


@koffi.struct
class Polygon:
    count: c.int
    xs: Annotated[list[float], "float [4]"]
    name: Annotated[str, "char [12]"]


@koffi.struct
class IntPoint:
    x: c.int
    y: c.int


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 40000


ColorType = koffi.enumeration("SyncColor", Color)
Handle = koffi.opaque("Handle")
BinOp = koffi.proto("int BinOp(int a, int b)")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    library = koffi.load(c_library("sync"))
    yield library


def f32(x: float) -> float:
    """``x`` rounded to a C float."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def assert_names(exc: pytest.ExceptionInfo[BaseException], func: str, *words: str) -> None:
    message = str(exc.value)
    assert f"{func}()" in message, message
    for word in words:
        assert word in message, message


# ----------------------------------------------------------------------------- loading


def test_load_as_context_manager(c_library: Callable[[str], Path]) -> None:
    with koffi.load(c_library("sync")) as library:
        through = library.func("int32_t ThroughInt32(int32_t value)")
        assert through(-123456) == -123456


def test_load_accepts_str_path(c_library: Callable[[str], Path]) -> None:
    library = koffi.load(str(c_library("sync")), lazy=True)
    try:
        assert library.func("int GetMinusOne4(void)")() == -1
    finally:
        library.unload()


def test_unloadable_library_raises_load_error(tmp_path: Path) -> None:
    with pytest.raises(koffi.LoadError, match="Failed to load shared library") as exc:
        koffi.load(tmp_path / "libdoes-not-exist.so")
    assert isinstance(exc.value, OSError)


def test_a_file_that_is_not_a_library_raises_load_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"this is not an ELF file")
    with pytest.raises(koffi.LoadError, match="Failed to load shared library"):
        koffi.load(junk)


def test_unknown_function(lib: Any) -> None:
    with pytest.raises(koffi.Error, match="NoSuchFunction"):
        lib.func("int NoSuchFunction(int x)")


def test_unknown_symbol(lib: Any) -> None:
    with pytest.raises(koffi.Error, match="no_such_variable"):
        lib.symbol("no_such_variable", "int")


# ----------------------------------------------------------------------------- declarations


def test_prototype_classic_and_convention_forms_agree(lib: Any) -> None:
    proto = lib.func("int32_t ThroughInt32(int32_t value)")
    classic = lib.func("ThroughInt32", "int32_t", ["int32_t"])
    stdcall = lib.func("__stdcall", "ThroughInt32", "int32_t", ["int32_t"])
    after_result = lib.func("int32_t __cdecl ThroughInt32(int32_t value)")
    for f in (proto, classic, stdcall, after_result):
        assert f(-7) == -7
        assert f(2**31 - 1) == 2**31 - 1


def test_info_describes_the_signature(lib: Any) -> None:
    f = lib.func("void GetPoint(_Out_ IntPoint *out)")
    info = f.info
    assert isinstance(info, koffi.FunctionInfo)
    assert info.name == "GetPoint"
    assert info.result.primitive == "Void"
    assert info.variadic is False
    [arg] = info.arguments
    assert isinstance(arg, koffi.Argument)
    assert arg.name == "out"
    assert arg.direction == "out"
    assert arg.type.primitive == "Pointer" and arg.type.ref is koffi.type(IntPoint)

    inout = lib.func("void MultiplyIntegers(_Inout_ int *values, int n, int k)")
    assert [a.direction for a in inout.info.arguments] == ["inout", "in", "in"]
    assert [a.name for a in inout.info.arguments] == ["values", "n", "k"]

    classic = lib.func("MultiplyIntegers", "void", [koffi.inout("int *"), "int", "int"])
    assert [a.direction for a in classic.info.arguments] == ["inout", "in", "in"]
    assert lib.func("GetPoint", "void", [koffi.out("IntPoint *")]).info.arguments[0] \
        .direction == "out"

    variadic = lib.func("int PrintFmt(char *out, size_t size, const char *fmt, ...)")
    assert variadic.info.variadic is True and len(variadic.info.arguments) == 3


def test_typed_declarations(lib: Any) -> None:
    @lib.function
    def ThroughInt16(value: c.int16_t) -> c.int16_t: ...

    @lib.function("Utf8Length")
    def utf8_length(s: c.str) -> c.size_t: ...

    @lib.function
    def MovePoint(p: IntPoint, dx: c.int, dy: c.int) -> IntPoint: ...

    assert ThroughInt16(-300) == -300
    assert utf8_length("héllo") == 6
    assert MovePoint(IntPoint(1, 2), 10, 20) == IntPoint(11, 22)
    assert ThroughInt16.info.name == "ThroughInt16"
    assert utf8_length.info.name == "Utf8Length"
    with pytest.raises(OverflowError) as exc:
        ThroughInt16(40000)
    assert_names(exc, "ThroughInt16", "'value'", "40000")


# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize(("name", "type_"), [
    ("GetMinusOne1", "int8_t"), ("GetMinusOne2", "int16_t"),
    ("GetMinusOne4", "int32_t"), ("GetMinusOne8", "int64_t"),
])
def test_signed_returns_are_sign_extended(lib: Any, name: str, type_: str) -> None:
    assert lib.func(f"{type_} {name}(void)")() == -1


INT_WIDTHS = [
    ("ThroughInt8", "int8_t", -(2**7), 2**7 - 1),
    ("ThroughUInt8", "uint8_t", 0, 2**8 - 1),
    ("ThroughInt16", "int16_t", -(2**15), 2**15 - 1),
    ("ThroughUInt16", "uint16_t", 0, 2**16 - 1),
    ("ThroughInt32", "int32_t", -(2**31), 2**31 - 1),
    ("ThroughUInt32", "uint32_t", 0, 2**32 - 1),
    ("ThroughInt64", "int64_t", -(2**63), 2**63 - 1),
    ("ThroughUInt64", "uint64_t", 0, 2**64 - 1),
    ("ThroughSize", "size_t", 0, 2**64 - 1),
    ("ThroughLong", "long", -(2**63), 2**63 - 1),
    ("ThroughULong", "unsigned long", 0, 2**64 - 1),
]


@pytest.mark.parametrize(("name", "type_", "low", "high"), INT_WIDTHS)
def test_every_width_round_trips_its_extremes(lib: Any, name: str, type_: str, low: int,
                                               high: int) -> None:
    f = lib.func(f"{type_} {name}({type_} value)")
    for v in (low, low + 1, 0, 1, high - 1, high):
        assert f(v) == v


@pytest.mark.parametrize(("name", "type_", "low", "high"), INT_WIDTHS)
@pytest.mark.parametrize("end", ["low", "high"])
def test_out_of_range_ints_are_rejected(lib: Any, name: str, type_: str, low: int, high: int,
                                        end: str) -> None:
    f = lib.func(f"{type_} {name}({type_} value)")
    bad = low - 1 if end == "low" else high + 1
    with pytest.raises(OverflowError) as exc:
        f(bad)
    assert_names(exc, name, "'value'", str(bad))


@pytest.mark.parametrize(("name", "c_in", "c_out", "value"), [
    ("Int8ToInt64", "int8_t", "int64_t", -128),
    ("UInt8ToUInt64", "uint8_t", "uint64_t", 255),
    ("Int16ToInt64", "int16_t", "int64_t", -32768),
    ("UInt16ToUInt64", "uint16_t", "uint64_t", 65535),
    ("Int32ToInt64", "int32_t", "int64_t", -(2**31)),
    ("UInt32ToUInt64", "uint32_t", "uint64_t", 2**32 - 1),
])
def test_callee_sees_the_right_sign(lib: Any, name: str, c_in: str, c_out: str,
                                    value: int) -> None:
    assert lib.func(f"{c_out} {name}({c_in} v)")(value) == value


def test_int64_extremes_from_c(lib: Any) -> None:
    assert lib.func("int64_t MinInt64(void)")() == -(2**63)
    assert lib.func("int64_t MaxInt64(void)")() == 2**63 - 1
    assert lib.func("uint64_t MaxUInt64(void)")() == 2**64 - 1
    assert lib.func("uint64_t HighBit64(void)")() == 2**63
    add = lib.func("uint64_t AddUInt64(uint64_t a, uint64_t b)")
    assert add(2**63, 2**62) == 2**63 + 2**62
    assert add(2**64 - 1, 1) == 0  # wraps in C, not in Python
    neg = lib.func("int64_t NegateInt64(int64_t v)")
    assert neg(2**63 - 1) == -(2**63 - 1)
    assert neg(-(2**53) - 1) == 2**53 + 1


def test_format_ints_matches_python(lib: Any) -> None:
    fmt = lib.func("int FormatInts(char *out, size_t size, int8_t a, uint8_t b, int16_t c, "
                   "uint16_t d, int32_t e, uint32_t f, int64_t g, uint64_t h)")
    values = (-128, 255, -32768, 65535, -(2**31), 2**32 - 1, -(2**63), 2**64 - 1)
    buf = bytearray(128)
    n = fmt(buf, len(buf), *values)
    expected = " ".join(str(v) for v in values)
    assert n == len(expected)
    assert buf[:n].decode() == expected


def test_twelve_arguments_keep_their_order(lib: Any) -> None:
    concat = lib.func("int64_t ConcatenateToInt1(int8_t a, int8_t b, int8_t c, int8_t d, "
                      "int8_t e, int8_t f, int8_t g, int8_t h, int8_t i, int8_t j, int8_t k, "
                      "int8_t l)")
    assert concat(5, 6, 1, 2, 3, 9, 4, 4, 0, 6, 8, 7) == 561239440687
    assert concat(*range(1, 10), 0, 1, 2) == 123456789012


@pytest.mark.parametrize("bad", ["5", 1.5, None, b"5", [5]])
def test_wrong_type_for_int(lib: Any, bad: object) -> None:
    f = lib.func("int32_t ThroughInt32(int32_t value)")
    with pytest.raises(TypeError) as exc:
        f(bad)
    assert_names(exc, "ThroughInt32", "'value'", type(bad).__name__)


def test_int_subclasses_and_index_objects_are_ints(lib: Any) -> None:
    class Index:
        def __index__(self) -> int:
            return 77

    f = lib.func("int32_t ThroughInt32(int32_t value)")
    assert f(Index()) == 77
    assert f(Color.BLUE) == 40000


# ----------------------------------------------------------------------------- floats


def test_float_and_double_arithmetic(lib: Any) -> None:
    mulf = lib.func("float MulFloat(float a, float b)")
    muld = lib.func("double MulDouble(double a, double b)")
    assert mulf(1.5, -2.0) == -3.0
    assert mulf(0.1, 3.0) == f32(f32(0.1) * 3.0)
    assert muld(0.1, 3.0) == 0.1 * 3.0
    assert muld(1e300, 1e10) == float("inf")
    assert muld(3, 4) == 12.0  # ints are accepted for floating-point parameters
    mixed = lib.func("double IntsToDouble(int a, double b, int c, float d)")
    assert mixed(1, 2.5, 3, 0.25) == 1000 + 250 + 30 + 0.25


@pytest.mark.parametrize("bad", ["1.0", None, b"x"])
def test_wrong_type_for_double(lib: Any, bad: object) -> None:
    muld = lib.func("double MulDouble(double a, double b)")
    with pytest.raises(TypeError) as exc:
        muld(1.0, bad)
    assert_names(exc, "MulDouble", "'b'")


# ----------------------------------------------------------------------------- bools


def test_bools_in_and_out(lib: Any) -> None:
    to_int = lib.func("int BoolToInt(bool b)")
    assert to_int(True) == 42 and to_int(False) == 7
    positive = lib.func("bool IsPositive(int v)")
    assert positive(5) is True and positive(-5) is False
    negate = lib.func("bool NegateBool(bool b)")
    assert negate(False) is True and negate(True) is False
    mask = lib.func("int BoolToMask12(bool a, bool b, bool c, bool d, bool e, bool f, bool g, "
                    "bool h, bool i, bool j, bool k, bool l)")
    bits = [True, False, True, True, False, False, True, False, False, False, True, True]
    assert mask(*bits) == int("".join("1" if b else "0" for b in bits), 2)


def test_out_bool(lib: Any) -> None:
    parity = lib.func("void GetParity(int v, _Out_ bool *even)")
    out: list[bool | None] = [None]
    parity(10, out)
    assert out == [True]
    parity(7, out)
    assert out == [False]


@pytest.mark.parametrize("bad", [1, 0, "true", None])
def test_bool_parameter_requires_bool(lib: Any, bad: object) -> None:
    to_int = lib.func("int BoolToInt(bool b)")
    with pytest.raises(TypeError) as exc:
        to_int(bad)
    assert_names(exc, "BoolToInt", "'b'", "bool")


def test_bool_rejected_among_many_arguments(lib: Any) -> None:
    mask = lib.func("int BoolToMask12(bool a, bool b, bool c, bool d, bool e, bool f, bool g, "
                    "bool h, bool i, bool j, bool k, bool l)")
    args: list[object] = [False] * 12
    args[7] = 1
    with pytest.raises(TypeError) as exc:
        mask(*args)
    assert_names(exc, "BoolToMask12", "'h'")


# ----------------------------------------------------------------------------- records


def test_small_records_out_by_value_and_inout(lib: Any) -> None:
    fill1 = lib.func("void FillPack1(int a, _Out_ Pack1 *p)")
    ret1 = lib.func("Pack1 RetPack1(int a)")
    add1 = lib.func("void AddPack1(int a, _Inout_ Pack1 *p)")
    p1 = Pack1()
    fill1(777, p1)
    assert p1 == Pack1(777)
    assert ret1(-9) == Pack1(-9)
    add1(3, p1)
    assert p1 == Pack1(780)

    fill2 = lib.func("void FillPack2(int a, int b, _Out_ Pack2 *p)")
    ret2 = lib.func("Pack2 RetPack2(int a, int b)")
    add2 = lib.func("void AddPack2(int a, int b, _Inout_ Pack2 *p)")
    p2 = Pack2()
    fill2(1, -2, p2)
    assert p2 == Pack2(1, -2)
    assert ret2(2**31 - 1, -(2**31)) == Pack2(2**31 - 1, -(2**31))
    add2(10, 20, p2)
    assert p2 == Pack2(11, 18)

    fill3 = lib.func("void FillPack3(int a, int b, int c, _Out_ Pack3 *p)")
    ret3 = lib.func("Pack3 RetPack3(int a, int b, int c)")
    add3 = lib.func("void AddPack3(int a, int b, int c, _Inout_ Pack3 *p)")
    p3 = Pack3()
    fill3(1, 2, 3, p3)
    assert p3 == Pack3(1, 2, 3)
    assert ret3(4, 5, 6) == Pack3(4, 5, 6)
    add3(10, 20, 30, p3)
    assert p3 == Pack3(11, 22, 33)


def test_out_record_object_identity_is_kept(lib: Any) -> None:
    fill = lib.func("void FillPack3(int a, int b, int c, _Out_ Pack3 *p)")
    p = Pack3(9, 9, 9)
    before = p
    fill(7, 8, 9, p)
    assert p is before and (p.a, p.b, p.c) == (7, 8, 9)


def test_record_by_value_from_instance_and_dict(lib: Any) -> None:
    total = lib.func("int SumPack3(Pack3 p)")
    reverse = lib.func("Pack3 ReversePack3(Pack3 p)")
    assert total(Pack3(1, 20, 300)) == 321
    assert total({"a": 1, "b": 2, "c": 3}) == 6
    assert total({"b": 5}) == 5  # missing members are zero
    assert reverse(Pack3(1, 2, 3)) == Pack3(3, 2, 1)


def test_float_records(lib: Any) -> None:
    pack = lib.func("Float2 PackFloat2(float a, float b, _Out_ Float2 *out)")
    out = Float2()
    assert pack(1.5, -2.25, out) == Float2(1.5, -2.25)
    assert out == Float2(1.5, -2.25)
    swap = lib.func("Float2 SwapFloat2(Float2 f)")
    assert swap(Float2(0.5, 8.0)) == Float2(8.0, 0.5)
    through = lib.func("Float2 ThroughFloat2(Float2 f)")
    assert through(Float2(0.1, 0.2)) == Float2(f32(0.1), f32(0.2))

    pack3 = lib.func("Double3 PackDouble3(double a, double b, double c, _Out_ Double3 *out)")
    out3 = Double3()
    assert pack3(0.1, -1e300, 3.0, out3) == Double3(0.1, -1e300, 3.0)
    assert out3 == Double3(0.1, -1e300, 3.0)
    sum3 = lib.func("double SumDouble3(Double3 d)")
    assert sum3(Double3(0.5, 0.25, 0.125)) == 0.875


def test_mixed_int_double_records(lib: Any) -> None:
    reverse = lib.func("DoubleInt ReverseIntDouble(IntDouble v)")
    assert reverse(IntDouble(4, 1.25)) == DoubleInt(2.5, 12)
    assert reverse({"i": -1, "d": -0.5}) == DoubleInt(-1.0, -3)


def test_big_record_out_and_returned(lib: Any) -> None:
    assert koffi.sizeof(BFG) == 48
    make = lib.func("BFG MakeBFG(_Out_ BFG *p, int x, double y, const char *str)")
    out = BFG()
    ret = make(out, 2, 7.0, "Hello")
    expected = BFG(a=2, b=4, c=-25, d="Hello!", e=54, f=14.0, g=5.0)
    assert ret == expected
    assert out == expected
    checksum = lib.func("double BFGChecksum(BFG v)")
    v = BFG(a=-1, b=2**40, c=3, d="four", e=-500, f=0.5, g=0.25)
    assert checksum(v) == -1 + 2**40 + 3 + 4 - 500 + 0.5 + 0.25


def test_arrays_inside_records(lib: Any) -> None:
    make = lib.func("void MakePolygon(int count, float start, const char *name, "
                    "_Out_ Polygon *out)")
    out = Polygon()
    make(3, 0.5, "triangle", out)
    assert out.count == 3
    assert out.xs == [0.5, 1.5, 2.5, 0.0]
    assert out.name == "triangle"
    total = lib.func("float PolygonSum(Polygon p)")
    assert total(Polygon(2, [1.0, 2.0, 100.0, 100.0], "ab")) == 1.0 + 2.0 + 2


def test_record_pointers_in_out_inout(lib: Any) -> None:
    get = lib.func("void GetPoint(_Out_ IntPoint *out)")
    pt = IntPoint()
    get(pt)
    assert pt == IntPoint(12, -34)

    total = lib.func("int PointSum(const IntPoint *p)")
    assert total(IntPoint(3, 4)) == 7
    assert total({"x": 10, "y": -1}) == 9
    assert total(None) == -1

    move = lib.func("IntPoint MovePoint(IntPoint p, int dx, int dy)")
    assert move(IntPoint(1, 1), 4, -5) == IntPoint(5, -4)

    scale = lib.func("void ScalePoint(_Inout_ IntPoint *p, int k)")
    pt = IntPoint(3, -4)
    scale(pt, 5)
    assert pt == IntPoint(15, -20)


def test_in_record_pointer_is_not_written_back(lib: Any) -> None:
    scale = lib.func("void ScalePoint(IntPoint *p, int k)")  # no direction: input only
    pt = IntPoint(3, -4)
    scale(pt, 5)
    assert pt == IntPoint(3, -4)


def test_record_through_void_pointer_with_as(lib: Any) -> None:
    f = lib.func("int PointSumVoid(const void *p)")
    assert f(koffi.as_(IntPoint(2, 3), "IntPoint *")) == 23


def test_record_pointer_from_alloc(lib: Any) -> None:
    get = lib.func("void GetPoint(IntPoint *out)")
    p = koffi.alloc(IntPoint, 1)
    try:
        get(p)
        assert p.deref() == IntPoint(12, -34)
        assert koffi.decode(p, IntPoint) == IntPoint(12, -34)
    finally:
        koffi.free(p)


def test_wrong_pointer_type_is_rejected(lib: Any) -> None:
    total = lib.func("int PointSum(const IntPoint *p)")
    p = koffi.alloc("int", 2)
    try:
        with pytest.raises(TypeError) as exc:
            total(p)
        assert_names(exc, "PointSum", "'p'")
    finally:
        koffi.free(p)


def test_bare_int_is_rejected_for_record_pointer(lib: Any) -> None:
    total = lib.func("int PointSum(const IntPoint *p)")
    with pytest.raises(TypeError) as exc:
        total(0x1000)
    assert_names(exc, "PointSum", "'p'")


def test_none_for_record_by_value_is_rejected(lib: Any) -> None:
    move = lib.func("IntPoint MovePoint(IntPoint p, int dx, int dy)")
    with pytest.raises(TypeError) as exc:
        move(None, 1, 1)
    assert_names(exc, "MovePoint", "'p'")


def test_other_record_class_for_record_by_value_is_rejected(lib: Any) -> None:
    total = lib.func("int SumPack3(Pack3 p)")
    with pytest.raises(TypeError) as exc:
        total(IntPoint(1, 2))
    assert_names(exc, "SumPack3", "'p'")


def test_bad_record_member_names_the_argument(lib: Any) -> None:
    total = lib.func("int SumPack3(Pack3 p)")
    with pytest.raises(OverflowError) as exc:
        total(Pack3(a=2**31))
    assert_names(exc, "SumPack3", "'p'")


# ----------------------------------------------------------------------------- many arguments


def test_nineteen_mixed_arguments(lib: Any) -> None:
    fmt = lib.func(
        "int FormatMixed(char *out, size_t size, int8_t a, double b, int16_t c, float d, "
        "int32_t e, Pack3 s, int64_t f, float g, uint8_t h, double i, uint16_t j, float k, "
        "uint32_t l, double m, float n, double o, float p)")
    args = (-5, 0.5, -1000, 1.25, 123456, Pack3(1, 2, 3), -(2**40), 2.5, 200, -3.75, 60000,
            0.125, 4_000_000_000, 1e10, 6.5, -7.0, 8.25)
    buf = bytearray(256)
    n = fmt(buf, len(buf), *args)
    expected = " ".join(f"{v:g}" if isinstance(v, float) else
                        "{1 2 3}" if isinstance(v, Pack3) else str(v) for v in args)
    assert buf[:n].decode() == expected


# ----------------------------------------------------------------------------- strings


def test_strings_of_every_width_in(lib: Any) -> None:
    text = "h€llo 😀"
    assert lib.func("size_t Utf8Length(const char *s)")(text) == len(text.encode())
    assert lib.func("size_t Utf16Length(const char16_t *s)")(text) == \
        len(text.encode("utf-16-le")) // 2
    assert lib.func("size_t Utf32Length(const char32_t *s)")(text) == len(text)
    assert lib.func("size_t WideLength(const wchar_t *s)")(text) == len(text)


def test_char_pointer_accepts_bytes_and_none(lib: Any) -> None:
    length = lib.func("size_t Utf8Length(const char *s)")
    assert length(b"abc") == 3
    assert length(bytes([0xE9, 0x41])) == 2  # raw bytes are not re-encoded
    assert length("") == 0
    assert length(None) == 2**64 - 1  # C saw NULL


def test_concatenate_into_caller_buffers(lib: Any) -> None:
    concat8 = lib.func("void Concat8(const char *a, const char *b, char *out)")
    buf = bytearray(64)
    concat8("Hello ", "wörld", buf)
    assert buf.split(b"\0")[0].decode() == "Hello wörld"

    concat16 = lib.func("void Concat16(const char16_t *a, const char16_t *b, char16_t *out)")
    buf = bytearray(64)
    concat16("ab€", "😀z", buf)
    assert buf.decode("utf-16-le").split("\0")[0] == "ab€😀z"
    assert koffi.decode(buf, "char16_t", -1) == "ab€😀z"

    concat32 = lib.func("void Concat32(const char32_t *a, const char32_t *b, char32_t *out)")
    buf = bytearray(64)
    concat32("ab€", "😀z", buf)
    assert buf.decode("utf-32-le").split("\0")[0] == "ab€😀z"

    concat_w = lib.func("void ConcatWide(const wchar_t *a, const wchar_t *b, wchar_t *out)")
    buf = bytearray(64)
    concat_w("wide ", "été", buf)
    assert buf.decode("utf-32-le").split("\0")[0] == "wide été"


def test_static_strings_of_every_width_out(lib: Any) -> None:
    assert lib.func("const char *GetStaticString(void)")() == "Hello from C"
    assert lib.func("const char16_t *GetStaticString16(void)")() == "héllo ☃"
    assert lib.func("const char32_t *GetStaticString32(void)")() == "😀 ok"
    assert lib.func("const wchar_t *GetStaticWide(void)")() == "wide été"
    assert lib.func("str16 GetStaticString16(void)")() == "héllo ☃"


def test_null_string_result_is_none(lib: Any) -> None:
    maybe = lib.func("const char *MaybeString(int which)")
    assert maybe(1) == "yes"
    assert maybe(0) is None


def test_disposable_string_results_are_freed(lib: Any) -> None:
    upper = lib.func("char *! DuplicateUpper(const char *s)")
    before = koffi.stats()["disposed"]
    assert upper("hello, wörld") == "HELLO, WöRLD"
    assert koffi.stats()["disposed"] == before + 1

    classic = lib.func("DuplicateUpper", koffi.disposable("str"), ["str"])
    assert classic("abc") == "ABC"
    assert koffi.stats()["disposed"] == before + 2

    reversed16 = lib.func("Duplicate16Reversed", koffi.disposable("str16"), ["str16"])
    assert reversed16("abc€") == "€cba"
    assert koffi.stats()["disposed"] == before + 3


@pytest.mark.parametrize("bad", [5, 1.0, ["abc"], True])
def test_wrong_type_for_string(lib: Any, bad: object) -> None:
    length = lib.func("size_t Utf8Length(const char *s)")
    with pytest.raises(TypeError) as exc:
        length(bad)
    assert_names(exc, "Utf8Length", "'s'")


def test_wrong_type_for_wide_string(lib: Any) -> None:
    length = lib.func("size_t Utf16Length(const char16_t *s)")
    with pytest.raises(TypeError) as exc:
        length(5)
    assert_names(exc, "Utf16Length", "'s'")


# ----------------------------------------------------------------------------- out-parameters


def test_fill_range_into_buffers(lib: Any) -> None:
    fill = lib.func("void FillRange(_Out_ int *out, int n)")
    expected = [i * 3 + 1 for i in range(6)]

    arr = array.array("i", [-1] * 6)
    fill(arr, 6)
    assert arr.tolist() == expected

    raw = bytearray(4 * 6)
    fill(raw, 6)
    assert list(struct.unpack("6i", raw)) == expected

    p = koffi.alloc("int", 6)
    try:
        fill(p, 6)
        assert koffi.decode(p, "int", 6) == expected
        assert p[5] == 16
    finally:
        koffi.free(p)


def test_fill_range_into_a_list(lib: Any) -> None:
    fill = lib.func("void FillRange(_Out_ int *out, int n)")
    out = [0] * 5
    fill(out, 5)
    assert out == [1, 4, 7, 10, 13]


def test_multiply_integers_in_place(lib: Any) -> None:
    multiply = lib.func("void MultiplyIntegers(_Inout_ int *values, int n, int k)")
    values = [1, -2, 3]
    multiply(values, 3, 4)
    assert values == [4, -8, 12]
    arr = array.array("i", [5, 6, 7, 8])
    multiply(arr, 4, -3)
    assert arr.tolist() == [-15, -18, -21, -24]
    total = lib.func("int SumInts(const int *values, int n)")
    assert total([1, 2, 3, 4], 4) == 10
    assert total(array.array("i", [10, -20]), 2) == -10


def test_one_element_lists_as_out_and_inout(lib: Any) -> None:
    divide = lib.func("void Divide(int a, int b, _Out_ int *quotient, _Out_ int *remainder)")
    q, r = [0], [0]
    divide(47, 5, q, r)
    assert (q[0], r[0]) == divmod(47, 5)

    inc = lib.func("void IncrementInt64(_Inout_ int64_t *value)")
    v = [2**62]
    inc(v)
    assert v == [2**62 + 1]


def test_char_pointer_pointer_out(lib: Any) -> None:
    upper = lib.func("void UpperToInternalBuffer(const char *s, _Out_ char **out)")
    out: list[object] = [None]
    upper("hello wörld", out)
    assert out[0] == "HELLO WöRLD"


def test_pointer_out_and_view(lib: Any) -> None:
    upper = lib.func("void UpperToInternalBuffer(const char *s, _Out_ uint8_t **out)")
    out: list[object] = [None]
    upper("koffi", out)
    ptr = out[0]
    assert isinstance(ptr, koffi.Pointer) and ptr
    assert bytes(koffi.view(ptr, 5)) == b"KOFFI"
    assert koffi.decode(ptr, "char", 5) == "KOFFI"
    assert koffi.decode(ptr, "char", -1) == "KOFFI"
    assert koffi.decode(int(ptr), "uint8_t", 2) == [ord("K"), ord("O")]


def test_opaque_handles(lib: Any) -> None:
    open_ = lib.func("int OpenHandle(int value, _Out_ Handle **out)")
    value = lib.func("int HandleValue(Handle *h)")
    close = lib.func("void CloseHandle(Handle *h)")
    count = lib.func("int CountHandles(void)")
    live = count()
    h1: list[object] = [None]
    h2: list[object] = [None]
    assert open_(7, h1) == 0
    assert open_(99, h2) == 0
    assert isinstance(h1[0], koffi.Pointer) and h1[0]
    assert h1[0] != h2[0]
    assert count() == live + 2
    assert value(h1[0]) == 7 and value(h2[0]) == 99
    close(h1[0])
    close(h2[0])
    assert count() == live
    failed: list[object] = [None]
    assert open_(-1, failed) == -1
    assert not failed[0]


# ----------------------------------------------------------------------------- enums


def test_enums_in_and_out(lib: Any) -> None:
    assert ColorType.primitive == "Enum"
    nxt = lib.func("SyncColor NextColor(SyncColor c)")
    name = lib.func("const char *ColorName(SyncColor c)")
    assert nxt(Color.RED) == Color.GREEN
    assert nxt(Color.GREEN) == Color.BLUE
    assert nxt(Color.BLUE) == Color.RED
    assert name(Color.BLUE) == "blue"
    assert name(2) == "green"


# ----------------------------------------------------------------------------- variadic


def test_variadic_printf(lib: Any) -> None:
    fmt = lib.func("int PrintFmt(char *out, size_t size, const char *fmt, ...)")
    buf = bytearray(128)
    n = fmt(buf, len(buf), "%d %s %g %lld %g %s", "int", 5, "str", "five", "double", 2.5,
            "int64_t", -(2**40), "float", 1.5, "const char *", "ünï")
    expected = f"5 five {2.5:g} {-(2**40)} {1.5:g} ünï"
    assert buf[:n].decode() == expected
    n = fmt(buf, len(buf), "no args")
    assert buf[:n] == b"no args"


def test_variadic_ints_and_doubles(lib: Any) -> None:
    total = lib.func("int SumVariadic(int count, ...)")
    assert total(3, "int", 1, "int", 2, "int", 39) == 42
    assert total(0) == 0
    doubles = lib.func("double SumVariadicDoubles(int count, ...)")
    values = [0.5 * i for i in range(1, 11)]  # more than the 8 XMM registers
    pairs: list[object] = []
    for v in values:
        pairs += ["double", v]
    assert doubles(len(values), *pairs) == sum(values)


def test_variadic_missing_value(lib: Any) -> None:
    total = lib.func("int SumVariadic(int count, ...)")
    with pytest.raises(TypeError, match="SumVariadic\\(\\)"):
        total(1, "int")


def test_variadic_value_checked_against_its_type(lib: Any) -> None:
    total = lib.func("int SumVariadic(int count, ...)")
    with pytest.raises(OverflowError, match="SumVariadic\\(\\)"):
        total(1, "int", 2**31)


# ----------------------------------------------------------------------------- variables


def test_exported_int(lib: Any) -> None:
    ptr = lib.symbol("sym_int", "int")
    get = lib.func("int GetSymInt(void)")
    assert isinstance(ptr, koffi.Pointer)
    assert koffi.decode(ptr, "int") == 42
    try:
        koffi.encode(ptr, "int", 7)
        assert get() == 7
        assert ptr.deref() == 7
    finally:
        koffi.encode(ptr, "int", 42)
    assert get() == 42


def test_symbol_without_a_type_is_a_void_pointer(lib: Any) -> None:
    ptr = lib.symbol("sym_int")
    assert ptr.type is koffi.types.void and ptr == lib.symbol("sym_int", None)
    assert koffi.decode(ptr, "int") == 42


def test_exported_string_and_array(lib: Any) -> None:
    s = lib.symbol("sym_str", "const char *")
    assert koffi.decode(s, "const char *") == "foo"
    arr = lib.symbol("sym_int3", "int")
    get = lib.func("int GetSymInt3(int i)")
    assert koffi.decode(arr, "int", 3) == [7, -8, 9]
    assert arr[1] == -8
    assert koffi.decode(arr, "int", offset=8) == 9
    try:
        koffi.encode(arr, "int", [100, 200, 300], count=3)
        assert [get(i) for i in range(3)] == [100, 200, 300]
        koffi.encode(arr, "int", -1, offset=4)
        assert get(1) == -1
    finally:
        koffi.encode(arr, "int", [7, -8, 9], count=3)


# ----------------------------------------------------------------------------- errno


def test_errno_after_a_call(lib: Any) -> None:
    set_errno = lib.func("int SetErrno(int value)")
    assert set_errno(errno.ENOENT) == -1
    assert koffi.errno() == errno.ENOENT
    assert set_errno(errno.ERANGE) == -1
    assert koffi.errno() == errno.ERANGE
    assert koffi.os.errno["ERANGE"] == errno.ERANGE


def test_errno_can_be_set(lib: Any) -> None:
    koffi.errno(0)
    assert koffi.errno() == 0
    koffi.errno(errno.EINTR)
    assert koffi.errno() == errno.EINTR
    get = lib.func("int GetErrno(void)")
    assert get() == errno.EINTR  # the value set is what C sees


@given(value=st.integers(-2**31, 2**31 - 1) | st.integers(2**31, 2**80) |
       st.integers(-2**80, -2**31 - 1))
@settings(max_examples=50, deadline=None)
def test_errno_values_are_range_checked_as_a_c_int(lib: Any, value: int) -> None:
    get = lib.func("int GetErrno(void)")
    if -2**31 <= value < 2**31:
        assert koffi.errno(value) == value and get() == value
    else:
        with pytest.raises(OverflowError, match="errno"):
            koffi.errno(value)
    for bad in (True, 1.0, "1", b"1"):
        with pytest.raises(TypeError, match="errno"):
            koffi.errno(bad)  # type: ignore[arg-type]
    koffi.errno(0)


# ----------------------------------------------------------------------------- function pointers


def test_function_pointers_from_c(lib: Any) -> None:
    assert BinOp.primitive == "Prototype"
    get = lib.func("BinOp *GetBinaryIntFunction(const char *name)")
    add, sub, mul = get("add"), get("sub"), get("mul")
    assert isinstance(add, koffi.Pointer) and add
    assert koffi.call(add, BinOp, 3, 4) == 7
    assert koffi.call(sub, BinOp, 3, 4) == -1
    assert koffi.call(mul, BinOp, -6, 7) == -42
    assert not get("nope")
    apply = lib.func("int ApplyBinary(BinOp *fn, int a, int b)")
    assert apply(mul, 6, 7) == 42


def test_function_pointer_as_void_pointer(lib: Any) -> None:
    get = lib.func("void *GetBinaryIntFunction(const char *name)")
    sub = get("sub")
    assert koffi.call(sub, BinOp, 10, 3) == 7
    anonymous = koffi.proto("int (int a, int b)")
    assert anonymous.primitive == "Prototype"
    assert koffi.call(sub, anonymous, 1, 2) == -1


def test_call_checks_arguments(lib: Any) -> None:
    get = lib.func("BinOp *GetBinaryIntFunction(const char *name)")
    with pytest.raises(OverflowError):
        koffi.call(get("add"), BinOp, 2**31, 1)
    with pytest.raises(TypeError):
        koffi.call(get("add"), BinOp, 1)


# ----------------------------------------------------------------------------- buffers and math


def test_buffers_are_passed_without_copy(lib: Any) -> None:
    address_of = lib.func("uintptr_t AddressOf(const void *p)")
    ba = bytearray(b"0123456789")
    assert address_of(ba) == koffi.address(ba) != 0
    arr = array.array("d", [1.0, 2.0])
    assert address_of(arr) == koffi.address(arr) == arr.buffer_info()[0]
    mv = memoryview(ba)[3:]
    assert address_of(mv) == koffi.address(ba) + 3
    assert address_of(None) == 0 and koffi.address(None) == 0
    assert lib.func("int IsNull(const void *p)")(None) == 1


def test_reverse_bytes_in_every_kind_of_buffer(lib: Any) -> None:
    reverse = lib.func("void ReverseBytes(void *buf, size_t len)")
    ba = bytearray(b"hello")
    reverse(ba, len(ba))
    assert ba == b"olleh"

    ba = bytearray(b"abcdef")
    reverse(memoryview(ba)[1:5], 4)
    assert ba == b"aedcbf"

    arr = array.array("B", [1, 2, 3])
    reverse(arr, 3)
    assert arr.tolist() == [3, 2, 1]

    ba = bytearray(b"xyz")
    reverse(koffi.address(ba), 3)  # a bare int is accepted for void *
    assert ba == b"zyx"


def test_view_of_allocated_memory(lib: Any) -> None:
    reverse = lib.func("void ReverseBytes(void *buf, size_t len)")
    p = koffi.alloc("uint8_t", 8)
    try:
        view = koffi.view(p, 8)
        assert bytes(view) == bytes(8)  # alloc zeroes
        view[:] = b"abcdefgh"
        reverse(p, 8)
        assert bytes(view) == b"hgfedcba"
        assert koffi.decode(p, "uint8_t", 8) == list(b"hgfedcba")
    finally:
        koffi.free(p)


def test_count_zeros(lib: Any) -> None:
    count = lib.func("size_t CountZeros(const uint8_t *buf, size_t len)")
    data = bytes([0, 1, 0, 2, 0, 0, 3])
    assert count(data, len(data)) == data.count(0)
    assert count(bytearray(100), 100) == 100
    assert count([0, 5, 0], 3) == 2


def test_average(lib: Any) -> None:
    average = lib.func("double Average(const double *values, int n)")
    assert average(array.array("d", [1.0, 2.0, 3.0, 4.5]), 4) == 10.5 / 4
    assert average([0.1, 0.2, 0.3], 3) == (0.1 + 0.2 + 0.3) / 3
    assert average(None, 0) == 0.0
    average_f = lib.func("float AverageFloat(const float *values, int n)")
    assert average_f(array.array("f", [1.0, 2.0, 4.0]), 3) == f32(7.0 / 3)


@pytest.mark.parametrize("values", [
    [-1, 1, -(2**31), 2**31 - 1, 0, 7, -5, 2**31 - 1, -(2**31), 3],  # small: plain ints
    [-(2**63), 2**64 - 1, 2**31, 2**31, -(2**31) - 1, 2**32, 2**62, 2**63, -(2**40), 2**40],
])
def test_int64_arguments_in_registers_and_on_the_stack(lib: Any, values: list[int]) -> None:
    """64-bit values that fit in 32 bits go to ctypes as plain ints when they travel in a
    register (sign-extended there); on the stack they must still be whole 64-bit words."""
    echo = lib.func("void EchoInt64s(_Out_ int64_t *out, int64_t a, uint64_t b, int64_t c, "
                    "uint64_t d, int64_t e, uint64_t f, int64_t g, uint64_t h, int64_t i, "
                    "uint64_t j)")
    out = [0] * 10
    echo(out, *values)
    assert [v if v < 2**63 else v - 2**64 for v in values] == out


# ----------------------------------------------------------------------------- argument counts


@pytest.mark.parametrize(("args", "message"), [
    ((), r"ThroughInt32\(\) missing 1 required positional argument: 'value'"),
    ((1, 2), r"ThroughInt32\(\) takes 1 positional argument but 2 were given"),
])
def test_wrong_argument_count(lib: Any, args: tuple[int, ...], message: str) -> None:
    """The caller has the C parameters as positional-only parameters: arity errors are worded
    as Python's own, naming the function and the missing parameter (the compiled callers of
    the mypyc build reproduce them). A keyword argument is refused (the compiled callers
    word that one as mypyc does)."""
    f = lib.func("int32_t ThroughInt32(int32_t value)")
    with pytest.raises(TypeError, match=message):
        f(*args)
    with pytest.raises(TypeError, match="positional-only|'value' is an invalid keyword"):
        f(value=1)


def test_callers_show_the_c_parameter_names(lib: Any) -> None:
    """C names become the parameter names unless they would clash with Python builtins or
    the generated code's own names (then a0, a1, ...)."""
    f = lib.func("int32_t ThroughInt32(int32_t value)")
    assert str(inspect.signature(f)) == "(value, /)"
    g = lib.func("void FillPack2(int type, int c0, Pack2 *keep)")
    assert str(inspect.signature(g)) == "(a0, a1, a2, /)"
    assert lib.func("void FillPack2(int, int b, Pack2 *)").__code__.co_varnames[:3] == (
        "a0", "b", "a2")


def test_too_few_arguments_for_a_variadic_function(lib: Any) -> None:
    fmt = lib.func("int PrintFmt(char *out, size_t size, const char *fmt, ...)")
    with pytest.raises(TypeError, match=r"PrintFmt\(\) missing 1 required positional "
                                        r"argument: 'fmt'"):
        fmt(bytearray(8), 8)
    with pytest.raises(TypeError, match=r"PrintFmt\(\): missing value argument"):
        fmt(bytearray(8), 8, "%d", "int")


# ----------------------------------------------------------------------------- bad prototypes


def test_prototype_with_unknown_type(lib: Any) -> None:
    with pytest.raises(koffi.ParseError, match="Unknown or invalid type name 'NoSuchType'"):
        lib.func("int ThroughInt32(NoSuchType value)")


def test_prototype_missing_paren(lib: Any) -> None:
    with pytest.raises(koffi.ParseError, match=r"expected '\)'"):
        lib.func("int ThroughInt32(int value")


def test_prototype_with_array_parameter(lib: Any) -> None:
    with pytest.raises((koffi.ParseError, TypeError), match="(?i)array types decay to pointers"):
        lib.func("int SumInts(int values[4], int n)")


def test_prototype_without_name(lib: Any) -> None:
    with pytest.raises(koffi.ParseError):
        lib.func("int (int value)")


def test_direction_on_a_non_pointer(lib: Any) -> None:
    with pytest.raises(TypeError, match="expected pointer or string type"):
        lib.func("int ThroughInt32(_Out_ int value)")


# ----------------------------------------------------------------------------- memory


def test_alloc_decode_encode_free() -> None:
    p = koffi.alloc("int32_t", 4)
    try:
        assert koffi.decode(p, "int32_t", 4) == [0, 0, 0, 0]
        koffi.encode(p, "int32_t", [1, -2, 3, -4], count=4)
        assert bytes(koffi.view(p, 16)) == struct.pack("4i", 1, -2, 3, -4)
    finally:
        koffi.free(p)


def test_free_twice_is_an_error() -> None:
    p = koffi.alloc("int", 4)
    koffi.free(p)
    with pytest.raises(ValueError, match="already freed"):
        koffi.free(p)


def test_decode_of_freed_memory_is_an_error() -> None:
    p = koffi.alloc("int", 4)
    koffi.free(p)
    with pytest.raises(ValueError):
        koffi.decode(p, "int")


def test_encode_into_freed_memory_is_an_error() -> None:
    p = koffi.alloc("int", 4)
    koffi.free(p)
    with pytest.raises(ValueError):
        koffi.encode(p, "int", 1)


def test_decode_of_python_buffers() -> None:
    data = struct.pack("<3i", 5, -6, 7)
    assert koffi.decode(data, "int", 3) == [5, -6, 7]
    assert koffi.decode(bytearray(data), "int", offset=4) == -6
    assert koffi.decode(memoryview(data), "int32_t") == 5
    assert koffi.decode(b"abc\0def", "char", -1) == "abc"


def test_config_and_stats() -> None:
    config = koffi.config()
    assert isinstance(config["max_async_calls"], int) and config["max_async_calls"] > 0
    stats = koffi.stats()
    assert {"disposed", "callbacks", "allocations"} <= set(stats)
    before = stats["allocations"]
    p = koffi.alloc("int", 1)
    try:
        assert koffi.stats()["allocations"] == before + 1
    finally:
        koffi.free(p)


# ----------------------------------------------------------------------------- more edge cases


def test_calling_after_unload_is_an_error(c_library: Callable[[str], Path]) -> None:
    library = koffi.load(c_library("sync"))
    through = library.func("int32_t ThroughInt32(int32_t value)")
    assert through(3) == 3
    library.unload()
    with pytest.raises(koffi.Error, match="ThroughInt32"):
        through(3)


def test_special_floating_point_values(lib: Any) -> None:
    muld = lib.func("double MulDouble(double a, double b)")
    mulf = lib.func("float MulFloat(float a, float b)")
    assert math.isnan(muld(float("nan"), 1.0))
    assert muld(float("-inf"), 2.0) == float("-inf")
    assert mulf(3e38, 10.0) == float("inf")  # overflows the float in C
    assert mulf(1e-45, 1.0) == f32(1e-45)


def test_large_strings(lib: Any) -> None:
    length = lib.func("size_t Utf8Length(const char *s)")
    big = "é" * 500_000
    assert length(big) == 1_000_000
    upper = lib.func("char *! DuplicateUpper(const char *s)")
    assert upper("ab" * 300_000) == "AB" * 300_000
    length16 = lib.func("size_t Utf16Length(const char16_t *s)")
    assert length16("x" * 100_000) == 100_000


def test_config_reset_in_a_fresh_process(c_library: Callable[[str], Path]) -> None:
    script = f"""
import koffi_typed as koffi
config = koffi.config({{"max_async_calls": 64}})
assert koffi.config()["max_async_calls"] == 64, koffi.config()
try:
    koffi.config({{"no_such_setting": 1}})
except (KeyError, ValueError, TypeError, koffi.Error):
    pass
else:
    raise AssertionError("unknown config key accepted")
koffi.struct("ResetMe", {{"a": "int"}})
assert koffi.sizeof("ResetMe") == 4
koffi.reset()
try:
    koffi.type("ResetMe")
except koffi.Error:
    pass
else:
    raise AssertionError("reset() kept a user type name")
assert koffi.sizeof("int") == 4
lib = koffi.load({str(c_library("sync"))!r})
assert lib.func("int64_t ThroughInt64(int64_t v)")(-(2**63)) == -(2**63)
print("ok")
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_record_member_errors_behind_a_pointer_name_the_argument(lib: Any) -> None:
    point_sum = lib.func("int PointSum(const IntPoint *p)")
    with pytest.raises(OverflowError, match=r"PointSum\(\): argument 'p': IntPoint.x: 4294967296"):
        point_sum(IntPoint(2**32, 0))
    with pytest.raises(TypeError, match=r"PointSum\(\): argument 'p': IntPoint.y: expected int"):
        point_sum(IntPoint(1, "y"))  # type: ignore[arg-type]
