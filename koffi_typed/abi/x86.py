"""32-bit x86: System V i386 (doubles and 64-bit ints 4-aligned in records) and Windows.

Arguments go on the stack in 4-byte slots, aggregates copied whole whatever their content.
``__stdcall``, ``__fastcall`` and ``__thiscall`` make the callee pop its arguments;
fastcall passes the first two small integer arguments in ECX and EDX, thiscall the first in
ECX. Linux (GCC's default ``-fpcc-struct-return``) returns every aggregate through a hidden
pointer that the callee pops; Windows returns aggregates of 1, 2, 4 or 8 bytes in EAX or
EDX:EAX and uses a hidden pointer (popped by the caller under cdecl) for the others.

fastcall register choice: ``x86_cdecl`` follows GCC (64-bit integers and every non-float
aggregate use up registers while going on the stack); ``x86_win`` follows MSVC (only
integers and pointers of at most 4 bytes count). MinGW-GCC uses GCC's rule on Windows too.
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
    int_pieces,
    is_void,
    leaves,
    prepare,
    scalar_kind,
)
from koffi_typed.abi.ruleset import Classifier, Ruleset, ruleset
from koffi_typed.typesystem import Type

__all__ = ["RULESETS", "classify"]

FAST_REGS: Final = ("ecx", "edx")
_CALLEE_POPS: Final = frozenset({"__stdcall", "__fastcall", "__thiscall"})


def _float_mode(t: Type) -> bool:
    """Whether GCC gives ``t`` a floating-point mode (an FP scalar, or a record holding just
    one)."""
    found = leaves(t) if scalar_kind(t) == "aggregate" else None
    if found is None:
        return scalar_kind(t) in ("float", "double", "ldouble")
    return len(found) == 1 and found[0].kind in ("float", "double", "ldouble") \
        and found[0].size == t.size


class Stack(Allocator):
    """The argument stack (and the fastcall/thiscall registers) of one 32-bit x86 call."""

    def __init__(self, windows: bool, convention: str | None) -> None:
        fast = {"__fastcall": 2, "__thiscall": 1}.get(convention or "", 0)
        super().__init__(FAST_REGS[:fast], ())
        self.windows = windows
        self.convention = convention

    def argument(self, item: Item) -> Placement:
        t = item.type
        name = t.name
        if t.size == 0:
            return Placement("ignored", reason="empty record takes no stack", type_name=name)
        kind = scalar_kind(t)
        if self.gprs and not item.variadic:
            small_int = kind in ("int", "ptr") and t.size <= 4
            if small_int:
                return Placement("reg", ("INTEGER",), self.take_gprs(1), None,
                                 ((0, t.size, "int"),), f"{kind} in a {self._conv()} register",
                                 t.size, name)
            if not self.windows and not _float_mode(t):
                # GCC: 64-bit integers and aggregates go on the stack but use up registers.
                self.take_gprs(-(-t.size // 4))
        offset = self.push(t.size, 4, 4)
        why = describe_type(t) + ": copied onto the stack" if kind == "aggregate" else kind
        return Placement("stack", ("MEMORY",), (), offset, (), why, t.size, name,
                         -(-t.size // 4) * 4)

    def _conv(self) -> str:
        return (self.convention or "").strip("_")

    def result(self, t: Type) -> Placement:
        if is_void(t):
            return VOID
        name = t.name
        kind = scalar_kind(t)
        if kind in ("float", "double", "ldouble"):
            return Placement("reg", ("X87",), ("st0",), None, ((0, t.size, "ldouble"),),
                             f"{kind} in st0", t.size, name)
        if kind in ("int", "ptr"):
            regs = ("eax",) if t.size <= 4 else ("eax", "edx")
            return Placement("reg", ("INTEGER",) * len(regs), regs, None,
                             int_pieces(t.size, 4), kind, t.size, name)
        if t.size == 0:
            return Placement("ignored", reason="empty record", type_name=name)
        if self.windows and t.size in (1, 2, 4, 8):
            regs = ("eax",) if t.size <= 4 else ("eax", "edx")
            return Placement("reg", ("INTEGER",) * len(regs), regs, None,
                             int_pieces(t.size, 4), f"{describe_type(t)}: size {t.size} in "
                             f"{':'.join(reversed(regs))} (MSVC)", t.size, name)
        if self.gprs and (self.convention == "__fastcall" or not self.windows):
            reg = self.take_gprs(1)
            return Placement("sret", ("MEMORY",), reg, None, (), f"{describe_type(t)}: caller "
                             f"buffer passed in {reg[0]}, returned in eax", t.size, name)
        offset = self.push(4, 4, 4)
        who = "caller" if self.windows else "callee"
        return Placement("sret", ("MEMORY",), (), offset, (), f"{describe_type(t)}: caller "
                         f"buffer passed first on the stack ({who} pops it), returned in eax",
                         t.size, name, 4)


def _classify(windows: bool) -> Classifier:
    def classify(info: Signature, rs: Ruleset,
                 variadic_types: Sequence[Type] = ()) -> CallPlan:
        result_type, items = prepare(info, rs.model, variadic_types)
        convention = info.convention if info.convention != "__cdecl" else None
        notes: list[str] = []
        if info.variadic and convention is not None:
            notes.append(f"{convention} is ignored for variadic functions (cdecl)")
            convention = None
        stack = Stack(windows, convention)
        result = stack.result(result_type)
        args = tuple(stack.argument(item) for item in items)
        if convention in _CALLEE_POPS:
            pops = stack.stack
        elif result.kind == "sret" and result.stack_offset is not None and not windows:
            pops = 4
        else:
            pops = 0
        if pops:
            notes.append(f"the callee pops {pops} bytes (ret ${pops})")
        return CallPlan(rs.name, info, result, args, info.variadic, tuple(notes),
                        stack_size=stack.stack, callee_pops=pops,
                        names=tuple(i.label for i in items))
    return classify


classify = _classify(False)

RULESETS = (
    ruleset("x86_cdecl", "i386 System V (Linux, BSD)", classify),
    ruleset("x86_win", "i386 Windows (MSVC and MinGW)", _classify(True)),
)
