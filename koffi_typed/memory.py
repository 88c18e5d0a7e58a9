"""Reading and writing C memory from Python: `decode`, `encode`, `view`, `address`.

A reference is a `Pointer` (checked against its `koffi.alloc` block), a raw address or a
Python buffer; every access is bounds-checked against what koffi_typed knows of it.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import Any

from koffi_typed import marshal
from koffi_typed._codec import read_string
from koffi_typed.buffers import buffer_argument, pointer_address
from koffi_typed.carriers import CTYPES_SCALARS
from koffi_typed.declarations import prototype_info
from koffi_typed.functions import function_at
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, is_integer, resolve_type

__all__ = ["address", "decode", "encode", "view"]


def _location(ref: object, offset: int, size: int,
              keep: list[object]) -> tuple[int, Any]:
    """(address, owner) for ``size`` bytes at ``offset`` into ``ref``, bounds-checked."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("Offset must be >= 0")
    if isinstance(ref, Pointer):
        target: Pointer[Any] = Pointer(ref.address + offset, ref.type, ref.block)
        target.check_access(size)
        return target.address, None
    if isinstance(ref, int) and not isinstance(ref, bool):
        if not ref:
            raise ValueError("Cannot access memory at a NULL address")
        return ref + offset, None
    if ref is None:
        raise ValueError("Cannot access memory through a NULL pointer")
    try:
        view = memoryview(ref)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"Expected a Pointer, an address or a buffer, not "
                        f"{type(ref).__name__}") from None
    if view.nbytes < offset + size:
        raise ValueError(f"Expected buffer with size superior or equal to {offset + size} "
                         f"bytes, got {view.nbytes}")
    if view.readonly:
        data = ctypes.create_string_buffer(view.tobytes(), view.nbytes)
        keep.append(data)
        return ctypes.addressof(data) + offset, None
    cbuf = (ctypes.c_char * view.nbytes).from_buffer(view)
    keep.append(cbuf)
    return ctypes.addressof(cbuf) + offset, cbuf


_CHAR_TYPES = ("char", "char16_t", "char32_t", "wchar_t")

# ``decode(pointer, 'int')`` and friends skip the codecs (same values: native byte order, no
# range to check when reading). Reading one scalar through ctypes (``c_int.from_address(a).value``) builds a ctypes object
# per read; on 64-bit hosts ``koffi.decode(ptr, 'int')`` instead unpacks straight from a
# memoryview spanning the address space (as unchecked as ``from_address``, half the cost).
_SPACE_END = sys.maxsize // 2
_SPACE: memoryview | None = memoryview(
    (ctypes.c_char * _SPACE_END).from_address(0)).cast("B") if sys.maxsize > 2**32 else None
_scalar_readers: dict[str, Any] = {}  # type string → bound Struct.unpack_from


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


def _terminated_count(address: int, t: Type) -> int:
    if t.primitive in ("Pointer", "String", "String16", "String32", "Callback") or (is_integer(t) and t.size in (1, 2, 4)):
        unit = t.size
    else:
        raise TypeError(f"Cannot decode a NUL-terminated array of {t.name}")
    return len(read_string(address, unit)) // unit


def decode(ref: object, spec: object, count: int | None = None, offset: int = 0) -> Any:
    """Read C memory: one value of ``spec``, or ``count`` of them (a list; a str for char
    types; a negative count stops at the first zero element).

    ``ref`` is a `Pointer`, an address or a buffer; ``offset`` is in bytes.
    """
    if type(ref) is Pointer and count is None and not offset and ref.block is None:
        read = _scalar_readers.get(spec) if type(spec) is str else None
        if read is not None and 0 < ref.address < _SPACE_END:
            return read(_SPACE, ref.address)[0]
    t = resolve_type(spec)
    keep: list[object] = []
    if t.primitive == "Prototype":
        address, _ = _location(ref, offset, 0, keep)
        return function_at(address, prototype_info(t))
    if count is None:
        address, _ = _location(ref, offset, t.size, keep)
        return marshal.codec_for(t).decode(ctypes.string_at(address, t.size), 0)
    if count < 0:
        address, _ = _location(ref, offset, 1, keep)
        count = _terminated_count(address, t)
    address, _ = _location(ref, offset, t.size * count, keep)
    data = ctypes.string_at(address, t.size * count)
    if t.name in _CHAR_TYPES and t._prim is not None:
        encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[t.size]
        return data.decode(encoding, "surrogateescape" if t.size == 1 else "replace")
    return marshal.codec_for(t).decode_array(data, 0, count)


def encode(ref: object, spec: object, value: object, count: int | None = None,
           offset: int = 0) -> None:
    """Write ``value`` (``count`` values when given) as ``spec`` into C memory at ``ref``."""
    t = resolve_type(spec)
    keep: list[object] = []
    if count is None:
        data = marshal.to_bytes(t, value, keep)
    else:
        if isinstance(value, str) and t.name in _CHAR_TYPES:
            encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[t.size]
            raw = value.encode(encoding)[: t.size * (count if count >= 0 else len(value) * 4)]
            data = raw + bytes(t.size * max(count, 0) - len(raw)) if count >= 0 else \
                raw + bytes(t.size)
        else:
            items = list(value)  # type: ignore[call-overload]
            n = len(items) if count < 0 else count
            if len(items) > n:
                raise ValueError(f"encode(): {len(items)} values do not fit in {n} elements")
            codec = marshal.codec_for(t)
            buf = bytearray(t.size * n)
            for i, item in enumerate(items):
                codec.encode(buf, i * t.size, item, keep)
            data = bytes(buf)
    address, _ = _location(ref, offset, len(data), keep)
    ctypes.memmove(address, data, len(data))
    if keep:
        marshal._kept[address] = keep


def address(value: object) -> int:
    """The address of a `Pointer`, a buffer's storage, or 0 for ``None``."""
    if value is None:
        return 0
    if isinstance(value, Pointer):
        return value.address
    if isinstance(value, int) and not isinstance(value, bool):
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
    """A writable memoryview of ``length`` bytes of C memory at ``ptr`` (no copy)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"view() length must be a non-negative int, not {length!r}")
    keep: list[object] = []
    addr, _ = _location(ptr, 0, length, keep)
    return memoryview((ctypes.c_char * length).from_address(addr)).cast("B")


_install_scalar_readers()
