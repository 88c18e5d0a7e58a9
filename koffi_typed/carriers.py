"""ctypes types that carry records by value through libffi, as the host ABI passes them.

`ctypes_record` is the plain structure with the record's layout (where ctypes describes it
correctly); `words_struct` builds the eightbyte structures of the System V x86-64 lowering;
`blob_ctype` builds, for the other hosts, a structure libffi classifies the way the ABI
plan places the record (abi.md §3.1).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from koffi_typed.abi.plan import direct_alignment
from koffi_typed.typesystem import Type

__all__ = ["CLASS_CTYPES", "CTYPES_SCALARS", "PIECE_CTYPES", "blob_ctype", "ctypes_record",
           "words_struct"]


CTYPES_SCALARS: dict[str, Any] = {
    "Int8": ctypes.c_int8, "UInt8": ctypes.c_uint8, "Int16": ctypes.c_int16,
    "UInt16": ctypes.c_uint16, "Int32": ctypes.c_int32, "UInt32": ctypes.c_uint32,
    "Int64": ctypes.c_int64, "UInt64": ctypes.c_uint64, "Bool": ctypes.c_bool,
    "Float32": ctypes.c_float, "Float64": ctypes.c_double, "LongDouble": ctypes.c_longdouble}
_record_ctypes: dict[int, Any] = {}


def _ctypes_member(t: Type, label: str) -> Any:
    kind = t.primitive.rstrip("S") if t.primitive.endswith(("16S", "32S", "64S")) else t.primitive
    if t.primitive == "Enum" and t.ref is not None:
        return _ctypes_member(t.ref, label)
    if kind in CTYPES_SCALARS:
        return CTYPES_SCALARS[kind]
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


PIECE_CTYPES = {"int": ctypes.c_uint64, "double": ctypes.c_double, "float": ctypes.c_double,
                 "ldouble": ctypes.c_longdouble}  # X87 results come back in st0
CLASS_CTYPES = {"INTEGER": ctypes.c_uint64, "SSE": ctypes.c_double}


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
# pieces, or as plain integer words (abi.md §3.1, "other ABIs").

_BLOB_PIECES = {"int": None, "float": ctypes.c_float, "double": ctypes.c_double}


def blob_ctype(host: str, t: Type, placement: Any) -> Any:
    """A ctypes structure libffi passes exactly as ``placement`` says ``t`` goes on ``host``.

    Raises `NotImplementedError` where ctypes cannot express the placement: an argument
    alignment larger than the record's own layout alignment (ARM composites keep their
    members' alignment even when packed) needs a structure whose alignment ctypes can only
    set from Python 3.13 on (``_align_``), or whose size is not a multiple of it.
    """
    size = t.size
    wanted = direct_alignment(t) if host.startswith(("aarch64", "arm32")) else t.alignment
    if wanted >= 16 and placement.kind in ("reg", "stack") and host.startswith("aarch64"):
        return _aligned16(t, placement, size)
    if host == "arm32_hf" and wanted >= 8 and not placement.pieces:
        if size % 8:
            raise NotImplementedError(
                f"{t.name}: an 8-aligned record of {size} bytes (packed) cannot be passed by "
                "value through ctypes on this ABI")
        return _finish(t, [("w", ctypes.c_uint64 * (size // 8))], size)
    pieces = placement.pieces
    kinds = {k for _, _, k in pieces}
    if pieces and kinds <= {"float", "double"} and placement.kind in ("reg", "stack"):
        # a homogeneous float aggregate (aarch64, armhf) or riscv64's FP pair: exact fields
        fields: list[tuple[str, Any]] = []
        pos = 0
        for i, (off, width, kind) in enumerate(pieces):
            if off > pos:
                fields.append((f"_pad{i}", ctypes.c_uint8 * (off - pos)))
            fields.append((f"f{i}", _BLOB_PIECES[kind]))
            pos = off + width
        return _finish(t, fields, size)
    if host.startswith("riscv64") and pieces and "int" in kinds and kinds & {"float", "double"}:
        fields = []
        pos = 0
        for i, (off, width, kind) in enumerate(pieces):
            if off > pos:
                fields.append((f"_pad{i}", ctypes.c_uint8 * (off - pos)))
            ctype = _BLOB_PIECES[kind] or {1: ctypes.c_uint8, 2: ctypes.c_uint16,
                                           4: ctypes.c_uint32, 8: ctypes.c_uint64}[width]
            fields.append((f"f{i}", ctype))
            pos = off + width
        return _finish(t, fields, size)
    if host.startswith("x86"):
        return _finish(t, [("b", ctypes.c_uint8 * max(size, 1))], size)
    word = ctypes.c_uint64 if (t.alignment >= 8 or host not in ("arm32_hf",)) else \
        ctypes.c_uint32
    unit = ctypes.sizeof(word)
    return _finish(t, [("w", word * max(1, (size + unit - 1) // unit))], size)


def _aligned16(t: Type, placement: Any, size: int) -> Any:
    if sys.version_info < (3, 13) or size % 16:
        raise NotImplementedError(
            f"{t.name}: a 16-aligned record passed in an even register pair needs ctypes' "
            "_align_ (Python 3.13+) to be passed by value on this ABI")
    words = [("w", ctypes.c_uint64 * (size // 8))]
    structure: Any = type(f"blob_{t.name}", (ctypes.Structure,),
                          {"_fields_": words, "_align_": 16})
    return structure


def _finish(t: Type, fields: list[tuple[str, Any]], size: int) -> Any:
    structure: Any = type(f"blob_{t.name}", (ctypes.Structure,), {"_fields_": fields})
    if ctypes.sizeof(structure) < size:
        extra = size - ctypes.sizeof(structure)
        fields = [*fields, ("_tail", ctypes.c_uint8 * extra)]
        structure = type(f"blob_{t.name}", (ctypes.Structure,), {"_fields_": fields})
    return structure
