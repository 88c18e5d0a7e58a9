"""The C model: what the headers declare, reduced to what a binding needs.

`koffi_typed.stubgen.builder` fills a `Model` from pycparser's tree, the C compiler supplies
what only it knows (`koffi_typed.stubgen.compiler`), and `prune` keeps what the binding uses.
Types are `CType` trees; records, enums and function types are referred to by key. The tables
name Koffi's primitives by every C spelling, with their sizes on this host.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Final

from koffi_typed.datamodel import host_model
from koffi_typed.primitives import PRIMITIVES

__all__ = ["C_ALIASES", "FAMILIES", "NUMERIC", "PRIMS", "PTR_SIZE", "SIZES", "CType",
           "Constant", "Enum", "Function", "Member", "Model", "Proto", "Record", "decay",
           "prune", "resolved", "with_const"]

#: The size of a pointer on this host.
PTR_SIZE: Final = ctypes.sizeof(ctypes.c_void_p)
#: Koffi primitive name (and each alias) → its family (``int``, ``uint``, ``float``...).
FAMILIES: Final = {name: prim.family for prim in PRIMITIVES
                   for name in (prim.name, *prim.aliases)}
#: Koffi primitive name (and each alias) → its size in bytes on this host.
SIZES: Final = {name: host_model().scalar(prim.size_key)[0] for prim in PRIMITIVES
                for name in (prim.name, *prim.aliases)}
#: Koffi primitive name → its alias usable as ``c.<alias>`` in annotations, or "".
C_ALIASES: Final = {
    prim.name: next((n for n in (prim.name, *prim.aliases) if n.isidentifier()), "")
    for prim in PRIMITIVES}
#: The families of the scalars a binding can pass.
NUMERIC: Final = frozenset({"int", "uint", "float", "bool"})
#: Koffi primitive name (and each alias) → the primitive.
PRIMS: Final = {name: prim for prim in PRIMITIVES for name in (prim.name, *prim.aliases)}


@dataclass
class CType:
    """A C type reduced to what a binding needs.

    ``kind``: ``'prim'`` (``name``: canonical Koffi name), ``'void'``, ``'pointer'``
    (``ref``; ``const``: the pointee is const), ``'array'`` (``ref``, ``length``; None when
    the compiler must tell, see ``expr``), ``'record'`` / ``'enum'`` (``name``: key),
    ``'typedef'``, ``'func'`` (``name``: prototype key), ``'unsupported'`` (``why``).
    """

    kind: str
    name: str = ""
    ref: CType | None = None
    length: int | None = None
    expr: str = ""
    const: bool = False
    why: str = ""


@dataclass
class Member:
    """A record member; ``name`` is None for an anonymous struct/union member and for an
    unnamed bitfield (``padding``)."""

    name: str | None
    type: CType
    bits: int | None = None
    bits_expr: str = ""
    padding: bool = False


@dataclass
class Record:
    """A struct or union; ``members`` is None while only declared (opaque)."""

    key: str
    union: bool
    tag: str | None
    name: str
    file: str
    members: list[Member] | None = None
    direct: bool = False  # named by a typedef of the record itself (not of a pointer)
    pack: int | None = None
    why: str = ""  # why a defined record stays opaque
    flexible: str = ""  # a left-out flexible array member
    flexible_type: CType | None = None
    align: int | None = None  # explicit alignment given to the first member (flexible arrays)


@dataclass
class Enum:
    """An enum: values are None until the compiler tells."""

    key: str
    tag: str | None
    name: str
    file: str
    values: list[tuple[str, int | None]] = field(default_factory=list)
    direct: bool = False


@dataclass
class Proto:
    """A function type."""

    key: str
    result: CType
    params: list[tuple[str | None, CType]]
    variadic: bool


@dataclass
class Function:
    """A function declaration of the library."""

    name: str
    proto: Proto | None
    why: str = ""
    inline: bool = False


@dataclass
class Model:
    """Everything the headers declare that a binding may need."""

    records: dict[str, Record] = field(default_factory=dict)
    enums: dict[str, Enum] = field(default_factory=dict)
    typedefs: dict[str, CType] = field(default_factory=dict)
    typedef_files: dict[str, str] = field(default_factory=dict)
    protos: dict[str, Proto] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    variables: list[str] = field(default_factory=list)
    enumerators: dict[str, int | None] = field(default_factory=dict)
    library: set[tuple[str, str]] = field(default_factory=set)  # (kind, key) of the library
    exprs: dict[str, int | float | None] = field(default_factory=dict)  # for the compiler


@dataclass
class Constant:
    """A ``#define`` constant as Python: ``value`` is an int, float, str or bytes."""

    name: str
    value: int | float | str | bytes


def with_const(t: CType) -> CType:
    """``t`` with a const qualifier."""
    return CType(t.kind, t.name, t.ref, t.length, t.expr, True, t.why)


def decay(r: CType) -> CType:
    """An array parameter is a pointer to its first element."""
    if r.kind == "array" and r.ref is not None:
        return CType("pointer", ref=r.ref)
    return r


def resolved(model: Model, t: CType) -> CType:
    """``t`` with typedefs expanded everywhere (const kept); an array of unknown length is
    unsupported."""
    seen = 0
    while t.kind == "typedef" and seen < 64:
        target = model.typedefs.get(t.name)
        if target is None:
            return CType("unsupported", why=f"unknown type {t.name}")
        t = with_const(target) if t.const else target
        seen += 1
    if t.kind == "pointer" and t.ref is not None:
        return CType("pointer", ref=resolved(model, t.ref), const=t.const)
    if t.kind == "array" and t.ref is not None:
        if t.length is None:
            return CType("unsupported", why=f"array length {t.expr or '?'} is not a "
                         "constant")
        return CType("array", ref=resolved(model, t.ref), length=t.length, const=t.const)
    return t


def prune(model: Model, *, keep_library: bool) -> None:
    """Keep what the functions use, and (unless ``--only``) the library's own types."""
    needed: set[tuple[str, str]] = set()
    stack: list[CType] = []

    def push(t: CType | None) -> None:
        if t is not None:
            stack.append(t)

    for f in model.functions.values():
        if f.proto is not None:
            push(f.proto.result)
            for _, pt in f.proto.params:
                push(pt)
    if keep_library:
        for kind, key in model.library:
            push(CType(kind, key))
    while stack:
        t = stack.pop()
        while t is not None:
            item = (t.kind, t.name)
            if t.kind in ("typedef", "record", "enum", "func") and item not in needed:
                needed.add(item)
                if t.kind == "typedef":
                    push(model.typedefs.get(t.name))
                elif t.kind == "record":
                    rec = model.records.get(t.name)
                    for m in (rec.members or []) if rec else []:
                        push(m.type)
                elif t.kind == "func":
                    p = model.protos.get(t.name)
                    if p is not None:
                        push(p.result)
                        for _, pt in p.params:
                            push(pt)
            t = t.ref  # type: ignore[assignment]
    model.records = {k: r for k, r in model.records.items() if ("record", k) in needed}
    model.enums = {k: e for k, e in model.enums.items()
                   if ("enum", k) in needed or (keep_library and ("enum", k) in model.library)}
    model.typedefs = {k: t for k, t in model.typedefs.items() if ("typedef", k) in needed}
    model.protos = {k: p for k, p in model.protos.items() if ("func", k) in needed}
