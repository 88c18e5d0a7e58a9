"""Converters for scalar values: integers (every width, enums, byte orders), bool, floats,
and ``void`` results."""

from __future__ import annotations

import ctypes
import math
from typing import Any, Final

from koffi_typed._codec import to_int
from koffi_typed.converters.base import Converter
from koffi_typed.typesystem import Type, int_range

__all__ = ["BoolConverter", "FloatConverter", "IntConverter", "VoidResult"]

_INT_CTYPES = {(1, True): ctypes.c_int8, (2, True): ctypes.c_int16, (4, True): ctypes.c_int32,
               (8, True): ctypes.c_int64, (1, False): ctypes.c_uint8, (2, False): ctypes.c_uint16,
               (4, False): ctypes.c_uint32, (8, False): ctypes.c_uint64}


def _int_storage(t: Type) -> Type:
    return t.ref if t.primitive == "Enum" and t.ref is not None else t


class IntConverter(Converter):
    """Integers of every width, enums and endian-specific integers, range-checked."""

    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        store = _int_storage(t)
        self.lo, self.hi = int_range(store)
        self.signed = not store.primitive.startswith("U")
        self.swap = store.primitive.endswith("S")
        self.size = store.size
        if store.size > 8:
            raise NotImplementedError(f"{label}: {t.name} cannot be passed through ctypes yet")
        self.ctype = _INT_CTYPES[(store.size, self.signed)]
        self.raw_result = not self.swap and not (t.primitive == "Enum" and t.python_class)

    def convert(self, value: object, keep: list[object]) -> object:
        if type(value) is int:
            v = value
        else:
            v = to_int(self.label, self.type.name, value)
        if v < self.lo or v > self.hi:
            raise OverflowError(f"{self.label}: {v} is out of range for {self.type.name} "
                                f"[{self.lo}, {self.hi}]")
        if self.swap:
            v = int.from_bytes(v.to_bytes(self.size, "little", signed=self.signed), "big",
                               signed=self.signed)
        return v if self.size <= 4 else self.ctype(v)

    in_register = False  # a 64-bit argument that the host passes in a register

    def fast(self, var: str, slow: str) -> str:
        if self.swap:
            return slow
        check = f"type({var}) is int and {self.lo} <= {var} <= {self.hi}"
        if self.size <= 4:
            return f"({var} if {check} else {slow})"
        expr = f"(_T{var}({var}) if {check} else {slow})"
        if self.in_register:
            # ctypes passes a plain int as a C int, which libffi sign-extends to the whole
            # register: exact for every 64-bit value that fits in 32 bits (no wrapper object)
            small = f"type({var}) is int and {max(self.lo, -(1 << 31))} <= {var} <= {(1 << 31) - 1}"
            expr = f"({var} if {small} else {expr})"
        return expr

    def result(self, raw: Any) -> object:
        v = int(raw)
        if self.swap:
            v = int.from_bytes(v.to_bytes(self.size, "little", signed=self.signed), "big",
                               signed=self.signed)
        enum_class = self.type.python_class if self.type.primitive == "Enum" else None
        if enum_class is not None:
            try:
                return enum_class(v)
            except ValueError:
                return v
        return v


class BoolConverter(Converter):
    ctype = ctypes.c_bool
    raw_result = True

    def convert(self, value: object, keep: list[object]) -> object:
        if value is True or value is False:
            return value
        raise TypeError(f"{self.label}: expected bool, got {type(value).__name__}")

    def fast(self, var: str, slow: str) -> str:
        return f"({var} if {var} is True or {var} is False else {slow})"


FLOAT32_MAX: Final = 3.4028234663852886e38


class FloatConverter(Converter):
    """``float``, ``double`` and ``long double`` from Python floats or ints. A finite value
    beyond the type's range raises `OverflowError` (infinities and NaN pass). ``promoted``:
    a variadic ``float``, passed as the ``double`` C promotes it to."""

    raw_result = True

    def __init__(self, label: str, t: Type, promoted: bool = False) -> None:
        super().__init__(label, t)
        self.ctype = {"Float32": ctypes.c_float, "Float64": ctypes.c_double}.get(
            t.primitive, ctypes.c_longdouble)
        if promoted:
            self.ctype = ctypes.c_double
        self.limit = FLOAT32_MAX if t.primitive == "Float32" else None

    def convert(self, value: object, keep: list[object]) -> object:
        if isinstance(value, float):
            v = value
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                v = float(value)
            except OverflowError:
                raise OverflowError(f"{self.label}: {value} is out of range for "
                                    f"{self.type.name}") from None
        else:
            raise TypeError(f"{self.label}: expected float ({self.type.name}), got "
                            f"{type(value).__name__}")
        if self.limit is not None and abs(v) > self.limit and not math.isinf(v):
            raise OverflowError(f"{self.label}: {v!r} is out of range for {self.type.name}")
        return self.ctype(v)

    def fast(self, var: str, slow: str) -> str:
        if self.limit is not None:
            return (f"(_T{var}({var}) if type({var}) is float and "
                    f"{-self.limit!r} <= {var} <= {self.limit!r} else {slow})")
        return f"(_T{var}({var}) if type({var}) is float else {slow})"


class VoidResult(Converter):
    ctype = None
    raw_result = True

    def result(self, raw: Any) -> object:
        return None

    def callback_return(self, value: object, keep: list[object]) -> object:
        if value is not None:
            raise TypeError(f"{self.label}: expected None (void), got {type(value).__name__}")
        return None
