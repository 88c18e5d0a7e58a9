"""Passing records by value the way the ABI says, through ctypes types libffi cannot get wrong.

ctypes hands libffi a record's members as if they were consecutive fields, so on System V
x86-64 it passes some unions, bitfield records and packed records in the wrong registers, and
crashes returning some of them. Here the `abi` package classifies the signature with the
project's own layouts, and each record is replaced by values libffi classifies the same way:

- a record passed in registers travels as its eightbytes, each one a separate ``c_uint64``
  (INTEGER) or ``c_double`` (SSE) argument (valid because the whole record fits in the
  registers left, which is what the classification says);
- a record that the ABI puts on the stack travels as a structure of those eightbytes (it did
  not fit) or, for MEMORY records, as a structure of ``c_uint64`` words that libffi also
  puts on the stack;
- a result in registers comes back as a structure of its eightbytes; a MEMORY result is
  written through an explicit hidden-pointer argument, as the ABI does.

Only the host ruleset matters here; ``koffi.abi.classify`` explains the same plan for any.
"""

from __future__ import annotations

import ctypes
from typing import Any

from koffi_typed import marshal
from koffi_typed.types import Type

__all__ = ["LoweredArgument", "LoweredResult", "lowering_applies"]

_PIECE_CTYPES = {"int": ctypes.c_uint64, "double": ctypes.c_double, "float": ctypes.c_double,
                 "ldouble": ctypes.c_longdouble}  # X87 results come back in st0
_CLASS_CTYPES = {"INTEGER": ctypes.c_uint64, "SSE": ctypes.c_double}


def lowering_applies(host: str, types: list[Type], variadic: bool) -> bool:
    """Whether calls with these parameter/result types go through lowering on ``host``."""
    return host == "sysv_x64" and not variadic and any(
        t.primitive in ("Record", "Union") for t in types)


def _words_struct(name: str, types: list[Any], align16: bool = False) -> Any:
    fields: list[tuple[str, Any]] = [(f"w{i}", ctype) for i, ctype in enumerate(types)]
    if align16:
        # A 16-aligned stack slot (long double, __int128, _Alignas(16) members); the
        # structure is MEMORY class anyway, so the long double changes nothing else.
        fields[0:2] = [("w0", ctypes.c_longdouble)]
    return type(name, (ctypes.Structure,), {"_fields_": fields})


class LoweredArgument:
    """A record argument converted to the ctypes values its placement calls for."""

    writes_back = False
    needs_keep = True
    raw_result = False

    def __init__(self, label: str, t: Type, placement: Any, stack_follows: bool) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.placement = placement
        kind = placement.kind
        size = t.size
        if kind == "reg":
            self.pieces = [(off, _PIECE_CTYPES[k]) for off, _, k in placement.pieces]
            self.splat = True
            self.padded = max(size, max(off for off, _ in self.pieces) + 8)
            self.ctype: Any = None
        elif kind == "stack" and placement.classes and "MEMORY" not in placement.classes:
            classes = [_CLASS_CTYPES[c] for c in placement.classes]
            self.ctype = _words_struct(f"lowered_{t.name}", classes)
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
            self.ctype = _words_struct(f"lowered_{t.name}", [ctypes.c_uint64] * words,
                                       align16=t.alignment >= 16 and words >= 2)
            self.splat = False
            self.padded = ctypes.sizeof(self.ctype)
        else:
            raise NotImplementedError(f"{label}: cannot pass {t.name} ({kind}) on this ABI")

    def fast(self, var: str, slow: str) -> str:
        return slow

    def convert(self, value: object, keep: list[object]) -> object:
        data = bytearray(self.padded)
        try:
            self.codec.encode(data, 0, value, keep)
        except (TypeError, ValueError, OverflowError) as exc:
            raise type(exc)(f"{self.label}: {exc}") from None
        if not self.splat:
            return self.ctype.from_buffer(data)
        return tuple(ctype.from_buffer_copy(data, off) for off, ctype in self.pieces)

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
    needs_keep = False

    def __init__(self, label: str, t: Type, placement: Any) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.sret = placement.kind == "sret"
        if self.sret:
            self.ctype: Any = ctypes.c_void_p
        elif placement.kind == "reg":
            self.ctype = _words_struct(f"lowered_{t.name}",
                                       [_PIECE_CTYPES[k] for _, _, k in placement.pieces])
        else:
            raise NotImplementedError(f"{label}: cannot return {t.name} ({placement.kind})")

    def buffer(self) -> Any:
        """A zeroed buffer for the callee to write a MEMORY result into."""
        return ctypes.create_string_buffer(max(self.type.size, 1))

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw)[: self.type.size], 0)
