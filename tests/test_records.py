"""Records: declaration forms, Python behaviour, and bytes exchanged with real C code."""

from __future__ import annotations

import ctypes
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c, typesystem


class RColor(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 40000


@koffi.struct
class Point:
    x: c.int32
    y: c.double


@koffi.struct(pack=1)
class Header:
    tag: c.uint8
    size: c.uint32
    name: Annotated[str, "char [16]"]
    flags: Annotated[int, c.bits(c.uint32, 3)]
    level: Annotated[int, c.bits(c.uint32, 12)]
    delta: Annotated[int, c.bits("int32_t", 5)]


@koffi.union
class Value:
    i: c.int64
    d: c.double
    b: Annotated[bytes, koffi.array("uint8_t", 8, "Bytes")]


@koffi.struct
class Node:
    value: c.int32
    next: koffi.Ptr["Node"]


@koffi.struct
class Bits:
    a: Annotated[int, c.bits(c.uint, 8)]
    b: Annotated[int, c.bits(c.uint, 8)]
    c: Annotated[int, c.bits(c.uint, 8)]
    d: Annotated[int, c.bits(c.uint, 8)]
    x: c.double
    s: Annotated[int, c.bits(c.int, 5)]
    u: Annotated[int, c.bits(c.uint, 27)]
    w: Annotated[int, c.bits(c.longlong, 40)]
    flag: Annotated[bool, c.bits(c.bool, 1)]


@koffi.struct
class Texts:
    s: c.str
    s16: c.str16
    s32: c.str32


@koffi.struct
class Arrays:
    v: Annotated[list[int], "int16_t [5]"]
    text: Annotated[str, "char [8]"]
    raw: Annotated[bytes, koffi.array("uint8_t", 4, "Bytes")]
    m: Annotated[list[list[float]], "double [2][3]"]
    wide: Annotated[str, "char16_t [6]"]


@koffi.struct
class Flex:
    count: c.int32
    items: Annotated[list[int], koffi.array("int32_t", 8, counted_by="count")]


@koffi.struct
class Painted:
    color: Annotated[RColor, koffi.enumeration("RColor", RColor)]
    alpha: c.int8


@koffi.struct
class Wide:
    c: c.char
    x: c.longdouble
    big: c.int128
    ubig: c.uint128


@koffi.struct
class Endian:
    be16: c.uint16_be
    be32: c.uint32_be
    be64: c.int64_be


@koffi.struct
class Outer:
    tag: c.char
    p: Point
    v: Annotated[list[Value], koffi.array(Value, 2)]
    n: Node


RECORDS: list[tuple[str, type]] = [
    ("point", Point), ("header", Header), ("value", Value), ("node", Node), ("bits", Bits),
    ("texts", Texts), ("arrays", Arrays), ("flex", Flex), ("painted", Painted),
    ("wide", Wide), ("endian", Endian), ("outer", Outer),
]


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> ctypes.CDLL:
    return ctypes.CDLL(str(c_library("records")))


def c_fill(lib: ctypes.CDLL, name: str, cls: type) -> Any:
    buf = ctypes.create_string_buffer(koffi.sizeof(cls))
    getattr(lib, f"fill_{name}")(buf)
    return cls.from_buffer(buf.raw)  # type: ignore[attr-defined]


def c_check(lib: ctypes.CDLL, name: str, value: object) -> bool:
    data = bytes(value)  # type: ignore[call-overload]
    func = getattr(lib, f"check_{name}")
    func.restype = ctypes.c_int
    return bool(func(ctypes.create_string_buffer(data, len(data))))


@pytest.mark.parametrize(("index", "name", "cls"), [(i, n, k) for i, (n, k) in enumerate(RECORDS)])
def test_sizes_equal_the_compiler(lib: ctypes.CDLL, index: int, name: str, cls: type) -> None:
    lib.size_of.restype = ctypes.c_size_t
    assert koffi.sizeof(cls) == lib.size_of(index), name


def test_point(lib: ctypes.CDLL) -> None:
    assert c_fill(lib, "point", Point) == Point(-7, 2.5)
    assert c_check(lib, "point", Point(x=123456, y=-0.125))


def test_packed_header_with_bitfields(lib: ctypes.CDLL) -> None:
    h = c_fill(lib, "header", Header)
    assert h == Header(tag=200, size=0xDEADBEEF, name="koffi", flags=5, level=4095, delta=-16)
    assert c_check(lib, "header", Header(1, 70000, "typed", 3, 1000, 15))


def test_union_reinterprets_bytes(lib: ctypes.CDLL) -> None:
    v = c_fill(lib, "value", Value)
    assert v.d == 1.0
    assert v.i == 0x3FF0000000000000
    assert v.b == bytes.fromhex("000000000000f03f")
    v.d = 2.0
    assert c_check(lib, "value", v)
    assert Value(d=1.0).i == 0x3FF0000000000000


def test_union_members_with_class_defaults_stay_properties() -> None:
    @koffi.union
    class Optional64:
        i: c.int64 = 0
        d: c.double = 0.0

    assert Optional64(d=1.0).i == 0x3FF0000000000000
    assert Optional64().d == 0.0


def test_union_constructor_writes_members_in_order() -> None:
    # members are written in declaration order (i, d, b), whatever the keyword order
    assert Value(i=1, b=b"\xff" * 8).i == -1
    assert Value(b=b"\xff" * 8, i=1).i == -1
    assert Value(i=1, d=0.0).i == 0
    assert Value(b=b"\x01\x02").b == b"\x01\x02" + bytes(6)  # short bytes are zero-filled
    assert Value().i == 0
    assert Value(i=5) == Value(b=b"\x05")
    assert repr(Value(i=1)).startswith("Value(i=1, d=5e-324, b=b'\\x01")
    with pytest.raises(OverflowError, match="Value.i"):
        Value(i=2**63)


def test_pointer_member_from_c(lib: ctypes.CDLL) -> None:
    node = c_fill(lib, "node", Node)
    assert node.value == 1
    assert isinstance(node.next, koffi.Pointer) and node.next
    assert node.next.type is koffi.type(Node)
    tail = node.next.deref()
    assert tail == Node(99, None)
    assert node.next[0] == tail


def test_bitfields(lib: ctypes.CDLL) -> None:
    assert c_fill(lib, "bits", Bits) == Bits(1, 2, 254, 255, 3.75, -13, 100000000,
                                             -549755813888, True)
    assert c_check(lib, "bits", Bits(10, 20, 30, 40, -1.5, 15, 2**27 - 1, 2**39 - 1, False))
    with pytest.raises(OverflowError, match=r"Bits.s: 16 is out of range for int : 5 \[-16, 15\]"):
        bytes(Bits(s=16))
    with pytest.raises(TypeError, match="Bits.flag: expected bool, got int"):
        bytes(Bits(flag=1))


def test_strings(lib: ctypes.CDLL) -> None:
    texts = c_fill(lib, "texts", Texts)
    assert texts == Texts("café", "héllo", "\U0001F600 ok")
    assert c_check(lib, "texts", Texts("naïve", None, "\U0001F40D"))
    with pytest.raises(TypeError, match="Texts.s: expected str or None"):
        bytes(Texts(s=5))  # type: ignore[arg-type]


def test_arrays(lib: ctypes.CDLL) -> None:
    a = c_fill(lib, "arrays", Arrays)
    assert a.v == [-2000, -1000, 0, 1000, 2000]
    assert a.text == "abc"
    assert a.raw == b"\x01\x02\x03\xff"
    assert a.m == [[0.5, 1.5, 2.5], [10.5, 11.5, 12.5]]
    assert a.wide == "été"
    ok = Arrays(v=[5, -5, 32767, -32768], text="0123456789", raw=b"\x09\x08",
                m=[[1.0, 0, 0], [0, 0, 7]], wide="ok")
    assert c_check(lib, "arrays", ok)
    with pytest.raises(ValueError, match="6 items do not fit in int16_t"):
        bytes(Arrays(v=[1, 2, 3, 4, 5, 6]))
    with pytest.raises(OverflowError, match=r"Arrays.v\[0\]: 32768 is out of range"):
        bytes(Arrays(v=[32768]))


def test_flexible_array_counted_by(lib: ctypes.CDLL) -> None:
    assert c_fill(lib, "flex", Flex) == Flex(3, [10, 20, 30])
    assert c_check(lib, "flex", Flex(items=[-1, -2]))
    with pytest.raises(ValueError, match="mismatched dynamic length between 'count'"):
        bytes(Flex(count=5, items=[1]))
    with pytest.raises(ValueError, match="9 items do not fit"):
        bytes(Flex(items=list(range(9))))


def test_enums(lib: ctypes.CDLL) -> None:
    p = c_fill(lib, "painted", Painted)
    assert p.color is RColor.BLUE and p.alpha == -1
    assert c_check(lib, "painted", Painted(RColor.GREEN, 5))
    assert c_check(lib, "painted", Painted(2, 5))


def test_long_double_and_int128(lib: ctypes.CDLL) -> None:
    w = c_fill(lib, "wide", Wide)
    assert w.c == ord("x")
    assert w.x == pytest.approx(1 / 3, rel=1e-15)
    assert w.big == -(1 << 100)
    assert w.ubig == (1 << 128) - 1
    assert c_check(lib, "wide", Wide(ord("y"), 0.1, (1 << 90) + 5, 1 << 127))
    with pytest.raises(OverflowError, match="Wide.ubig"):
        bytes(Wide(ubig=1 << 128))


def test_endian_integers(lib: ctypes.CDLL) -> None:
    assert c_fill(lib, "endian", Endian) == Endian(0x1234, 0xDE000001, -2)
    assert bytes(Endian(0x1234))[:2] == b"\x12\x34"


def test_nested_records(lib: ctypes.CDLL) -> None:
    o = c_fill(lib, "outer", Outer)
    assert o.tag == ord("T") and o.p == Point(3, 4.0)
    assert o.v[0].i == 77 and o.v[1].d == -2.0
    assert o.n.value == 5 and o.n.next.deref() == Node(99, None)
    assert c_check(lib, "outer", Outer(ord("Q"), Point(-3, 0.5), [Value(d=8.0), Value(i=-1)],
                                       Node(6, None)))


def test_dict_values_encode_like_instances(lib: ctypes.CDLL) -> None:
    data = koffi.marshal.to_bytes(koffi.type(Outer), {
        "tag": ord("Q"), "p": {"x": -3, "y": 0.5}, "v": [{"d": 8.0}, {"i": -1}],
        "n": {"value": 6}}, [])
    assert data == bytes(Outer(ord("Q"), Point(-3, 0.5), [Value(d=8.0), Value(i=-1)],
                               Node(6, None)))
    with pytest.raises(TypeError, match="Point has no member 'z'"):
        koffi.marshal.to_bytes(koffi.type(Point), {"z": 1}, [])


def test_instances_are_plain_slotted_objects() -> None:
    p = Point(1, 2.0)
    assert not hasattr(p, "__dict__")
    assert p == Point(1, 2.0) and p != Point(1, 3.0)
    assert repr(p) == "Point(x=1, y=2.0)"
    with pytest.raises(TypeError, match="unhashable"):
        hash(p)
    p.x = 5
    assert p.x == 5
    assert Point() == Point(0, 0.0)
    match p:
        case Point(x, y):
            assert (x, y) == (5, 2.0)
    a, b = Outer(), Outer()
    assert a.p is not b.p and a.v is not b.v


def test_repr_of_self_referencing_values() -> None:
    o = Outer()
    o.v = [o]  # type: ignore[list-item]
    assert "..." in repr(o)


def test_user_methods_defaults_and_super_survive() -> None:
    class Base:
        def describe(self) -> str:
            return "base"

    @koffi.struct
    class Custom(Base):
        width: c.int = 3
        height: c.int = 4

        def area(self) -> int:
            return self.width * self.height

        def describe(self) -> str:
            return "custom<" + super().describe() + ">"

        def __repr__(self) -> str:
            return "Custom!"

    r = Custom()
    assert (r.width, r.height, r.area()) == (3, 4, 12)
    assert r.describe() == "custom<base>" and repr(r) == "Custom!"
    assert isinstance(r, Base)


def test_forward_reference_to_a_later_record() -> None:
    @koffi.struct
    class RA:
        b: koffi.Ptr["RB"]

    assert koffi.type("RB").size == 0

    @koffi.struct
    class RB:
        a: koffi.Ptr[RA]
        n: c.int

    assert koffi.type(RA).members["b"].type.ref is koffi.type(RB)  # type: ignore[union-attr]
    assert koffi.sizeof("RB") > 0


def test_dict_forms() -> None:
    P = koffi.struct("DPoint", {"x": "int", "y": "double"})
    assert koffi.type("DPoint") is koffi.type(P)
    assert P(1, 2.0) == P(x=1, y=2.0)
    U = koffi.union("DUnion", {"i": "int32_t", "f": "float"})
    assert koffi.type(U).primitive == "Union"
    packed = koffi.pack("DPacked", {"a": "int8_t", "b": "double"})
    assert koffi.sizeof(packed) == 9
    anonymous = koffi.struct({"a": "int", "b": (8, "int16_t")})
    assert koffi.type(anonymous).name == "<anonymous>"
    assert koffi.offsetof(anonymous, "b") == 8
    pairs = koffi.struct("DPairs", [("z", "int"), ("a", "char"), ("_", "uint8_t [3]")])
    assert list(koffi.type(pairs).members or {}) == ["z", "a"] and koffi.sizeof(pairs) == 8
    bitty = koffi.struct("DBits", {"f": c.bits("uint8_t", 3), "g": c.bits("uint8_t", 5)})
    assert koffi.sizeof(bitty) == 1
    with pytest.raises(koffi.Error, match="Duplicate type name 'DPoint'"):
        koffi.struct("DPoint", {"x": "int"})


def test_class_redefinition_rebinds_the_name() -> None:
    @koffi.struct
    class Again:
        x: c.int8

    first = koffi.type("Again")

    @koffi.struct  # type: ignore[no-redef]
    class Again:  # noqa: F811
        x: c.int64

    assert koffi.type("Again") is not first and koffi.sizeof("Again") == 8


def test_explicit_alignment_markers() -> None:
    @koffi.struct
    class Aligned:
        a: c.char
        b: Annotated[int, c.int16, c.align(8)]

    assert koffi.offsetof(Aligned, "b") == 8 and koffi.alignof(Aligned) == 8


def test_from_buffer_bounds_and_offset() -> None:
    data = b"\xff" * 4 + bytes(Point(9, 1.5))
    assert Point.from_buffer(data, 4) == Point(9, 1.5)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="Expected buffer with size superior or equal"):
        Point.from_buffer(b"\0" * 8)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="Offset must be >= 0"):
        Point.from_buffer(data, -1)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "error", "message"), [
    (Point(x="1"), TypeError, "Point.x: expected int \\(int32_t\\), got str"),  # type: ignore[arg-type]
    (Point(x=True), TypeError, "Point.x: expected int \\(int32_t\\), got bool"),
    (Point(x=1.5), TypeError, "Point.x: expected int \\(int32_t\\), got float"),  # type: ignore[arg-type]
    (Point(x=2**31), OverflowError, "Point.x: 2147483648 is out of range for int32_t"),
    (Point(y="x"), TypeError, "Point.y: expected float \\(double\\), got str"),  # type: ignore[arg-type]
    (Outer(p=None), TypeError, "Outer.p: expected Point instance or dict, got NoneType"),  # type: ignore[arg-type]
    (Outer(p=Node()), TypeError, "expected Point instance or dict, got Node"),  # type: ignore[arg-type]
    (Node(next=5), TypeError, "Node.next: expected Pointer \\(Node \\*\\), None, a buffer, a list or a Node, got int"),  # type: ignore[arg-type]
    (Node(next=koffi.Pointer(8, koffi.type("int"))), TypeError, "got a pointer to int"),
])
def test_encode_errors_name_the_member(value: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        bytes(value)  # type: ignore[call-overload]


def test_numpy_style_index_ints_are_accepted() -> None:
    class Index:
        def __index__(self) -> int:
            return 7

    assert Point.from_buffer(bytes(Point(Index(), 0.0))).x == 7  # type: ignore[arg-type, attr-defined]


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: koffi.struct("EEmpty", {}), TypeError, "Empty type 'EEmpty' is not allowed in C"),
    (lambda: koffi.struct("EAlign", {"a": (3, "int")}), ValueError,
     "Alignment of member 'a' must be 1, 2, 4, 8 or 16"),
    (lambda: koffi.struct("EWide", {"a": c.bits("uint8_t", 9)}), ValueError,
     "Bitfield 'a' in 'EWide' is 9 bits wide, its type uint8_t has 8"),
    (lambda: koffi.struct("EFloatBits", {"a": c.bits("double", 3)}), TypeError,
     "must have an integer type, not double"),
    (lambda: koffi.struct("EVoidArr", {"a": "void [3]"}), koffi.ParseError,
     "EVoidArr.a: Type void cannot be used as an array element"),
    (lambda: koffi.struct("EVoid", {"a": "void"}), TypeError,
     "Type void cannot be used as a member \\(maybe try void \\*\\)"),
    (lambda: koffi.struct("EUnknown", {"a": "Pointt *"}), koffi.ParseError,
     "EUnknown.a: Unknown or invalid type name 'Pointt'"),
    (lambda: koffi.struct("EDup", [("a", "int"), ("a", "char")]), koffi.Error,
     "Duplicate member 'a' in struct 'EDup'"),
    (lambda: koffi.struct("EPack", {"a": "int"}, pack=3), ValueError,
     "Packing of struct 'EPack' must be 1, 2, 4, 8 or 16"),
    (lambda: koffi.struct("EKw", {"__init__": "int"}), koffi.Error, "reserved"),
    (lambda: koffi.struct("ENot valid", {"a": "int"}), koffi.Error, "Invalid type name"),
    (lambda: koffi.struct("EMember", {"a b": "int"}), koffi.Error, "Invalid member name"),
    (lambda: koffi.struct("ESpec", {"a": 42}), TypeError, "annotation 42 is not a C type"),
    (lambda: koffi.struct("EFlex", {"n": "int", "a": koffi.array("int", 4, counted_by="n"),
                                    "z": "int"}), TypeError,
     "Flexible array 'a' is not the last member of struct"),
    (lambda: koffi.struct("ECount", {"a": koffi.array("int", 4, counted_by="n")}), TypeError,
     "Record type ECount does not have member 'n'"),
    (lambda: koffi.struct("EZero", {"a": c.bits("int", 0)}), ValueError,
     "Zero-width bitfield 'a' in 'EZero' must be a padding member"),
    (lambda: koffi.struct("EBig", {"a": "uint8_t [100000000]"}), koffi.ParseError,
     "too large"),
])
def test_bad_declarations(make: Callable[[], object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()
    name = message.split("'")[1] if message.count("'") >= 2 else None
    if name and name.startswith("E") and name.isidentifier():
        assert typesystem.lookup(name) is None  # a failed definition leaves no name behind


def test_bad_class_annotations() -> None:
    with pytest.raises(TypeError, match="BadInt.x: annotation int is not a C type"):
        @koffi.struct
        class BadInt:
            x: int

    with pytest.raises(TypeError, match="Empty type 'NoFields'"):
        @koffi.struct
        class NoFields:
            pass

    with pytest.raises(TypeError, match="BadName.x: cannot resolve annotation 'Undefined'"):
        @koffi.struct
        class BadName:
            x: Undefined  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(koffi.ParseError, match="BadString.x: Unknown or invalid type name"):
        @koffi.struct
        class BadString:
            x: "Undefined"  # type: ignore[name-defined]  # noqa: F821

    assert typesystem.lookup("BadInt") is None


# Koffi's positional spellings: array(spec, "n", max_length, hint) and pointer(name, spec, "n")
_ELEMENTS = ["int8_t", "uint8_t", "int16_t", "int32_t", "uint32_t", "int64_t", "float",
             "double"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(elem=st.sampled_from(_ELEMENTS), length=st.integers(1, 40),
       hint=st.sampled_from([None, "Array", "Typed", "typed"]),
       counter=st.sampled_from(["n", "count", "len_", "N2"]))
def test_koffi_positional_flexible_array_is_the_keyword_one(
        elem: str, length: int, hint: str | None, counter: str) -> None:
    positional = (koffi.array(elem, counter, length) if hint is None
                  else koffi.array(elem, counter, length, hint))
    keyword = koffi.array(elem, length, hint, counted_by=counter)
    assert positional is keyword
    assert (positional.length, positional.counted_by) == (length, counter)


def test_koffi_positional_flexible_array_round_trips_through_c(lib: ctypes.CDLL) -> None:
    KFlex = koffi.struct("KoffiFlex", {"count": "int32_t",
                                      "items": koffi.array("int32_t", "count", 8)})
    assert koffi.sizeof(KFlex) == koffi.sizeof(Flex)
    assert c_fill(lib, "flex", KFlex).items == [10, 20, 30]
    assert c_check(lib, "flex", KFlex(items=[-1, -2]))
    with pytest.raises(ValueError, match="mismatched dynamic length between 'count'"):
        bytes(KFlex(count=5, items=[1]))


def test_koffi_positional_counted_pointer() -> None:
    named = koffi.pointer("KCountedInts", "int32_t", "n")
    assert named.name == "KCountedInts" and named.ref is koffi.type("int32_t")
    assert named.counted_by == "n"
    Holder = koffi.struct("KCountHolder", {"n": "int32_t", "values": named})
    p = koffi.alloc(Holder, 1)
    koffi.encode(p, Holder, Holder(values=[4, 5, 6]))
    back = koffi.decode(p, Holder)
    assert back.n == 3 and back.values == [4, 5, 6]


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: koffi.array("int", "n"), TypeError, "Missing maxLen argument"),
    (lambda: koffi.array("int", "n", "8"), TypeError, "max_length must be an int, not str"),
    (lambda: koffi.array("int", "n", True), TypeError, "max_length must be an int, not bool"),
    (lambda: koffi.array("int", "n", 0), ValueError, "positive and non-zero"),
    (lambda: koffi.array("int", "n", 4, counted_by="m"), TypeError, "counting member twice"),
    (lambda: koffi.array("int", 4, "Array", "Typed"), TypeError, "takes"),
    (lambda: koffi.array("int", 4, 8), TypeError, "hint must be a str, not int"),
    (lambda: koffi.array("int", 2.0), TypeError, "must be an int, not float"),
    (lambda: koffi.array("int", True), TypeError, "must be an int, not bool"),
    (lambda: koffi.array("int", None), TypeError, "must be an int, not NoneType"),
    (lambda: koffi.pointer("KP2", "int", "n", counted_by="m"), TypeError,
     "counting member twice"),
])
def test_koffi_positional_spelling_misuse(make: Callable[[], object], error: type,
                                         message: str) -> None:
    with pytest.raises(error, match=message):
        make()
