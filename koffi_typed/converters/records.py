"""Converters for records and unions by value: through a ctypes structure of the same layout
where ctypes gets it right, lowered to eightbytes by the ABI plan on System V x86-64, or as
a carrier structure built from the plan on the other hosts (`koffi_typed.carriers`).

ctypes hands libffi a record's members as if they were consecutive fields, so on System V
x86-64 it passes some unions, bitfield records and packed records in the wrong registers, and
crashes returning some of them. There the `abi` package classifies the signature with the
project's own layouts, and each record is replaced by values libffi classifies the same way:

- a record passed in registers travels as its eightbytes, each one a separate ``c_uint64``
  (INTEGER) or ``c_double`` (SSE) argument (valid because the whole record fits in the
  registers left, which is what the classification says);
- a record that the ABI puts on the stack travels as a structure of those eightbytes (it did
  not fit) or, for MEMORY records, as a structure of ``c_uint64`` words that libffi also
  puts on the stack;
- a result in registers comes back as a structure of its eightbytes; a MEMORY result is
  written through an explicit hidden-pointer argument, as the ABI does.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from koffi_typed import marshal
from koffi_typed.carriers import CLASS_CTYPES, PIECE_CTYPES, ctypes_record, words_struct
from koffi_typed.converters.base import Converter
from koffi_typed.flatgen import FlatRecord
from koffi_typed.marshal import flat_record
from koffi_typed.typesystem import Type

__all__ = ["BlobArgument", "LoweredArgument", "LoweredResult", "RecordConverter",
           "encode_record", "lowering_applies", "record_memory", "same_record"]


def lowering_applies(host: str, types: list[Type], variadic: bool) -> bool:
    """Whether calls with these parameter/result types go through lowering on ``host``."""
    return host == "sysv_x64" and not variadic and any(
        t.primitive in ("Record", "Union") for t in types)


def encode_record(label: str, codec: Any, value: object, keep: list[object],
                  size: int) -> bytearray:
    """The C bytes of a record value in a buffer of ``size`` bytes; errors name ``label``."""
    data = bytearray(size)
    try:
        codec.encode(data, 0, value, keep)
    except (TypeError, ValueError, OverflowError) as exc:
        raise type(exc)(f"{label}: {exc}") from None
    return data


class LoweredArgument:
    """A record argument converted to the ctypes values its placement calls for."""

    writes_back = False
    raw_result = False

    def __init__(self, label: str, t: Type, placement: Any, stack_follows: bool) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.placement = placement
        kind = placement.kind
        size = t.size
        if kind == "reg":
            self.pieces = [(off, PIECE_CTYPES[k]) for off, _, k in placement.pieces]
            self.splat = True
            self.padded = max(size, max(off for off, _ in self.pieces) + 8)
            self.ctype: Any = None
            # eightbytes are contiguous from offset 0: one unpack reads them all
            self.unpack = struct.Struct("<" + "".join(
                "Q" if ctype is ctypes.c_uint64 else "d" for _, ctype in self.pieces))
            self.wrappers = [ctype for _, ctype in self.pieces]
        elif kind == "stack" and placement.classes and "MEMORY" not in placement.classes:
            classes = [CLASS_CTYPES[c] for c in placement.classes]
            self.ctype = words_struct(f"lowered_{t.name}", classes)
            self.splat = False
            self.padded = ctypes.sizeof(self.ctype)
        elif kind == "stack":
            words = (size + 7) // 8
            if words <= 2:
                if stack_follows:
                    raise NotImplementedError(
                        f"{label}: {t.name} is a MEMORY-class record of {size} bytes followed "
                        "by other stack arguments; libffi cannot express that placement")
                words = 3  # > 16 bytes: libffi puts it on the stack, never in registers
            self.ctype = words_struct(f"lowered_{t.name}", [ctypes.c_uint64] * words,
                                       align16=t.alignment >= 16 and words >= 2)
            self.splat = False
            self.padded = ctypes.sizeof(self.ctype)
        else:
            raise NotImplementedError(f"{label}: cannot pass {t.name} ({kind}) on this ABI")

    def emit(self, var: str, i: int, slow: str, env: dict[str, Any]) -> tuple[list[str],
                                                                                list[str]]:
        """Statements converting ``var`` inline (flat records and unions), with ``slow``
        (this converter's `convert`) for everything else; and the call arguments."""
        names = [f"c{i}_{j}" for j in range(len(self.pieces))] if self.splat else [f"c{i}"]
        fallback = f"{', '.join(names)}{',' if len(names) == 1 and self.splat else ''} = {slow}"
        t = self.type
        flat = flat_record(t)
        if flat is not None:
            env[f"_K{i}"] = flat.cls
            condition = f"type({var}) is _K{i} and {flat.check(var)}"
            direct = self._direct_pieces(flat, var, i, env) if self.splat else None
            if direct is not None:
                fast = [f"{n} = {e}" for n, e in zip(names, direct)]
            else:
                env[f"_P{i}"] = struct.Struct(flat.struct.format + "x" * (self.padded - t.size))
                fast = self._from_bytes(names, f"_P{i}.pack({flat.values(var)})", i, env)
        elif t.primitive == "Union" and t.python_class is not None:
            env[f"_K{i}"] = t.python_class
            condition = f"type({var}) is _K{i}"
            data = f"{var}.__koffi_bytes__"
            if self.padded > t.size:
                env[f"_Z{i}"] = bytes(self.padded - t.size)
                data = f"({data} + _Z{i})"
            fast = self._from_bytes(names, data, i, env)
        else:
            return [fallback], names
        return [f"if {condition}:", *(f"    {line}" for line in fast), "else:",
                f"    {fallback}"], names

    def _direct_pieces(self, flat: FlatRecord, var: str, i: int,
                       env: dict[str, Any]) -> list[str] | None:
        """Each eightbyte straight from the one member it holds, or ``None``. An INTEGER
        eightbyte holding one int of at most 32 bits passes as a plain Python int (ctypes
        sign-extends it; the callee reads only the member's bytes)."""
        exprs = []
        for j, (off, _, kind) in enumerate(self.placement.pieces):
            inside = [m for m in flat.members if off <= m.offset < off + 8]
            if len(inside) != 1 or inside[0].offset != off:
                return None
            m = inside[0]
            value = f"{var}.{m.name}"
            if kind == "int" and m.kind in ("int", "bool") and m.size <= 4:
                exprs.append(value)
            elif kind == "int" and m.kind == "int":
                env[f"_I{i}_{j}"] = ctypes.c_int64 if m.lo < 0 else ctypes.c_uint64
                exprs.append(f"_I{i}_{j}({value})")
            elif kind == "double" and m.kind == "float" and m.size == 8:
                env["_D"] = ctypes.c_double
                exprs.append(f"_D({value})")
            elif kind == "float" and m.kind == "float" and m.size == 4:
                env["_F"] = ctypes.c_float
                exprs.append(f"_F({value})")
            else:
                return None
        return exprs

    def _from_bytes(self, names: list[str], data: str, i: int,
                    env: dict[str, Any]) -> list[str]:
        """Statements turning the padded C bytes ``data`` into the call arguments."""
        if not self.splat:
            env[f"_W{i}"] = self.ctype
            return [f"{names[0]} = _W{i}.from_buffer_copy({data})"]
        env[f"_E{i}"] = self.unpack
        lines = [f"e{i} = _E{i}.unpack_from({data})"]
        for j, (name, wrap) in enumerate(zip(names, self.wrappers)):
            env[f"_V{i}_{j}"] = wrap
            lines.append(f"{name} = _V{i}_{j}(e{i}[{j}])")
        return lines

    def convert(self, value: object, keep: list[object]) -> object:
        data = encode_record(self.label, self.codec, value, keep, self.padded)
        if not self.splat:
            return self.ctype.from_buffer(data)
        values = self.unpack.unpack_from(data)
        wrappers = self.wrappers
        if len(wrappers) == 2:
            return (wrappers[0](values[0]), wrappers[1](values[1]))
        return tuple(wrap(value) for wrap, value in zip(wrappers, values, strict=True))

    def write_back(self, value: object, converted: object) -> None:
        """Records by value are never written back."""

    def result(self, raw: Any) -> object:  # pragma: no cover - not a result converter
        raise TypeError("not a result converter")

    def callback_return(self, value: object, keep: list[object]) -> object:
        raise TypeError("not a callback converter")  # pragma: no cover


class LoweredResult:
    """A record result: a structure of its eightbytes, or a hidden result pointer."""

    raw_result = False
    writes_back = False

    def __init__(self, label: str, t: Type, placement: Any) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.sret = placement.kind == "sret"
        if self.sret:
            self.ctype: Any = ctypes.c_void_p
        elif placement.kind == "reg":
            self.ctype = words_struct(f"lowered_{t.name}",
                                       [PIECE_CTYPES[k] for _, _, k in placement.pieces])
        else:
            raise NotImplementedError(f"{label}: cannot return {t.name} ({placement.kind})")

    def buffer(self) -> Any:
        """A zeroed buffer for the callee to write a MEMORY result into."""
        return ctypes.create_string_buffer(max(self.type.size, 1))

    def emit_result(self, raw: str, env: dict[str, Any]) -> list[str]:
        """Statements returning the record held by ``raw`` (the structure of eightbytes, or
        the hidden-pointer buffer): a flat record is unpacked straight into a new instance."""
        flat = flat_record(self.type)
        if flat is None:
            return [f"return _r({raw})"]
        env.update(_RK=flat.cls, _RS=flat.struct, _new=object.__new__)
        return ["o = _new(_RK)", f"{flat.targets('o')}= _RS.unpack_from({raw})", "return o"]

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw)[: self.type.size], 0)


class BlobArgument:
    """A record argument (or result) carried as a structure libffi classifies correctly."""

    writes_back = False
    raw_result = False

    def __init__(self, label: str, t: Type, ctype: Any) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.ctype = ctype
        self.padded = ctypes.sizeof(ctype)

    def fast(self, var: str, slow: str) -> str:
        return slow

    def convert(self, value: object, keep: list[object]) -> object:
        return self.ctype.from_buffer(
            encode_record(self.label, self.codec, value, keep, self.padded))

    def write_back(self, value: object, converted: object) -> None:
        """Records by value are never written back."""

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw)[: self.type.size], 0)


def record_memory(elem: Any, value: object, keep: list[object], encode: bool) -> object:
    """Temporary C memory holding one record (zeroed for ``_Out_``), kept for the call."""
    data = bytearray(elem.size)
    if encode:
        elem.encode(data, 0, value, keep)
    keep.append(data)
    return (ctypes.c_char * elem.size).from_buffer(data)


def same_record(t: Type, value: object) -> Type | None:
    """The type of ``value`` if it is a record of another class declaring the same C record.

    C identifies records by name: two modules may both declare ``struct tm``. An instance of
    either class is accepted where the other is expected when name and layout agree.
    """
    other = getattr(type(value), "__koffi_type__", None)
    if not isinstance(other, Type) or other is t or t.python_class is None:
        return None
    if other.name != t.name or other.size != t.size or other.primitive != t.primitive:
        return None
    mine, theirs = t.members or {}, other.members or {}
    if [(m.name, m.offset, m.bits, m.type.size) for m in mine.values()] != \
            [(m.name, m.offset, m.bits, m.type.size) for m in theirs.values()]:
        return None
    return other


class RecordConverter(Converter):
    """Records by value through a ctypes structure with the same layout."""


    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        self.ctype = ctypes_record(t, label)
        self.codec = marshal.codec_for(t)

    def convert(self, value: object, keep: list[object]) -> object:
        return self.ctype.from_buffer(
            encode_record(self.label, self.codec, value, keep, self.type.size))

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw), 0)
