"""The converter protocol: one Python argument to what ctypes passes, and back.

Each value kind has its converter class in a sibling module; `koffi_typed.converters.
make_converter` picks one per parameter when a function is declared. The generated callers
(`koffi_typed.callers`) inline each converter's ``fast`` expression or ``emit`` statements
and fall back on its ``convert`` for everything else.
"""

from __future__ import annotations

import ctypes
from typing import Any

from koffi_typed.buffers import pointer_address
from koffi_typed.declarations import Argument
from koffi_typed.typesystem import Type

__all__ = ["Converter", "arg_label", "bytearray_pointer", "in_argument"]


class Converter:
    """Turns one Python argument into what ctypes passes, and writes outputs back.

    ``convert`` returns a value ctypes passes as is, with no ``argtypes``: a Python int only
    for types of at most 32 bits, otherwise a ctypes scalar, ``bytes``, a ctypes array or
    structure, or ``None``. ``fast`` gives an inline expression for the generated caller.
    """

    ctype: Any = ctypes.c_void_p
    writes_back = False
    raw_result = False  # what ctypes returns for ``ctype`` is already the Python value

    def __init__(self, label: str, t: Type) -> None:
        self.label = label
        self.type = t

    def convert(self, value: object, keep: list[object]) -> object:
        raise NotImplementedError

    def write_back(self, value: object, converted: object) -> None:
        """Copy what C wrote into ``converted`` back into the caller's ``value``."""

    def fast(self, var: str, slow: str) -> str:
        """A Python expression converting variable ``var``; ``slow`` is the call to fall
        back on (this converter's `convert`, with a list keeping its temporaries)."""
        return slow

    def result(self, raw: Any) -> object:
        """The Python value of what C returned (ctypes already converted scalars)."""
        return raw

    def callback_return(self, value: object, keep: list[object]) -> object:
        """What a callback hands back to C for the Python ``value`` it returned."""
        converted = self.convert(value, keep)
        if isinstance(converted, ctypes._SimpleCData):
            return converted.value
        address = pointer_address(converted)
        if address is not None:
            keep.append(converted)
            return address
        if isinstance(converted, bytes):
            keep.append(converted)
            return ctypes.cast(ctypes.c_char_p(converted), ctypes.c_void_p).value
        return converted


def bytearray_pointer(var: str, slow: str, size: int = 1) -> str:
    """An expression passing a bytearray of at least ``size`` bytes (one pointee; at least
    one byte) as a pointer to its storage (what `buffers.buffer_argument` does, inline), else
    ``slow``."""
    enough = var if size <= 1 else f"len({var}) >= {size}"
    return f"(_byref(_char_at({var})) if type({var}) is bytearray and {enough} else {slow})"


def in_argument(label: str, exc: Exception) -> Exception:
    """The same error, prefixed with the function and argument it happened in."""
    return type(exc)(f"{label}: {exc}")


def arg_label(func: str, index: int, arg: Argument) -> str:
    return f"{func}(): argument {arg.name!r}" if arg.name else \
        f"{func}(): argument {index + 1}"
