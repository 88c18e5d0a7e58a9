"""koffi_typed: Koffi's C foreign-function interface for Python, typed.

Use it as ``import koffi_typed as koffi``; record members are annotated with the aliases in
``koffi_typed.c``.
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypeVar

from koffi_typed import _codec, abi, c, types
from koffi_typed.bases import ZERO, CallFuture, Record
from koffi_typed.callbacks import register, unregister
from koffi_typed.declarations import (
    Argument,
    Direction,
    FunctionInfo,
    inout,
    out,
    proto,
    prototype_info,
)
from koffi_typed.errors import Error, LoadError, ParseError
from koffi_typed.functions import Function, function_address, function_at
from koffi_typed.heap import alloc, free
from koffi_typed.library import Library, extension, load
from koffi_typed.memory import address, decode, encode, view
from koffi_typed.pointer import Cast, Pointer, as_
from koffi_typed.records import pack, struct, union
from koffi_typed.runtime import config, errno, os, reset, stats
from koffi_typed.typesystem import (
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
from koffi_typed.typesystem import resolve_type as type

__all__ = [
    "ZERO", "Argument", "CallFuture", "Cast", "Direction", "Error", "Function",
    "FunctionInfo", "Library", "LibraryHandle", "LoadError", "Member", "ParseError",
    "Pointer", "Ptr", "Record", "Type", "TypeObject", "abi", "address", "alias",
    "alignof", "alloc", "array", "as_", "c", "call", "compiled", "config", "decode",
    "disposable", "encode", "enumeration", "errno", "extension", "free", "inout",
    "introspect", "load", "offsetof", "opaque", "os", "out", "pack", "pointer", "proto",
    "register", "reset", "resolve", "sizeof", "unregister", "stats", "struct", "type",
    "types", "union", "version", "view",
]

version = "0.1.0"

_T = TypeVar("_T")

#: A pointer member: ``next: koffi.Ptr["Node"]`` is ``Pointer[Node] | None`` (NULL reads as
#: None); forward references by name are allowed.
Ptr: TypeAlias = Pointer[_T] | None

#: Whether the marshalling modules run compiled by mypyc (``False``: pure Python).
compiled: bool = _codec.__file__ is not None and not _codec.__file__.endswith(".py")

resolve = type
introspect = type

#: Koffi's names for the library and type classes (``isinstance(x, koffi.TypeObject)``).
LibraryHandle = Library
TypeObject = Type

#: ``koffi.call``'s functions by (address, id of the prototype), with the prototype.
_calls: dict[tuple[int, int], tuple[Type, Function[..., Any]]] = {}


def call(ptr: Pointer[Any] | Cast | int, proto: object, *args: object) -> Any:
    """Call the C function at ``ptr`` with the prototype ``proto`` (``koffi.proto(...)``)."""
    t = type(proto)
    info = prototype_info(t)
    target = t.ref if t.primitive == "Callback" and t.ref is not None else t
    addr = function_address(ptr, target, info)
    key = (addr, id(t))
    cached = _calls.get(key)
    if cached is None or cached[0] is not t:  # (a type that died may have left its id)
        cached = _calls[key] = (t, function_at(addr, info))
    return cached[1](*args)
