"""Value fidelity at the C boundary: what C sees is what was passed, or the call raises.

Each test enumerates (or generates) a whole family: every buffer kind against every pointer
declaration and direction, every string type against NULs and encodings, every integer type
against its range in fixed and variadic positions, floats against their range. Calls go to
tests/c/safety.c.
"""

from __future__ import annotations

import array
import ctypes
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi

FAST = settings(max_examples=60, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("safety"))


# ---------------------------------------------------------------------------- writability

def _bytes_address(b: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value or 0


READ_ONLY: dict[str, Callable[[], Any]] = {
    "bytes": lambda: b"\x2a" + bytes(15),
    "memoryview(bytes)": lambda: memoryview(b"\x2a" + bytes(15)),
    "readonly memoryview(bytearray)": lambda: memoryview(bytearray(b"\x2a" * 16)).toreadonly(),
    "memoryview(bytes)[1:]": lambda: memoryview(b"\x00\x2a" + bytes(14))[1:],
}
WRITABLE: dict[str, Callable[[], Any]] = {
    "bytearray": lambda: bytearray(b"\x2a" + bytes(15)),
    "memoryview(bytearray)": lambda: memoryview(bytearray(b"\x2a" + bytes(15))),
    "array('B')": lambda: array.array("B", [0x2A] + [0] * 15),
    "array('i')": lambda: array.array("i", [0x2A, 0, 0, 0]),
}
POINTEES = ["void", "char", "uint8_t", "int8_t", "int"]


def _declare(lib: koffi.Library, form: str, pointee: str, const: bool,
             direction: str) -> Any:
    """``int FirstByte(<const?> <pointee> *p)`` in one of the three declaration forms."""
    spec = f"{'const ' if const else ''}{pointee} *"
    marker = {"in": "", "out": "_Out_ ", "inout": "_Inout_ "}[direction]
    if form == "prototype":
        return lib.func(f"int FirstByte({marker}{spec}p)")
    if form == "classic":
        return lib.func("FirstByte", "int", [f"{marker}{spec}"])
    if direction != "in":
        wrap = koffi.out if direction == "out" else koffi.inout
        annotation: Any = Annotated[Any, wrap(spec)]
    else:
        annotation = Annotated[Any, spec]

    def FirstByte(p: annotation) -> Annotated[int, "int"]: ...
    FirstByte.__annotations__ = {"p": annotation, "return": Annotated[int, "int"]}
    return lib.function(FirstByte)


CASES = [(form, pointee, const, direction)
         for form in ("prototype", "classic", "typed")
         for pointee in POINTEES for const in (False, True)
         for direction in ("in", "out", "inout") if not (const and direction != "in")]


@pytest.mark.parametrize(("form", "pointee", "const", "direction"), CASES)
def test_immutable_buffers_only_where_c_cannot_write(lib: koffi.Library, form: str,
                                                    pointee: str, const: bool,
                                                    direction: str) -> None:
    f = _declare(lib, form, pointee, const, direction)
    for kind, make in READ_ONLY.items():
        value = make()
        before = bytes(value)
        if const and direction == "in":
            assert f(value) == 0x2A, kind  # C reads the object's own bytes
        else:
            with pytest.raises(TypeError, match=r"FirstByte\(\).*(immutable|expected)") as info:
                f(value)
            assert "argument" in str(info.value), kind
        assert bytes(value) == before, kind
    for kind, make in WRITABLE.items():
        value = make()
        if direction == "out" and pointee != "void":
            continue  # _Out_ buffers are zeroed and overwritten: covered below
        assert f(value) == 0x2A, (kind, form, pointee, const, direction)


def test_const_buffers_pass_without_a_copy(lib: koffi.Library) -> None:
    address_of = lib.func("uintptr_t AddressOf(const void *p)")
    data = b"koffi" * 10
    assert address_of(data) == _bytes_address(data)
    assert address_of(memoryview(data)[5:]) == _bytes_address(data) + 5
    chars = lib.func("uintptr_t AddressOf(const char *p)")
    assert chars(data) == _bytes_address(data)


def test_writes_land_in_writable_buffers(lib: koffi.Library) -> None:
    write = lib.func("int WriteFirst(void *p, int v)")
    for make in WRITABLE.values():
        value = make()
        write(value, 0x55)
        assert bytes(value)[0] == 0x55
    for make in READ_ONLY.values():
        value = make()
        with pytest.raises(TypeError, match=r"WriteFirst\(\): argument 'p'.*immutable"):
            write(value, 0x55)
        assert bytes(value)[0] == 0x2A


def test_non_const_char_pointer_refuses_bytes(lib: koffi.Library) -> None:
    write = lib.func("int WriteFirstChar(char *p, int v)")
    with pytest.raises(TypeError, match=r"WriteFirstChar\(\): argument 'p'.*bytes is immutable"):
        write(b"abc", 0x41)
    buf = bytearray(b"abc")
    write(buf, 0x41)
    assert buf == bytearray(b"Abc")
    length = lib.func("size_t Length8(const char *s)")
    assert length(b"abc") == 3
    typed = lib.func("size_t Length8(str s)")  # Koffi's str is const char *
    assert typed(b"abcd") == 4


def test_encode_into_bytes_raises() -> None:
    data = b"\x00" * 8
    with pytest.raises(TypeError, match="immutable"):
        koffi.encode(data, "int", 5)
    assert data == b"\x00" * 8


def test_dict_out_records_are_updated_in_place(lib: koffi.Library) -> None:
    koffi.struct("SafetyThree", {"a": "int", "b": "int", "c": "int"})
    fill = lib.func("void FillThree(_Out_ SafetyThree *t)")
    d: dict[str, int] = {}
    fill(d)
    assert d == {"a": 7, "b": 8, "c": 9}
    add = lib.func("void FillThree(_Inout_ SafetyThree *t)")
    d2 = {"a": 1}
    add(d2)
    assert d2 == {"a": 7, "b": 8, "c": 9}


# ---------------------------------------------------------------------------- strings

STRING_TYPES = {
    "const char *": ("Length8", 1), "str": ("Length8", 1),
    "const char16_t *": ("Length16", 2), "str16": ("Length16", 2),
    "const char32_t *": ("Length32", 4), "str32": ("Length32", 4),
    "const wchar_t *": ("LengthWide", ctypes.sizeof(ctypes.c_wchar)),
}
text_without_nul = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                           max_size=40)


@pytest.mark.parametrize("ctype", sorted(STRING_TYPES))
@FAST
@given(text=text_without_nul, cut=st.integers(0, 40))
def test_embedded_nul_raises_for_every_string_type(lib: koffi.Library, ctype: str, text: str,
                                                   cut: int) -> None:
    name, unit = STRING_TYPES[ctype]
    f = lib.func(f"size_t {name}({ctype} s)")
    units = len(text.encode({1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[unit])) // unit
    assert f(text) == units
    at = min(cut, len(text))
    with pytest.raises(ValueError, match=rf"{name}\(\): argument 's': embedded NUL"):
        f(text[:at] + "\0" + text[at:])


@pytest.mark.parametrize("ctype", sorted(STRING_TYPES))
@FAST
@given(data=st.binary(max_size=24))
def test_bytes_for_strings_must_be_terminated_for_their_width(lib: koffi.Library, ctype: str,
                                                             data: bytes) -> None:
    name, unit = STRING_TYPES[ctype]
    f = lib.func(f"size_t {name}({ctype} s)")
    zero = bytes(unit)
    chars = [data[i:i + unit] for i in range(0, len(data), unit)]
    if unit == 1:  # raw bytes (binary data is fine for char *): C reads to the first NUL
        assert f(data) == len(data.split(b"\0")[0])
        return
    well_formed = len(data) % unit == 0 and chars and chars[-1] == zero and \
        zero not in chars[:-1]
    if well_formed:
        assert f(data) == len(chars) - 1
    else:
        with pytest.raises(ValueError, match=rf"{name}\(\): argument 's'"):
            f(data)


@pytest.mark.parametrize("ctype", ["const char16_t *", "const char32_t *", "const char *"])
def test_unencodable_text_names_the_argument(lib: koffi.Library, ctype: str) -> None:
    name = STRING_TYPES[ctype][0]
    f = lib.func(f"size_t {name}({ctype} s)")
    lone = "a\ud800b"  # a lone high surrogate: no UTF encodes it
    with pytest.raises(ValueError, match=rf"{name}\(\): argument 's'"):
        f(lone)


TEXT_UNITS = {"char": 1, "char16_t": 2, "char32_t": 4, "wchar_t": ctypes.sizeof(ctypes.c_wchar)}
_CODECS = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}


def _units_without_nul(unit: int) -> st.SearchStrategy[bytes]:
    """Text as C may write it for ``unit``-byte characters: any units but the zero one
    (invalid UTF-8, lone UTF-16 surrogates, code points beyond Unicode included)."""
    one = st.binary(min_size=unit, max_size=unit).filter(lambda u: any(u))
    return st.lists(one, max_size=12).map(b"".join)


@pytest.mark.parametrize("ctype", sorted(TEXT_UNITS))
@FAST
@given(data=st.data())
def test_text_c_writes_reads_back_alike_on_every_path(lib: koffi.Library, ctype: str,
                                                     data: st.DataObject) -> None:
    """What C writes into an ``_Inout_`` string comes back as `koffi.decode` reads the same
    bytes; for ``char`` byte for byte (invalid UTF-8 as surrogateescape, never U+FFFD), so
    passing the string back hands C exactly what it wrote."""
    unit = TEXT_UNITS[ctype]
    raw = data.draw(_units_without_nul(unit))
    f = lib.func(f"void WriteText(_Inout_ {ctype} *dst, const void *src, size_t n, "
                 "size_t unit)")
    box = ["x" * (len(raw) // unit + 1)]  # room for every unit C writes (x is one unit)
    f(box, raw, len(raw), unit)
    assert box[0] == koffi.decode(bytearray(raw + bytes(unit)), ctype, -1)
    if unit == 1:
        assert box[0].encode("utf-8", "surrogateescape") == raw
        again = [box[0]]
        f(again, raw, len(raw), unit)  # the string C wrote, handed back, is C's own bytes
        assert again == box


_HOSTILE_TEXT = st.tuples(
    st.text(st.characters(blacklist_characters="\0"), max_size=12),
    st.sampled_from(["\0", "\ud800", "\udfff", "\udc80"]),
    st.text(max_size=6))


@pytest.mark.parametrize("ctype", sorted(TEXT_UNITS))
@FAST
@given(parts=_HOSTILE_TEXT, count=st.sampled_from([None, 0, 1, 5, 40]))
def test_encode_of_text_follows_the_string_rules(lib: koffi.Library, ctype: str,
                                                 parts: tuple[str, str, str],
                                                 count: int | None) -> None:
    """`koffi.encode` of a str into character memory refuses what a string parameter refuses
    (an embedded NUL, a character the width cannot encode) before writing anything."""
    unit = TEXT_UNITS[ctype]
    text = "".join(parts)
    param = lib.func(f"size_t {STRING_TYPES['const ' + ctype + ' *'][0]}"
                     f"(const {ctype} *s)")
    try:
        param(text)
    except ValueError:
        refused = True
    else:
        refused = False
    buf = bytearray(b"\xaa" * (unit * 64))
    if refused:
        with pytest.raises(ValueError, match=r"^encode\(\): "):
            koffi.encode(buf, ctype, text, -1 if count is None else count)
        assert buf == b"\xaa" * (unit * 64)
    else:  # only lone low surrogates of char: carried by surrogateescape, like parameters
        koffi.encode(buf, ctype, text, -1 if count is None else count)
        if count is None:
            assert koffi.decode(buf, ctype, -1) == text


def test_bytes_fill_char_arrays_whole() -> None:
    T = koffi.struct("SafetyChars", {"c": "char [3]", "n": "int"})
    assert bytes(T(c=b"the", n=1))[:3] == b"the"
    assert T.from_buffer(bytes(T(c=b"the", n=1))).c in (b"the", "the")
    assert bytes(T(c="th", n=1))[:3] == b"th\0"  # str keeps the NUL-terminating rule


# ---------------------------------------------------------------------------- integers

INT_TYPES = ["int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
             "uint64_t", "int", "unsigned int", "long", "unsigned long", "size_t", "short",
             "long long", "unsigned char", "signed char"]


def _range(t: str) -> tuple[int, int]:
    size = koffi.sizeof(t)
    signed = not (t.startswith("u") or t.startswith("unsigned") or t == "size_t")
    bits = size * 8
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _variadic_kind(t: str) -> int:
    lo = _range(t)[0]
    if koffi.sizeof(t) < 8:
        return 0 if lo < 0 or koffi.sizeof(t) < 4 else 1
    return 2 if lo < 0 else 3


@pytest.mark.parametrize("ctype", INT_TYPES)
@FAST
@given(data=st.data())
def test_variadic_ints_are_range_checked_before_promotion(lib: koffi.Library, ctype: str,
                                                          data: st.DataObject) -> None:
    var = lib.func("long long VarInt(int kind, ...)")
    lo, hi = _range(ctype)
    kind = _variadic_kind(ctype)
    inside = data.draw(st.integers(lo, hi) | st.sampled_from([lo, hi]))
    got = var(kind, ctype, inside)
    if kind == 3:
        got &= (1 << 64) - 1
    assert got == inside
    outside = data.draw(st.integers(hi + 1, hi + (1 << 70)) | st.integers(lo - (1 << 70), lo - 1)
                        | st.sampled_from([hi + 1, lo - 1]))
    with pytest.raises(OverflowError, match=r"VarInt\(\): variadic argument 1"):
        var(kind, ctype, outside)


def test_variadic_bool_accepts_true_and_false(lib: koffi.Library) -> None:
    var = lib.func("long long VarInt(int kind, ...)")
    assert var(0, "bool", True) == 1
    assert var(0, "bool", False) == 0
    with pytest.raises(TypeError, match="variadic argument 1"):
        var(0, "bool", 1)


@pytest.fixture(scope="module")
def no_value_types() -> None:
    koffi.proto("int Var0Cmp(const void *a, const void *b)")
    koffi.opaque("Var0Opaque")


@pytest.mark.parametrize("spec", ["void", "Var0Cmp", "Var0Opaque", "int[3]", "char[4]"])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_variadic_types_without_a_value_are_refused(lib: koffi.Library, spec: str,
                                                    position: int, no_value_types: None
                                                    ) -> None:
    """Types no value of which C can receive through ``...`` (void, function types,
    incomplete records, arrays) raise `TypeError` naming the variadic argument."""
    var = lib.func("long long VarInt(int kind, ...)")
    pairs: list[object] = ["int", 1] * position + [spec, 0]
    with pytest.raises(TypeError, match=fr"VarInt\(\): variadic argument {position + 1}"):
        var(0, *pairs)


@FAST
@given(value=st.integers(-(1 << 80), 1 << 80))
def test_void_pointer_ints_are_range_checked(lib: koffi.Library, value: int) -> None:
    bits = lib.func("uintptr_t PointerBits(void *p)")
    top = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1
    if 0 <= value <= top:
        assert bits(value) == value
    else:
        with pytest.raises(OverflowError, match=r"PointerBits\(\): argument 'p'"):
            bits(value)
    for edge in (-1, top + 1, 1 << 64, -(1 << 64)):
        with pytest.raises(OverflowError):
            bits(edge)


# ---------------------------------------------------------------------------- floats

FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
finite_doubles = st.floats(allow_nan=False, allow_infinity=False)


@FAST
@given(value=finite_doubles)
def test_float_parameters_refuse_finite_values_beyond_their_range(lib: koffi.Library,
                                                                  value: float) -> None:
    bits = lib.func("uint32_t BitsOfFloat(float v)")
    if abs(value) <= FLT_MAX:
        assert bits(value) == struct.unpack("<I", struct.pack("<f", value))[0]
    else:
        with pytest.raises(OverflowError, match=r"BitsOfFloat\(\): argument 'v'"):
            bits(value)


def test_float_infinities_and_nan_pass(lib: koffi.Library) -> None:
    bits = lib.func("uint32_t BitsOfFloat(float v)")
    assert bits(math.inf) == 0x7F800000
    assert bits(-math.inf) == 0xFF800000
    assert bits(math.nan) & 0x7F800000 == 0x7F800000


@pytest.mark.parametrize("spec", ["double", "float"])
def test_huge_ints_for_floats_name_the_argument(lib: koffi.Library, spec: str) -> None:
    f = lib.func(f"uint64_t BitsOfDouble({spec} v)") if spec == "double" else \
        lib.func("uint32_t BitsOfFloat(float v)")
    with pytest.raises(OverflowError, match=r"BitsOf\w+\(\): argument 'v'"):
        f(2**1024)
    var = lib.func("double VarDouble(int unused, ...)")
    with pytest.raises(OverflowError, match=r"VarDouble\(\): variadic argument 1"):
        var(0, spec, 2**1024)
    if spec == "float":
        with pytest.raises(OverflowError, match=r"VarDouble\(\): variadic argument 1"):
            var(0, "float", 1e300)
        assert var(0, "float", 1.5) == 1.5


# ---------------------------------------------------------------------------- errors

def test_decode_count_must_be_an_int() -> None:
    data = bytes(16)
    for bad in (2.0, True, "2", None if False else 1.5):
        with pytest.raises(TypeError, match="count"):
            koffi.decode(data, "int", bad)


def test_load_of_an_empty_path_raises() -> None:
    with pytest.raises(koffi.LoadError):
        koffi.load("")


@FAST
@given(value=st.integers(-(1 << 80), 1 << 80))
def test_void_pointer_members_are_range_checked(value: int) -> None:
    S = _void_member()
    top = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1
    if 0 <= value <= top:
        assert struct.unpack("@P", bytes(S(p=value)))[0] == value
    else:
        with pytest.raises(OverflowError, match=r"SafetyVoidMember\.p"):
            bytes(S(p=value))


_void_member_class: list[Any] = []


def _void_member() -> Any:
    if not _void_member_class:
        _void_member_class.append(koffi.struct("SafetyVoidMember", {"p": "void *"}))
    return _void_member_class[0]


def test_freed_pointers_are_refused_as_member_values() -> None:
    T = koffi.struct("SafetyPtrMember", {"p": "int *"})
    q = koffi.alloc("int", 1)
    copy = koffi.Pointer(q.address, koffi.type("int"))
    assert struct.unpack("@P", bytes(T(p=copy)))[0] == q.address
    koffi.free(q)
    for ref in (q, copy):
        with pytest.raises(ValueError, match=r"SafetyPtrMember\.p: .*already freed"):
            bytes(T(p=ref))


@FAST
@given(values=st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=6))
def test_unions_by_value_always_pass_their_current_bytes(lib: koffi.Library,
                                                        values: list[int]) -> None:
    U8 = _unions()[0]
    bits = lib.func("int64_t UnionBits(SafetyU8 u)")
    fill = lib.func("void FillUnion(_Out_ SafetyU8 *out, int64_t v)")
    u = U8(i=values[0])
    for v in values:
        assert bits(u) == u.i
        u.i = v                          # written in place: the next call sees it
        assert bits(u) == v
        fill(u, -v if v != -(1 << 63) else 0)   # C replaces the instance's bytes
        assert bits(u) == u.i
        u.d = 1.5
        assert bits(u) == struct.unpack("<q", struct.pack("<d", 1.5))[0]
    U16 = _unions()[1]
    bits16 = lib.func("int64_t UnionBits16(SafetyU16 u)")
    w = U16(i=[values[0], values[-1]])
    expect = (values[0] ^ ((values[-1] * 3) & ((1 << 64) - 1)))
    got = bits16(w) & ((1 << 64) - 1)
    assert got == expect & ((1 << 64) - 1)
    assert bits16(U16(d=[0.0, 0.0])) == 0


_union_classes: list[Any] = []


def _unions() -> list[Any]:
    if not _union_classes:
        _union_classes.append(koffi.union("SafetyU8", {"i": "int64_t", "d": "double"}))
        _union_classes.append(koffi.union("SafetyU16", {"i": "int64_t [2]",
                                                         "d": "double [2]"}))
    return _union_classes
