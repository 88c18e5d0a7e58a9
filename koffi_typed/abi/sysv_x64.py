"""System V AMD64 psABI (Linux, BSD and macOS on x86-64): LP64, GCC record layout.

Classification follows GCC 12 (``classify_argument`` in ``i386.cc``): aggregates over 16
bytes and aggregates with a misaligned scalar (or a misaligned bitfield member of a union,
which GCC classifies as an integer of its width's mode) are MEMORY; otherwise every eightbyte
merges the classes of the scalars (and bitfields, always INTEGER) that touch it, union members
all starting at the union's offset. Eightbytes that hold only padding are NO_CLASS and take no
register. An argument goes in registers only if all its eightbytes
fit in what is left; otherwise it goes on the stack whole and the registers stay free.
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
    describe_type,
    is_void,
    leaves,
    prepare,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify", "eightbytes"]

GPRS: Final = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
SSE_REGS: Final = tuple(f"xmm{i}" for i in range(8))
INTEGER, SSE, X87, X87UP, NO_CLASS, MEMORY = "INTEGER", "SSE", "X87", "X87UP", "NO_CLASS", \
    "MEMORY"


def merge(a: str, b: str) -> str:
    """The psABI merge of two eightbyte classes (rules 4a–4f)."""
    if a == b:
        return a
    if a == NO_CLASS:
        return b
    if b == NO_CLASS:
        return a
    if MEMORY in (a, b):
        return MEMORY
    if INTEGER in (a, b):
        return INTEGER
    if a in (X87, X87UP) or b in (X87, X87UP):
        return MEMORY
    return SSE


def eightbytes(t: Type) -> tuple[tuple[str, ...] | None, str]:
    """The classes of ``t``'s eightbytes, or ``None`` for MEMORY; with the reason."""
    size = t.size
    if size > 16:
        return None, f"{size} bytes > 16 → MEMORY"
    classes = [NO_CLASS] * ((size + 7) // 8)

    def mark(lo: int, hi: int, cls: str) -> None:
        for i in range(lo // 8, (hi - 1) // 8 + 1):
            classes[i] = merge(classes[i], cls)

    for leaf in leaves(t):
        if leaf.kind == "bits":
            if leaf.union_bitfield and leaf.bit_start % (leaf.size * 8):
                # GCC classifies a union's bitfield as an integer of its width's mode at the
                # union's offset, not as a bit range: misaligned, it is MEMORY
                return None, (f"bitfield of {leaf.bit_width} bits in a union at bit "
                              f"{leaf.bit_start} is unaligned → MEMORY")
            lo = leaf.bit_start // 64
            hi = (leaf.bit_start + leaf.bit_width - 1) // 64
            for i in range(lo, hi + 1):
                classes[i] = merge(classes[i], INTEGER)
            continue
        natural = 16 if leaf.kind in ("ldouble", "int128") else leaf.size
        if leaf.offset % natural:
            return None, (f"{leaf.kind} member at offset {leaf.offset} is unaligned → MEMORY")
        if leaf.kind == "ldouble":
            mark(leaf.offset, leaf.offset + 8, X87)
            mark(leaf.offset + 8, leaf.offset + 16, X87UP)
        elif leaf.kind in ("float", "double"):
            mark(leaf.offset, leaf.offset + leaf.size, SSE)
        else:
            mark(leaf.offset, leaf.offset + leaf.size, INTEGER)
    for i, cls in enumerate(classes):
        if cls == MEMORY:
            return None, "a union mixes x87 with other classes → MEMORY"
        if cls == X87UP and (i == 0 or classes[i - 1] != X87):
            return None, "x87 upper half without its lower half → MEMORY"
    # GCC classifies each record member on its own first: one that is MEMORY by itself (a
    # union of long double with something else) makes the whole record MEMORY, even where
    # the merged eightbytes would not say so.
    for m in (t.members or {}).values():
        inner = m.type
        while inner.primitive == "Array" and inner.ref is not None:
            inner = inner.ref
        if inner.primitive in ("Record", "Union") and inner.size:
            sub, why = eightbytes(inner)
            if sub is None:
                return None, f"member {m.name}: {why}"
    return tuple(classes), ""


def _pieces(classes: Sequence[str], size: int) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for i, cls in enumerate(classes):
        off = 8 * i
        n = min(8, size - off)
        if cls == INTEGER:
            out.append((off, n, "int"))
        elif cls == SSE:
            out.append((off, n, "float" if n <= 4 else "double"))
        elif cls == X87:
            out.append((off, 16, "ldouble"))
    return tuple(out)


def _classes_of(t: Type) -> tuple[tuple[str, ...] | None, str]:
    kind = scalar_kind(t)
    if kind in ("int", "ptr"):
        return (INTEGER,), kind
    if kind == "int128":
        return (INTEGER, INTEGER), "__int128 in two eightbytes"
    if kind in ("float", "double"):
        return (SSE,), kind
    if kind == "ldouble":
        return (X87, X87UP), "x87 long double"
    classes, why = eightbytes(t)
    if classes is not None:
        why = f"{describe_type(t)}: eightbytes [{', '.join(classes)}]"
    return classes, why


class Registers(Allocator):
    """GPRs, SSE registers and the stack of one SysV x86-64 call."""

    def __init__(self) -> None:
        super().__init__(GPRS, SSE_REGS)

    def argument(self, item: Item) -> Placement:
        t = item.type
        name = t.name
        if t.size == 0:
            return Placement("ignored", reason="empty record takes no register or stack",
                             type_name=name)
        classes, why = _classes_of(t)
        stack_align = max(8, min(t.alignment, 16))
        if classes is None or X87 in classes:
            offset = self.push(t.size, stack_align, 8)
            reason = why if classes is None else f"{why}: X87 class, passed in memory"
            return Placement("stack", (MEMORY,),
                             stack_offset=offset, reason=reason, size=t.size, type_name=name,
                             stack_size=-(-t.size // 8) * 8)
        n_int = classes.count(INTEGER)
        n_sse = classes.count(SSE)
        if n_int <= len(self.gprs) and n_sse <= len(self.fprs):
            regs: list[str] = []
            for cls in classes:
                if cls == INTEGER:
                    regs.extend(self.take_gprs(1))
                elif cls == SSE:
                    regs.extend(self.take_fprs(1))
            return Placement("reg", classes, tuple(regs), None, _pieces(classes, t.size), why,
                             t.size, name)
        offset = self.push(t.size, stack_align, 8)
        return Placement("stack", classes, stack_offset=offset, size=t.size, type_name=name,
                         reason=f"{why}; not enough registers left ({n_int} GPR, {n_sse} SSE "
                                "needed) → whole value on the stack",
                         stack_size=-(-t.size // 8) * 8)

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        name = t.name
        if t.size == 0:
            return Placement("ignored", reason="empty record", type_name=name)
        classes, why = _classes_of(t)
        if classes is None:
            reg = self.take_gprs(1)
            return Placement("sret", (MEMORY,), reg, None, (), f"{why}: caller buffer passed "
                             "in rdi, returned in rax", t.size, name)
        ints = ["rax", "rdx"]
        sses = ["xmm0", "xmm1"]
        regs: list[str] = []
        for cls in classes:
            if cls == INTEGER:
                regs.append(ints.pop(0))
            elif cls == SSE:
                regs.append(sses.pop(0))
            elif cls == X87:
                regs.append("st0")
        return Placement("reg", classes, tuple(regs), None, _pieces(classes, t.size), why,
                         t.size, name)


def classify(info: Signature, rs: Ruleset, variadic_types: Sequence[Type] = ()) -> CallPlan:
    """Classify ``info`` under the SysV AMD64 psABI."""
    result_type, items = prepare(info, rs.model, variadic_types)
    regs = Registers()
    result = regs.result(result_type)
    args = tuple(regs.argument(item) for item in items)
    notes: list[str] = []
    if info.variadic:
        used = len(SSE_REGS) - len(regs.fprs)
        notes.append(f"variadic: al = {used} (vector registers used)")
    return CallPlan(rs.name, info, result, args, info.variadic, tuple(notes),
                    stack_size=regs.stack, names=tuple(i.label for i in items))


RULESETS = (ruleset("sysv_x64", "System V AMD64 (Linux, BSD, macOS x86-64)", classify),)
