"""Builds codecs from types (once per type) and reads/writes C memory with them.

`build_codec` is the only place that looks at a `Type`'s kind; the codecs it returns (from
the compiled `_codec` module) only convert values. Importing this module gives `Pointer` its
element access (`pointer.install_access`).
"""

from __future__ import annotations

import ctypes
from typing import Any

from koffi_typed import callstate, flatgen, pointer
from koffi_typed._codec import (
    ArrayCodec,
    BitfieldCodec,
    BoolCodec,
    CallbackCodec,
    Codec,
    CountedPointerCodec,
    EnumCodec,
    FloatCodec,
    IntCodec,
    LongDoubleCodec,
    PointerCodec,
    RecordCodec,
    Slot,
    StringCodec,
    UnionCodec,
    WideIntCodec,
)
from koffi_typed.datamodel import host_name
from koffi_typed.flatgen import FlatRecord
from koffi_typed.typesystem import Type, int_range, is_integer

__all__ = ["build_codec", "codec_for", "decode_at", "encode_at", "flat_record", "from_bytes",
           "to_bytes"]

_INT_FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}
_TYPECODES = {("Int", 1): "b", ("Int", 2): "h", ("Int", 4): "i", ("Int", 8): "q",
              ("UInt", 1): "B", ("UInt", 2): "H", ("UInt", 4): "I", ("UInt", 8): "Q",
              ("Float", 4): "f", ("Float", 8): "d"}
_STRING_UNITS = {"String": 1, "String16": 2, "String32": 4}

# Memory written by `encode_at` keeps what it points to (strings, counted arrays) alive here,
# per address, until that address is written again.
_kept: dict[int, list[object]] = {}


def _int_format(t: Type) -> str:
    code = _INT_FORMATS[t.size]
    if t.primitive.startswith("U"):
        code = code.upper()
    return (">" if t.primitive.endswith("S") else "<") + code


def _scalar_format(t: Type) -> tuple[str, str]:
    """(struct format char, array typecode) for bulk-decoding arrays of ``t``, or empty."""
    if t.primitive in ("Float32", "Float64"):
        code = "f" if t.size == 4 else "d"
        return code, code
    if is_integer(t) and t.primitive != "Enum" and t.size <= 8 and not t.primitive.endswith("S"):
        sign = "UInt" if t.primitive.startswith("U") else "Int"
        code = _INT_FORMATS[t.size]
        return (code.upper() if sign == "UInt" else code), _TYPECODES[(sign, t.size)]
    return "", ""


def build_codec(t: Type, label: str) -> Codec:
    """A new codec for values of ``t``; errors it raises start with ``label``."""
    kind = t.primitive
    if kind == "Bool":
        return BoolCodec(1, label, t.name)
    if kind == "Enum" and t.ref is not None:
        lo, hi = int_range(t.ref)
        return EnumCodec(t.size, label, t.name, _int_format(t.ref), lo, hi, t.python_class)
    if is_integer(t):
        if t.size > 8:
            return WideIntCodec(t.size, label, t.name, not kind.startswith("U"))
        lo, hi = int_range(t)
        return IntCodec(t.size, label, t.name, _int_format(t), lo, hi)
    if kind in ("Float32", "Float64"):
        return FloatCodec(t.size, label, t.name, "<f" if t.size == 4 else "<d")
    if kind == "LongDouble":
        return LongDoubleCodec(t.size, label, t.name, quad=t.size == 16 and _quad_host())
    if kind in _STRING_UNITS:
        return StringCodec(t.size, label, t.name, _STRING_UNITS[kind])
    if kind in ("Pointer", "Callback"):
        ref = t.ref
        if ref is None:
            raise TypeError(f"{label}: type {t.name} has no pointee")
        if kind == "Callback":
            return CallbackCodec(t.size, label, t.name, ref, callstate.bind_transient)
        if t.counted_by is not None:
            return CountedPointerCodec(t.size, label, t.name, ref,
                                       build_codec(ref, f"{label}[]"))
        codec = PointerCodec(t.size, label, t.name, ref, ref.primitive == "Void")
        codec.resolve = codec_for
        return codec
    if kind == "Array" and t.ref is not None and t.length is not None:
        bulk, typecode = _scalar_format(t.ref)
        elem = build_codec(t.ref, f"{label}[]")
        return ArrayCodec(label, t.name, elem, t.length, t.hint or "Array", bulk, typecode)
    if kind in ("Record", "Union"):
        return codec_for(t)  # shared per type; member errors carry the record's own name
    raise TypeError(f"{label}: values of type {t.name} cannot be converted")


def _quad_host() -> bool:
    # 16-byte long double is x87 extended on x86-64 and binary128 elsewhere (aarch64, riscv64).
    return host_name() != "sysv_x64"


def _record_codec(t: Type) -> Codec:
    assert t.members is not None and t._decl is not None
    cls = t.python_class
    if t.primitive == "Union":
        union = UnionCodec(t.size, t.name, t.name, cls)
        for name, member in t.members.items():
            union.members[name] = _member_codec(t, member)
        return union
    record = RecordCodec(t.size, t.name, t.name, cls)
    record.generator = flatgen.generate
    for name, member in t.members.items():
        record.add(Slot(name, member.offset, _member_codec(t, member)))
    for slot in record.slots:
        count = t.members[slot.name].type.counted_by
        if count is not None:
            slot.counted_by = record.names[count]
            record.counted = True
    return record


def _member_codec(record: Type, member: Any) -> Codec:
    label = f"{record.name}.{member.name}"
    if member.bits is None:
        return build_codec(member.type, label)
    t: Type = member.type
    return BitfieldCodec(label, t.name, member.bit_offset, member.bits,
                         signed=t.primitive.startswith("Int") or (
                             t.primitive == "Enum" and t.ref is not None
                             and t.ref.primitive.startswith("Int")),
                         boolean=t.primitive == "Bool")


def codec_for(t: Type) -> Codec:
    """The shared codec of ``t`` (built on first use and kept on the type)."""
    codec = t._codec
    if codec is None:
        codec = _record_codec(t) if t.primitive in ("Record", "Union") else build_codec(t, t.name)
        t._set("_codec", codec)
    return codec  # type: ignore[no-any-return]


def to_bytes(t: Type, value: object, keep: list[object]) -> bytes:
    """The C bytes of ``value`` as a ``t``; objects they point to are appended to ``keep``."""
    buf = bytearray(t.size)
    codec_for(t).encode(buf, 0, value, keep)
    return bytes(buf)


def from_bytes(t: Type, data: object, offset: int = 0) -> Any:
    """Decode a ``t`` from the bytes of buffer ``data`` (any kind: measured in bytes, not
    items; non-contiguous ones are copied) at byte ``offset``, bounds-checked."""
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("Offset must be >= 0")
    buf: bytes | bytearray | memoryview
    if type(data) is bytes or type(data) is bytearray:
        buf = data
    else:
        try:
            view = memoryview(data)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"Expected a buffer (bytes, bytearray, memoryview, array, ...), "
                            f"not {type(data).__name__}") from None
        buf = view.cast("B") if view.c_contiguous else view.tobytes()
    if len(buf) - offset < t.size:
        raise ValueError(f"Expected buffer with size superior or equal to type {t.name} "
                         f"({t.size} bytes), got {max(len(buf) - offset, 0)} bytes")
    return codec_for(t).decode(buf, offset)


def decode_at(address: int, t: Type) -> Any:
    """Read a ``t`` from C memory at ``address``."""
    if not address:
        raise ValueError(f"Cannot decode {t.name} from a NULL pointer")
    return codec_for(t).decode(ctypes.string_at(address, t.size), 0)


def encode_at(address: int, t: Type, value: object) -> None:
    """Write ``value`` as a ``t`` into C memory at ``address``."""
    if not address:
        raise ValueError(f"Cannot encode {t.name} into a NULL pointer")
    keep: list[object] = []
    data = to_bytes(t, value, keep)
    ctypes.memmove(address, data, len(data))
    keep_at(address, keep)


def keep_at(address: int, keep: list[object]) -> None:
    """Keep what the value just written at ``address`` points to (strings, arrays) alive
    until that address is written again."""
    if keep:
        _kept[address] = keep
    else:
        _kept.pop(address, None)


def flat_record(t: Type) -> FlatRecord | None:
    """The flat form of record type ``t`` (built once, kept by its codec), or ``None``."""
    if t.primitive != "Record":
        return None
    codec: Any = codec_for(t)
    if not codec.flat_ready:
        codec.prepare_flat()
    fast: FlatRecord | None = codec.fast
    return fast


pointer.install_access(decode_at, encode_at)
