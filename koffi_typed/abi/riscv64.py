"""RISC-V LP64D, and LoongArch64 (LP64D as well, same layout rules and the same calling
convention as GCC implements it for named arguments).

Hardware floating-point convention for named arguments (GCC ``riscv_get_arg_info``): a
struct that flattens (nested structs and arrays included, zero-width bitfields ignored)
to one or two floating-point fields takes that many FPRs if they are free; one
floating-point field plus one integer field (a bitfield counts) takes one FPR and one GPR
if both are free. Everything else — unions anywhere, pointers, more fields, values whose
registers are not free, variadic arguments — uses the integer convention: up to 16 bytes
in one or two GPRs (a7 plus the stack when only a7 is left), more by reference to a
caller copy. Results use the same rules with a0/a1 and fa0/fa1; over 16 bytes they are
written through a hidden pointer in a0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from koffi_typed.abi.plan import (
    VOID,
    Allocator,
    CallPlan,
    Item,
    Piece,
    Placement,
    Signature,
    bitfield_unit,
    describe_type,
    int_pieces,
    is_void,
    prepare,
    record_fields,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify", "flatten"]

GPRS: Final = tuple(f"a{i}" for i in range(8))
FPRS: Final = tuple(f"fa{i}" for i in range(8))


def flatten(t: Type) -> list[Piece] | None:
    """The one or two fields a struct flattens to, as ``(offset, size, 'int'|'float'|
    'double')``, or ``None`` when it is not eligible for the FP convention."""
    if t.primitive != "Record":
        return None
    out: list[Piece] = []
    return out if _flatten_into(t, 0, out) and out else None


def _flatten_into(t: Type, base: int, out: list[Piece]) -> bool:
    kind = scalar_kind(t)
    if kind in ("float", "double"):
        out.append((base, t.size, kind))
    elif kind == "int":
        out.append((base, t.size, "int"))
    elif kind != "aggregate" or t.primitive == "Union":
        return False  # pointers, long double, __int128, unions
    elif t.primitive == "Array":
        assert t.ref is not None and t.length is not None
        for i in range(t.length):
            if not _flatten_into(t.ref, base + i * t.ref.size, out):
                return False
    else:
        for f, bitpos in record_fields(t):
            if f.bits == 0:
                continue
            if f.bits is not None:
                out.append((base + bitpos // 8, bitfield_unit(f.bits), "int"))
            elif not _flatten_into(f.type, base + bitpos // 8, out):
                return False
            if len(out) > 2:
                return False
    return len(out) <= 2


class Registers(Allocator):
    """GPRs a0–a7, FPRs fa0–fa7 and the stack of one RISC-V call."""

    def __init__(self) -> None:
        super().__init__(GPRS, FPRS)

    def argument(self, item: Item) -> Placement:
        t = item.type
        if t.size == 0:
            return Placement("ignored", reason="empty record takes no register",
                             type_name=t.name)
        if not item.variadic:
            placed = self._hardware_fp(t)
            if placed is not None:
                return placed
        return self._integer(t, item.variadic)

    def _hardware_fp(self, t: Type) -> Placement | None:
        kind = scalar_kind(t)
        if kind in ("float", "double"):
            if self.fprs:
                return Placement("reg", ("FP",), self.take_fprs(1), None,
                                 ((0, t.size, kind),), kind, t.size, t.name)
            return None
        if kind != "aggregate":
            return None
        fields = flatten(t)
        if fields is None:
            return None
        n_fp = sum(1 for f in fields if f[2] != "int")
        n_int = len(fields) - n_fp
        what = describe_type(t)
        if n_int == 0 and n_fp <= len(self.fprs):
            return Placement("reg", ("FP",) * n_fp, self.take_fprs(n_fp), None, tuple(fields),
                             f"{what}: flattens to {n_fp} floating-point field"
                             f"{'s' if n_fp > 1 else ''}", t.size, t.name)
        if n_int == 1 and n_fp == 1 and self.fprs and self.gprs:
            regs = tuple(self.take_fprs(1)[0] if f[2] != "int" else self.take_gprs(1)[0]
                         for f in fields)
            classes = tuple("FP" if f[2] != "int" else "INTEGER" for f in fields)
            return Placement("reg", classes, regs, None, tuple(fields),
                             f"{what}: one floating-point and one integer field", t.size,
                             t.name)
        return None

    def _integer(self, t: Type, variadic: bool) -> Placement:
        kind = scalar_kind(t)
        what = describe_type(t) if kind == "aggregate" else kind
        if kind == "aggregate" and t.primitive == "Union":
            what += ", a union: integer convention"
        if t.size > 16:
            why = f"{what}: over 16 bytes → pointer to a caller copy"
            if self.gprs:
                return Placement("ref", ("MEMORY",), self.take_gprs(1), None, (), why, t.size,
                                 t.name)
            return Placement("ref", ("MEMORY",), (), self.push(8, 8, 8), (), why, t.size,
                             t.name, 8)
        words = -(-t.size // 8)
        if variadic and t.alignment > 8 and (8 - len(self.gprs)) % 2 and self.gprs:
            self.take_gprs(1)
            what += " (variadic 16-aligned: even register pair)"
        classes = ("INTEGER",) * words
        if variadic and kind in ("float", "double"):
            what += "; variadic → integer convention"
        elif kind in ("float", "double"):
            what += "; FP registers used up → integer convention"
        elif not variadic and kind == "aggregate" and flatten(t) is not None:
            what += "; its FP registers are not free → integer convention"
        n = min(words, len(self.gprs))
        regs = self.take_gprs(n)
        if n == words:
            return Placement("reg", classes, regs, None, int_pieces(t.size, 8), what, t.size,
                             t.name)
        if n:
            offset = self.push(t.size - 8 * n, 8, 8)
            return Placement("split", classes, regs, offset, int_pieces(8 * n, 8),
                             f"{what}: split between a7 and the stack", t.size, t.name, 8)
        offset = self.push(t.size, max(8, min(t.alignment, 16)), 8)
        return Placement("stack", classes, (), offset, (), f"{what}; GPRs used up → stack",
                         t.size, t.name, -(-t.size // 8) * 8)

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        if t.size == 0:
            return Placement("ignored", reason="empty record", type_name=t.name)
        if t.size > 16:
            return Placement("sret", ("MEMORY",), self.take_gprs(1), None, (),
                             f"{describe_type(t)}: over 16 bytes → caller buffer whose address "
                             "is in a0", t.size, t.name)
        ret = Registers()
        ret.gprs, ret.fprs = ["a0", "a1"], ["fa0", "fa1"]
        return ret.argument(Item("result", t, False))


def classify(info: Signature, rs: Ruleset, variadic_types: Sequence[Type] = ()) -> CallPlan:
    """Classify ``info`` under the RISC-V LP64D (or LoongArch64 LP64D) convention."""
    result_type, items = prepare(info, rs.model, variadic_types)
    regs = Registers()
    result = regs.result(result_type)
    args = tuple(regs.argument(item) for item in items)
    notes: list[str] = []
    if info.variadic:
        notes.append("variadic arguments use the integer convention")
    return CallPlan(rs.name, info, result, args, info.variadic, tuple(notes),
                    stack_size=-(-regs.stack // 16) * 16, names=tuple(i.label for i in items))


RULESETS = (
    ruleset("riscv64_lp64d", "RISC-V 64 LP64D", classify),
    ruleset("loongarch64", "LoongArch64 LP64D", classify),
)
