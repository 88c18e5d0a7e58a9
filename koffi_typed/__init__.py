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
from koffi_typed.functions import Function, function_at
from koffi_typed.heap import alloc, free
from koffi_typed.library import Library, load
from koffi_typed.memory import address, decode, encode, view
from koffi_typed.pointer import ADDRESS_MAX as _ADDRESS_MAX
from koffi_typed.pointer import NULL_PAGE as _NULL_PAGE
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
    "ZERO", "Argument", "CallFuture", "Cast", "Direction", "Error", "Function", "FunctionInfo",
    "Library", "LoadError", "Member", "ParseError", "Pointer", "Ptr", "Record", "Type", "abi",
    "address", "alias",
    "alignof", "alloc", "array", "as_", "c", "call", "compiled", "config", "decode",
    "disposable", "encode", "enumeration", "errno", "free", "inout", "introspect", "load",
    "offsetof", "opaque", "os", "out", "pack", "pointer", "proto", "register", "reset", "resolve",
    "sizeof", "unregister",
    "stats", "struct", "type", "types", "union", "version", "view",
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

_calls: dict[tuple[int, int], Function[..., Any]] = {}


def call(ptr: Pointer[Any] | int, proto: object, *args: object) -> Any:
    """Call the C function at ``ptr`` with the prototype ``proto`` (``koffi.proto(...)``)."""
    addr = ptr.address if isinstance(ptr, Pointer) else 0 if ptr is None else ptr
    if not isinstance(addr, int) or isinstance(addr, bool):
        raise TypeError(f"call() needs a function pointer (a Pointer or an address), not "
                        f"{ptr.__class__.__name__}")
    if not addr:
        raise ValueError("call() needs a non-NULL function pointer")
    if not _NULL_PAGE <= addr <= _ADDRESS_MAX:
        raise ValueError(f"call(): {addr:#x} cannot be a function's address (the first page "
                         "is NULL plus an offset; addresses end at "
                         f"{_ADDRESS_MAX:#x})")
    t = type(proto)
    key = (addr, id(t))
    function = _calls.get(key)
    if function is None:
        function = _calls[key] = function_at(addr, prototype_info(t))
    return function(*args)
