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
from koffi_typed.carriers import blob_ctype
from koffi_typed.converters import make_converter
from koffi_typed.converters.base import arg_label
from koffi_typed.converters.records import (
    BlobArgument,
    LoweredArgument,
    LoweredResult,
    lowering_applies,
)
from koffi_typed.converters.scalars import FloatConverter, IntConverter
from koffi_typed.datamodel import host_name
from koffi_typed.declarations import Argument, FunctionInfo
from koffi_typed.typesystem import resolve_type

__all__ = ["Plan", "mark_register_ints"]

class Plan:
    """A function's call plan, built once: converters, result conversion, C entry point."""

    def __init__(self, info: FunctionInfo, address: int) -> None:
        self.info = info
        self.address = address
        self.name = info.name or "<anonymous>"
        label = self.name
        types = [a.type for a in info.arguments] + [info.result]
        self.lowered = lowering_applies(host_name(), types, info.variadic)
        placements: Any = abi.classify(info) if self.lowered else None
        self.converters: list[Any] = []
        for i, a in enumerate(info.arguments):
            a_label = arg_label(label, i, a)
            if self.lowered and a.type.primitive in ("Record", "Union"):
                later = placements.arguments[i + 1:]
                follows = any(p.stack_offset is not None for p in later)
                self.converters.append(LoweredArgument(a_label, a.type,
                                                       placements.arguments[i], follows))
            else:
                self.converters.append(_record_or_blob(a_label, a, info, i))
        if self.lowered and info.result.primitive in ("Record", "Union"):
            self.result: Any = LoweredResult(f"{label}(): result", info.result,
                                             placements.result)
        else:
            self.result = _record_or_blob(f"{label}(): result", Argument(None, info.result),
                                          info, -1)
        mark_register_ints(info, self.converters, placements)
        self.nargs = len(info.arguments)
        self.cfunc: Any = ctypes.CFUNCTYPE(self.result.ctype, use_errno=True)(address)
        #: Generated callers per tuple of variadic type specs (see `koffi_typed.callers`).
        self.variadic_cache: dict[tuple[object, ...], Callable[..., Any]] = {}
        #: The globals of every caller generated for this plan (they hold ``_f``).
        self.envs: list[dict[str, Any]] = []

    def disable(self, stub: Callable[..., Any]) -> Any:
        """Make every generated caller call ``stub`` instead of C; the ctypes function
        pointer, which calls already in flight still hold, is returned (and forgotten)."""
        cfunc, self.cfunc = self.cfunc, stub
        for env in self.envs:
            env["_f"] = stub
        return cfunc

    def variadic_converters(self, specs: tuple[object, ...]) -> list[Any]:
        """Converters for the fixed arguments plus variadic arguments of types ``specs``.

        Values are checked against the declared type, then passed as C's default argument
        promotions say: ints narrower than ``int`` and ``bool`` already go to ctypes as
        Python ints (a C ``int``), a ``float`` goes as a ``double``."""
        converters = list(self.converters)
        for j, spec in enumerate(specs):
            t = resolve_type(spec)
            label = f"{self.name}(): variadic argument {j + 1}"
            if t.primitive == "Float32":
                converters.append(FloatConverter(label, t, promoted=True))
            else:
                converters.append(make_converter(label, t))
        extended = FunctionInfo(self.info.name, self.info.arguments + tuple(
            Argument(None, c.type) for c in converters[self.nargs:]), self.info.result)
        mark_register_ints(extended, converters)
        return converters

    def explain(self) -> str:
        """How each argument is passed on the host (`koffi.abi.classify`), and the lowering."""
        text = str(abi.classify(self.info))
        if self.lowered:
            text += ("\nRecords by value are lowered: passed as the eightbytes above "
                     "(separate c_uint64/c_double arguments), MEMORY results through an "
                     "explicit hidden pointer.")
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


def _record_or_blob(label: str, arg: Argument, info: FunctionInfo, index: int) -> Any:
    """The converter for a parameter (``index``) or the result (-1). Records ctypes cannot
    describe are lowered to a structure built from the host ABI's placement; on RISC-V every
    record is (libffi mis-places single-float structs once the FP registers are used up)."""
    t = arg.type
    record = t.primitive in ("Record", "Union")
    if not (record and host_name().startswith("riscv64") and not info.variadic):
        try:
            return make_converter(label, t, arg.direction, arg.const)
        except NotImplementedError:
            if not record or info.variadic:
                raise
    plan = abi.classify(info)
    placement = plan.result if index < 0 else plan.arguments[index]
    return BlobArgument(label, t, blob_ctype(host_name(), t, placement))
