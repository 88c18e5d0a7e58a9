"""C memory: buffers passed without copying, casts, `alloc`/`free`, `decode`/`encode`, views.

Also builds the ctypes structures that carry records by value through libffi.
"""

from __future__ import annotations

import array
import ctypes
import struct
import sys
from typing import Any

from koffi_typed import marshal
from koffi_typed._codec import read_string
from koffi_typed.pointer import Block, Pointer
from koffi_typed.types import Type, is_integer, resolve_type

__all__ = ["Cast", "address", "alloc", "as_", "decode", "encode", "free", "view"]

_libc = ctypes.CDLL(None)
_calloc = _libc.calloc
_calloc.restype = ctypes.c_void_p
_calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_free = _libc.free
_free.restype = None
_free.argtypes = [ctypes.c_void_p]

_blocks: dict[int, Block] = {}
disposed_count = 0


class Cast:
    """A value with an explicit pointer type, made by `as_` (Koffi's ``koffi.as``)."""

    __slots__ = ("type", "value")

    def __init__(self, value: object, t: Type) -> None:
        self.value = value
        self.type = t

    def __repr__(self) -> str:
        return f"as_({self.value!r}, {self.type.name!r})"


def as_(value: object, spec: object) -> Cast:
    """Tell koffi_typed which pointer type ``value`` is, e.g. for a ``void *`` parameter."""
    t = resolve_type(spec)
    if t.primitive not in ("Pointer", "String", "String16", "String32", "Callback"):
        raise TypeError("Only pointer or string types can be used for casting")
    return Cast(value, t)


_cast_converters: dict[tuple[int, str], Any] = {}


def cast_converter(t: Type, direction: str) -> Any:
    """The (cached) converter for values cast to ``t`` and passed with ``direction``."""
    key = (id(t), direction)
    converter = _cast_converters.get(key)
    if converter is None:
        from koffi_typed.functions import make_converter
        converter = make_converter(f"as_({t.name})", t, direction)
        _cast_converters[key] = converter
    return converter


def cast_argument(cast: Cast, keep: list[object], direction: str = "in") -> object:
    """What to pass for a `Cast`: its value converted as its own type and direction."""
    return cast_converter(cast.type, direction).convert(cast.value, keep)


_CArg = type(ctypes.byref(ctypes.c_char()))


def buffer_argument(value: object, keep: list[object]) -> object | None:
    """What ctypes passes as a pointer into ``value``'s buffer (no copy), or ``None`` if
    ``value`` is not a buffer (or is empty: NULL).

    Read-only buffers (``bytes``) pass their own storage too; C must not write into them.
    Writable ones pass as ``byref`` of a one-char view, the cheapest pointer ctypes builds
    (an array type of the buffer's length costs twice as much); the view also stops the
    buffer from being resized during the call.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, array.array)) or (
            isinstance(value, memoryview) or hasattr(value, "__buffer__")
            or type(value).__module__ == "numpy"):
        try:
            view = memoryview(value)  # type: ignore[arg-type]
        except TypeError:
            return None
        if view.readonly:
            data = view.tobytes()
            keep.append(data)
            return data
        if view.nbytes == 0:
            return None
        keep.append(value)
        return ctypes.byref(ctypes.c_char.from_buffer(view))
    return None


def pointer_address(converted: object) -> int | None:
    """The address a `buffer_argument` result points to (``None`` for other objects)."""
    if isinstance(converted, _CArg):
        return ctypes.addressof(converted._obj)  # type: ignore[attr-defined]
    if isinstance(converted, ctypes.Array):
        return ctypes.addressof(converted)
    return None


def dispose(t: Type, address: int) -> None:
    """Free what a disposable type returned, once it has been converted."""
    global disposed_count
    if not t.disposable or not address:
        return
    free_function = t._dispose
    if free_function is None:
        _free(address)
    else:
        free_function(Pointer(address, t.ref or resolve_type("void")))
    disposed_count += 1


_CTYPES_SCALARS: dict[str, Any] = {
    "Int8": ctypes.c_int8, "UInt8": ctypes.c_uint8, "Int16": ctypes.c_int16,
    "UInt16": ctypes.c_uint16, "Int32": ctypes.c_int32, "UInt32": ctypes.c_uint32,
    "Int64": ctypes.c_int64, "UInt64": ctypes.c_uint64, "Bool": ctypes.c_bool,
    "Float32": ctypes.c_float, "Float64": ctypes.c_double, "LongDouble": ctypes.c_longdouble}
_record_ctypes: dict[int, Any] = {}


def _ctypes_member(t: Type, label: str) -> Any:
    kind = t.primitive.rstrip("S") if t.primitive.endswith(("16S", "32S", "64S")) else t.primitive
    if t.primitive == "Enum" and t.ref is not None:
        return _ctypes_member(t.ref, label)
    if kind in _CTYPES_SCALARS:
        return _CTYPES_SCALARS[kind]
    if kind in ("Pointer", "String", "String16", "String32", "Callback"):
        return ctypes.c_void_p
    if kind == "Array" and t.ref is not None and t.length is not None:
        return _ctypes_member(t.ref, label) * t.length
    if kind == "Record":
        return ctypes_record(t, label)
    raise NotImplementedError(
        f"{label}: {t.name} cannot be passed by value through ctypes on this ABI yet "
        f"({'unions' if kind == 'Union' else kind} by value need the ABI lowering)")


def ctypes_record(t: Type, label: str) -> Any:
    """A ctypes structure with exactly ``t``'s layout, for passing ``t`` by value.

    Records that ctypes/libffi would pass wrongly by value (unions, bitfields, packed or
    unaligned members) raise `NotImplementedError` here, at declaration time.
    """
    found = _record_ctypes.get(id(t))
    if found is not None:
        return found
    if t.primitive == "Union":
        raise NotImplementedError(f"{label}: union {t.name} cannot be passed by value yet "
                                  "(ctypes passes unions wrongly; needs the ABI lowering)")
    assert t.members is not None and t._decl is not None
    fields = []
    pos = 0
    for f in t._decl.fields:
        if f.bits is not None:
            raise NotImplementedError(f"{label}: {t.name} has bitfields and cannot be passed "
                                      "by value yet (needs the ABI lowering)")
        if f.is_padding:
            member_offset = pos + (-pos % f.type.alignment)
        else:
            member_offset = t.members[f.name].offset
        if member_offset % max(f.type.alignment, 1) or (f.align and f.align < f.type.alignment):
            raise NotImplementedError(f"{label}: {t.name} has unaligned members and cannot be "
                                      "passed by value yet (needs the ABI lowering)")
        if member_offset > pos:
            fields.append((f"_gap{pos}", ctypes.c_uint8 * (member_offset - pos)))
        fields.append((f.name if not f.is_padding else f"_pad{member_offset}",
                       _ctypes_member(f.type, label)))
        pos = member_offset + f.type.size
    structure: Any = type(f"ctypes_{t.name}", (ctypes.Structure,), {"_fields_": fields})
    if ctypes.sizeof(structure) != t.size or ctypes.alignment(structure) != t.alignment:
        raise NotImplementedError(f"{label}: {t.name} cannot be passed by value through ctypes "
                                  "(its layout differs from ctypes'; needs the ABI lowering)")
    _record_ctypes[id(t)] = structure
    return structure


# ---------------------------------------------------------------------------- alloc / free

def alloc(spec: object, count: int = 1) -> Pointer[Any]:
    """Zeroed C memory (``calloc``) for ``count`` values of ``spec``; free it with `free`."""
    t = resolve_type(spec)
    if t.size == 0:
        raise TypeError(f"Cannot allocate values of type {t.name} (size 0)")
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"Allocation count must be a positive int, not {count!r}")
    size = t.size * count
    if size > 2**31 - 1:
        raise ValueError(f"Cannot allocate {size} bytes at once (max = {2**31 - 1})")
    addr = _calloc(count, t.size)
    if not addr:
        raise MemoryError(f"calloc({count}, {t.size}) failed")
    block = Block(addr, size)
    _blocks[addr] = block
    return Pointer(addr, t, block)


def free(ptr: object) -> None:
    """Free memory from `alloc` (or from C's ``malloc``); ``None`` is ignored.

    Freeing a `koffi.alloc` block twice raises `ValueError` instead of corrupting the heap.
    """
    if ptr is None:
        return
    if isinstance(ptr, Pointer):
        block = ptr.block or _blocks.get(ptr.address)
        if block is not None:
            if block.freed:
                raise ValueError(f"Memory at {block.address:#x} was already freed")
            if ptr.address != block.address:
                raise ValueError(f"{ptr.address:#x} is inside the block allocated at "
                                 f"{block.address:#x}; free the block's own pointer")
            block.freed = True
            _blocks.pop(block.address, None)
        _free(ptr.address)
        return
    raise TypeError(f"free() expects a Pointer or None, not {type(ptr).__name__}")


def live_allocations() -> int:
    """How many `alloc` blocks are not freed yet."""
    return len(_blocks)


# ---------------------------------------------------------------------------- decode / encode

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
        code = _CTYPES_SCALARS[t.primitive]._type_
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
        from koffi_typed.functions import function_at, prototype_info
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
