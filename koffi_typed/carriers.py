"""ctypes types that carry records by value through libffi, as the host ABI passes them.

`ctypes_record` is the plain structure with the record's layout (where ctypes describes it
correctly); `words_struct` builds the eightbyte structures of the System V x86-64 lowering;
`fp_carrier` the structure of float fields of a value passed by floating-point class,
`word_carrier` one of integer words; `blob_ctype` builds, for the other hosts, one structure
libffi classifies the way the ABI plan places the record (abi.md §3.1). No carrier has an
array field.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from koffi_typed.abi.plan import Piece, direct_alignment, homogeneous_float
from koffi_typed.typesystem import Type

__all__ = ["CLASS_CTYPES", "CTYPES_SCALARS", "PIECE_CTYPES", "Carrier", "blob_ctype",
           "ctypes_record", "fp_carrier", "fp_pieces", "piece_carrier", "word_carrier",
           "words_struct"]


CTYPES_SCALARS: dict[str, Any] = {
    "Int8": ctypes.c_int8, "UInt8": ctypes.c_uint8, "Int16": ctypes.c_int16,
    "UInt16": ctypes.c_uint16, "Int32": ctypes.c_int32, "UInt32": ctypes.c_uint32,
    "Int64": ctypes.c_int64, "UInt64": ctypes.c_uint64, "Bool": ctypes.c_bool,
    "Float32": ctypes.c_float, "Float64": ctypes.c_double, "LongDouble": ctypes.c_longdouble}
_record_ctypes: dict[int, Any] = {}


def _ctypes_fields(t: Type, name: str, label: str) -> list[tuple[str, Any]]:
    """The ctypes fields for one member ``name`` of type ``t``: one field, or one per element
    of an array (arrays of arrays included). Array fields are never used: CPython's ctypes
    before the fix for gh-110190 (3.11, early 3.12) describes them to libffi as pointers on
    every architecture but x86-64, so an all-float record with an array member stops being
    a homogeneous float aggregate there (and the fixed versions still do it for records over
    32 bytes)."""
    kind = t.primitive.rstrip("S") if t.primitive.endswith(("16S", "32S", "64S")) else t.primitive
    if t.primitive == "Enum" and t.ref is not None:
        return _ctypes_fields(t.ref, name, label)
    if kind in CTYPES_SCALARS:
        return [(name, CTYPES_SCALARS[kind])]
    if kind in ("Pointer", "String", "String16", "String32", "Callback"):
        return [(name, ctypes.c_void_p)]
    if kind == "Array" and t.ref is not None and t.length is not None:
        return [field for i in range(t.length)
                for field in _ctypes_fields(t.ref, f"{name}_{i}", label)]
    if kind == "Record":
        return [(name, ctypes_record(t, label))]
    raise NotImplementedError(
        f"{label}: {t.name} cannot be passed by value through ctypes on this ABI yet "
        f"({'unions' if kind == 'Union' else kind} by value need the ABI lowering)")


def ctypes_record(t: Type, label: str) -> Any:
    """A ctypes structure with exactly ``t``'s layout, for passing ``t`` by value.

    Array members become one field per element (see `_ctypes_fields`). Records that
    ctypes/libffi would pass wrongly by value (unions, bitfields, packed or unaligned
    members) raise `NotImplementedError` here, at declaration time.
    """
    found = _record_ctypes.get(id(t))
    if found is not None:
        return found
    if t.primitive == "Union":
        raise NotImplementedError(f"{label}: union {t.name} cannot be passed by value yet "
                                  "(ctypes passes unions wrongly; needs the ABI lowering)")
    assert t.members is not None and t._decl is not None
    fields: list[tuple[str, Any]] = []
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
            fields.extend((f"_gap{pos + i}", ctypes.c_uint8) for i in range(member_offset - pos))
        fields.extend(_ctypes_fields(f.type, f.name if not f.is_padding
                                     else f"_pad{member_offset}", label))
        pos = member_offset + f.type.size
    structure: Any = type(f"ctypes_{t.name}", (ctypes.Structure,), {"_fields_": fields})
    if ctypes.sizeof(structure) != t.size or ctypes.alignment(structure) != t.alignment:
        raise NotImplementedError(f"{label}: {t.name} cannot be passed by value through ctypes "
                                  "(its layout differs from ctypes'; needs the ABI lowering)")
    _record_ctypes[id(t)] = structure
    return structure


PIECE_CTYPES = {"int": ctypes.c_uint64, "double": ctypes.c_double, "float": ctypes.c_double,
                 "ldouble": ctypes.c_longdouble}  # X87 results come back in st0
# On the stack a padding-only (NO_CLASS) eightbyte is just 8 bytes; as a word it asks libffi
# for a register the plan does not need, which changes nothing once the plan says "stack".
CLASS_CTYPES = {"INTEGER": ctypes.c_uint64, "SSE": ctypes.c_double,
                "NO_CLASS": ctypes.c_uint64}


def words_struct(name: str, types: list[Any], align16: bool = False) -> Any:
    fields: list[tuple[str, Any]] = [(f"w{i}", ctype) for i, ctype in enumerate(types)]
    if align16:
        # A 16-aligned stack slot (long double, __int128, _Alignas(16) members); the
        # structure is MEMORY class anyway, so the long double changes nothing else.
        fields[0:2] = [("w0", ctypes.c_longdouble)]
    return type(name, (ctypes.Structure,), {"_fields_": fields})


# On aarch64, armhf, i386 and riscv64 libffi passes a structure by value correctly as long as
# its members have the right kinds (floats for homogeneous float aggregates, integers
# otherwise) and the right size and alignment. Records ctypes cannot describe (unions,
# bitfields, packed members) therefore travel as a structure built from the placement's
# pieces, or as plain integer words (abi.md §3.1, "other ABIs"). No carrier has an array
# field (see `_ctypes_fields`).

_FP_FIELDS = {"float": ctypes.c_float, "double": ctypes.c_double,
              "ldouble": ctypes.c_longdouble}
_INT_FIELDS = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}
_FP_CLASSES = frozenset({"HFA", "FP", "VFP"})

Move = tuple[int, int, int]


@dataclass(frozen=True)
class Carrier:
    """A ctypes structure carrying a value's bytes through libffi.

    ``moves`` lists ``(value offset, carrier offset, width)`` when the structure does not
    hold the value's bytes at their own offsets (a packed record whose fields travel in
    floating-point registers); ``None`` when it does. ``size`` is the buffer a converter
    fills: at least the structure and the value.
    """

    ctype: Any
    moves: tuple[Move, ...] | None
    size: int


def piece_carrier(name: str, pieces: Sequence[Piece], value_size: int,
                  pack: int | None = None) -> Carrier:
    """A structure with one scalar field per piece (floating-point fields for ``'float'``,
    ``'double'``, ``'ldouble'`` pieces, unsigned integers of the piece's width otherwise),
    at the fields' natural offsets (capped by ``pack``)."""
    fields: list[tuple[str, Any]] = []
    moves: list[Move] = []
    pos = 0
    for i, (off, width, kind) in enumerate(pieces):
        ctype = _FP_FIELDS.get(kind) or _INT_FIELDS[width]
        align = min(ctypes.alignment(ctype), pack or 16)
        dst = -(-pos // align) * align
        fields.append((f"f{i}", ctype))
        moves.append((off, dst, min(width, ctypes.sizeof(ctype))))
        pos = dst + ctypes.sizeof(ctype)
    namespace: dict[str, Any] = {"_fields_": fields}
    if pack:
        namespace["_pack_"] = pack
    structure: Any = type(name, (ctypes.Structure,), namespace)
    identity = all(src == dst for src, dst, _ in moves)
    return Carrier(structure, None if identity else tuple(moves),
                   max(ctypes.sizeof(structure), value_size))


def fp_pieces(t: Type, placement: Any) -> tuple[Piece, ...] | None:
    """The floating-point pieces of ``t`` when ``placement`` passes it by floating-point
    class: an HFA or FP scalar (aarch64, arm32_hf; in registers or on the stack), or
    fields in FP registers (riscv64, possibly with one integer field); else ``None``."""
    classes = set(placement.classes)
    if not classes or placement.kind not in ("reg", "stack"):
        return None
    if classes <= _FP_CLASSES:
        if placement.pieces:
            return tuple(placement.pieces)
        shape = homogeneous_float(t) if t.primitive in ("Record", "Union") else None
        if shape is None:
            return None
        elem, n = shape
        esize = t.size // n
        return tuple((i * esize, esize, elem) for i in range(n))
    if "FP" in classes and placement.kind == "reg":  # riscv64: one FP + one integer field
        return tuple(placement.pieces)
    return None


def fp_carrier(host: str, t: Type, placement: Any) -> Carrier | None:
    """The carrier of ``t`` when the plan passes it by floating-point class, else ``None``.

    Its alignment is the one the ABI gives the argument on the stack: a packed HFA of
    doubles is 4-aligned on arm32 (an 8-aligned structure would be placed 8-aligned), a
    packed HFA of ``long double`` 8-aligned on aarch64.
    """
    pieces = fp_pieces(t, placement)
    if pieces is None:
        return None
    pack = None
    direct = direct_alignment(t) if t.primitive in ("Record", "Union") else t.alignment
    kinds = {k for _, _, k in pieces}
    if host == "arm32_hf" and kinds == {"double"} and direct < 8:
        pack = 4
    elif host.startswith("aarch64") and kinds == {"ldouble"} and direct < 16:
        pack = 8
    return piece_carrier(f"carrier_{t.name}", pieces, t.size, pack)


def word_carrier(name: str, size: int, word: int, minimum: int = 1) -> Carrier:
    """A structure of at least ``minimum`` unsigned integer words covering ``size`` bytes."""
    ctype = ctypes.c_uint32 if word == 4 else ctypes.c_uint64
    structure = words_struct(name, [ctype] * max(minimum, -(-size // word)))
    return Carrier(structure, None, max(ctypes.sizeof(structure), size))


def blob_ctype(host: str, t: Type, placement: Any) -> Any:
    """A ctypes structure libffi passes exactly as ``placement`` says ``t`` goes on ``host``.

    Raises `NotImplementedError` where ctypes cannot express the placement: an argument
    alignment larger than the record's own layout alignment (ARM composites keep their
    members' alignment even when packed) needs a structure whose alignment ctypes can only
    set from Python 3.13 on (``_align_``), or whose size is not a multiple of it. The
    fields of a packed record passed in floating-point registers (riscv64) sit at their
    natural offsets in the structure, not at the record's (`fp_carrier` gives the moves).
    """
    size = t.size
    wanted = direct_alignment(t) if host.startswith(("aarch64", "arm32")) else t.alignment
    if wanted >= 16 and placement.kind in ("reg", "stack") and host.startswith("aarch64") \
            and fp_pieces(t, placement) is None:
        return _aligned16(t, placement, size)
    fp = fp_carrier(host, t, placement)
    if fp is not None:
        return fp.ctype  # fields at their natural offsets: see `Carrier.moves`
    if host == "arm32_hf" and wanted >= 8:
        if size % 8:
            raise NotImplementedError(
                f"{t.name}: an 8-aligned record of {size} bytes (packed) cannot be passed by "
                "value through ctypes on this ABI")
        return words_struct(f"blob_{t.name}", [ctypes.c_uint64] * (size // 8))
    if host.startswith("x86"):  # the record's exact size: Windows returns 1, 2, 4, 8 in eax
        return words_struct(f"blob_{t.name}", [ctypes.c_uint8] * max(size, 1))
    word = 8 if (t.alignment >= 8 or host != "arm32_hf") else 4
    return word_carrier(f"blob_{t.name}", size, word).ctype


def _aligned16(t: Type, placement: Any, size: int) -> Any:
    if sys.version_info < (3, 13) or size % 16:
        raise NotImplementedError(
            f"{t.name}: a 16-aligned record passed in an even register pair needs ctypes' "
            "_align_ (Python 3.13+) to be passed by value on this ABI")
    words = [("w", ctypes.c_uint64 * (size // 8))]
    structure: Any = type(f"blob_{t.name}", (ctypes.Structure,),
                          {"_fields_": words, "_align_": 16})
    return structure
