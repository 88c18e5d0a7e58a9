"""Converters: one Python argument (or result) of a C function to what ctypes passes.

One module per value kind: `scalars` (integers, bool, floats, void), `pointers` (strings,
typed pointers, function pointers, casts) and `records` (records and unions by value, with
the host ABI's lowering). `make_converter` is the only place that looks at a type's kind.
"""

from __future__ import annotations

from typing import Any

from koffi_typed.converters.base import Converter
from koffi_typed.converters.pointers import (
    CallbackConverter,
    PointerConverter,
    StringConverter,
)
from koffi_typed.converters.records import RecordConverter
from koffi_typed.converters.scalars import BoolConverter, FloatConverter, IntConverter, VoidResult
from koffi_typed.typesystem import Type, is_integer

__all__ = ["Converter", "make_converter"]

_UNITS = ("String", "String16", "String32")


def make_converter(label: str, t: Type, direction: str = "in", const: bool = False) -> Any:
    """The converter for a parameter (or the result) of type ``t``; ``const``: a pointer
    parameter that points to const data."""
    kind = t.primitive
    if kind == "Bool":
        return BoolConverter(label, t)
    if is_integer(t):
        return IntConverter(label, t)
    if kind in ("Float32", "Float64", "LongDouble"):
        return FloatConverter(label, t)
    if kind in _UNITS:
        return StringConverter(label, t, direction, const)
    if kind == "Callback":
        return CallbackConverter(label, t, direction, const)
    if kind == "Pointer":
        return PointerConverter(label, t, direction, const)
    if kind in ("Record", "Union"):
        return RecordConverter(label, t)
    if kind == "Void":
        return VoidResult(label, t)
    raise TypeError(f"{label}: type {t.name} cannot be passed")
