"""koffi_typed: Koffi's C foreign-function interface for Python, typed.

Use it as ``import koffi_typed as koffi``; record members are annotated with the aliases in
``koffi_typed.c``.
"""

from __future__ import annotations

from koffi_typed import _codec, abi, c, types
from koffi_typed.errors import Error, LoadError, ParseError
from koffi_typed.pointer import Pointer, Ptr
from koffi_typed.records import pack, struct, union
from koffi_typed.types import (
    Member,
    Type,
    alias,
    alignof,
    array,
    disposable,
    enumeration,
    offsetof,
    opaque,
    pointer,
    sizeof,
)
from koffi_typed.types import resolve_type as type

__all__ = [
    "Error", "LoadError", "Member", "ParseError", "Pointer", "Ptr", "Type", "abi", "alias",
    "alignof", "array", "c", "compiled", "disposable", "enumeration", "introspect", "offsetof",
    "opaque", "pack", "pointer", "resolve", "sizeof", "struct", "type", "types", "union",
    "version",
]

version = "0.1.0"

#: Whether the marshalling modules run compiled by mypyc (``False``: pure Python).
compiled: bool = _codec.__file__ is not None and not _codec.__file__.endswith(".py")

resolve = type
introspect = type
