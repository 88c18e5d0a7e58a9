"""Reading and writing C memory from Python: `decode`, `encode`, `view`, `address`.

A reference is a `Pointer` (checked against its `koffi.alloc` block), a raw address or a
Python buffer; every access is bounds-checked against what koffi_typed knows of it.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any, cast, overload

from koffi_typed import heap, marshal, probe
from koffi_typed._codec import encode_text, fit_text
from koffi_typed.buffers import buffer_argument, pinned_address, pointer_address
from koffi_typed.carriers import CTYPES_SCALARS
from koffi_typed.declarations import prototype_info
from koffi_typed.functions import function_at
from koffi_typed.pointer import ADDRESS_MAX, FREED, NULL_PAGE, Pointer, freed_block
from koffi_typed.typesystem import Type, is_integer, resolve_type

__all__ = ["address", "decode", "encode", "view"]


class _Region:
    """Where a `decode`/`encode`/`view` lands: ``address``, the known end of the memory
    behind it (``None`` for raw C memory), and what keeps that memory alive."""

    __slots__ = ("address", "limit", "owner")

    def __init__(self, address: int, limit: int | None, owner: object) -> None:
        self.address = address
        self.limit = limit
        self.owner = owner


def _region(ref: object, offset: int, size: int, keep: list[object], *,
            write: bool = False) -> _Region:
    """The region for ``size`` bytes at ``offset`` into ``ref`` (a `Pointer`, an address or a
    buffer), checked against what is known of it: NULL, freed `alloc` blocks and their
    bounds, buffer sizes, immutable buffers (when ``write``)."""
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("Offset must be >= 0")
    if isinstance(ref, Pointer) or (isinstance(ref, int) and not isinstance(ref, bool)):
        if isinstance(ref, Pointer):
            base, ptype, block = ref.address, ref.type, ref.block
        else:
            base, ptype, block = ref, resolve_type("void"), None
        if not base:
            raise ValueError("Cannot access memory through a NULL pointer")
        if block is None:
            block = heap.block_containing(base)  # a copy of an alloc address (from C)
        target: Pointer[Any] = Pointer(base + offset, ptype, block)
        target.check_access(size)
        return _Region(target.address, block.end if block is not None else None, block)
    if ref is None:
        raise ValueError("Cannot access memory through a NULL pointer")
    try:
        view = memoryview(ref)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"Expected a Pointer, an address or a buffer, not "
                        f"{type(ref).__name__}") from None
    if not view.c_contiguous:
        raise TypeError(f"a non-contiguous buffer ({type(ref).__name__}) is not C memory")
    if view.nbytes < offset + size:
        raise ValueError(f"Expected buffer with size superior or equal to {offset + size} "
                         f"bytes, got {view.nbytes}")
    if view.readonly:
        if write:
            raise TypeError(f"Cannot write into an immutable {type(ref).__name__} "
                            "(use a bytearray)")
        start = pinned_address(view, keep)
        return _Region(start + offset, start + view.nbytes, view)
    if not view.nbytes:
        raise ValueError("Cannot access memory of an empty buffer")
    cbuf = (ctypes.c_char * view.nbytes).from_buffer(view)
    keep.append(cbuf)
    start = ctypes.addressof(cbuf)
    return _Region(start + offset, start + view.nbytes, cbuf)


_AT_ONCE = 2**31 - 1  # the most bytes read or written at once (as koffi.alloc allocates)


def _at_once(nbytes: int) -> int:
    """``nbytes``, refused beyond what ctypes reads (its sizes are C ints) or writes at once:
    a larger count would wrap or allocate all of it before any check."""
    if nbytes > _AT_ONCE:
        raise ValueError(f"Cannot access {nbytes} bytes at once (max = {_AT_ONCE})")
    return nbytes


class _NotGiven:
    """The default of parameters whose absence matters (Koffi's positional spellings)."""

    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Any = _NotGiven()


def _offset(offset: object) -> int:
    """``offset`` as given (`_region` checks it), 0 when not given."""
    return 0 if offset is _MISSING else cast(int, offset)


def _count(count: object) -> int | None:
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int or None, not {type(count).__name__}")
    return count


_CHAR_TYPES = ("char", "char16_t", "char32_t", "wchar_t")

# ``decode(pointer, 'int')`` and friends skip the codecs (same values: native byte order, no
# range to check when reading). Reading one scalar through ctypes (``c_int.from_address(a).value``) builds a ctypes object
# per read; on 64-bit hosts ``koffi.decode(ptr, 'int')`` instead unpacks straight from a
# memoryview spanning the address space (as unchecked as ``from_address``, half the cost).
_SPACE_END = probe.SPACE_END
_SPACE = probe.SPACE
_scalar_readers: dict[str, Any] = {}  # type string → bound Struct.unpack_from
_freed = FREED  # blocks koffi.free released: a fast read through one raises
_POINTER = struct.Struct("@P")


def _install_scalar_readers() -> None:
    if _SPACE is None:
        return
    for name in ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
                 "uint64_t", "char", "unsigned char", "short", "unsigned short", "int",
                 "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
                 "size_t", "intptr_t", "uintptr_t", "float", "double", "int8", "uint8",
                 "int16", "uint16", "int32", "uint32", "int64", "uint64", "uint", "ulong",
                 "longlong", "ulonglong", "uchar", "ushort", "intptr", "uintptr", "float32",
                 "float64"):
        t = resolve_type(name)
        code = CTYPES_SCALARS[t.primitive]._type_
        _scalar_readers[name] = struct.Struct("@" + code).unpack_from


def _terminated_count(region: _Region, t: Type) -> int:
    """How many ``t`` elements precede the first zero one, never looking past the region's
    known end (the elements up to it when there is no zero one)."""
    if not (t.primitive in ("Pointer", "String", "String16", "String32", "Callback")
            or (is_integer(t) and t.size in (1, 2, 4, 8))):
        raise TypeError(f"Cannot decode a NUL-terminated array of {t.name}")
    unit = t.size
    if region.limit is None:
        data = probe.readable_string(region.address, unit)
        if data is None:
            raise ValueError(f"No NUL-terminated array of {t.name} at "
                             f"{region.address:#x} (unreadable memory before the end)")
        return len(data) // unit
    data = ctypes.string_at(region.address, region.limit - region.address)
    zero = bytes(unit)
    at = data.find(zero)
    while at >= 0 and at % unit:
        at = data.find(zero, at + 1)
    return (at if at >= 0 else len(data)) // unit


def _string_at(address: int, t: Type) -> str | None:
    """The string a ``t`` (``char *``, ...) pointer value points to, read safely: bounded by
    its `alloc` block when it lies in one, and refused when the memory is not readable."""
    if not address:
        return None
    unit = {"String": 1, "String16": 2, "String32": 4}[t.primitive]
    block = heap.block_containing(address)
    if block is not None and block.freed:
        raise ValueError(f"The string at {address:#x} lies in memory that was already freed")
    data = probe.readable_string(address, unit, block.end if block is not None else None)
    if data is None:
        where = f"its {block.size}-byte block" if block is not None else "readable memory"
        raise ValueError(f"No NUL-terminated {t.name} string at {address:#x} within {where}")
    return data.decode({1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[unit],
                       "surrogateescape" if unit == 1 else "replace")


@overload
def decode(ref: object, spec: object, count: int | None = None, offset: int = 0) -> Any: ...
@overload
def decode(ref: object, offset: int, spec: object, count: int | None = None, /) -> Any: ...
def decode(ref: object, spec: object, count: object = None, offset: object = _MISSING) -> Any:
    """Read C memory: one value of ``spec``, or ``count`` of them (a list; a str for char
    types; a negative count stops at the first zero element).

    ``ref`` is a `Pointer`, an address or a buffer; ``offset`` is in bytes. Koffi's
    spelling with the offset second, ``decode(ref, offset, spec, count=None)``, works too.
    """
    if type(ref) is Pointer and count is None and offset is _MISSING and ref.block is None:
        read = _scalar_readers.get(spec) if type(spec) is str else None
        if read is not None and NULL_PAGE <= ref.address < _SPACE_END and not (
                _freed and freed_block(ref.address, 8)):
            return read(_SPACE, ref.address)[0]
    if type(spec) is int:  # Koffi's decode(ref, offset, type, len)
        spec, count, offset = count, None if offset is _MISSING else offset, spec
    at = _offset(offset)
    t = resolve_type(spec)
    n = _count(count)
    keep: list[object] = []
    if t.primitive == "Prototype":
        region = _region(ref, at, 0, keep)
        return function_at(region.address, prototype_info(t))
    if n is None:
        region = _region(ref, at, t.size, keep)
        if t.primitive in ("String", "String16", "String32"):
            return _string_at(_POINTER.unpack(ctypes.string_at(region.address, t.size))[0],
                              t)
        return marshal.codec_for(t).decode(ctypes.string_at(region.address, t.size), 0)
    if n < 0:
        n = _terminated_count(_region(ref, at, t.size, keep), t)
    region = _region(ref, at, _at_once(t.size * n), keep)
    data = ctypes.string_at(region.address, t.size * n)
    if t.name in _CHAR_TYPES and t._prim is not None:
        encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[t.size]
        return data.decode(encoding, "surrogateescape" if t.size == 1 else "replace")
    return marshal.codec_for(t).decode_array(data, 0, n)


@overload
def encode(ref: object, spec: object, value: object, count: int | None = None,
           offset: int = 0) -> None: ...
@overload
def encode(ref: object, offset: int, spec: object, value: object,
           count: int | None = None, /) -> None: ...
def encode(ref: object, spec: object, value: object = _MISSING, count: object = _MISSING,
           offset: object = _MISSING) -> None:
    """Write ``value`` (``count`` values when given) as ``spec`` into C memory at ``ref``.

    Koffi's spelling with the offset second, ``encode(ref, offset, spec, value,
    count=None)``, works too.
    """
    if type(spec) is int:  # Koffi's encode(ref, offset, type, value, len)
        if count is _MISSING:
            raise TypeError("encode(ref, offset, spec, value): missing the value")
        spec, value, count, offset = value, count, None if offset is _MISSING else offset, spec
    elif value is _MISSING:
        raise TypeError("encode() missing 1 required positional argument: 'value'")
    at = _offset(offset)
    t = resolve_type(spec)
    count = _count(None if count is _MISSING else count)
    keep: list[object] = []
    if count is None:
        data = marshal.to_bytes(t, value, keep)
        total = len(data)
    elif isinstance(value, str) and t.name in _CHAR_TYPES:
        data = encode_text("encode()", value, t.size)
        if count >= 0:  # cut to whole characters, the rest zeroed
            total = _at_once(t.size * count)
            data = fit_text(value, data, total, t.size)
        else:
            data += bytes(t.size)
            total = len(data)
    else:
        items = list(value)  # type: ignore[call-overload]
        n = len(items) if count < 0 else count
        if len(items) > n:
            raise ValueError(f"encode(): {len(items)} values do not fit in {n} elements")
        total = _at_once(t.size * n)
        _region(ref, at, total, [], write=True)  # before encoding: the count fits
        codec = marshal.codec_for(t)
        buf = bytearray(t.size * len(items))  # the rest is zeroed in place
        for i, item in enumerate(items):
            codec.encode(buf, i * t.size, item, keep)
        data = bytes(buf)
    region = _region(ref, at, total, keep, write=True)
    ctypes.memmove(region.address, data, len(data))
    if total > len(data):
        ctypes.memset(region.address + len(data), 0, total - len(data))
    marshal.keep_at(region.address, keep)


def address(value: object) -> int:
    """The address of a `Pointer`, a buffer's storage, or 0 for ``None``."""
    if value is None:
        return 0
    if isinstance(value, Pointer):
        return value.address
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= ADDRESS_MAX:
            raise OverflowError(f"address() of {value}: out of range for an address "
                                f"[0, {ADDRESS_MAX:#x}]")
        return value
    if isinstance(value, bytes):
        return ctypes.cast(ctypes.c_char_p(value), ctypes.c_void_p).value or 0
    keep: list[object] = []
    found = pointer_address(buffer_argument(value, keep))
    if found is not None:
        return found
    raise TypeError(f"address() expects a Pointer, a buffer or None, not "
                    f"{type(value).__name__}")


def view(ptr: object, length: int) -> memoryview:
    """A memoryview of ``length`` bytes of memory at ``ptr`` (no copy).

    The view keeps what it views alive: a buffer (``bytes`` give a read-only view), or the
    `koffi.alloc` block (which stays allocated, even across `koffi.free`, until the view is
    gone). Raw C memory is viewed as it is: C owns it.
    """
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"view() length must be a non-negative int, not "
                        f"{type(length).__name__}")
    if length < 0:
        raise ValueError(f"view() length must be a non-negative int, not {length!r}")
    if not isinstance(ptr, (Pointer, int)) and ptr is not None:
        try:
            whole = memoryview(ptr).cast("B")  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"Expected a Pointer, an address or a buffer, not "
                            f"{type(ptr).__name__}") from None
        if whole.nbytes < length:
            raise ValueError(f"Expected buffer with size superior or equal to {length} bytes, "
                             f"got {whole.nbytes}")
        return whole[:length]
    keep: list[object] = []
    region = _region(ptr, 0, length, keep)
    cdata: Any = (ctypes.c_char * length).from_address(region.address)
    if isinstance(region.owner, heap.Block):
        cdata.lease = _BlockLease(region.owner)  # dies with the view
    return memoryview(cdata).cast("B")


class _BlockLease:
    """Pins an `alloc` block while a view of it exists."""

    __slots__ = ("block",)

    def __init__(self, block: heap.Block) -> None:
        self.block = block
        block.pin()

    def __del__(self) -> None:
        self.block.unpin()


_install_scalar_readers()
