"""Koffi's own test suite read as a contract (sync.js and friends), in Python and against
tests/c/contract.c: values behind pointer members, polymorphic string arguments, text in
integer arrays, heap strings through out-parameters (disposable types), bare addresses
through `koffi.as_`. Record names end in ``K`` so they do not collide with other modules.
"""

from __future__ import annotations

import array
import ctypes
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c


@koffi.struct(name="NodeK")
class NodeK:
    value: c.int32
    next: koffi.Ptr["NodeK"]


@koffi.struct(name="ItemK")
class ItemK:
    id: c.int16
    weight: c.double


@koffi.struct(name="BagK")
class BagK:
    count: c.int32
    items: koffi.Ptr[ItemK]
    label: c.str


@koffi.struct(name="ByteSpanK")
class ByteSpanK:
    len: c.int32
    _pad: c.int32
    ptr: Annotated[Any, "uint8_t *"]


SamplesK = koffi.struct("SamplesK", {
    "n": "int32_t",
    "values": koffi.pointer("int32_t", counted_by="n"),
})


@koffi.struct(name="Tag8K")
class Tag8K:
    text: Annotated[Any, koffi.array("int8_t", 12, "Typed")]


@koffi.struct(name="Tag16K")
class Tag16K:
    text: Annotated[Any, koffi.array("char16_t", 12, "Typed")]


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("contract"))


def chain(values: list[int]) -> NodeK | None:
    head: NodeK | None = None
    for v in reversed(values):
        head = NodeK(v, head)  # type: ignore[arg-type]  # a record for a pointer member
    return head


def chain_values(node: Any) -> list[int]:
    out = []
    while node is not None:
        assert isinstance(node, NodeK), node
        out.append(node.value)
        node = node.next
    return out


# ------------------------------------------------------------------ pointer members

int32s = st.integers(-(2**20), 2**20)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(int32s, min_size=1, max_size=12), factor=st.integers(-50, 50))
def test_nested_records_behind_pointer_members(lib: koffi.Library, values: list[int],
                                               factor: int) -> None:
    total = lib.func("int32_t SumChain(const NodeK *node)")
    length = lib.func("int32_t ChainLength(const NodeK *node)")
    scale = lib.func("void ScaleChain(_Inout_ NodeK *node, int32_t factor)")
    head = chain(values)
    assert total(head) == sum(values)
    assert length(head) == len(values)
    inner = head.next if head is not None else None
    scale(head, factor)
    # Written back in place, down the whole chain, keeping the Python objects.
    assert chain_values(head) == [v * factor for v in values]
    assert head is not None and head.next is inner


def test_c_changing_a_pointer_member_is_seen(lib: koffi.Library) -> None:
    cut = lib.func("int32_t CutAfterFirst(_Inout_ NodeK *node)")
    head = chain([1, 2, 3])
    assert cut(head) == 2
    assert head is not None and head.next is None and head.value == 1


def test_input_only_pointer_member_is_not_written_back(lib: koffi.Library) -> None:
    scale = lib.func("void ScaleChain(NodeK *node, int32_t factor)")  # no _Inout_
    head = chain([4, 5])
    scale(head, 3)
    assert chain_values(head) == [4, 5]


@settings(max_examples=30, deadline=None)
@given(items=st.lists(st.tuples(st.integers(-300, 300),
                                st.floats(-1e6, 1e6, allow_nan=False, width=32)),
                      min_size=1, max_size=8))
def test_list_of_records_behind_a_pointer_member(lib: koffi.Library,
                                                 items: list[tuple[int, float]]) -> None:
    weight = lib.func("double BagWeight(const BagK *bag)")
    renumber = lib.func("void RenumberBag(_Inout_ BagK *bag)")
    objects = [ItemK(i, w) for i, w in items]
    bag = BagK(len(objects), objects, "bag")  # type: ignore[arg-type]
    assert weight(bag) == pytest.approx(sum(i * w for i, w in items))
    renumber(bag)
    assert bag.items is objects  # the same list, its records updated in place
    assert [(x.id, x.weight) for x in objects] == [(100 + k, w / 2)
                                                    for k, (_, w) in enumerate(items)]
    assert bag.label == "bag"


def test_dict_for_a_record_pointer_member(lib: koffi.Library) -> None:
    total = lib.func("int32_t SumChain(const NodeK *node)")
    assert total({"value": 5, "next": {"value": 6, "next": None}}) == 11


def test_pointer_member_refuses_other_values(lib: koffi.Library) -> None:
    total = lib.func("int32_t SumChain(const NodeK *node)")
    with pytest.raises(TypeError, match=r"NodeK\.next.*got str"):
        total(NodeK(1, "nope"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"NodeK\.next.*got ItemK"):
        total(NodeK(1, ItemK(1, 2.0)))  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [
    lambda n: bytearray(n),
    lambda n: array.array("B", bytes(n)),
    lambda n: memoryview(bytearray(n)),
    lambda n: memoryview(bytearray(2 * n))[n:],
], ids=["bytearray", "array", "memoryview", "memoryview-slice"])
def test_buffers_as_pointer_members(lib: koffi.Library, make: Callable[[int], Any]) -> None:
    direct = lib.func("void FillSpanDirect(ByteSpanK span, int32_t fill)")
    indirect = lib.func("void FillSpanIndirect(const ByteSpanK *span, int32_t fill)")
    buf = make(8)
    direct(ByteSpanK(6, 0, buf), 40)
    assert bytes(buf) == bytes([40, 41, 42, 43, 44, 45, 0, 0])
    buf2 = make(10)
    indirect({"len": 10, "ptr": buf2}, 7)
    assert bytes(buf2) == bytes(range(7, 17))


def test_read_only_buffer_member_is_copied_not_written(lib: koffi.Library) -> None:
    total = lib.func("uint32_t SumSpan(ByteSpanK span)")
    fill = lib.func("void FillSpanDirect(ByteSpanK span, int32_t fill)")
    data = bytes([1, 2, 3, 250])
    assert total(ByteSpanK(4, 0, data)) == 256
    fill(ByteSpanK(4, 0, data), 9)  # C writes into a copy
    assert data == bytes([1, 2, 3, 250])


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.integers(-40000, 40000), max_size=10))
def test_counted_pointer_members_take_lists_and_buffers(lib: koffi.Library,
                                                         values: list[int]) -> None:
    total = lib.func("int64_t SumSamples(SamplesK s)")
    square = lib.func("void SquareSamples(_Inout_ SamplesK *s)")
    expected = sum(v * (i + 1) for i, v in enumerate(values))
    cls = SamplesK
    assert total(cls(0, values)) == expected
    typed = array.array("i", values)
    assert total(cls(len(values), typed)) == expected
    assert total(cls(0, memoryview(typed))) == expected
    s = cls(len(values), typed)
    square(s)
    assert list(typed) == [v * v for v in values]  # C wrote into the array itself
    assert s.values is (typed if values else None)  # an empty buffer passes as NULL
    s2 = cls(0, list(values))
    square(s2)
    assert s2.values == [v * v for v in values]


def test_counted_pointer_buffer_length_mismatch(lib: koffi.Library) -> None:
    total = lib.func("int64_t SumSamples(SamplesK s)")
    with pytest.raises(ValueError, match="mismatched dynamic length"):
        total(SamplesK(3, array.array("i", [1, 2])))


# ------------------------------------------------------------------ polymorphic strings

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                max_size=30)


@settings(max_examples=40, deadline=None)
@given(text=texts)
def test_str_for_integer_and_void_pointers(lib: koffi.Library, text: str) -> None:
    n8v = lib.func("int32_t CountUntilNul8(const void *ptr)")
    n8 = lib.func("CountUntilNul8", "int32_t", ["int8_t *"])
    n16 = lib.func("int32_t CountUntilNul16(const int16_t *p)")
    n32 = lib.func("int32_t CountUntilNul32(const int32_t *p)")
    sum16 = lib.func("int64_t SumUnits16(const int16_t *p)")
    utf16 = text.encode("utf-16-le")
    assert n8v(text) == n8(text) == len(text.encode())
    assert n16(text) == len(utf16) // 2
    assert n32(text) == len(text)
    assert sum16(text) == sum(int.from_bytes(utf16[i:i + 2], "little")
                              for i in range(0, len(utf16), 2))


def test_koffi_as_list_for_void_pointer(lib: koffi.Library) -> None:
    n8v = lib.func("int32_t CountUntilNul8(const void *ptr)")
    assert n8v(koffi.as_([1, 2, 42, 0], "int8_t *")) == 3
    n16 = lib.func("int32_t CountUntilNul16(const int16_t *p)")
    assert n16([0x7AAA, 0x7AAA, 42, 0]) == 3


@settings(max_examples=30, deadline=None)
@given(text=texts)
def test_one_item_list_is_rewritten_in_place(lib: koffi.Library, text: str) -> None:
    rev8 = lib.func("void ReverseText8(_Inout_ void *ptr)")
    rev16 = lib.func("void ReverseText16(_Inout_ void *ptr)")
    ascii_text = text.encode("ascii", "ignore").decode()
    box = [ascii_text]
    rev8(box)
    assert box == [ascii_text[::-1]]
    rev8(koffi.as_(box, "char *"))
    assert box == [ascii_text]
    bmp = "".join(ch for ch in text if ord(ch) < 0x10000)
    box16 = [bmp]
    rev16(koffi.as_(box16, "char16_t *"))
    assert box16 == [bmp[::-1]]


def test_str_refused_where_c_writes(lib: koffi.Library) -> None:
    rev8 = lib.func("void ReverseText8(_Inout_ void *ptr)")
    with pytest.raises(TypeError, match=r"ReverseText8\(\): argument 'ptr'.*\['text'\]"):
        rev8("abc")
    n8v = lib.func("int32_t CountUntilNul8(const void *ptr)")
    with pytest.raises(ValueError, match="NUL"):
        n8v("a\0b")
    nd = lib.func("CountUntilNul8", "int32_t", ["double *"])
    with pytest.raises(TypeError, match="got str"):
        nd("abc")


# ------------------------------------------------------------------ text in integer arrays

@settings(max_examples=30, deadline=None)
@given(text=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=11))
def test_str_into_integer_array_members(lib: koffi.Library, text: str) -> None:
    shout8 = lib.func("Tag8K ShoutTag8(Tag8K tag)")
    shout16 = lib.func("Tag16K ShoutTag16(Tag16K tag)")
    expected = [ord(ch) for ch in text.upper()] + [0] * (12 - len(text))
    out8 = shout8(Tag8K(text))  # type: ignore[arg-type]
    assert isinstance(out8.text, array.array) and list(out8.text) == expected
    out16 = shout16(Tag16K(text))  # type: ignore[arg-type]
    assert isinstance(out16.text, array.array) and list(out16.text) == expected


# ------------------------------------------------------------------ disposables out

def test_disposable_out_parameters_are_freed_and_counted(lib: koffi.Library) -> None:
    frees = lib.func("int64_t GetFrees(void)")
    counted_free = lib.func("void CountedFree(void *ptr)")
    heap_str = koffi.disposable("str", lambda p: counted_free(p))
    fmt = lib.func("FormatPair", "int32_t",
                   [koffi.out(koffi.pointer(heap_str)), "const char *", "int32_t"])
    before, disposed = frees(), koffi.stats()["disposed"]
    for i, (key, value) in enumerate([("a", 1), ("key", -42), ("x" * 50, 2**31 - 1)]):
        box: list[Any] = [None]
        assert fmt(box, key, value) == len(f"{key}={value}")
        assert box == [f"{key}={value}"]
        assert frees() == before + i + 1
        assert koffi.stats()["disposed"] == disposed + i + 1
    # The '!' spelling and the default free() work the same way.
    join = lib.func("void JoinWide(const char16_t *a, const char16_t *b, "
                    "_Out_ char16_t *! *out)")
    out: list[Any] = [None]
    join("héllo ", "wörld", out)
    assert out == ["héllo wörld"]
    assert koffi.stats()["disposed"] == disposed + 4


# ------------------------------------------------------------------ bare addresses

def test_as_with_a_bare_address_at_call_time(lib: koffi.Library) -> None:
    read = lib.func("int32_t ReadCell(const int32_t *p, int32_t index)")
    address = lib.func("intptr_t AddressOfCells(void)")()
    assert [read(koffi.as_(address, "int32_t *"), i) for i in range(4)] == [7, 11, 13, 17]
    assert read(koffi.as_(int(lib.func("int32_t *GetCells(void)")()), "int *"), 2) == 13
    storage = (ctypes.c_int32 * 2)(5, 6)
    assert read(koffi.as_(ctypes.addressof(storage), "int32_t *"), 1) == 6
    with pytest.raises(TypeError, match="got int"):
        read(address, 0)  # a bare int only for void * or through as_
    with pytest.raises(OverflowError, match="out of range for an address"):
        read(koffi.as_(-8, "int32_t *"), 0)


# ------------------------------------------------ decode/encode with the offset second

_SCALARS_K = {"int8_t": "b", "uint8_t": "B", "int16_t": "h", "uint16_t": "H",
              "int32_t": "i", "uint32_t": "I", "int64_t": "q", "uint64_t": "Q",
              "float": "f", "double": "d"}


@st.composite
def _placed_values(draw: st.DrawFn) -> tuple[str, int, int | None, list[Any]]:
    spec = draw(st.sampled_from(sorted(_SCALARS_K)))
    code = _SCALARS_K[spec]
    size = struct.calcsize(code)
    if code in "fd":
        element = st.floats(width=32 if code == "f" else 64, allow_nan=False)
    else:
        bits = size * 8
        element = (st.integers(0, 2**bits - 1) if code.isupper()
                   else st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    skip = draw(st.integers(0, 6))
    count = draw(st.one_of(st.none(), st.integers(0, 6)))
    values = draw(st.lists(element, min_size=max(count or 0, 1), max_size=max(count or 0, 1)))
    return spec, skip * size, count, values


@settings(max_examples=120, deadline=None)
@given(case=_placed_values(), as_pointer=st.booleans())
def test_koffi_offset_second_spelling(case: tuple[str, int, int | None, list[Any]],
                                      as_pointer: bool) -> None:
    """Koffi's ``decode(ref, offset, type[, len])`` and ``encode(ref, offset, type, value
    [, len])`` read and write what the keyword spelling does, checked through C's memcpy."""
    spec, offset, count, values = case
    code = _SCALARS_K[spec]
    libc = koffi.load(None)
    memcpy = libc.func("void *memcpy(void *dst, const void *src, size_t n)")
    room = offset + struct.calcsize(code) * max(len(values), 1)
    block: Any = koffi.alloc("uint8_t", room) if as_pointer else bytearray(room)
    packed = struct.pack(f"<{len(values)}{code}", *values)
    memcpy(koffi.as_(koffi.address(block) + offset, "void *"), packed, len(packed))

    expect: Any = list(values[:count]) if count is not None else values[0]
    if count is None:
        assert koffi.decode(block, offset, spec) == expect
    else:
        assert koffi.decode(block, offset, spec, count) == expect
    assert koffi.decode(block, spec, count, offset=offset) == expect

    reversed_values = list(reversed(values))
    if count is None:
        koffi.encode(block, offset, spec, reversed_values[0])
    else:
        koffi.encode(block, offset, spec, reversed_values[:count], count)
    seen = bytearray(room)
    memcpy(seen, koffi.as_(koffi.address(block), "void *"), room)
    n = 1 if count is None else count
    want = struct.pack(f"<{n}{code}", *reversed_values[:n])
    assert bytes(seen[offset:offset + len(want)]) == want
    if as_pointer:
        koffi.free(block)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda p: koffi.decode(p, -4, "int"), ValueError, "Offset must be >= 0"),
    (lambda p: koffi.decode(p, 16, "int"), ValueError, "outside the 16-byte block"),
    (lambda p: koffi.decode(p, 4, "int", 4), ValueError, "outside the 16-byte block"),
    (lambda p: koffi.decode(p, 4, "int", 2.0), TypeError, "count must be an int"),
    (lambda p: koffi.encode(p, 4, "int"), TypeError, "missing the value"),
    (lambda p: koffi.encode(p, "int"), TypeError, "missing 1 required positional"),
    (lambda p: koffi.encode(p, 12, "int", [1, 2], 2), ValueError, "outside the 16-byte block"),
    (lambda p: koffi.decode(p, True, "int"), TypeError, "Unexpected bool value"),
])
def test_koffi_offset_second_spelling_misuse(call: Callable[[Any], object], error: type,
                                             message: str) -> None:
    p = koffi.alloc("int", 4)
    try:
        with pytest.raises(error, match=message):
            call(p)
    finally:
        koffi.free(p)
