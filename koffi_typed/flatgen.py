"""Generated code for flat records: one `struct` call and plain attribute access.

A flat record is a struct made only of plain little-endian integers, floats and bools (no
bitfields, arrays, pointers, enums or nested records). Converting one to or from C bytes is
then a single `struct.Struct` call plus attribute loads or stores, and the fastest form of
those is Python source generated for the record: CPython specializes ``obj.member`` on a
slotted class, which a generic loop (compiled or not) cannot do. The code is generated once
per record type, when it is first needed (`koffi_typed.marshal.flat_record`); the generated
callers inline the same expressions (`FlatRecord.check`, `FlatRecord.values`).
"""

from __future__ import annotations

import gc
import itertools
import struct
from dataclasses import dataclass
from typing import Any

from koffi_typed._codec import BoolCodec, FloatCodec, IntCodec
from koffi_typed.names import verbatim

__all__ = ["FlatRecord", "Member", "generate"]

FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class Member:
    """One member of a flat record: where it lives and what the fast path accepts."""

    name: str
    offset: int
    size: int
    kind: str  # "int", "float" or "bool"
    code: str  # its struct format character
    lo: int = 0
    hi: int = 0

    def check(self, expr: str) -> str:
        """A condition true when ``expr`` can be packed as is (the rest takes the slow path,
        which converts or raises the precise error)."""
        if self.kind == "int":
            return f"type({expr}) is int and {self.lo} <= {expr} <= {self.hi}"
        if self.kind == "bool":
            return f"({expr} is True or {expr} is False)"
        if self.size == 4:  # a float32 that struct would refuse goes the slow way
            return f"type({expr}) is float and {-FLOAT32_MAX!r} <= {expr} <= {FLOAT32_MAX!r}"
        return f"type({expr}) is float"


class FlatRecord:
    """A flat record type's layout as one `struct.Struct`, and its generated decoders."""

    def __init__(self, cls: type, size: int, members: list[Member]) -> None:
        self.cls = cls
        self.size = size
        self.members = sorted(members, key=lambda m: m.offset)
        fmt, pos = "<", 0
        for m in self.members:
            fmt += "x" * (m.offset - pos) + m.code
            pos = m.offset + m.size
        self.struct = struct.Struct(fmt + "x" * (size - pos))
        # Building thousands of records in one go pauses the cyclic GC (which would otherwise
        # run a young collection every 700 records, each promoting the new ones): the
        # records hold only numbers, so no cycle can appear in the meantime.
        env: dict[str, Any] = {"_K": cls, "_S": self.struct, "_new": object.__new__,
                               "_map": map, "_repeat": itertools.repeat,
                               "_gc_enabled": gc.isenabled, "_gc_disable": gc.disable,
                               "_gc_enable": gc.enable}
        targets = self.targets("o")
        source = "\n".join([
            "def encode(buf, offset, o):",
            f"    if type(o) is _K and {self.check('o')}:",
            f"        _S.pack_into(buf, offset, {self.values('o')})",
            "        return True",
            "    return False",
            "def decode(buf, offset):",
            "    o = _new(_K)",
            f"    {targets}= _S.unpack_from(buf, offset)",
            "    return o",
            "def decode_into(o, buf, offset):",
            f"    {targets}= _S.unpack_from(buf, offset)",
            "def decode_array(buf, offset, count):",
            "    if count >= 1000 and _gc_enabled():",
            "        _gc_disable()",
            "        try:",
            "            return decode_array(buf, offset, count)",
            "        finally:",
            "            _gc_enable()",
            f"    view = memoryview(buf)[offset:offset + count * {size}]",
            f"    if len(view) != count * {size}:",
            "        raise ValueError(f'decode: {count} records do not fit in the buffer')",
            # the instances are made in C (map), then filled from the unpacked rows
            "    out = list(_map(_new, _repeat(_K, count)))",
            "    for o, row in zip(out, _S.iter_unpack(view)):",
            f"        {targets}= row",
            "    view.release()",
            "    return out",
            "",
        ])
        exec(compile(source, f"<koffi_typed flat {cls.__qualname__}>", "exec"), env)
        self.encode = env["encode"]
        self.decode = env["decode"]
        self.decode_into = env["decode_into"]
        self.decode_array = env["decode_array"]

    def check(self, var: str) -> str:
        """A condition true when every member of record ``var`` takes the fast path."""
        return " and ".join(m.check(f"{var}.{m.name}") for m in self.members)

    def values(self, var: str) -> str:
        """The member values of ``var`` in struct order, as call arguments."""
        return ", ".join(f"{var}.{m.name}" for m in self.members)

    def targets(self, var: str) -> str:
        """Assignment targets for the member values of ``var`` in struct order."""
        return "".join(f"{var}.{m.name}, " for m in self.members)

    def __repr__(self) -> str:
        return f"<FlatRecord {self.cls.__qualname__} {self.struct.format!r}>"


def _member(slot: Any) -> Member | None:
    codec = slot.codec
    kind = {IntCodec: "int", FloatCodec: "float", BoolCodec: "bool"}.get(type(codec))
    if kind is None:
        return None
    code = "?" if kind == "bool" else codec.fmt.format
    if kind != "bool":
        if not code.startswith("<"):
            return None
        code = code[1:]
    if kind == "int":
        return Member(slot.name, slot.offset, codec.size, kind, code, codec.lo, codec.hi)
    return Member(slot.name, slot.offset, codec.size, kind, code)


def generate(codec: Any) -> FlatRecord | None:
    """The flat form of a `RecordCodec`, or ``None`` when the record is not flat."""
    if codec.cls is None or codec.counted or not codec.slots:
        return None
    members = []
    end = 0
    for slot in sorted(codec.slots, key=lambda s: s.offset):
        member = _member(slot)
        if member is None or slot.offset < end or not verbatim(slot.name):
            return None
        members.append(member)
        end = slot.offset + member.size
    return FlatRecord(codec.cls, codec.size, members)
