"""Generate a typed binding module from C headers: ``python -m koffi_typed stubgen``.

The headers are preprocessed by the C compiler (``cc -E``, with GNU extensions defined away)
and parsed with pycparser (the optional extra ``koffi_typed[stubgen]``). The output uses the
typed declaration style: ``@lib.function`` stubs, ``@koffi.struct`` / ``@koffi.union``
classes whose members all have defaults, ``IntEnum`` + ``koffi.enumeration`` for enums,
``koffi.alias`` for typedefs, ``koffi.proto`` for function pointer types, and the integer
``#define`` constants of the headers. What cannot be translated becomes a comment saying why.

Usage::

    python -m koffi_typed.stubgen zlib.h --lib libz.so.1 -o zlib_binding.py
    python -m koffi_typed.stubgen string.h stdlib.h --lib libc.so.6 --only 'str*,qsort'
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import fnmatch
import keyword
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from koffi_typed.cparser import parse_type
from koffi_typed.errors import ParseError
from koffi_typed.primitives import PRIMITIVES

__all__ = ["generate", "main"]

#: Defines that let pycparser (C99, no GNU extensions) read glibc and friends.
CPP_FLAGS = ["-U__GNUC__", "-D__attribute__(x)=", "-D__extension__=", "-D__restrict=",
             "-D__restrict__=", "-D__inline=", "-D__inline__=", "-D__asm__(x)=",
             "-D__asm(x)=", "-D__builtin_va_list=void *", "-D__signed__=signed",
             "-D_Noreturn=", "-D__volatile__="]
RESERVED = {"lib", "koffi", "c", "Annotated", "Any", "Callable", "IntEnum", "TypeAlias",
            "annotations"}
_C_ALIASES = {prim.name: (prim.aliases[0] if prim.aliases and prim.aliases[0].isidentifier()
                          else prim.name) for prim in PRIMITIVES}
_FAMILIES = {name: prim.family for prim in PRIMITIVES for name in (prim.name, *prim.aliases)}
_PTR = "koffi.Pointer[Any]"


def _pycparser() -> Any:
    try:
        import pycparser  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise SystemExit("koffi_typed stubgen needs pycparser: pip install 'koffi_typed[stubgen]'"
                         ) from None
    return pycparser


# ---------------------------------------------------------------------------- C model


@dataclass
class CType:
    """A C type reduced to what the binding needs.

    ``kind``: 'prim' (name = canonical primitive), 'record', 'enum', 'opaque', 'void',
    'pointer' (ref), 'array' (ref, length), 'func' (proto name), 'unsupported' (why).
    """

    kind: str
    name: str = ""
    ref: CType | None = None
    length: int = 0
    const: bool = False
    why: str = ""

    def spell(self) -> str:
        """The Koffi type string."""
        if self.kind == "pointer":
            assert self.ref is not None
            return f"{self.ref.spell()} *".replace("* *", "**")
        if self.kind == "array":
            assert self.ref is not None
            return f"{self.ref.spell()} [{self.length}]"
        return self.name


@dataclass
class Record:
    name: str  # C name (tag, or typedef name for anonymous records)
    py: str
    union: bool
    members: list[tuple[str, CType, int | None]] | None  # None: opaque
    why: str = ""


@dataclass
class Proto:
    name: str
    result: CType
    params: list[tuple[str | None, CType]]
    variadic: bool


@dataclass
class Model:
    records: dict[str, Record] = field(default_factory=dict)
    enums: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    typedefs: dict[str, CType] = field(default_factory=dict)
    protos: dict[str, Proto] = field(default_factory=dict)
    functions: list[tuple[str, Proto | None, str]] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) as declared
    anon_enum_values: list[tuple[str, int]] = field(default_factory=list)


class _Unsupported(Exception):
    pass


class Builder:
    """pycparser AST → `Model`."""

    def __init__(self, c_ast: Any) -> None:
        self.c_ast = c_ast
        self.model = Model()
        self._anon = 0
        self._enum_consts: dict[str, int] = {}
        self.in_main = False
        self.main_items: set[tuple[str, str]] = set()

    # types
    def ctype(self, node: Any, owner: str = "") -> CType:
        c = self.c_ast
        if isinstance(node, c.TypeDecl):
            const = "const" in (node.quals or [])
            t = self.base(node.type, owner)
            t.const = const
            return t
        if isinstance(node, c.PtrDecl):
            if isinstance(node.type, c.FuncDecl):
                name = self.proto_for(node.type, owner or "callback")
                return CType("pointer", ref=CType("func", name))
            return CType("pointer", ref=self.ctype(node.type, owner))
        if isinstance(node, c.ArrayDecl):
            ref = self.ctype(node.type, owner)
            if node.dim is None:
                return CType("pointer", ref=ref)
            try:
                length = self.const_int(node.dim)
            except _Unsupported:
                return CType("unsupported", why="array length is not a constant")
            return CType("array", ref=ref, length=length)
        if isinstance(node, c.FuncDecl):
            return CType("func", self.proto_for(node, owner or "function"))
        if isinstance(node, c.Typename):
            return self.ctype(node.type, owner)
        return CType("unsupported", why=f"{type(node).__name__} declarator")

    def base(self, node: Any, owner: str) -> CType:
        c = self.c_ast
        if isinstance(node, c.IdentifierType):
            text = " ".join(node.names)
            if len(node.names) == 1 and node.names[0] in self.model.typedefs:
                return CType("typedef", node.names[0])
            if len(node.names) == 1 and node.names[0] in self.model.records:
                return CType("record", node.names[0])  # typedef struct X X;
            if len(node.names) == 1 and node.names[0] in self.model.enums:
                return CType("enum", node.names[0])
            if node.names == ["void"]:
                return CType("void", "void")
            if node.names in (["_Float128"], ["_Float64x"], ["_Float32x"]):
                return CType("unsupported", why=f"{text} has no Koffi type")
            try:
                canon = parse_type(text).name
            except ParseError:
                return CType("unsupported", why=f"unknown type {text}")
            if canon not in _FAMILIES:
                return CType("unsupported", why=f"unknown type {text}")
            return CType("prim", canon)
        if isinstance(node, (c.Struct, c.Union)):
            return CType("record", self.record(node, None))
        if isinstance(node, c.Enum):
            return CType("enum", self.enum(node, None))
        return CType("unsupported", why=f"{type(node).__name__}")

    def const_int(self, node: Any) -> int:
        c = self.c_ast
        if isinstance(node, c.Constant) and node.type in ("int", "unsigned int", "long int",
                                                           "unsigned long int", "long long int",
                                                           "unsigned long long int", "char"):
            if node.type == "char":
                return ord(ast.literal_eval(node.value))
            return int(node.value.rstrip("uUlL"), 0) if not node.value.rstrip("uUlL").startswith(
                "0") or node.value.rstrip("uUlL") in ("0",) or node.value.lower().startswith(
                "0x") else int(node.value.rstrip("uUlL"), 8)
        if isinstance(node, c.ID) and node.name in self._enum_consts:
            return self._enum_consts[node.name]
        if isinstance(node, c.UnaryOp) and node.op in ("-", "+", "~"):
            v = self.const_int(node.expr)
            return {"-": -v, "+": v, "~": ~v}[node.op]
        if isinstance(node, c.BinaryOp):
            a, b = self.const_int(node.left), self.const_int(node.right)
            ops = {"+": a + b, "-": a - b, "*": a * b, "|": a | b, "&": a & b, "^": a ^ b}
            if node.op in ops:
                return ops[node.op]
            if node.op == "<<":
                return a << b
            if node.op == ">>":
                return a >> b
        if isinstance(node, c.Cast):
            return self.const_int(node.expr)
        raise _Unsupported("not an integer constant expression")

    def record(self, node: Any, typedef: str | None) -> str:
        union = isinstance(node, self.c_ast.Union)
        name = node.name or typedef
        if name is None:
            self._anon += 1
            name = f"anonymous_{'union' if union else 'struct'}_{self._anon}"
        existing = self.model.records.get(name)
        if node.decls is None:
            if existing is None:
                self.model.records[name] = Record(name, name, union, None)
                self.model.order.append(("record", name))
            return name
        if existing is not None and existing.members is not None:
            return name
        members: list[tuple[str, CType, int | None]] = []
        why = ""
        for decl in node.decls:
            if decl.name is None:
                why = "anonymous nested struct/union members"
                break
            t = self.ctype(decl.type, f"{name}_{decl.name}")
            bits = self.const_int(decl.bitsize) if decl.bitsize is not None else None
            if t.kind == "unsupported":
                why = f"member {decl.name}: {t.why}"
                break
            members.append((decl.name, t, bits))
        rec = Record(name, name, union, None if why else members, why)
        if existing is None:
            self.model.order.append(("record", name))
        self.model.records[name] = rec
        return name

    def enum(self, node: Any, typedef: str | None) -> str:
        name = node.name or typedef or ""
        if node.values is None:
            return name
        values: list[tuple[str, int]] = []
        nxt = 0
        for item in node.values.enumerators:
            value = self.const_int(item.value) if item.value is not None else nxt
            self._enum_consts[item.name] = value
            values.append((item.name, value))
            nxt = value + 1
        if name:
            if name not in self.model.enums:
                self.model.order.append(("enum", name))
            self.model.enums[name] = values
        else:
            self.model.anon_enum_values.extend(values)
        return name

    def proto_for(self, node: Any, name: str) -> str:
        c = self.c_ast
        params: list[tuple[str | None, CType]] = []
        variadic = False
        for p in (node.args.params if node.args is not None else []):
            if isinstance(p, c.EllipsisParam):
                variadic = True
                continue
            t = self.ctype(p.type, f"{name}_{p.name or 'arg'}")
            if t.kind == "void" and not isinstance(p.type.type, c.PtrDecl):
                continue  # (void)
            if t.kind == "array":
                t = CType("pointer", ref=t.ref)
            params.append((getattr(p, "name", None), t))
        result = self.ctype(node.type, f"{name}_result")
        proto = Proto(name, result, params, variadic)
        if name not in self.model.protos:
            self.model.order.append(("proto", name))
        self.model.protos[name] = proto
        return name

    # top level
    def add(self, node: Any, wanted: bool) -> None:
        before = len(self.model.order)
        self._add(node, wanted)
        if self.in_main:
            self.main_items.update(self.model.order[before:])

    def _add(self, node: Any, wanted: bool) -> None:
        c = self.c_ast
        if isinstance(node, c.Typedef):
            inner = node.type
            if isinstance(inner, c.TypeDecl) and isinstance(inner.type, (c.Struct, c.Union)):
                tag = self.record(inner.type, node.name)
                if tag != node.name:
                    self.model.typedefs[node.name] = CType("record", tag)
                    self.model.order.append(("typedef", node.name))
                return
            if isinstance(inner, c.TypeDecl) and isinstance(inner.type, c.Enum):
                tag = self.enum(inner.type, node.name)
                if tag and tag != node.name:
                    self.model.typedefs[node.name] = CType("enum", tag)
                    self.model.order.append(("typedef", node.name))
                elif not tag:
                    self.model.typedefs[node.name] = CType("prim", "int")
                    self.model.order.append(("typedef", node.name))
                return
            if isinstance(inner, c.PtrDecl) and isinstance(inner.type, c.FuncDecl):
                self.proto_for(inner.type, node.name)
                self.model.typedefs[node.name] = CType("pointer", ref=CType("func", node.name))
                return
            if isinstance(inner, c.FuncDecl):
                self.proto_for(inner, node.name)
                return
            self.model.typedefs[node.name] = self.ctype(inner, node.name)
            self.model.order.append(("typedef", node.name))
            return
        if isinstance(node, c.Decl):
            if isinstance(node.type, c.FuncDecl):
                if not wanted:
                    return
                if node.name in {f[0] for f in self.model.functions}:
                    return
                try:
                    self.model.protos.pop(node.name, None)
                    proto = self.proto_for(node.type, node.name)
                    p = self.model.protos.pop(proto)
                    self.model.order.remove(("proto", proto))
                    self.model.functions.append((node.name, p, ""))
                except _Unsupported as exc:
                    self.model.functions.append((node.name, None, str(exc)))
                return
            if isinstance(node.type, (c.Struct, c.Union)):
                self.record(node.type, None)
                return
            if isinstance(node.type, c.Enum):
                self.enum(node.type, None)
                return
            if isinstance(node.type, c.TypeDecl) and isinstance(node.type.type, (c.Struct,
                                                                                 c.Union)):
                self.record(node.type.type, None)
                if node.name is None:
                    return
            elif isinstance(node.type, c.TypeDecl) and isinstance(node.type.type, c.Enum):
                self.enum(node.type.type, None)
                if node.name is None:
                    return
            if node.name is not None and wanted:
                self.model.functions.append((node.name, None, "exported variable (use "
                                             "lib.symbol)"))
            return
        if isinstance(node, c.FuncDef) and wanted:
            self.model.functions.append((node.decl.name, None, "inline function (no symbol)"))


# ---------------------------------------------------------------------------- emitting


def _py_name(name: str, used: set[str]) -> str:
    out = name.lstrip("_") + "_" if name.startswith("__") else name
    while keyword.iskeyword(out) or out in RESERVED or out in used:
        out += "_"
    used.add(out)
    return out


class Emitter:
    def __init__(self, model: Model, lib: str, source: str) -> None:
        self.m = model
        self.lib = lib
        self.source = source
        self.lines: list[str] = []
        self.used: set[str] = set()
        self.py: dict[str, str] = {}  # C record/enum/typedef name -> Python name
        self.skipped_types: dict[str, str] = {}
        self.aliases: dict[str, str] = {}  # scalar typedef -> Python alias name

    def resolve(self, t: CType) -> CType:
        """Expand typedefs (keeping const)."""
        seen = 0
        while t.kind == "typedef" and seen < 32:
            target = self.m.typedefs.get(t.name)
            if target is None:
                return CType("unsupported", why=f"unknown typedef {t.name}")
            t = CType(target.kind, target.name, target.ref, target.length,
                      target.const or t.const, target.why)
            seen += 1
        if t.kind == "pointer" and t.ref is not None:
            return CType("pointer", ref=self.resolve(t.ref), const=t.const)
        if t.kind == "array" and t.ref is not None:
            return CType("array", ref=self.resolve(t.ref), length=t.length)
        if t.kind == "record":
            rec = self.m.records.get(t.name)
            if rec is not None and rec.members is None and rec.why:
                return CType("opaque", t.name, why=rec.why)
            if rec is not None and rec.members is None:
                return CType("opaque", t.name)
        return t

    def check(self, t: CType, *, param: bool) -> None:
        t = self.resolve(t)
        if t.kind == "unsupported":
            raise _Unsupported(t.why)
        if t.kind == "pointer" and t.ref is not None:
            if t.ref.kind == "func" and t.ref.name in self.skipped_types:
                return
            if t.ref.kind not in ("opaque", "record", "func"):
                self.check(t.ref, param=False)
            return
        if t.kind == "opaque":
            raise _Unsupported(f"incomplete type {t.name} by value")
        if t.kind == "record" and t.name in self.skipped_types:
            raise _Unsupported(f"{t.name}: {self.skipped_types[t.name]}")
        if t.kind == "prim" and _FAMILIES.get(t.name) not in ("int", "uint", "float", "bool"):
            raise _Unsupported(f"{t.name}")

    def spell(self, t: CType) -> str:
        t = self.resolve(t)
        if t.kind == "pointer" and t.ref is not None:
            inner = self.spell(t.ref)
            pointer = f"{inner}*" if inner.endswith("*") else f"{inner} *"
            # const data: C does not write through it (so bytes may be passed)
            return f"const {pointer}" if self.resolve(t.ref).const and \
                not inner.endswith("*") else pointer
        if t.kind == "array" and t.ref is not None:
            return f"{self.spell(t.ref)} [{t.length}]"
        return t.name

    def value_type(self, t: CType, *, param: bool, inout: bool = False) -> str:
        """The Python type of a value of C type ``t`` (parameter or result)."""
        t = self.resolve(t)
        if t.kind == "void":
            return "None"
        if t.kind == "prim":
            fam = _FAMILIES[t.name]
            return {"float": "float", "bool": "bool"}.get(fam, "int")
        if t.kind == "enum":
            return "int" if param or t.name not in self.py else self.py[t.name]
        if t.kind == "record":
            return self.py.get(t.name, "Any")
        if t.kind == "pointer" and t.ref is not None:
            ref = t.ref
            if ref.kind == "prim" and ref.name == "char":
                return "_StrArg" if param else "str | None"
            if ref.kind == "func":
                if not param or ref.name in self.skipped_types:
                    return "_Ptr"
                return f"{self.callback_type(self.m.protos[ref.name])} | _Ptr"
            if not param:
                return "_Ptr"
            if ref.kind == "void":
                return "_VoidArg"
            if ref.kind == "opaque":
                return "_PtrArg"
            elem = self.value_type(ref, param=False)
            rec = f"{elem} | " if ref.kind == "record" else ""
            return f"{rec}list[{elem}] | _PtrArg"
        return "Any"

    def callback_type(self, proto: Proto) -> str:
        args = ", ".join(self.value_type(t, param=False) for _, t in proto.params)
        if proto.variadic:
            return "Callable[..., Any]"
        return f"Callable[[{args}], {self.value_type(proto.result, param=True)}]"

    def inout(self, t: CType) -> bool:
        """Non-const pointers to scalars, records and pointers are read and written back."""
        r = self.resolve(t)
        if r.kind != "pointer" or r.ref is None or r.ref.const:
            return False
        ref = r.ref
        if ref.kind == "prim":
            return ref.name != "char" and _FAMILIES.get(ref.name) in ("int", "uint", "float",
                                                                      "bool")
        return ref.kind in ("record", "enum") or (ref.kind == "pointer" and ref.ref is not None
                                                  and ref.ref.kind != "func")

    def annotation(self, t: CType, *, param: bool) -> str:
        r = self.resolve(t)
        spec = self.spell(t)
        if r.kind == "void" and not param:
            return "None"
        if r.kind == "prim" and t.kind == "typedef" and t.name in self.aliases:
            return self.aliases[t.name]
        if r.kind == "prim" and t.kind == "prim":
            alias = _C_ALIASES.get(r.name, "")
            if alias.isidentifier():
                return f"c.{alias}"
        if r.kind == "record" and t.kind in ("record", "typedef"):
            return self.py.get(r.name, "Any")
        if param and self.inout(t):
            return f'Annotated[{self.value_type(t, param=True)}, koffi.inout("{spec}")]'
        return f'Annotated[{self.value_type(t, param=param)}, "{spec}"]'

    def emit(self, constants: list[str]) -> str:
        out = self.lines
        out += [
            f'"""Typed bindings for {self.source}, generated by `python -m koffi_typed stubgen`',
            "(do not edit; regenerate instead).",
            '"""',
            "",
            "# ruff: noqa",
            "# mypy: disable-error-code=\"empty-body\"",
            "from __future__ import annotations",
            "",
            "from collections.abc import Callable",
            "from enum import IntEnum",
            "from typing import Annotated, Any, TypeAlias",
            "",
            "import koffi_typed as koffi",
            "from koffi_typed import c",
            "",
            f"lib = koffi.load({self.lib!r})",
            "",
            f"_Ptr: TypeAlias = {_PTR} | None",
            f"_PtrArg: TypeAlias = {_PTR} | bytes | bytearray | memoryview | None",
            f"_VoidArg: TypeAlias = {_PTR} | bytes | bytearray | memoryview | list[Any] | int"
            " | None",
            f"_StrArg: TypeAlias = str | bytes | bytearray | memoryview | {_PTR} | None",
            "",
            "",
            "def _known(name: str) -> koffi.Type | None:",
            '    """The type another binding registered as ``name`` already, if any."""',
            "    try:",
            "        return koffi.type(name)",
            "    except koffi.ParseError:",
            "        return None",
            "",
            "",
            "def _alias(name: str, spec: str) -> koffi.Type:",
            "    return _known(name) or koffi.alias(name, spec)",
            "",
            "",
            "def _opaque(name: str) -> koffi.Type:",
            "    return _known(name) or koffi.opaque(name)",
            "",
            "",
            "def _proto(name: str, prototype: str) -> koffi.Type:",
            "    return _known(name) or koffi.proto(prototype)",
        ]
        forward = [name for kind, name in self.m.order if kind == "record"]
        if forward:
            out += ["", "# forward declarations (records may point to each other)"]
            out += [f"_opaque({name!r})" for name in forward]
        for kind, name in self.m.order:  # function types only need the forward records
            if kind == "proto":
                self.emit_proto(self.m.protos[name])
        for kind, name in self.m.order:
            if kind == "record":
                self.emit_record(self.m.records[name])
            elif kind == "enum":
                self.emit_enum(name, self.m.enums[name])
            elif kind == "typedef":
                self.emit_typedef(name)
        if self.m.anon_enum_values:
            out += ["", "# anonymous enum values"]
            out += [f"{n} = {v}" for n, v in self.m.anon_enum_values]
        if constants:
            out += ["", "# #define constants", *constants]
        out += ["", "", "# functions"]
        for fname, proto, why in self.m.functions:
            self.emit_function(fname, proto, why)
        return "\n".join(out).rstrip() + "\n"

    def emit_record(self, rec: Record) -> None:
        out = self.lines
        if rec.members is None:
            py = _py_name(rec.name, self.used)
            self.py[rec.name] = py
            note = f"  # opaque: {rec.why}" if rec.why else ""
            out += ["", f"{py} = _opaque({rec.name!r}){note}"]
            return
        problems = []
        for mname, t, _bits in rec.members:
            try:
                self.check(t, param=False)
            except _Unsupported as exc:
                problems.append(f"member {mname}: {exc}")
        if problems:
            self.skipped_types[rec.name] = "; ".join(problems)
            py = _py_name(rec.name, self.used)
            self.py[rec.name] = py
            out += ["", f"# {rec.name}: not translated ({'; '.join(problems)});"
                    " declared opaque", f"{py} = _opaque({rec.name!r})"]
            self.m.records[rec.name] = Record(rec.name, py, rec.union, None, "; ".join(problems))
            return
        py = _py_name(rec.name, self.used)
        self.py[rec.name] = py
        deco = "koffi.union" if rec.union else "koffi.struct"
        if py != rec.name:
            deco += f"(name={rec.name!r})"
        out += ["", "", f"@{deco}", f"class {py}:"]
        mused: set[str] = set()
        for mname, t, bits in rec.members:
            pm = _py_name(mname, mused)
            if pm != mname:
                out.append(f"    # {mname}: renamed {pm} (Python keyword or private name)")
            r = self.resolve(t)
            default = "0"
            if bits is not None:
                ann = f'Annotated[int, c.bits("{self.spell(t)}", {bits})]'
            elif r.kind == "prim":
                ann = self.annotation(t, param=False)
                default = {"float": "0.0", "bool": "False"}.get(_FAMILIES[r.name], "0")
            elif r.kind == "enum":
                ann = f'Annotated[int, "{self.spell(t)}"]'
            elif r.kind == "pointer":
                pyt = "str | None" if r.ref is not None and r.ref.kind == "prim" and \
                    r.ref.name == "char" else "_Ptr"
                ann, default = f'Annotated[{pyt}, "{self.spell(t)}"]', "None"
            elif r.kind == "array" and r.ref is not None and r.ref.kind == "prim" and \
                    r.ref.name == "char":
                ann, default = f'Annotated[str, "{self.spell(t)}"]', '""'
            elif r.kind == "array":
                elem = self.value_type(r.ref, param=False) if r.ref else "Any"
                ann, default = f'Annotated[list[{elem}] | None, "{self.spell(t)}"]', "None"
            elif r.kind == "record":
                ann = f'Annotated[{self.py.get(r.name, "Any")} | None, "{self.spell(t)}"]'
                default = "None"
            else:
                ann, default = "Any", "None"
            out.append(f"    {pm}: {ann} = {default}")

    def emit_enum(self, name: str, values: list[tuple[str, int]]) -> None:
        py = _py_name(name, self.used)
        self.py[name] = py
        out = self.lines
        out += ["", "", f"class {py}(IntEnum):"]
        for n, v in values:
            out.append(f"    {n} = {v}")
        out += ["", f"koffi.enumeration({name!r}, {py})"]
        for n, v in values:
            out.append(f"{n} = {v}")

    def emit_typedef(self, name: str) -> None:
        t = self.m.typedefs[name]
        out = self.lines
        r = self.resolve(CType("typedef", name))
        if r.kind == "unsupported":
            self.skipped_types[name] = r.why
            out += ["", f"# typedef {name}: not translated ({r.why})"]
            return
        if r.kind == "record" and t.kind == "record":
            out += ["", f"_alias({name!r}, {r.name!r})"]
            if name not in self.used:
                self.used.add(name)
                out.append(f"{name} = {self.py.get(r.name, 'Any')}")
            return
        spec = self.spell(CType("typedef", name))
        if r.kind == "prim" and _FAMILIES.get(r.name) in ("int", "uint", "float", "bool"):
            py = _py_name(name, self.used)
            pyt = self.value_type(r, param=False)
            self.aliases[name] = py
            if name in _FAMILIES:  # size_t & co. are Koffi primitives already
                out += ["", f"{py}: TypeAlias = Annotated[{pyt}, {name!r}]"]
                return
            out += ["", f"{py}: TypeAlias = Annotated[{pyt}, _alias({name!r}, {spec!r})]"]
            return
        out += ["", f"_alias({name!r}, {spec!r})"]

    def emit_proto(self, proto: Proto) -> None:
        out = self.lines
        try:
            for _, t in proto.params:
                self.check(t, param=True)
            self.check(proto.result, param=False)
        except _Unsupported as exc:
            self.skipped_types[proto.name] = str(exc)
            out += ["", f"# function type {proto.name}: not translated ({exc})"]
            return
        py = _py_name(proto.name, self.used)
        out += ["", f"{py} = _proto({proto.name!r}, {self.prototype(proto)!r})"]

    def prototype(self, proto: Proto) -> str:
        params = [f"{self.spell(t)}{' ' + n if n else ''}".replace("* ", "*")
                  for n, t in proto.params]
        if proto.variadic:
            params.append("...")
        result = self.spell(proto.result)
        sep = "" if result.endswith("*") else " "
        return f"{result}{sep}{proto.name}({', '.join(params) or 'void'})"

    def emit_function(self, name: str, proto: Proto | None, why: str) -> None:
        out = self.lines
        if proto is None:
            out += ["", f"# {name}: not translated ({why})"]
            return
        try:
            for _, t in proto.params:
                self.check(t, param=True)
            self.check(proto.result, param=False)
        except _Unsupported as exc:
            out += ["", f"# {name}: not translated ({exc})"]
            return
        if not _exported(self.lib, name):
            out += ["", f"# {name}: not translated (not exported by {self.lib})"]
            return
        py = _py_name(name, self.used)
        if proto.variadic:
            out += ["", f"{py} = lib.func({self.prototype(proto)!r})"]
            return
        pused: set[str] = set()
        params = []
        for i, (pname, t) in enumerate(proto.params):
            pn = _py_name(pname or f"arg{i}", pused)
            params.append(f"{pn}: {self.annotation(t, param=True)}")
        deco = "@lib.function" if py == name else f"@lib.function({name!r})"
        result = self.annotation(proto.result, param=False)
        sig = f"def {py}({', '.join(params)}) -> {result}: ..."
        out += ["", "", deco]
        if len(sig) <= 100:
            out.append(sig)
        else:
            out.append(f"def {py}(")
            out += [f"    {p}," for p in params]
            out.append(f") -> {result}: ...")


_LIBS: dict[str, Any] = {}


def _exported(lib: str, name: str) -> bool:
    handle = _LIBS.get(lib)
    if handle is None:
        try:
            handle = _LIBS[lib] = ctypes.CDLL(lib)
        except OSError:
            return True  # cannot check here: trust the header
    return hasattr(handle, name)


# ---------------------------------------------------------------------------- preprocessing


_MARKER = re.compile(r'^# (\d+) "([^"]*)"((?: \d)*)\s*$')


def preprocess(headers: Sequence[str], cc: str, flags: Sequence[str]) -> tuple[str, set[str],
                                                                                list[str]]:
    """(preprocessed text, the header files themselves, #define lines of those headers)."""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "koffi_stubgen.c")
        with open(wrapper, "w", encoding="utf-8") as f:
            for h in headers:
                if os.path.exists(h):
                    f.write(f'#include "{os.path.abspath(h)}"\n')
                else:
                    f.write(f"#include <{h}>\n")
        cmd = [cc, "-E", "-dD", *CPP_FLAGS, *flags, wrapper]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit(f"stubgen: {' '.join(cmd)} failed:\n{proc.stderr}")
    text = proc.stdout
    mains: set[str] = set()
    defines: list[str] = []
    code: list[str] = []
    current = ""
    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            if "1" in m[3].split() and current == wrapper:  # entered from the wrapper
                mains.add(m[2])
            current = m[2]
            code.append(line)
            continue
        if line.startswith("#define ") or line.startswith("#undef "):
            if current in mains and line.startswith("#define "):
                defines.append(line[len("#define "):])
            code.append("")
            continue
        code.append(line)
    return "\n".join(code), mains, defines


_INT_RE = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b")


def constants(defines: list[str], known: dict[str, int]) -> list[str]:
    """Integer ``#define`` constants as Python, and comments for the others."""
    lines: list[str] = []
    skipped: dict[str, list[str]] = {}
    for d in defines:
        m = re.match(r"([A-Za-z_]\w*)(\(?)\s*(.*)$", d)
        if not m:
            continue
        name, paren, body = m[1], m[2], m[3].strip()
        if name.startswith("_"):
            skipped.setdefault("reserved or include-guard names", []).append(name)
            continue
        if paren:
            skipped.setdefault("function-like macros", []).append(name)
            continue
        if not body:
            skipped.setdefault("empty (flags for the preprocessor)", []).append(name)
            continue
        value = _eval_int(body, known)
        if value is None:
            if body.startswith('"'):
                skipped.setdefault("string values", []).append(name)
            else:
                skipped.setdefault("not integer constant expressions", []).append(name)
            continue
        known[name] = value
        if keyword.iskeyword(name) or name in RESERVED:
            skipped.setdefault("names that are Python keywords", []).append(name)
            continue
        lines.append(f"{name} = {value}")
    for why, names in skipped.items():
        lines.append(f"# not translated, {why}: {', '.join(sorted(names))}")
    return lines


def _eval_int(body: str, known: dict[str, int]) -> int | None:
    expr = _INT_RE.sub(lambda m: str(int(m[1], 0) if not (m[1].startswith("0") and len(m[1]) > 1
                                                          and m[1][1] not in "xX")
                                     else int(m[1], 8)), body)
    expr = re.sub(r"\(\s*(?:unsigned\s+|signed\s+)?(?:int|long|char|short)\s*\)", "", expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    try:
        value = _eval_node(tree.body, known)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value


def _eval_node(node: ast.AST, known: dict[str, int]) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and \
            not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval_node(node.operand, known)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Invert):
            return ~v
    if isinstance(node, ast.BinOp):
        a, b = _eval_node(node.left, known), _eval_node(node.right, known)
        ops: dict[type, Any] = {ast.Add: int.__add__, ast.Sub: int.__sub__,
                                ast.Mult: int.__mul__, ast.BitOr: int.__or__,
                                ast.BitAnd: int.__and__, ast.BitXor: int.__xor__,
                                ast.LShift: int.__lshift__, ast.RShift: int.__rshift__}
        op = ops.get(type(node.op))
        if op is not None and (not isinstance(node.op, ast.LShift) or b < 256):
            result: int = op(a, b)
            return result
    raise ValueError("not an integer constant")


# ---------------------------------------------------------------------------- entry points


def generate(headers: Sequence[str], *, lib: str, only: Sequence[str] = (), cc: str = "cc",
             flags: Sequence[str] = (), source: str | None = None) -> str:
    """The binding module (text) for ``headers``."""
    pycparser = _pycparser()
    text, mains, defines = preprocess(headers, cc, flags)
    parser = pycparser.CParser()
    try:
        tree = parser.parse(text, "<stubgen>")
    except pycparser.plyparser.ParseError as exc:
        raise SystemExit(f"stubgen: pycparser cannot read the preprocessed headers: {exc}"
                         ) from None
    builder = Builder(pycparser.c_ast)
    for node in tree.ext:
        coord = getattr(node, "coord", None)
        file = getattr(coord, "file", "") or ""
        in_main = file in mains
        name = getattr(node, "name", None) or (node.decl.name if isinstance(
            node, pycparser.c_ast.FuncDef) else None)
        wanted = in_main and (not only or (name is not None and any(
            fnmatch.fnmatchcase(name, pat) for pat in only)))
        if isinstance(node, pycparser.c_ast.Typedef) or wanted or (
                isinstance(node, pycparser.c_ast.Decl) and not isinstance(
                    node.type, pycparser.c_ast.FuncDecl)):
            builder.in_main = in_main
            builder.add(node, wanted)
    model = builder.model
    _prune(model, keep=set() if only else builder.main_items)
    known = dict(builder._enum_consts)
    consts = constants(defines, known)
    shown = source or ", ".join(os.path.basename(h) for h in headers)
    return Emitter(model, lib, shown).emit(consts)


def _prune(model: Model, *, keep: set[tuple[str, str]]) -> None:
    """Keep the types the functions need and those declared in the headers (``keep``)."""
    needed: set[tuple[str, str]] = set()

    def visit(t: CType | None) -> None:
        while t is not None:
            if t.kind == "typedef" and ("typedef", t.name) not in needed:
                needed.add(("typedef", t.name))
                visit(model.typedefs.get(t.name))
                if model.typedefs.get(t.name) is not None and \
                        model.typedefs[t.name].kind == "pointer":
                    ref = model.typedefs[t.name].ref
                    if ref is not None and ref.kind == "func":
                        visit(ref)
            if t.kind == "record" and ("record", t.name) not in needed:
                needed.add(("record", t.name))
                rec = model.records.get(t.name)
                for _, mt, _ in (rec.members or []) if rec else []:
                    visit(mt)
            if t.kind == "enum":
                needed.add(("enum", t.name))
            if t.kind == "func" and ("proto", t.name) not in needed:
                needed.add(("proto", t.name))
                p = model.protos.get(t.name)
                if p is not None:
                    visit(p.result)
                    for _, pt in p.params:
                        visit(pt)
            t = t.ref

    for _, proto, _ in model.functions:
        if proto is not None:
            visit(proto.result)
            for _, pt in proto.params:
                visit(pt)
    for item in list(keep):
        kind, name = item
        visit(CType("func" if kind == "proto" else kind, name))
    model.order = [item for item in model.order if item in needed]
    if not keep:
        model.anon_enum_values = []


def main(argv: list[str] | None = None) -> int:
    """Command line: ``stubgen HEADER... --lib LIB [-o OUT] [--only PATTERNS]``."""
    ap = argparse.ArgumentParser(prog="python -m koffi_typed stubgen",
                                 description="Generate typed koffi_typed bindings from C headers.")
    ap.add_argument("headers", nargs="+", help="header files or <system> header names")
    ap.add_argument("--lib", required=True, help="shared library to load (e.g. libz.so.1)")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    ap.add_argument("--only", default="", help="comma-separated fnmatch patterns of functions")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="C compiler (cc)")
    ap.add_argument("-D", dest="defines", action="append", default=[], help="preprocessor "
                    "define")
    ap.add_argument("-I", dest="includes", action="append", default=[], help="include dir")
    args = ap.parse_args(argv)
    flags = [f"-D{d}" for d in args.defines] + [f"-I{i}" for i in args.includes]
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    text = generate(args.headers, lib=args.lib, only=only, cc=args.cc, flags=flags)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
