"""ARM32 AAPCS, hard-float (armhf): ILP32, 64-bit types 8-aligned, long double = double.

Co-processor register candidates (float, double, HFAs of 1–4 floats or doubles) take the
lowest free VFP registers that fit (back-filling: ``f(float, double, float)`` puts the
second float in s1); once one does not fit, no VFP register is used any more and it goes
on the stack. Other values take core registers r0–r3, 8-aligned ones from an even
register, and may be split between the last core registers and the stack while nothing
is on the stack yet. Variadic functions use the base (soft-float) rules for everything,
results included. Composites over 4 bytes are returned through a hidden pointer in r0.
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
    direct_alignment,
    homogeneous_float,
    int_pieces,
    is_void,
    prepare,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify"]

CORE: Final = ("r0", "r1", "r2", "r3")
_FP_SIZES: Final = {"float": 4, "double": 8}


def _cprc(t: Type) -> tuple[str, int] | None:
    kind = scalar_kind(t)
    if kind in _FP_SIZES:
        return kind, 1
    if kind == "aggregate":
        found = homogeneous_float(t)
        if found is not None and found[0] in _FP_SIZES:
            return found
    return None


def _doubleword(t: Type) -> bool:
    kind = scalar_kind(t)
    if kind == "aggregate":
        return direct_alignment(t) >= 8
    return t.alignment >= 8


def _vfp_names(elem: str, first: int, n: int) -> tuple[str, ...]:
    if elem == "float":
        return tuple(f"s{first + i}" for i in range(n))
    return tuple(f"d{first // 2 + i}" for i in range(n))


class Registers(Allocator):
    """Core registers (NCRN), the VFP bank (s0–s15 with back-filling) and the stack."""

    def __init__(self, vfp: bool) -> None:
        super().__init__(CORE, ())
        self.vfp = vfp
        self.free = [True] * 16  # s0..s15
        self.vfp_failed = False
        self.can_split = True

    @property
    def ncrn(self) -> int:
        return 4 - len(self.gprs)

    def argument(self, item: Item) -> Placement:
        t = item.type
        if t.size == 0:
            return Placement("ignored", reason="empty record takes no register",
                             type_name=t.name)
        shape = _cprc(t) if self.vfp else None
        if shape is not None:
            return self._vfp_arg(t, shape)
        return self._core(t)

    def _vfp_block(self, elem: str, n: int) -> int | None:
        step = _FP_SIZES[elem] // 4
        width = step * n
        for first in range(0, 16 - width + 1, step):
            if all(self.free[first:first + width]):
                return first
        return None

    def _vfp_arg(self, t: Type, shape: tuple[str, int]) -> Placement:
        elem, n = shape
        esize = _FP_SIZES[elem]
        is_hfa = scalar_kind(t) == "aggregate"
        why = f"HFA of {n} {elem}{'s' if n > 1 else ''}" if is_hfa else elem
        classes = ("HFA",) * n if is_hfa else ("VFP",)
        first = None if self.vfp_failed else self._vfp_block(elem, n)
        if first is not None:
            width = esize // 4 * n
            for i in range(first, first + width):
                self.free[i] = False
            regs = _vfp_names(elem, first, n)
            pieces = tuple((i * esize, esize, elem) for i in range(n))
            return Placement("reg", classes, regs, None, pieces, why, t.size, t.name)
        self.vfp_failed = True
        self.can_split = False
        offset = self.push(t.size, 8 if _doubleword(t) else 4, 4)
        return Placement("stack", classes, (), offset, (), f"{why}; no VFP registers fit → "
                         "stack (no later VFP candidate uses a register)", t.size, t.name,
                         -(-t.size // 4) * 4)

    def _core(self, t: Type) -> Placement:
        kind = scalar_kind(t)
        words = -(-t.size // 4)
        dw = _doubleword(t)
        why = describe_type(t) if kind == "aggregate" else kind
        if dw and self.ncrn % 2 and self.ncrn < 4:
            self.take_gprs(1)
            why += " (8-aligned: even register)"
        classes = ("INTEGER",) * words
        if words <= len(self.gprs):
            return Placement("reg", classes, self.take_gprs(words), None,
                             int_pieces(t.size, 4), why, t.size, t.name)
        if self.gprs and self.can_split:
            n = len(self.gprs)
            regs = self.take_gprs(n)
            offset = self.push(t.size - 4 * n, 4, 4)
            return Placement("split", classes, regs, offset, int_pieces(4 * n, 4),
                             f"{why}: split between {regs[0]}–r3 and the stack", t.size,
                             t.name, 4 * (words - n))
        self.gprs.clear()
        offset = self.push(t.size, 8 if dw else 4, 4)
        return Placement("stack", classes, (), offset, (), f"{why}; core registers used up → "
                         "stack", t.size, t.name, 4 * words)

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        shape = _cprc(t) if self.vfp else None
        if shape is not None:
            elem, n = shape
            esize = _FP_SIZES[elem]
            is_hfa = scalar_kind(t) == "aggregate"
            return Placement("reg", ("HFA",) * n if is_hfa else ("VFP",),
                             _vfp_names(elem, 0, n), None,
                             tuple((i * esize, esize, elem) for i in range(n)),
                             f"HFA of {n} {elem}s" if is_hfa else elem, t.size, t.name)
        kind = scalar_kind(t)
        if kind != "aggregate":
            regs = CORE[:-(-t.size // 4)]
            return Placement("reg", ("INTEGER",) * len(regs), regs, None,
                             int_pieces(t.size, 4), kind, t.size, t.name)
        if t.size == 0:
            return Placement("ignored", reason="empty record", type_name=t.name)
        if t.size <= 4:
            return Placement("reg", ("INTEGER",), ("r0",), None, int_pieces(t.size, 4),
                             f"{describe_type(t)} in r0", t.size, t.name)
        return Placement("sret", ("MEMORY",), self.take_gprs(1), None, (),
                         f"{describe_type(t)}: composites over 4 bytes are returned through a "
                         "caller buffer whose address is in r0", t.size, t.name)


def classify(info: Signature, rs: Ruleset, variadic_types: Sequence[Type] = ()) -> CallPlan:
    """Classify ``info`` under AAPCS-VFP (the base AAPCS rules for variadic functions)."""
    result_type, items = prepare(info, rs.model, variadic_types)
    regs = Registers(vfp=not info.variadic)
    result = regs.result(result_type)
    args = tuple(regs.argument(item) for item in items)
    notes = ("variadic function: base (soft-float) rules, no VFP registers",) \
        if info.variadic else ()
    return CallPlan(rs.name, info, result, args, info.variadic, notes,
                    stack_size=-(-regs.stack // 8) * 8, names=tuple(i.label for i in items))


RULESETS = (ruleset("arm32_hf", "ARM32 AAPCS-VFP (armhf)", classify),)
