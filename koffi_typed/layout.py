"""The record layout engine: where each member of a struct or union goes.

Two rule sets, both as the C compilers implement them:

- GCC / System V (every Unix ABI): members at their alignment, capped by ``#pragma pack``;
  a bitfield goes at the next free bit unless it would span more units of its type's
  alignment than the type itself has, in which case it moves to the next such unit (this
  rule is off under ``#pragma pack``).
- MSVC (Windows, also MinGW): consecutive bitfields share one storage unit of their type
  while the type size stays the same and the bits fit; otherwise a new unit starts.

Positions are in bits from the start of the record. The engine knows nothing of `Type`:
callers describe members by size, alignment and bitfield width.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FieldSpec", "RecordLayout", "place_fields"]


@dataclass(frozen=True)
class FieldSpec:
    """One member as the layout engine sees it.

    ``align`` is the natural alignment of the member's type, ``user_align`` an explicit
    alignment that replaces it, ``bits`` the width of a bitfield (``None`` otherwise).
    """

    size: int
    align: int
    bits: int | None = None
    user_align: int | None = None


@dataclass(frozen=True)
class RecordLayout:
    """Result of `place_fields`: bit position of every member, record size and alignment."""

    positions: tuple[int, ...]
    size: int
    alignment: int


def _round_up(value: int, unit: int) -> int:
    return (value + unit - 1) // unit * unit


def _member_align(field: FieldSpec, pack: int | None) -> int:
    align = field.user_align if field.user_align is not None else field.align
    return min(align, pack) if pack else align


def place_fields(fields: list[FieldSpec], *, union: bool, pack: int | None, msvc: bool,
                 zero_width_aligns: bool = False) -> RecordLayout:
    """Lay out ``fields`` as a struct (or a union) with the given packing and rule set.

    A zero-width bitfield moves the next member to its type's alignment; with
    ``zero_width_aligns`` (AAPCS) it also raises the record's alignment. Under MSVC rules it
    only closes an open bitfield unit.
    """
    if union:
        return _place_union(fields, pack)
    if msvc:
        return _place_struct_msvc(fields, pack)
    return _place_struct_gcc(fields, pack, zero_width_aligns)


def _place_union(fields: list[FieldSpec], pack: int | None) -> RecordLayout:
    size = 0
    align = 1
    for field in fields:
        align = max(align, _member_align(field, pack))
        width = field.size * 8 if field.bits is None else field.bits
        size = max(size, (width + 7) // 8)
    return RecordLayout(tuple(0 for _ in fields), _round_up(size, align), align)


def _place_struct_gcc(fields: list[FieldSpec], pack: int | None,
                      zero_width_aligns: bool) -> RecordLayout:
    bitpos = 0
    rec_align = 1
    positions: list[int] = []
    for field in fields:
        align = _member_align(field, pack)
        if field.bits != 0 or zero_width_aligns:
            rec_align = max(rec_align, align)
        if field.bits is None:
            bitpos = _round_up(bitpos, align * 8)
            positions.append(bitpos)
            bitpos += field.size * 8
            continue
        if field.bits == 0:
            bitpos = _round_up(bitpos, field.align * 8)
            positions.append(bitpos)
            continue
        if not pack:
            unit = field.align * 8
            spanned = (bitpos % unit + field.bits + unit - 1) // unit
            if spanned > field.size * 8 // unit:
                bitpos = _round_up(bitpos, unit)
        positions.append(bitpos)
        bitpos += field.bits
    return RecordLayout(tuple(positions), _round_up((bitpos + 7) // 8, rec_align), rec_align)


def _place_struct_msvc(fields: list[FieldSpec], pack: int | None) -> RecordLayout:
    bitpos = 0
    rec_align = 1
    positions: list[int] = []
    unit_size = 0  # size in bytes of the open bitfield unit, 0 when none is open
    unit_used = 0  # bits used in it
    for field in fields:
        align = _member_align(field, pack)
        if field.bits is None:
            unit_size = 0
            rec_align = max(rec_align, align)
            bitpos = _round_up(bitpos, align * 8)
            positions.append(bitpos)
            bitpos += field.size * 8
            continue
        if field.bits == 0:
            if unit_size:
                unit_size = 0
            positions.append(bitpos)
            continue
        rec_align = max(rec_align, align)
        if unit_size == field.size and unit_used + field.bits <= unit_size * 8:
            positions.append(bitpos - unit_size * 8 + unit_used)
            unit_used += field.bits
            continue
        bitpos = _round_up(bitpos, align * 8)
        positions.append(bitpos)
        unit_size = field.size
        unit_used = field.bits
        bitpos += field.size * 8
    return RecordLayout(tuple(positions), _round_up((bitpos + 7) // 8, rec_align), rec_align)
