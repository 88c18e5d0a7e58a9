"""The generated fast paths give the same answers as the general converters, and fall back
to them (with their precise errors) for everything they do not take.

tests/c/fastpaths.c has one record shape per way an eightbyte is built on x86-64 (a plain
int, a sign-extended small int, a bool, 64-bit wrappers, a lone float, packed ints, packed
floats, mixed int/float); C reports every member it received.
"""

from __future__ import annotations

import ctypes
import gc
import math
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c, carriers, marshal, memory
from koffi_typed import typesystem as koffi_types


@koffi.struct
class U32D:
    u: c.uint32_t
    d: c.double


@koffi.struct
class I8D:
    c: c.int8_t
    d: c.double


@koffi.struct
class BoolD:
    b: c.bool
    d: c.double


@koffi.struct
class I64U64:
    a: c.int64_t
    b: c.uint64_t


@koffi.struct
class FD:
    f: c.float
    d: c.double


@koffi.struct
class IID:
    a: c.int
    b: c.int
    c: c.double


@koffi.struct
class F2:
    a: c.float
    b: c.float


@koffi.struct
class CF:
    c: c.int8_t
    f: c.float


@koffi.struct
class Big:
    a: c.int64_t
    b: c.double
    c: c.int32_t
    d: c.float
    e: c.int16_t
    f: c.uint8_t


SAMPLES: list[tuple[Any, list[float]]] = [
    (U32D(2**32 - 1, -0.5), [2**32 - 1, -0.5]),
    (U32D(0, 1e300), [0, 1e300]),
    (I8D(-128, 2.25), [-128, 2.25]),
    (I8D(127, -0.0), [127, -0.0]),
    (BoolD(True, 3.5), [1, 3.5]),
    (BoolD(False, -3.5), [0, -3.5]),
    (I64U64(-(2**63), 2**64 - 1), [-(2**63), 2**64 - 1]),
    (I64U64(-1, 1), [-1, 1]),
    (FD(1.5, -2.75), [1.5, -2.75]),
    (IID(-(2**31), 2**31 - 1, 0.125), [-(2**31), 2**31 - 1, 0.125]),
    (F2(0.5, -(2.0**100)), [0.5, -(2.0**100)]),
    (CF(-7, 6.5), [-7, 6.5]),
    (Big(-(2**62), 9.75, -5, 0.25, -300, 255), [-(2**62), 9.75, -5, 0.25, -300, 255]),
]


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("fastpaths"))


def shape(value: Any) -> str:
    return type(value).__name__


def fields(lib: Any, value: Any) -> list[float]:
    name = shape(value)
    out = [0.0] * len(value.__match_args__)
    lib.func(f"void Fields{name}({name} v, _Out_ double *out)")(value, out)
    return out


def test_every_shape_is_flat() -> None:
    for value, _ in SAMPLES:
        assert marshal.flat_record(type(value).__koffi_type__) is not None, shape(value)


@pytest.mark.parametrize(("value", "expected"), SAMPLES, ids=lambda v: repr(v)[:40])
def test_by_value_in_and_out(lib: Any, value: Any, expected: list[float]) -> None:
    name = shape(value)
    assert fields(lib, value) == [float(x) for x in expected]
    echoed = lib.func(f"{name} Echo{name}({name} v)")(value)
    assert type(echoed) is type(value) and echoed == value


def doubled(value: Any) -> Any:
    """What ``Twice<T>`` makes of ``value`` in C: members doubled (wrapping like C's
    conversions, floats rounded to their width), bools flipped."""
    flat = marshal.flat_record(type(value).__koffi_type__)
    assert flat is not None
    result = type(value)()
    for m in flat.members:
        v = getattr(value, m.name)
        if m.kind == "bool":
            new: object = not v
        elif m.kind == "float":
            new = struct.unpack(m.code, struct.pack(m.code, v * 2))[0]
        else:
            bits = 8 * m.size
            new = (v * 2) & ((1 << bits) - 1)
            if m.lo < 0 and new >= 1 << (bits - 1):
                new -= 1 << bits
        setattr(result, m.name, new)
    return result


@pytest.mark.parametrize(("value", "expected"), SAMPLES, ids=lambda v: repr(v)[:40])
def test_behind_pointers(lib: Any, value: Any, expected: list[float]) -> None:
    name = shape(value)
    copy = type(value).from_buffer(bytes(value))
    lib.func(f"void Twice{name}(_Inout_ {name} *p)")(copy)
    assert copy == doubled(value)
    out = type(value).from_buffer(bytes(value))
    lib.func(f"void Twice{name}(_Out_ {name} *p)")(out)  # C sees zeros
    assert out == doubled(type(value)())
    is_null = lib.func(f"int IsNull{name}(const {name} *p)")
    assert (is_null(None), is_null(value)) == (1, 0)
    assert fields(lib, value) == [float(x) for x in expected]  # `in`: nothing written back


def test_inout_values_match_c(lib: Any) -> None:
    value = Big(3, 1.5, -4, 2.5, 100, 100)
    lib.func("void TwiceBig(_Inout_ Big *p)")(value)
    assert value == Big(6, 3.0, -8, 5.0, 200, 200)
    flag = BoolD(True, 1.0)
    lib.func("void TwiceBoolD(_Inout_ BoolD *p)")(flag)
    assert flag == BoolD(False, 2.0)


def test_small_ints_are_sign_extended_by_the_callee_not_us(lib: Any) -> None:
    wide = lib.func("int64_t WideI8(I8D v)")
    assert [wide(I8D(x, 0.0)) for x in (-128, -1, 0, 127)] == [-128, -1, 0, 127]


def test_record_on_the_stack(lib: Any) -> None:
    late = lib.func("double LateIID(int r1, int r2, int r3, int r4, int r5, int r6, "
                    "double x1, double x2, double x3, double x4, double x5, double x6, "
                    "double x7, double x8, IID v)")
    assert late(*range(6), *[0.5] * 8, IID(1, 2, 0.25)) == 15 + 4 + 1200.25


# ----------------------------------------------------------------------------- fallbacks


def test_values_the_fast_path_does_not_take_still_convert(lib: Any) -> None:
    """Ints for doubles, IntEnum-like ints and dicts go through the general converter."""
    assert fields(lib, IID(1, 2, 3)) == [1.0, 2.0, 3.0]  # int for a double member
    echo = lib.func("IID EchoIID(IID v)")
    assert echo({"a": 5, "c": 0.5}) == IID(5, 0, 0.5)
    assert lib.func("int IsNullIID(const IID *p)")({"a": 1}) == 0


@pytest.mark.parametrize(("value", "error", "message"), [
    (IID(2**31, 0, 0.0), OverflowError, r"IID\.a: 2147483648 is out of range"),
    (IID(True, 0, 0.0), TypeError, r"IID\.a: expected int"),
    (IID(0, 0, "x"), TypeError, r"IID\.c: expected float"),
    (BoolD(1, 0.0), TypeError, r"BoolD\.b: expected bool"),
    (F2(1e39, 0.0), OverflowError, r"F2\.a: 1e\+39 is out of range for float"),
    (U32D(-1, 0.0), OverflowError, r"U32D\.u: -1 is out of range"),
])
def test_bad_members_get_the_general_errors(lib: Any, value: Any, error: type[Exception],
                                           message: str) -> None:
    name = shape(value)
    by_value = lib.func(f"{name} Echo{name}({name} v)")
    with pytest.raises(error, match=rf"Echo{name}\(\): argument 'v': .*{message}"):
        by_value(value)
    by_pointer = lib.func(f"void Twice{name}(_Inout_ {name} *p)")
    with pytest.raises(error, match=message):
        by_pointer(value)


def test_float32_edges_round_like_c(lib: Any) -> None:
    fmax = struct.unpack("f", struct.pack("f", 3.4028234663852886e38))[0]
    assert fields(lib, F2(fmax, -fmax)) == [fmax, -fmax]
    assert fields(lib, F2(math.inf, 0.0))[0] == math.inf  # inf is a float, slow path
    assert math.isnan(fields(lib, F2(math.nan, 0.0))[0])


# ----------------------------------------------------------------------------- decoding


def test_decode_array_matches_struct_and_keeps_gc_state() -> None:
    n = 2500
    raw = b"".join(struct.pack("<qdifhB5x", i, i / 4, -i, i / 2, i - 1000, i % 256)
                   for i in range(n))
    block = koffi.alloc(Big, n)
    ctypes.memmove(block.address, raw, len(raw))
    assert gc.isenabled()
    decoded = koffi.decode(block, Big, n)
    assert gc.isenabled()
    assert decoded[7] == Big(7, 1.75, -7, 3.5, -993, 7) and len(decoded) == n
    gc.disable()
    try:
        assert koffi.decode(block, Big, n)[-1] == decoded[-1]
        assert not gc.isenabled()
    finally:
        gc.enable()
    koffi.free(block)


def test_decode_array_of_a_short_buffer_is_an_error() -> None:
    codec: Any = marshal.codec_for(Big.__koffi_type__)
    with pytest.raises(ValueError, match="do not fit"):
        codec.decode_array(bytes(32 * 3), 0, 4)


SCALARS = sorted(memory._scalar_readers)


@pytest.mark.parametrize("name", SCALARS)
def test_scalar_decode_matches_ctypes(name: str) -> None:
    """``decode(ptr, '<scalar>')`` unpacks through a view of the address space: it reads what
    ctypes reads."""
    libc = koffi.load(None)
    malloc = libc.func("void *malloc(size_t size)")
    free = libc.func("void free(void *p)")
    p = malloc(16)
    try:
        ctypes.memmove(p.address, bytes([0x81, 0xFE, 0x7F, 0xC0, 0x01, 0x80, 0xFF, 0x3F]) * 2, 16)
        assert p.block is None
        ctype = carriers.CTYPES_SCALARS[koffi_types.resolve_type(name).primitive]
        assert koffi.decode(p, name) == ctype.from_address(p.address).value
    finally:
        free(p)
