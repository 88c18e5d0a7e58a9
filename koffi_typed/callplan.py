"""A function's call plan, built once at declaration: one converter per parameter, the result
converter and the ctypes function pointer.

Records by value follow the host ABI's plan (`koffi_typed.abi.classify`): lowered to
eightbytes on System V x86-64, carried by structures built from the placement elsewhere.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from koffi_typed import abi
from koffi_typed.abi.sysv_x64 import GPRS as _SYSV_GPRS
from koffi_typed.carriers import Carrier, blob_ctype, words_struct
from koffi_typed.converters import make_converter
from koffi_typed.converters.base import arg_label
from koffi_typed.converters.records import (
    BlobArgument,
    CarriedArgument,
    CarriedResult,
    Cursor,
    LoweredArgument,
    LoweredResult,
    carried_argument,
    carried_result,
    lowering_applies,
)
from koffi_typed.converters.scalars import IntConverter
from koffi_typed.datamodel import host_name
from koffi_typed.declarations import Argument, FunctionInfo
from koffi_typed.typesystem import Type, is_integer, resolve_type

__all__ = ["Plan", "by_value", "mark_register_ints"]

_VARIADIC_PROMOTIONS = {"Float32": "double", "Bool": "int", "Int8": "int", "UInt8": "int",
                        "Int16": "int", "UInt16": "int"}  # C's default argument promotions


class Plan:
    """A function's call plan, built once: converters, result conversion, C entry point."""

    def __init__(self, info: FunctionInfo, address: int) -> None:
        self.info = info
        self.address = address
        self.name = info.name or "<anonymous>"
        label = self.name
        host = host_name()
        types = [a.type for a in info.arguments] + [info.result]
        self.lowered = lowering_applies(host, types, info.variadic)
        # arm32: every call, for the core registers libffi would fill back (`scalar_lead`)
        planned = self.lowered or (host == "arm32_hf" and not info.variadic)
        placements: Any = abi.classify(info) if planned else None
        n = len(info.arguments)
        #: System V x86-64: arguments passed after every register argument, and the dummy
        #: integer arguments that use up the registers first (see `_sysv_tail`).
        self.stack_tail = [False] * n
        self.tail_fill = 0
        #: Dummy integer arguments to pass before each argument (see `Cursor.scalar_lead`).
        self.leads = [0] * n
        result_label = f"{label}(): result"
        if placements is None:
            self.converters: list[Any] = [
                _record_or_blob(arg_label(label, i, a), a.type, a.direction, info, i)
                for i, a in enumerate(info.arguments)]
            self.result: Any = _record_or_blob(result_label, info.result, "in", info, -1)
        elif host == "sysv_x64":
            self.converters = [
                _sysv_argument(arg_label(label, i, a), a, placements.arguments[i])
                for i, a in enumerate(info.arguments)]
            self.result = _sysv_result(result_label, info.result, placements.result)
            self._sysv_tail(placements)
        else:
            cursor = Cursor(host, placements)
            self.converters = []
            for i, a in enumerate(info.arguments):
                a_label = arg_label(label, i, a)
                if by_value(a.type):
                    self.converters.append(carried_argument(
                        host, a_label, a.type, placements.arguments[i], cursor))
                else:
                    self.converters.append(make_converter(a_label, a.type, a.direction))
                    self.leads[i] = cursor.scalar_lead(placements.arguments[i])
                cursor.advance(placements.arguments[i])
            self.result = carried_result(host, result_label, info.result, placements.result) \
                if by_value(info.result) else make_converter(result_label, info.result)
        mark_register_ints(info, self.converters, placements)
        self.nargs = n
        self.cfunc: Any = ctypes.CFUNCTYPE(self.result.ctype, use_errno=True)(address)
        #: Generated callers per tuple of variadic type specs (see `koffi_typed.callers`).
        self.variadic_cache: dict[tuple[object, ...], Callable[..., Any]] = {}

    def _sysv_tail(self, placements: Any) -> None:
        """A MEMORY-class record of at most 16 bytes goes on the stack as separate integer
        words, which libffi puts on the stack only once the integer registers are used up.
        Then every stack argument moves after the register arguments (libffi assigns
        registers and stack slots in argument order, so this changes nothing else), behind
        dummy integers using up the free registers, and dummy words fill the stack gaps the
        plan leaves before such words (16-aligned records)."""
        if not any(getattr(c, "stack_tail", False) for c in self.converters):
            return
        used = sum(1 for r in placements.result.registers if r in _SYSV_GPRS)
        end = 0
        for i, (conv, p) in enumerate(zip(self.converters, placements.arguments)):
            used += sum(1 for r in p.registers if r in _SYSV_GPRS)
            if p.stack_offset is None:
                continue
            self.stack_tail[i] = True
            if getattr(conv, "stack_tail", False):
                conv.lead = (p.stack_offset - end) // 8
            end = p.stack_offset + p.stack_size
        self.tail_fill = len(_SYSV_GPRS) - used

    def variadic_converters(self, specs: tuple[object, ...]) -> list[Any]:
        """Converters for the fixed arguments plus variadic arguments of types ``specs``
        (promoted as C promotes them)."""
        converters = list(self.converters)
        for j, spec in enumerate(specs):
            t = resolve_type(spec)
            promoted = _VARIADIC_PROMOTIONS.get(t.primitive)
            if promoted is not None:
                t = resolve_type(promoted)
            converters.append(make_converter(f"{self.name}(): variadic argument {j + 1}", t))
        extended = FunctionInfo(self.info.name, self.info.arguments + tuple(
            Argument(None, c.type) for c in converters[self.nargs:]), self.info.result)
        mark_register_ints(extended, converters)
        return converters

    def explain(self) -> str:
        """How each argument is passed on the host (`koffi.abi.classify`), and the lowering."""
        text = str(abi.classify(self.info))
        if self.lowered and host_name() == "sysv_x64":
            text += ("\nRecords by value are lowered: passed as the eightbytes above "
                     "(separate c_uint64/c_double arguments), MEMORY results through an "
                     "explicit hidden pointer.")
        elif self.lowered:
            text += ("\nRecords by value are carried as placed above: floating-point "
                     "aggregates as structures of their float fields, others as separate "
                     "integer words, by-reference ones as a pointer to a copy.")
        return text


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
    """The converter of one argument on System V x86-64 (`lowering_applies`)."""
    t = a.type
    if not by_value(t):
        return make_converter(label, t, a.direction)
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


def _record_or_blob(label: str, t: Type, direction: str, info: FunctionInfo,
                    index: int) -> Any:
    """The converter for a parameter (``index``) or the result (-1) of a variadic function
    (or of one with no value the ABI plan carries). Records ctypes cannot describe are
    lowered to a structure built from the host ABI's placement; on RISC-V every record is
    (libffi mis-places single-float structs once the FP registers are used up)."""
    record = t.primitive in ("Record", "Union")
    if not (record and host_name().startswith("riscv64") and not info.variadic):
        try:
            return make_converter(label, t, direction)
        except NotImplementedError:
            if not record or info.variadic:
                raise
    plan = abi.classify(info)
    placement = plan.result if index < 0 else plan.arguments[index]
    return BlobArgument(label, t, blob_ctype(host_name(), t, placement))
