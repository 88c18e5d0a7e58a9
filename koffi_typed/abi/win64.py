"""Windows x64 (MSVC ABI, also MinGW): LLP64, MSVC bitfield layout, 8-byte long double.

Four positional slots: argument *i* uses RCX/RDX/R8/R9 or XMM0–3 by its type, never both
(variadic floating-point values go in both). Aggregates of 1, 2, 4 or 8 bytes travel as an
integer of that size, whatever their content; any other size goes by reference to a
caller copy. Results: RAX / XMM0; other aggregate sizes through a hidden pointer in RCX.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from koffi_typed.abi.plan import (
    VOID,
    Allocator,
    CallPlan,
    Item,
    Placement,
    Signature,
    describe_type,
    is_void,
    prepare,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify"]

GPRS: Final = ("rcx", "rdx", "r8", "r9")
XMMS: Final = ("xmm0", "xmm1", "xmm2", "xmm3")
SHADOW: Final = 32


class Slots(Allocator):
    """The four register slots (shared by GPRs and XMMs) and the stack after the shadow."""

    def __init__(self) -> None:
        super().__init__(GPRS, XMMS, SHADOW)
        self.slot = 0

    def _next(self, fp: bool, variadic: bool) -> tuple[tuple[str, ...], int | None]:
        i = self.slot
        self.slot += 1
        if i < 4:
            if fp:
                return ((XMMS[i], GPRS[i]) if variadic else (XMMS[i],)), None
            return (GPRS[i],), None
        return (), self.push(8, 8, 8)

    def argument(self, item: Item) -> Placement:
        t = item.type
        kind = scalar_kind(t)
        name = t.name
        if kind in ("float", "double"):
            regs, off = self._next(True, item.variadic)
            why = kind + (" (variadic: also copied to the integer register)"
                          if item.variadic and regs else "")
            return Placement("reg" if regs else "stack", ("SSE",), regs, off,
                             ((0, t.size, kind),) if regs else (), why, t.size, name, 8)
        if kind in ("int", "ptr") or (kind == "aggregate" and t.size in (1, 2, 4, 8)):
            regs, off = self._next(False, False)
            why = kind if kind != "aggregate" else \
                f"{describe_type(t)}: size {t.size} passed as an integer"
            return Placement("reg" if regs else "stack", ("INTEGER",), regs, off,
                             ((0, t.size, "int"),) if regs else (), why, t.size, name, 8)
        regs, off = self._next(False, False)
        what = describe_type(t) if kind == "aggregate" else name
        return Placement("ref", ("MEMORY",), regs, off, (),
                         f"{what}: size {t.size} is not 1, 2, 4 or 8 → pointer to a "
                         "16-aligned caller copy", t.size, name, 8)

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        kind = scalar_kind(t)
        name = t.name
        if kind in ("float", "double"):
            return Placement("reg", ("SSE",), ("xmm0",), None, ((0, t.size, kind),), kind,
                             t.size, name)
        if kind == "int128":
            return Placement("reg", ("SSE",), ("xmm0",), None, ((0, 16, "int"),),
                             "__int128 comes back in xmm0 (MinGW-GCC)", t.size, name)
        if kind in ("int", "ptr") or t.size in (1, 2, 4, 8):
            why = kind if kind != "aggregate" else f"{describe_type(t)}: size {t.size} in rax"
            return Placement("reg", ("INTEGER",), ("rax",), None, ((0, t.size, "int"),), why,
                             t.size, name)
        regs, off = self._next(False, False)
        return Placement("sret", ("MEMORY",), regs, off, (),
                         f"{describe_type(t)}: caller buffer passed in rcx, returned in rax",
                         t.size, name)


def classify(info: Signature, rs: Ruleset, variadic_types: Sequence[Type] = ()) -> CallPlan:
    """Classify ``info`` under the Windows x64 convention."""
    result_type, items = prepare(info, rs.model, variadic_types)
    slots = Slots()
    result = slots.result(result_type)
    args = tuple(slots.argument(item) for item in items)
    notes = ["the caller reserves 32 bytes of shadow space"]
    if any(scalar_kind(i.type) == "int128" for i in items):
        notes.append("__int128 arguments go by reference (MinGW-GCC; MSVC has no __int128)")
    return CallPlan(rs.name, info, result, args, info.variadic, tuple(notes),
                    stack_size=max(slots.stack, SHADOW), names=tuple(i.label for i in items))


RULESETS = (ruleset("win64", "Windows x64 (MSVC and MinGW)", classify),)
