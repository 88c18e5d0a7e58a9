"""A function's call plan, built once at declaration: one converter per parameter, the result
converter and the ctypes function pointer.

Records by value follow the host ABI's plan (`koffi_typed.abi.classify`): lowered to
eightbytes on System V x86-64, carried by structures built from the placement elsewhere.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from koffi_typed import abi
from koffi_typed.abi.sysv_x64 import GPRS as _SYSV_GPRS
from koffi_typed.carriers import Carrier, words_struct
from koffi_typed.converters import make_converter
from koffi_typed.converters.base import arg_label
from koffi_typed.converters.records import (
    CarriedArgument,
    CarriedResult,
    Cursor,
    LoweredArgument,
    LoweredResult,
    carried_argument,
    carried_result,
    lowering_applies,
)
from koffi_typed.converters.scalars import FloatConverter, IntConverter
from koffi_typed.cparser import MAX_PARAMETERS
from koffi_typed.datamodel import host_name
from koffi_typed.declarations import Argument, FunctionInfo
from koffi_typed.errors import ParseError
from koffi_typed.typesystem import Type, install_names_hook, is_integer, resolve_type

__all__ = ["Plan", "Shape", "by_value", "mark_register_ints", "needs_plan"]

_VARIADIC_PROMOTIONS = {"Float32": "double", "Bool": "int", "Int8": "int", "UInt8": "int",
                        "Int16": "int", "UInt16": "int"}  # C's default argument promotions


@dataclass
class Shape:
    """The converters of one call shape (the declared arguments, plus the variadic ones of
    one call), and where their call arguments go: ``leads`` dummy integers before each one
    (`Cursor`), ``stack_tail`` ones after every other argument behind ``tail_fill`` dummy
    integers (`Plan._sysv_tail`)."""

    converters: list[Any]
    leads: list[int]
    stack_tail: list[bool]
    tail_fill: int = 0


_function_types: dict[tuple[Any, bool], Any] = {}


def function_type(restype: Any, release_gil: bool = True) -> Any:
    """The ctypes function pointer type returning ``restype``, with C's errno captured.

    ``release_gil=False`` keeps the GIL during the call (ctypes' ``PYFUNCTYPE`` flag): a
    short call saves releasing and taking it back, but every other Python thread waits
    until C returns, and a callback that C runs on another thread meanwhile deadlocks.
    """
    key = (restype, release_gil)
    found = _function_types.get(key)
    if found is None:
        flags = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_USE_ERRNO  # type: ignore[attr-defined]
        if not release_gil:
            flags |= ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
        found = type("CFunctionType", (ctypes._CFuncPtr,),  # type: ignore[attr-defined]
                     {"_argtypes_": (), "_restype_": restype, "_flags_": flags})
        _function_types[key] = found
    return found


class Plan:
    """A function's call plan, built once: converters, result conversion, C entry point.

    Where the host ABI plan matters (`needs_plan`), each argument is converted as its
    placement says (records, unions, 128-bit integers by value; floating-point values that
    a variadic function takes in integer registers); elsewhere the argument's own converter
    is used and libffi places it.
    """

    def __init__(self, info: FunctionInfo, address: int, *, release_gil: bool = True) -> None:
        self.info = info
        self.address = address
        self.name = info.name or "<anonymous>"
        self.release_gil = release_gil
        host = host_name()
        check_convention(host, info)
        types = [a.type for a in info.arguments] + [info.result]
        self.lowered = needs_plan(host, info, types)
        placements: Any = abi.classify(info) if self.lowered else None
        labels = [arg_label(self.name, i, a) for i, a in enumerate(info.arguments)]
        shape = _shape(host, list(info.arguments), labels, placements)
        self.converters = shape.converters
        self.leads = shape.leads
        self.stack_tail = shape.stack_tail
        self.tail_fill = shape.tail_fill
        self.result: Any = _result(host, f"{self.name}(): result", info.result,
                                   placements.result if placements is not None else None)
        mark_register_ints(info, self.converters, placements)
        self.nargs = len(info.arguments)
        self.cfunc: Any = function_type(self.result.ctype, release_gil)(address)
        #: Generated callers per tuple of variadic type specs (see `koffi_typed.callers`),
        #: emptied when a type name changes meaning (the specs may be type strings).
        self.variadic_cache: dict[tuple[object, ...], Callable[..., Any]] = {}
        if info.variadic:
            _variadic_plans.add(self)
        #: The globals of every caller generated for this plan (they hold ``_f``), and the
        #: compiled callers made for it (they hold ``f``).
        self.envs: list[dict[str, Any]] = []
        self.compiled: list[Any] = []

    def disable(self, stub: Callable[..., Any]) -> Any:
        """Make every caller of this plan call ``stub`` instead of C; the ctypes function
        pointer, which calls already in flight still hold, is returned (and forgotten)."""
        cfunc, self.cfunc = self.cfunc, stub
        for env in self.envs:
            env["_f"] = stub
        for caller in self.compiled:
            caller.f = stub
        return cfunc

    def variadic_shape(self, specs: tuple[object, ...]) -> Shape:
        """The call shape of the fixed arguments plus variadic arguments of types ``specs``.

        Values are checked against the declared type, then passed as C's default argument
        promotions say: ints narrower than ``int`` and ``bool`` already go to ctypes as
        Python ints (a C ``int``), a ``float`` goes as a ``double``; the ABI places the
        promoted types."""
        if self.nargs + len(specs) > MAX_PARAMETERS:
            raise TypeError(f"{self.name}(): Functions cannot have more than {MAX_PARAMETERS} "
                            f"parameters ({self.nargs} fixed and {len(specs)} variadic given)")
        declared = [_variadic_type(f"{self.name}(): variadic argument {j + 1}", spec)
                    for j, spec in enumerate(specs)]
        promoted = [resolve_type(_VARIADIC_PROMOTIONS[t.primitive])
                    if t.primitive in _VARIADIC_PROMOTIONS else t for t in declared]
        arguments = list(self.info.arguments) + [Argument(None, t) for t in declared]
        extended = FunctionInfo(self.info.name, tuple(
            list(self.info.arguments) + [Argument(None, t) for t in promoted]),
            self.info.result, variadic=True, convention=self.info.convention)
        labels = [arg_label(self.name, i, a) for i, a in enumerate(self.info.arguments)]
        labels += [f"{self.name}(): variadic argument {j + 1}" for j in range(len(declared))]
        host = host_name()
        if needs_plan(host, extended, [*promoted, self.info.result]) or self.lowered:
            placements = abi.classify(self.info, variadic_types=promoted)
            shape = _shape(host, arguments, labels, placements, self.nargs)
        else:
            placements = None
            shape = Shape(self.converters + [_variadic_converter(label, t) for label, t in
                                             zip(labels[self.nargs:], declared)],
                          self.leads + [0] * len(declared),
                          self.stack_tail + [False] * len(declared))
        mark_register_ints(extended, shape.converters, placements)
        return shape

    def explain(self) -> str:
        """How each argument is passed on the host (`koffi.abi.classify`), and the lowering."""
        text = str(abi.classify(self.info))
        if self.lowered and host_name() == "sysv_x64":
            text += ("\nRecords by value are lowered: passed as the eightbytes above "
                     "(separate c_uint64/c_double arguments), MEMORY results through an "
                     "explicit hidden pointer.")
        elif self.lowered:
            text += ("\nValues are carried as placed above: floating-point aggregates as "
                     "structures of their float fields, other records and values in integer "
                     "registers as separate integer words, by-reference ones as a pointer to "
                     "a copy.")
        return text


_variadic_plans: weakref.WeakSet[Plan] = weakref.WeakSet()


def _forget_variadic_callers() -> None:
    for plan in list(_variadic_plans):
        plan.variadic_cache.clear()


install_names_hook(_forget_variadic_callers)


def needs_plan(host: str, info: FunctionInfo, types: list[Type]) -> bool:
    """Whether calls of ``info`` (with these argument and result types) follow the host ABI
    plan: a record, union or 128-bit integer by value; every call on arm32 (see
    `Cursor.scalar_lead`; variadic ones pass floating-point values in core registers); a
    floating-point variadic argument on riscv64 (integer registers)."""
    if host == "arm32_hf" or lowering_applies(host, types, False):
        return True
    return info.variadic and host.startswith(("riscv64", "loongarch64", "aarch64_win")) and any(
        t.primitive in _FLOATS for t in types)


_FLOATS = ("Float32", "Float64", "LongDouble")


def _shape(host: str, arguments: list[Argument], labels: list[str], placements: Any,
           first_variadic: int = -1) -> Shape:
    """The converters of ``arguments`` (the variadic ones from ``first_variadic`` on, with
    their declared types) as the host ABI plan ``placements`` places them (``None``: no
    plan, each argument's own converter)."""
    n = len(arguments)
    shape = Shape([], [0] * n, [False] * n)

    def own(i: int, label: str, a: Argument) -> Any:
        if 0 <= first_variadic <= i:
            return _variadic_converter(label, a.type)
        return make_converter(label, a.type, a.direction, a.const)

    if placements is None:
        shape.converters = [own(i, label, a) for i, (label, a) in
                            enumerate(zip(labels, arguments))]
        return shape
    if host == "sysv_x64":
        shape.converters = [
            _sysv_argument(label, a, p) if by_value(a.type) else own(i, label, a)
            for i, (label, a, p) in enumerate(zip(labels, arguments, placements.arguments))]
        _sysv_tail(shape, placements)
        return shape
    cursor = Cursor(host, placements)
    for i, (label, a, p) in enumerate(zip(labels, arguments, placements.arguments)):
        if _carried(a.type, p):
            t = a.type
            if 0 <= first_variadic <= i and t.primitive in _VARIADIC_PROMOTIONS:
                t = resolve_type(_VARIADIC_PROMOTIONS[t.primitive])  # a float, as a double
            shape.converters.append(carried_argument(host, label, t, p, cursor))
        else:
            shape.converters.append(own(i, label, a))
            shape.leads[i] = cursor.scalar_lead(p)
        cursor.advance(p)
    return shape


def _variadic_type(label: str, spec: object) -> Type:
    """The type of a variadic argument given as ``spec``, or an error naming ``label``."""
    try:
        t = resolve_type(spec)
    except ParseError as exc:
        raise ParseError(f"{label}: {exc.msg}", exc.text, exc.pos) from None
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{label}: {exc}") from None
    if t.primitive in ("Void", "Prototype", "Array") or t.size == 0:
        raise TypeError(f"{label}: type {t.name} cannot be passed to a variadic function "
                        f"(maybe try {t.name} *)")
    return t


def _variadic_converter(label: str, t: Type) -> Any:
    """The converter of a variadic argument declared as ``t`` (a ``float`` goes as a
    ``double``; narrower ints and ``bool`` already go as a C ``int``)."""
    if t.primitive == "Float32":
        return FloatConverter(label, t, promoted=True)
    return make_converter(label, t)


def _carried(t: Type, placement: Any) -> bool:
    """Whether a value goes through the plan: records, unions, 128-bit integers, and
    floating-point values placed in integer registers (variadic, arm32 and riscv64)."""
    return by_value(t) or (t.primitive in _FLOATS and placement.classes
                           and not set(placement.classes) & _FP_CLASSES)


_FP_CLASSES = frozenset({"FP", "VFP", "SSE", "HFA", "X87"})


def _result(host: str, label: str, t: Type, placement: Any) -> Any:
    if placement is None or not _carried(t, placement):
        return make_converter(label, t)
    if host == "sysv_x64":
        return _sysv_result(label, t, placement)
    return carried_result(host, label, t, placement)


def _sysv_tail(shape: Shape, placements: Any) -> None:
    """A MEMORY-class record of at most 16 bytes goes on the stack as separate integer
    words, which libffi puts on the stack only once the integer registers are used up. Then
    every stack argument moves after the register arguments (libffi assigns registers and
    stack slots in argument order, so this changes nothing else), behind dummy integers
    using up the free registers, and dummy words fill the stack gaps the plan leaves before
    such words (16-aligned records)."""
    if not any(getattr(c, "stack_tail", False) for c in shape.converters):
        return
    used = sum(1 for r in placements.result.registers if r in _SYSV_GPRS)
    end = 0
    for i, (conv, p) in enumerate(zip(shape.converters, placements.arguments)):
        used += sum(1 for r in p.registers if r in _SYSV_GPRS)
        if p.stack_offset is None:
            continue
        shape.stack_tail[i] = True
        if getattr(conv, "stack_tail", False):
            conv.lead = (p.stack_offset - end) // 8
        end = p.stack_offset + p.stack_size
    shape.tail_fill = len(_SYSV_GPRS) - used


def check_convention(host: str, info: FunctionInfo) -> None:
    """Refuse a 32-bit x86 ``__fastcall``/``__thiscall`` function that takes arguments in
    registers: ctypes calls every function pointer as cdecl, so ECX and EDX would hold
    garbage and the callee would read wrong values. ``__stdcall`` (and these conventions
    when nothing goes in a register) is safe: the callee popping its arguments is harmless,
    as libffi restores the stack pointer from its frame after the call."""
    if host not in ("x86_cdecl", "x86_win") or info.variadic \
            or info.convention not in ("__fastcall", "__thiscall"):
        return
    plan = abi.classify(info)
    labels = plan.names or tuple(f"argument {i + 1}" for i in range(len(plan.arguments)))
    in_registers = [f"{label or f'argument {i + 1}'} in {p.registers[0]}"
                    for i, (label, p) in enumerate(zip(labels, plan.arguments))
                    if p.kind == "reg"]
    if plan.result.kind == "sret" and plan.result.registers:
        in_registers.append(f"the result's hidden pointer in {plan.result.registers[0]}")
    if in_registers:
        raise NotImplementedError(
            f"{info.name or '<anonymous>'}(): {info.convention} passes "
            f"{', '.join(in_registers)}, which ctypes (cdecl only) cannot set; call it through a "
            "cdecl wrapper written in C")


def mark_register_ints(info: FunctionInfo, converters: list[Any],
                       placements: Any = None) -> None:
    """Flag the 64-bit integer arguments that System V x86-64 passes in registers, where a
    small value can go to ctypes as a plain int (see `IntConverter.fast`). ``placements`` is
    the host's classification of ``info`` when the caller already has it."""
    if host_name() != "sysv_x64":
        return
    if placements is None:
        try:
            placements = abi.classify(info)
        except (NotImplementedError, TypeError, ValueError):
            return
    for conv, placement in zip(converters, placements.arguments):
        if type(conv) is IntConverter and conv.size == 8 and placement.registers \
                and placement.kind == "reg":
            conv.in_register = True


def by_value(t: Type) -> bool:
    """Whether values of ``t`` go through the ABI plan (records, unions, 128-bit ints)."""
    return t.primitive in ("Record", "Union") or (is_integer(t) and t.size > 8)


def _sysv_argument(label: str, a: Argument, placement: Any) -> Any:
    """The converter of a record, union or 128-bit integer argument on System V x86-64."""
    t = a.type
    kind = placement.kind
    if kind == "ignored":
        return CarriedArgument(label, t, "none")
    if t.primitive not in ("Record", "Union"):  # __int128: two eightbytes, or 16-aligned memory
        if kind == "reg":
            return CarriedArgument(label, t, "words")
        carrier = words_struct(f"lowered_{t.name}", [ctypes.c_uint64] * 2, align16=True)
        return CarriedArgument(label, t, "struct", carrier=Carrier(carrier, None, 16))
    if kind == "stack" and "MEMORY" in placement.classes and t.size <= 16:
        return CarriedArgument(label, t, "words", stack_tail=True)
    return LoweredArgument(label, t, placement)


def _sysv_result(label: str, t: Type, placement: Any) -> Any:
    if not by_value(t):
        return make_converter(label, t)
    if placement.kind == "ignored":
        return CarriedResult(label, t, None)
    return LoweredResult(label, t, placement)
