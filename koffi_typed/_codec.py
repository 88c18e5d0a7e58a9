"""Value codecs: Python values to C bytes and back. Compiled with mypyc when available.

A codec is built once per type (or record member) by `marshal.build_codec`; encoding and
decoding only index, convert and store. Errors are built in cold helpers and name the
record member or argument (``label``) they concern.
"""

from __future__ import annotations

import array
import ctypes
import math
import operator
import struct
from typing import Any, Final, Union

from koffi_typed.pointer import Pointer, compatible, freed_block

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007 (a plain alias for mypyc)

_U64: Final = struct.Struct("<Q")
_F64: Final = struct.Struct("<d")
_PAGE: Final = 4096
_ADDRESS_MAX: Final = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1


def _describe(value: object) -> str:
    return type(value).__name__


def _wrong_type(label: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{label}: expected {expected}, got {_describe(value)}")


def _out_of_range(label: str, ctype: str, value: int, lo: int, hi: int) -> OverflowError:
    return OverflowError(f"{label}: {value} is out of range for {ctype} [{lo}, {hi}]")


def to_int(label: str, ctype: str, value: object) -> int:
    """An int from ``value`` (ints and ``__index__`` objects, never bools or floats)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (bool, float, str, bytes)) or not hasattr(value, "__index__"):
        raise _wrong_type(label, f"int ({ctype})", value)
    return operator.index(value)


def encode_text(label: str, value: str, unit: int) -> bytes:
    """``value`` encoded for ``unit``-byte C characters, without a terminator; an embedded NUL
    (C would see a truncated string) or an unencodable character raise `ValueError`."""
    at = value.find("\0")
    if at >= 0:
        raise ValueError(f"{label}: embedded NUL character at index {at} (C would see a "
                         "truncated string)")
    encoding = "utf-8" if unit == 1 else "utf-16-le" if unit == 2 else "utf-32-le"
    try:
        return value.encode(encoding, "surrogateescape" if unit == 1 else "strict")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{label}: cannot encode {value[exc.start:exc.end]!r} at index "
                         f"{exc.start} as {encoding.upper()} ({exc.reason})") from None


def fit_text(value: str, data: bytes, room: int, unit: int) -> bytes:
    """``data`` (``value`` encoded for ``unit``-byte characters) cut to the longest prefix of
    whole characters within ``room`` bytes: never half of a UTF-8 sequence or of a UTF-16
    surrogate pair, which C would read as another (invalid) string."""
    if len(data) <= room:
        return data
    encoding = "utf-8" if unit == 1 else "utf-16-le" if unit == 2 else "utf-32-le"
    errors = "surrogateescape" if unit == 1 else "strict"
    lo = 0
    hi = min(len(value), room // unit)  # each character takes at least one unit
    while lo < hi:  # the most characters whose encoding fits
        mid = (lo + hi + 1) // 2
        if len(value[:mid].encode(encoding, errors)) <= room:
            lo = mid
        else:
            hi = mid - 1
    return data[:len(value[:lo].encode(encoding, errors))]


def read_string(address: int, unit: int) -> bytes:
    """The bytes of a NUL-terminated string of ``unit``-byte characters at ``address``.

    Reads page by page so it never touches memory past the page holding the terminator.
    """
    data = b""
    pos = address
    while True:
        chunk = ctypes.string_at(pos, _PAGE - pos % _PAGE)
        start = len(data) - len(data) % unit
        data += chunk
        pos += len(chunk)
        zero = b"\0" * unit
        at = data.find(zero, start)
        while at >= 0 and at % unit:
            at = data.find(zero, at + 1)
        if at >= 0:
            return data[:at]


def _relabel(exc: Exception, inner: str, outer: str) -> Exception:
    """``exc`` with the label its message starts with (``inner``: a nested record's codec,
    shared by every place that record appears) replaced by ``outer``, the path from the
    enclosing value (``Outer.mids[1].inner``); ``exc`` itself when it has no such label."""
    message = str(exc)
    if inner == outer or not message.startswith(inner) or \
            message[len(inner):len(inner) + 1] not in (".", ":", "["):
        return exc
    try:
        return type(exc)(outer + message[len(inner):])
    except Exception:  # an exception type that takes other arguments
        return exc


class Codec:
    """Converts one C type: ``encode`` writes ``value`` into ``buf`` at ``offset``."""

    size: int
    label: str
    ctype: str

    def __init__(self, size: int, label: str, ctype: str) -> None:
        self.size = size
        self.label = label
        self.ctype = ctype

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        raise NotImplementedError

    def decode(self, buf: Buffer, offset: int) -> object:
        raise NotImplementedError

    def zero(self) -> object:
        """The Python value of all-zero bytes (the default of a member)."""
        return self.decode(bytes(self.size), 0)

    def decode_array(self, buf: Buffer, offset: int, count: int) -> list[object]:
        """``count`` consecutive values starting at ``offset``."""
        size = self.size
        return [self.decode(buf, offset + i * size) for i in range(count)]

    def decode_into(self, obj: object, buf: Buffer, offset: int) -> None:
        """Overwrite an existing record instance (records and unions only)."""
        raise TypeError(f"{self.label}: {self.ctype} values cannot be updated in place")


class IntCodec(Codec):
    """Integers of 8 to 64 bits, either byte order, range-checked."""

    fmt: struct.Struct
    lo: int
    hi: int

    def __init__(self, size: int, label: str, ctype: str, fmt: str, lo: int, hi: int) -> None:
        super().__init__(size, label, ctype)
        self.fmt = struct.Struct(fmt)
        self.lo = lo
        self.hi = hi

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            v: int = value
        else:
            v = to_int(self.label, self.ctype, value)
        if v < self.lo or v > self.hi:
            raise _out_of_range(self.label, self.ctype, v, self.lo, self.hi)
        self.fmt.pack_into(buf, offset, v)

    def decode(self, buf: Buffer, offset: int) -> object:
        return self.fmt.unpack_from(buf, offset)[0]


class EnumCodec(IntCodec):
    """Enum values: ints in, members of the enum class (when there is one) out."""

    enum_class: Any

    def __init__(self, size: int, label: str, ctype: str, fmt: str, lo: int, hi: int,
                 enum_class: Any) -> None:
        super().__init__(size, label, ctype, fmt, lo, hi)
        self.enum_class = enum_class

    def decode(self, buf: Buffer, offset: int) -> object:
        value = self.fmt.unpack_from(buf, offset)[0]
        if self.enum_class is not None:
            try:
                return self.enum_class(value)
            except ValueError:
                return value
        return value


class WideIntCodec(Codec):
    """128-bit integers."""

    signed: bool
    lo: int
    hi: int

    def __init__(self, size: int, label: str, ctype: str, signed: bool) -> None:
        super().__init__(size, label, ctype)
        self.signed = signed
        bits = size * 8
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        v = to_int(self.label, self.ctype, value)
        if v < self.lo or v > self.hi:
            raise _out_of_range(self.label, self.ctype, v, self.lo, self.hi)
        buf[offset:offset + self.size] = v.to_bytes(self.size, "little", signed=self.signed)

    def decode(self, buf: Buffer, offset: int) -> object:
        return int.from_bytes(bytes(buf[offset:offset + self.size]), "little",
                              signed=self.signed)


class BoolCodec(Codec):
    """C ``bool``: only Python ``bool`` values are accepted."""

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if value is True:
            buf[offset] = 1
        elif value is False:
            buf[offset] = 0
        else:
            raise _wrong_type(self.label, "bool", value)

    def decode(self, buf: Buffer, offset: int) -> object:
        return buf[offset] != 0


def _int_to_float(label: str, ctype: str, value: int) -> float:
    """``float(value)``; an int beyond the double range raises naming ``label``."""
    try:
        return float(value)
    except OverflowError:
        raise OverflowError(f"{label}: an int of {value.bit_length()} bits is out of range "
                            f"for {ctype}") from None


class FloatCodec(Codec):
    """``float`` and ``double`` from Python floats or ints."""

    fmt: struct.Struct

    def __init__(self, size: int, label: str, ctype: str, fmt: str) -> None:
        super().__init__(size, label, ctype)
        self.fmt = struct.Struct(fmt)

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if isinstance(value, float):
            v: float = value
        elif isinstance(value, int) and not isinstance(value, bool):
            v = _int_to_float(self.label, self.ctype, value)
        else:
            raise _wrong_type(self.label, f"float ({self.ctype})", value)
        try:
            self.fmt.pack_into(buf, offset, v)
        except OverflowError:
            raise OverflowError(f"{self.label}: {v!r} is out of range for {self.ctype}") from None

    def decode(self, buf: Buffer, offset: int) -> object:
        return self.fmt.unpack_from(buf, offset)[0]


def _double_fields(v: float) -> tuple[int, int, int]:
    """(sign, biased exponent, 52-bit mantissa) of a double."""
    bits: int = _U64.unpack(_F64.pack(v))[0]
    return bits >> 63, (bits >> 52) & 0x7FF, bits & ((1 << 52) - 1)


def double_to_x87(v: float) -> bytes:
    """The 10-byte x87 extended-precision encoding of a double."""
    sign, exp, mant = _double_fields(v)
    if exp == 0 and mant == 0:
        e, m = 0, 0
    elif exp == 0x7FF:
        e, m = 0x7FFF, (1 << 63) | (mant << 11)
    elif exp == 0:
        shift = mant.bit_length()
        e, m = shift - 1 - 1074 + 16383, mant << (64 - shift)
    else:
        e, m = exp - 1023 + 16383, (1 << 63) | (mant << 11)
    return m.to_bytes(8, "little") + ((sign << 15) | e).to_bytes(2, "little")


def x87_to_double(data: bytes) -> float:
    """A double from the 10-byte x87 extended-precision encoding (rounded)."""
    m = int.from_bytes(data[:8], "little")
    se = int.from_bytes(data[8:10], "little")
    sign = -1.0 if se >> 15 else 1.0
    e = se & 0x7FFF
    if e == 0x7FFF:
        return sign * math.inf if m & ((1 << 63) - 1) == 0 else math.nan
    if m == 0:
        return sign * 0.0
    try:
        return sign * math.ldexp(float(m), e - 16383 - 63 if e else 1 - 16383 - 63)
    except OverflowError:
        return sign * math.inf


def double_to_quad(v: float) -> bytes:
    """The IEEE binary128 encoding of a double."""
    sign, exp, mant = _double_fields(v)
    if exp == 0 and mant == 0:
        e, m = 0, 0
    elif exp == 0x7FF:
        e, m = 0x7FFF, mant << 60
    elif exp == 0:
        shift = mant.bit_length()
        e, m = shift - 1 - 1074 + 16383, (mant << (113 - shift)) & ((1 << 112) - 1)
    else:
        e, m = exp - 1023 + 16383, mant << 60
    return ((sign << 127) | (e << 112) | m).to_bytes(16, "little")


def quad_to_double(data: bytes) -> float:
    """A double from the IEEE binary128 encoding (rounded)."""
    q = int.from_bytes(data[:16], "little")
    sign = -1.0 if q >> 127 else 1.0
    e = (q >> 112) & 0x7FFF
    m = q & ((1 << 112) - 1)
    if e == 0x7FFF:
        return sign * math.inf if m == 0 else math.nan
    if e == 0 and m == 0:
        return sign * 0.0
    if e:
        m |= 1 << 112
    try:
        return sign * math.ldexp(float(m), (e if e else 1) - 16383 - 112)
    except OverflowError:
        return sign * math.inf


class LongDoubleCodec(Codec):
    """``long double`` as x87 extended (``quad=False``) or binary128, from Python floats."""

    quad: bool

    def __init__(self, size: int, label: str, ctype: str, quad: bool) -> None:
        super().__init__(size, label, ctype)
        self.quad = quad

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if isinstance(value, float):
            v: float = value
        elif isinstance(value, int) and not isinstance(value, bool):
            v = _int_to_float(self.label, "long double", value)
        else:
            raise _wrong_type(self.label, "float (long double)", value)
        data = double_to_quad(v) if self.quad else double_to_x87(v)
        buf[offset:offset + self.size] = data + bytes(self.size - len(data))

    def decode(self, buf: Buffer, offset: int) -> object:
        data = bytes(buf[offset:offset + self.size])
        return quad_to_double(data) if self.quad else x87_to_double(data)


class BitfieldCodec(Codec):
    """A bitfield: ``bits`` bits starting at bit ``shift`` of the bytes at the offset."""

    shift: int
    bits: int
    signed: bool
    boolean: bool
    lo: int
    hi: int

    def __init__(self, label: str, ctype: str, shift: int, bits: int, signed: bool,
                 boolean: bool) -> None:
        super().__init__((shift + bits + 7) // 8, label, ctype)
        self.shift = shift
        self.bits = bits
        self.signed = signed
        self.boolean = boolean
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if self.boolean:
            if value is not True and value is not False:
                raise _wrong_type(self.label, "bool", value)
            v = 1 if value else 0
        else:
            v = to_int(self.label, self.ctype, value)
            if v < self.lo or v > self.hi:
                raise _out_of_range(self.label, f"{self.ctype} : {self.bits}", v, self.lo,
                                    self.hi)
        end = offset + self.size
        word = int.from_bytes(bytes(buf[offset:end]), "little")
        mask = ((1 << self.bits) - 1) << self.shift
        word = (word & ~mask) | ((v << self.shift) & mask)
        buf[offset:end] = word.to_bytes(self.size, "little")

    def decode(self, buf: Buffer, offset: int) -> object:
        word = int.from_bytes(bytes(buf[offset:offset + self.size]), "little")
        v = (word >> self.shift) & ((1 << self.bits) - 1)
        if self.boolean:
            return v != 0
        if self.signed and v >> (self.bits - 1):
            v -= 1 << self.bits
        return v


def _pointer_fmt(size: int) -> struct.Struct:
    return struct.Struct("<Q" if size == 8 else "<I")


# Memory made for values given to pointer members (records, lists, buffers), by address, for
# as long as the `Nested` lease holding it lives (the call's keep list, or a record's
# ``_koffi_keep``): writing back an ``_Out_``/``_Inout_`` record finds it here.
_nested: dict[int, Nested] = {}


class Nested:
    """C memory standing for a Python value behind a pointer member, for one call.

    ``codec`` is ``None`` for a buffer (C reads and writes the buffer's own storage);
    ``count`` is -1 for one record, else the number of list items.
    """

    address: int
    data: bytearray | None
    pin: Any
    value: object
    codec: Codec | None
    count: int
    registry: dict[int, Nested]  # held here: module globals are gone at interpreter exit

    def __init__(self, data: bytearray | None, pin: Any, value: object, codec: Codec | None,
                 count: int) -> None:
        self.registry = _nested
        self.data = data
        self.pin = pin
        self.address = ctypes.addressof(pin)
        self.value = value
        self.codec = codec
        self.count = count
        _nested[self.address] = self

    def __del__(self) -> None:
        registry = self.registry
        if registry.get(self.address) is self:
            del registry[self.address]

    def write_back(self) -> None:
        """Copy what C left in the memory into the Python value it was made from."""
        codec = self.codec
        data = self.data
        if codec is None or data is None:
            return
        if self.count < 0:
            value = self.value
            if isinstance(value, dict):  # updated in place, as a dict parameter is
                record = codec.decode(data, 0)
                names: list[Any] = []
                if isinstance(codec, UnionCodec):  # the given members (all for an empty dict)
                    names = list(value) if value else list(codec.members)
                elif isinstance(codec, RecordCodec):
                    names = [slot.name for slot in codec.slots]
                for name in names:
                    value[name] = getattr(record, name)
            else:
                codec.decode_into(value, data, 0)
            return
        items: Any = self.value
        if not isinstance(items, list):
            return
        step = codec.size
        in_place = isinstance(codec, (RecordCodec, UnionCodec))
        for i in range(min(self.count, len(items))):
            if in_place and isinstance(items[i], codec.cls):  # type: ignore[attr-defined]
                codec.decode_into(items[i], data, i * step)
            else:
                items[i] = codec.decode(data, i * step)


#: How many pointers deep values given for pointer members may nest (records holding records
#: holding ...), in one conversion.
MAX_NESTING: Final = 100


class _Visiting:
    """The values being placed in memory by one conversion (by id), first in its ``keep``."""

    ids: set[int]

    def __init__(self) -> None:
        self.ids = set()


def _nest_bytes(data: bytearray, value: object, codec: Codec | None, count: int) -> Nested:
    if not data:
        data = bytearray(1)
    pin = (ctypes.c_char * len(data)).from_buffer(data)
    return Nested(data, pin, value, codec, count)


def nest_buffer(value: object, label: str = "", pointee: str = "", size: int = 0
                ) -> Nested | None:
    """A `Nested` lease on a buffer's own storage (read-only buffers are copied: C never
    writes into immutable objects), or ``None`` if ``value`` has no buffer or is empty.
    A non-empty buffer shorter than ``size`` (one ``pointee``) raises a `ValueError` naming
    ``label``: C would access memory past its end."""
    if not isinstance(value, (bytes, bytearray, memoryview, array.array)):
        return None
    view = memoryview(value)
    if view.nbytes == 0:
        return None
    if view.nbytes < size:
        raise ValueError(f"{label}: a {view.nbytes}-byte {type(value).__name__} is shorter "
                         f"than one {pointee} ({size} bytes): C would access memory past its "
                         "end")
    if view.readonly or not view.c_contiguous:
        return _nest_bytes(bytearray(view.tobytes()), None, None, -1)
    pin = (ctypes.c_char * view.nbytes).from_buffer(view.cast("B"))
    return Nested(None, pin, value, None, -1)


class PointerCodec(Codec):
    """Typed pointers: `Pointer` values or ``None`` (NULL); plain ints only for ``void *``.

    A buffer, a record of the pointee type or a list of pointee values is placed in memory
    made for the call (`Nested`), and written back for ``_Out_``/``_Inout_`` records.
    """

    fmt: struct.Struct
    pointee: Any
    void: bool
    resolve: Any  # Type -> Codec (`marshal.codec_for`), for values behind the pointer

    def __init__(self, size: int, label: str, ctype: str, pointee: Any, void: bool) -> None:
        super().__init__(size, label, ctype)
        self.fmt = _pointer_fmt(size)
        self.pointee = pointee
        self.void = void
        self.resolve = None

    def address_of(self, value: object, keep: list[object]) -> int:
        if value is None:
            return 0
        if isinstance(value, Pointer):
            if not self.void and not compatible(self.pointee, value.type):
                raise TypeError(f"{self.label}: expected {self.ctype}, got a pointer to "
                                f"{value.type.name}")
            block = value.block if value.block is not None else freed_block(value.address)
            if block is not None and block.freed:
                raise ValueError(f"{self.label}: memory at {block.address:#x} was already "
                                 "freed")
            return value.address
        if self.void and isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or value > _ADDRESS_MAX:
                raise OverflowError(f"{self.label}: {value} is out of range for an address "
                                    f"[0, {_ADDRESS_MAX:#x}]")
            return value
        nested = self.nest(value, keep)
        if nested is not None:
            return nested.address
        if isinstance(value, (bytes, bytearray, memoryview, array.array)):
            return 0  # an empty buffer
        expected = f"Pointer ({self.ctype}), None, a buffer"
        if self.void:
            expected += " or koffi.as_()"
        elif self.pointee.python_class is not None:
            expected += f", a list or a {self.pointee.name}"
        else:
            expected += " or a list"
        raise _wrong_type(self.label, expected, value)

    def element_codec(self) -> Codec | None:
        resolve = self.resolve
        if resolve is None or self.pointee.size == 0:
            return None
        codec: Codec = resolve(self.pointee)
        return codec

    def nest(self, value: object, keep: list[object]) -> Nested | None:
        """Memory for a buffer, a list or a record given for this pointer, kept in ``keep``.
        A value that refers back to itself, or nests more than `MAX_NESTING` levels deep,
        raises `ValueError`: memory made for a call holds copies, never cycles (and compiled
        codecs would overflow the C stack before Python's recursion limit)."""
        visiting = keep[0] if keep and type(keep[0]) is _Visiting else None
        if visiting is None:
            visiting = _Visiting()
            keep.insert(0, visiting)  # one per conversion: its lists share ``keep``
        ids = visiting.ids
        key = id(value)
        if key in ids:
            raise ValueError(f"{self.label}: the value refers back to itself: memory made for "
                             "a call holds copies, so it cannot hold a cycle (build cycles "
                             "in koffi.alloc memory)")
        if len(ids) >= MAX_NESTING:
            raise ValueError(f"{self.label}: values nest more than {MAX_NESTING} pointers "
                             "deep (build long chains in koffi.alloc memory)")
        ids.add(key)
        try:
            return self.nest_value(value, keep)
        except RecursionError:
            raise ValueError(f"{self.label}: values nest too deeply for Python's recursion "
                             "limit (build long chains in koffi.alloc memory)") from None
        finally:
            ids.discard(key)

    def nest_value(self, value: object, keep: list[object]) -> Nested | None:
        size = 0 if self.void else self.pointee.size
        nested = nest_buffer(value, self.label, self.pointee.name, size)
        if nested is None and not self.void:
            codec = self.element_codec()
            if codec is None:
                return None
            cls = self.pointee.python_class
            if isinstance(value, (list, tuple)):
                step = codec.size
                data = bytearray(step * len(value))
                for i in range(len(value)):
                    try:
                        codec.encode(data, i * step, value[i], keep)
                    except (TypeError, ValueError, OverflowError) as exc:
                        raise _relabel(exc, codec.label, f"{self.label}[{i}]") from None
                nested = _nest_bytes(data, value, codec, len(value))
            elif (cls is not None and isinstance(value, cls)) or (
                    isinstance(value, dict) and isinstance(codec, (RecordCodec, UnionCodec))):
                data = bytearray(codec.size)
                codec.encode(data, 0, value, keep)
                nested = _nest_bytes(data, value, codec, -1)
        if nested is not None:
            keep.append(nested)
        return nested

    def keep_nested(self, obj: object, name: str, buf: Buffer, offset: int) -> bool:
        """If this member of ``obj`` still points at the memory made for its current value,
        write that memory back into the value and keep it (True)."""
        address: int = self.fmt.unpack_from(buf, offset)[0]
        nested = _nested.get(address)
        if nested is None or nested.value is not getattr(obj, name, None):
            return False
        nested.write_back()
        return True

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        self.fmt.pack_into(buf, offset, self.address_of(value, keep))

    def decode(self, buf: Buffer, offset: int) -> object:
        address: int = self.fmt.unpack_from(buf, offset)[0]
        return Pointer(address, self.pointee) if address else None


class CallbackCodec(PointerCodec):
    """Function pointers: `Pointer`, None, or a Python callable (bound for the call only)."""

    factory: Any

    def __init__(self, size: int, label: str, ctype: str, pointee: Any, factory: Any) -> None:
        super().__init__(size, label, ctype, pointee, False)
        self.factory = factory

    def address_of(self, value: object, keep: list[object]) -> int:
        if value is not None and not isinstance(value, Pointer) and callable(value):
            address, lease = self.factory(self.pointee, value)
            keep.append(lease)
            return int(address)
        return super().address_of(value, keep)


class StringCodec(Codec):
    """``char *`` (UTF-8), ``char16_t *`` (UTF-16) and ``char32_t *`` (UTF-32) strings."""

    fmt: struct.Struct
    unit: int
    encoding: str

    def __init__(self, size: int, label: str, ctype: str, unit: int) -> None:
        super().__init__(size, label, ctype)
        self.fmt = _pointer_fmt(size)
        self.unit = unit
        self.encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[unit]

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if value is None:
            address = 0
        elif isinstance(value, str):
            data = encode_text(self.label, value, self.unit)
            cbuf = ctypes.create_string_buffer(data + b"\0" * self.unit, len(data) + self.unit)
            keep.append(cbuf)
            address = ctypes.addressof(cbuf)
        elif isinstance(value, bytes) and self.unit == 1:
            cbuf = ctypes.create_string_buffer(value + b"\0", len(value) + 1)
            keep.append(cbuf)
            address = ctypes.addressof(cbuf)
        elif isinstance(value, Pointer):
            address = value.address
        else:
            raise _wrong_type(self.label, f"str or None ({self.ctype})", value)
        self.fmt.pack_into(buf, offset, address)

    def decode(self, buf: Buffer, offset: int) -> object:
        address: int = self.fmt.unpack_from(buf, offset)[0]
        if not address:
            return None
        return self.decode_text(read_string(address, self.unit))

    def decode_text(self, data: bytes) -> str:
        return data.decode(self.encoding, "surrogateescape" if self.unit == 1 else "replace")


class ArrayCodec(Codec):
    """Fixed arrays: lists (``'Array'``), `array.array` (``'Typed'``), str or bytes."""

    elem: Codec
    length: int
    hint: str
    bulk: struct.Struct | None
    typecode: str
    encoding: str

    def __init__(self, label: str, ctype: str, elem: Codec, length: int, hint: str,
                 bulk_fmt: str, typecode: str) -> None:
        super().__init__(elem.size * length, label, ctype)
        self.elem = elem
        self.length = length
        self.hint = hint
        self.bulk = struct.Struct(f"<{length}{bulk_fmt}") if bulk_fmt else None
        self.typecode = typecode
        self.encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}.get(elem.size, "")

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if self.hint == "String" and isinstance(value, (str, bytes)):
            self.encode_text(buf, offset, value)
            return
        if isinstance(value, str) and self.encoding and isinstance(self.elem, IntCodec) and (
                self.hint != "Bytes"):  # Koffi: text into int8_t[N], char16_t[N] 'Typed'...
            self.encode_text(buf, offset, value)
            return
        if isinstance(value, (bytes, bytearray, memoryview)) and (
                self.hint == "Bytes" or self.elem.size == 1):
            data = bytes(value)[:self.size]
            buf[offset:offset + self.size] = data + bytes(self.size - len(data))
            return
        if not isinstance(value, (list, tuple, array.array)):
            raise _wrong_type(self.label, f"list of {self.length} ({self.ctype})", value)
        self.encode_items(buf, offset, value, self.length, keep)

    def encode_items(self, buf: bytearray, offset: int, items: Any, limit: int,
                     keep: list[object]) -> None:
        count = len(items)
        if count > limit:
            raise ValueError(f"{self.label}: {count} items do not fit in {self.ctype}")
        elem = self.elem
        step = elem.size
        for i in range(count):
            try:
                elem.encode(buf, offset + i * step, items[i], keep)
            except (TypeError, ValueError, OverflowError) as exc:
                raise _relabel(exc, elem.label, f"{self.label}[{i}]") from None
        end = offset + self.size
        start = offset + count * step
        if start < end:
            buf[start:end] = bytes(end - start)

    def encode_text(self, buf: bytearray, offset: int, value: str | bytes) -> None:
        """A str keeps room for its NUL terminator (cut to fit, as Koffi does); bytes are raw
        and may fill all the elements."""
        if isinstance(value, str):
            data = fit_text(value, encode_text(self.label, value, self.elem.size),
                            self.size - self.elem.size, self.elem.size)
        else:
            data = value[:self.size - self.size % self.elem.size]
        buf[offset:offset + self.size] = data + bytes(self.size - len(data))

    def decode(self, buf: Buffer, offset: int) -> object:
        return self.decode_n(buf, offset, self.length)

    def decode_n(self, buf: Buffer, offset: int, count: int) -> object:
        if self.hint == "String":
            data = bytes(buf[offset:offset + count * self.elem.size])
            unit = self.elem.size
            zero = b"\0" * unit
            at = data.find(zero)
            while at >= 0 and at % unit:
                at = data.find(zero, at + 1)
            if at >= 0:
                data = data[:at]
            return data.decode(self.encoding, "surrogateescape" if unit == 1 else "replace")
        if self.hint == "Bytes":
            return bytes(buf[offset:offset + count * self.elem.size])
        bulk = self.bulk
        if bulk is not None and count == self.length:
            items: list[Any] = list(bulk.unpack_from(buf, offset))
        else:
            step = self.elem.size
            items = [self.elem.decode(buf, offset + i * step) for i in range(count)]
        if self.hint == "Typed":
            return array.array(self.typecode, items)
        return items


class Slot:
    """One member of a record codec."""

    name: str
    offset: int
    codec: Codec
    counted_by: int

    def __init__(self, name: str, offset: int, codec: Codec) -> None:
        self.name = name
        self.offset = offset
        self.codec = codec
        self.counted_by = -1


class CountedPointerCodec(PointerCodec):
    """A pointer member whose element count is another member: lists and buffers in, lists
    out (a buffer given for it stays the value when C kept the pointer)."""

    elem: Codec

    def __init__(self, size: int, label: str, ctype: str, pointee: Any, elem: Codec) -> None:
        super().__init__(size, label, ctype, pointee, False)
        self.elem = elem

    def element_codec(self) -> Codec | None:
        return self.elem

    def decode_n(self, buf: Buffer, offset: int, count: int) -> object:
        address: int = self.fmt.unpack_from(buf, offset)[0]
        if not address:
            return None
        step = self.elem.size
        if step * count > 2**31 - 1:  # ctypes' sizes are C ints: a larger one would wrap
            raise ValueError(f"{self.label}: cannot read {count} elements ({step * count} "
                             f"bytes) at once (max = {2**31 - 1} bytes)")
        data = ctypes.string_at(address, step * count)
        return [self.elem.decode(data, i * step) for i in range(count)]


def _item_count(codec: Codec, items: Any) -> int:
    """How many elements a counted member's value holds (buffers count by element size)."""
    if isinstance(items, (bytes, bytearray, memoryview, array.array)):
        elem: Codec | None = None
        if isinstance(codec, (CountedPointerCodec, ArrayCodec)):
            elem = codec.elem
        nbytes = memoryview(items).nbytes
        return nbytes // elem.size if elem is not None and elem.size else nbytes
    return len(items)


class RecordCodec(Codec):
    """Structs: instances of their record class (or dicts of members) in, instances out."""

    cls: Any
    slots: list[Slot]
    names: dict[str, int]
    counted: bool

    fast: Any  # the generated decoders of a flat record (koffi_typed.flatgen), or None
    flat_ready: bool
    generator: Any  # builds `fast` on first use; set by koffi_typed.marshal

    def __init__(self, size: int, label: str, ctype: str, cls: Any) -> None:
        super().__init__(size, label, ctype)
        self.cls = cls
        self.slots = []
        self.names = {}
        self.counted = False
        self.fast = None
        self.flat_ready = False
        self.generator = None

    def prepare_flat(self) -> None:
        """Generate the flat-record decoders once the members are known (first use)."""
        self.flat_ready = True
        if self.generator is not None:
            self.fast = self.generator(self)

    def add(self, slot: Slot) -> None:
        self.names[slot.name] = len(self.slots)
        self.slots.append(slot)

    def member_values(self, value: object) -> list[object]:
        slots = self.slots
        if isinstance(value, self.cls):
            values = [getattr(value, s.name) for s in slots]
        elif isinstance(value, dict):
            for key in value:
                if key not in self.names:
                    raise TypeError(f"{self.label}: {self.ctype} has no member {key!r}")
            values = [value[s.name] if s.name in value else s.codec.zero() for s in slots]
        else:
            raise _wrong_type(self.label, f"{self.ctype} instance or dict", value)
        if self.counted:
            for i in range(len(slots)):
                target = slots[i].counted_by
                if target < 0:
                    continue
                items = values[i]
                n = 0 if items is None else _item_count(slots[i].codec, items)
                declared = values[target]
                if declared != n and declared != 0:
                    raise ValueError(f"{self.label}: mismatched dynamic length between "
                                     f"'{slots[target].name}' ({declared}) and actual array "
                                     f"'{slots[i].name}' ({n})")
                values[target] = n
        return values

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if not self.flat_ready:
            self.prepare_flat()
        if self.fast is not None and self.fast.encode(buf, offset, value):
            return
        values = self.member_values(value)
        slots = self.slots
        for i in range(len(slots)):
            slot = slots[i]
            try:
                slot.codec.encode(buf, offset + slot.offset, values[i], keep)
            except (TypeError, ValueError, OverflowError) as exc:
                raise _relabel(exc, slot.codec.label, f"{self.label}.{slot.name}") from None

    def decode(self, buf: Buffer, offset: int) -> object:
        if not self.flat_ready:
            self.prepare_flat()
        if self.fast is not None:
            return self.fast.decode(buf, offset)
        obj = object.__new__(self.cls)
        self.decode_into(obj, buf, offset)
        return obj

    def decode_array(self, buf: Buffer, offset: int, count: int) -> list[object]:
        if not self.flat_ready:
            self.prepare_flat()
        if self.fast is not None:
            result: list[object] = self.fast.decode_array(buf, offset, count)
            return result
        size = self.size
        return [self.decode(buf, offset + i * size) for i in range(count)]

    def decode_into(self, obj: object, buf: Buffer, offset: int) -> None:
        """Overwrite the members of an existing instance from C bytes (``_Out_`` records)."""
        if not self.flat_ready:
            self.prepare_flat()
        if self.fast is not None:
            self.fast.decode_into(obj, buf, offset)
            return
        slots = self.slots
        nested = bool(_nested)
        for slot in slots:
            if slot.counted_by < 0:
                codec = slot.codec
                if nested and isinstance(codec, PointerCodec) and codec.keep_nested(
                        obj, slot.name, buf, offset + slot.offset):
                    continue
                setattr(obj, slot.name, codec.decode(buf, offset + slot.offset))
        if self.counted:
            for slot in slots:
                if slot.counted_by >= 0:
                    codec = slot.codec
                    if nested and isinstance(codec, PointerCodec) and codec.keep_nested(
                            obj, slot.name, buf, offset + slot.offset):
                        continue
                    count = getattr(obj, slots[slot.counted_by].name)
                    setattr(obj, slot.name, self.decode_counted(slot, buf, offset, count))

    def decode_counted(self, slot: Slot, buf: Buffer, offset: int, count: int) -> object:
        codec = slot.codec
        if isinstance(codec, ArrayCodec):
            limit = min(max(count, 0), codec.length)
            return codec.decode_n(buf, offset + slot.offset, limit)
        if isinstance(codec, CountedPointerCodec):
            return codec.decode_n(buf, offset + slot.offset, max(count, 0))
        return codec.decode(buf, offset + slot.offset)


class UnionCodec(Codec):
    """Unions: instances hold their bytes; a dict with one member encodes that member."""

    cls: Any
    members: dict[str, Codec]

    def __init__(self, size: int, label: str, ctype: str, cls: Any) -> None:
        super().__init__(size, label, ctype)
        self.cls = cls
        self.members = {}

    def encode(self, buf: bytearray, offset: int, value: object, keep: list[object]) -> None:
        if isinstance(value, self.cls):
            buf[offset:offset + self.size] = value.__koffi_bytes__
            keep.extend(value.__koffi_keep__)
            return
        if not isinstance(value, dict) or len(value) > 1:
            raise _wrong_type(self.label, f"{self.ctype} instance or a dict with one member",
                              value)
        buf[offset:offset + self.size] = bytes(self.size)
        for key in value:
            codec = self.members.get(key)
            if codec is None:
                raise TypeError(f"{self.label}: {self.ctype} has no member {key!r}")
            try:
                codec.encode(buf, offset, value[key], keep)
            except (TypeError, ValueError, OverflowError) as exc:
                raise _relabel(exc, codec.label, f"{self.label}.{key}") from None

    def decode(self, buf: Buffer, offset: int) -> object:
        obj = object.__new__(self.cls)
        self.decode_into(obj, buf, offset)
        return obj

    def decode_into(self, obj: Any, buf: Buffer, offset: int) -> None:
        """Overwrite an existing union instance's bytes from C memory."""
        obj.__koffi_bytes__ = bytearray(buf[offset:offset + self.size])
        obj.__koffi_keep__ = []
        obj.__koffi_views__ = None
