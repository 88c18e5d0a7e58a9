"""AArch64 AAPCS64 (Linux, BSD) and its Apple and Windows variants.

Stage C of the procedure-call standard, as GCC 12 implements it: floating-point scalars and
homogeneous floating-point aggregates (HFA, 1–4 equal float types, no padding) take v
registers, one element per register, or go to the stack once the v registers run out (and
then no later FP argument may use one). Other composites over 16 bytes go by reference to a
caller copy; smaller ones take consecutive x registers (an even pair when 16-aligned) or go
to the stack whole — never split. A result that is neither an HFA nor at most 16 bytes is
written through the address in x8.

Apple: stack arguments take their own size and alignment, variadic arguments always go on
the stack in 8-byte slots, ``__int128`` needs no even pair. Windows: for variadic functions
HFAs are plain composites, no v register is used and arguments are laid out as on a stack
whose first 64 bytes are x0–x7 (so one may be split between x7 and the stack).
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
    direct_alignment,
    homogeneous_float,
    int_pieces,
    is_void,
    prepare,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Classifier, Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify"]

XREGS: Final = tuple(f"x{i}" for i in range(8))
VREGS: Final = tuple(f"v{i}" for i in range(8))
_FP_SIZES: Final = {"float": 4, "double": 8, "ldouble": 16}


def _fp_shape(t: Type) -> tuple[str, int] | None:
    """(element kind, count) for FP scalars and HFAs."""
    kind = scalar_kind(t)
    if kind in _FP_SIZES:
        return kind, 1
    if kind == "aggregate":
        return homogeneous_float(t)
    return None


def _align16(t: Type) -> bool:
    kind = scalar_kind(t)
    if kind == "int128":
        return True
    if kind == "aggregate":
        return direct_alignment(t) >= 16
    return False


def _round8(n: int) -> int:
    return -(-n // 8) * 8


class Registers(Allocator):
    """NGRN (x registers), NSRN (v registers) and NSAA (stack) of one AArch64 call."""

    def __init__(self, variant: str, variadic_function: bool) -> None:
        super().__init__(XREGS, VREGS)
        self.apple = variant == "apple"
        self.win_variadic = variant == "win" and variadic_function

    @property
    def ngrn(self) -> int:
        return 8 - len(self.gprs)

    def argument(self, item: Item) -> Placement:
        t = item.type
        name = t.name
        if t.size == 0:
            return Placement("ignored", reason="empty record is ignored", type_name=name)
        kind = scalar_kind(t)
        if self.win_variadic:
            return self._imaginary_stack(t, kind)
        if self.apple and item.variadic:
            return self._apple_variadic(t, kind)
        shape = _fp_shape(t)
        if shape is not None:
            return self._fp(t, shape)
        if kind == "aggregate" and t.size > 16:
            return self._reference(t)
        return self._integer(t, kind)

    def _fp(self, t: Type, shape: tuple[str, int]) -> Placement:
        elem, n = shape
        esize = _FP_SIZES[elem]
        is_hfa = scalar_kind(t) == "aggregate"
        why = f"HFA of {n} {elem}{'s' if n > 1 else ''}" if is_hfa else elem
        classes = ("HFA",) * n if is_hfa else ("FP",)
        if n <= len(self.fprs):
            regs = self.take_fprs(n)
            pieces = tuple((i * esize, esize, elem) for i in range(n))
            return Placement("reg", classes, regs, None, pieces, why, t.size, t.name)
        self.fprs.clear()
        if self.apple:
            offset = self.push(t.size, esize if is_hfa else t.alignment, 1)
            size = t.size
        else:
            offset = self.push(t.size, max(8, t.alignment), 8)
            size = _round8(t.size)
        return Placement("stack", classes, (), offset, (), f"{why}; not enough v registers "
                         "left → stack (no later FP argument uses a v register)", t.size,
                         t.name, size)

    def _reference(self, t: Type) -> Placement:
        why = f"{describe_type(t)}: not an HFA and over 16 bytes → pointer to a caller copy"
        if self.gprs:
            return Placement("ref", ("MEMORY",), self.take_gprs(1), None, (), why, t.size,
                             t.name)
        return Placement("ref", ("MEMORY",), (), self.push(8, 8, 8), (), why, t.size, t.name, 8)

    def _integer(self, t: Type, kind: str) -> Placement:
        n = -(-t.size // 8)
        even = _align16(t) and not (self.apple and kind == "int128")
        if even and self.ngrn % 2 and self.gprs:
            self.take_gprs(1)
        classes = ("INTEGER",) * n
        why = describe_type(t) if kind == "aggregate" else kind
        if even:
            why += " (16-aligned: even register pair)"
        if n <= len(self.gprs):
            return Placement("reg", classes, self.take_gprs(n), None, int_pieces(t.size, 8),
                             why, t.size, t.name)
        self.gprs.clear()
        if self.apple and kind != "aggregate":
            offset = self.push(t.size, t.alignment, 1)
            size = t.size
        else:
            offset = self.push(t.size, 16 if _align16(t) else 8, 8)
            size = _round8(t.size)
        return Placement("stack", classes, (), offset, (), f"{why}; not enough x registers "
                         "left → stack (never split)", t.size, t.name, size)

    def _apple_variadic(self, t: Type, kind: str) -> Placement:
        if kind == "aggregate" and t.size > 16 and homogeneous_float(t) is None:
            off = self.push(8, 8, 8)
            return Placement("ref", ("MEMORY",), (), off, (), f"{describe_type(t)}: variadic, "
                             "pointer to a caller copy on the stack", t.size, t.name, 8)
        off = self.push(t.size, 16 if t.alignment >= 16 else 8, 8)
        return Placement("stack", ("MEMORY",), (), off, (), "variadic argument: always on the "
                         "stack in 8-byte slots (Apple)", t.size, t.name, _round8(t.size))

    def _imaginary_stack(self, t: Type, kind: str) -> Placement:
        if kind == "aggregate" and t.size > 16:
            size, why = 8, f"{describe_type(t)}: over 16 bytes → pointer to a caller copy"
            ref = True
        else:
            size, ref = t.size, False
            why = (describe_type(t) + ": HFAs are plain composites in variadic functions "
                   "(Windows)") if kind == "aggregate" else kind
        words = -(-size // 8)
        if t.alignment >= 16 and self.ngrn % 2 and self.gprs:
            self.take_gprs(1)
        in_regs = min(words, len(self.gprs))
        regs = self.take_gprs(in_regs)
        fp = kind in _FP_SIZES
        pieces: tuple[Piece, ...] = () if ref else int_pieces(min(size, 8 * in_regs), 8)
        classes = ("MEMORY",) if ref else ("INTEGER",) * words
        if in_regs == words:
            return Placement("ref" if ref else "reg", classes, regs, None, pieces,
                             why + (" (floating-point value in an x register)" if fp else ""),
                             t.size, t.name)
        offset = self.push(size - 8 * in_regs, 16 if t.alignment >= 16 and not in_regs else 8, 8)
        if in_regs:
            return Placement("split", classes, regs, offset, pieces, why + "; split between "
                             "x7 and the stack", t.size, t.name, _round8(size) - 8 * in_regs)
        return Placement("ref" if ref else "stack", classes, (), offset, (), why, t.size,
                         t.name, _round8(size))

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        if t.size == 0:
            return Placement("ignored", reason="empty record", type_name=t.name)
        shape = _fp_shape(t)
        if shape is not None:
            elem, n = shape
            esize = _FP_SIZES[elem]
            is_hfa = scalar_kind(t) == "aggregate"
            why = f"HFA of {n} {elem}{'s' if n > 1 else ''}" if is_hfa else elem
            return Placement("reg", ("HFA",) * n if is_hfa else ("FP",), VREGS[:n], None,
                             tuple((i * esize, esize, elem) for i in range(n)), why, t.size,
                             t.name)
        kind = scalar_kind(t)
        if t.size <= 16:
            n = -(-t.size // 8)
            why = describe_type(t) if kind == "aggregate" else kind
            return Placement("reg", ("INTEGER",) * n, ("x0", "x1")[:n], None,
                             int_pieces(t.size, 8), why, t.size, t.name)
        return Placement("sret", ("MEMORY",), ("x8",), None, (), f"{describe_type(t)}: "
                         "written through the address in x8 (not an argument register)",
                         t.size, t.name)


def _classify(variant: str) -> Classifier:
    def classify(info: Signature, rs: Ruleset,
                 variadic_types: Sequence[Type] = ()) -> CallPlan:
        result_type, items = prepare(info, rs.model, variadic_types)
        regs = Registers(variant, info.variadic)
        result = regs.result(result_type)
        args = tuple(regs.argument(item) for item in items)
        notes: list[str] = []
        if info.variadic and variant == "apple":
            notes.append("variadic arguments always go on the stack (Apple)")
        if info.variadic and variant == "win":
            notes.append("variadic function: x0–x7 then stack for every argument (Windows)")
        return CallPlan(rs.name, info, result, args, info.variadic, tuple(notes),
                        stack_size=_round8(regs.stack), names=tuple(i.label for i in items))
    classify.__doc__ = f"Classify ``info`` under AArch64 ({variant})."
    return classify


classify = _classify("linux")

RULESETS = (
    ruleset("aarch64", "AArch64 AAPCS64 (Linux, BSD, Android)", classify),
    ruleset("aarch64_apple", "AArch64 Apple (macOS, iOS): 8-byte long double",
            _classify("apple")),
    ruleset("aarch64_win", "AArch64 Windows: LLP64, MSVC bitfield layout",
            _classify("win")),
)
