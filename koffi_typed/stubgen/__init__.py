"""Generate a typed binding module from C headers: ``python -m koffi_typed stubgen``.

Usage::

    python -m koffi_typed stubgen zlib.h --lib libz.so.1 -o zlib_binding.py
    python -m koffi_typed stubgen SDL2/SDL.h --lib libSDL2-2.0.so.0 -o sdl2.py
    python -m koffi_typed stubgen string.h stdlib.h --lib libc.so.6 --only 'str*,qsort'

How it works:

1. The C compiler preprocesses the headers (``cc -E -dD``, GNU extensions defined away); the
   bodies of inline functions are blanked (only declarations matter).
2. pycparser (the optional extra ``koffi_typed[stubgen]``, 2.x or 3.x) parses the result. A
   declaration it cannot read is reported (header, line, C text), left out, and parsing
   starts again without it; the generator never ends in a traceback.
3. Declarations are kept when they come from the library's own headers: the directory of a
   header named with a directory (``SDL2/SDL.h`` keeps everything under ``SDL2/``, in every
   include directory), otherwise the headers whose names start like it (``png.h`` keeps
   ``pngconf.h``); a header given as a path keeps its directory. ``--include-dir`` adds
   directories, ``--prefix`` adds names (``--prefix SDL_``). Types they use come along from
   anywhere.
4. Constants (``#define``, enum values, array lengths, bitfield widths) are evaluated by
   `koffi_typed.stubgen.cexpr` with C's rules; what it cannot decide (``sizeof`` of a record,
   function-like macros such as ``SSL_OP_BIT(n)``) the C compiler computes in one small
   program.
5. Everything is named (rules below), ordered so that each definition follows what it uses,
   and written out: ``@lib.function`` stubs, ``@koffi.struct`` / ``@koffi.union`` classes,
   ``IntEnum`` classes, scalar type aliases, ``koffi.proto`` function types, constants.

Naming rules (the C name always stays the symbol and type name; only the Python name moves):

* a name starting with two underscores loses its leading underscores and gains a trailing one
  (``__jmp_buf_tag`` → ``jmp_buf_tag_``);
* a Python keyword, or a name the module uses itself (`RESERVED`: ``lib``, ``koffi``, ``c``,
  ``array``, the typing names, the builtins that appear in annotations and the module's
  private helpers), gains a trailing ``_`` (``in`` → ``in_``, ``None`` → ``None_``, ``str`` →
  ``str_``);
* when two C names would take the same Python name, functions win over types, types over
  enumerators, enumerators over macros; a struct/union/enum tag that clashes is named
  ``struct_<tag>`` (``union_``, ``enum_``); any remaining clash gains ``_``;
* record members: keywords, ``self``, ``from_buffer``, names used by the record's own
  annotations (``c``, ``koffi``, class names...) and Koffi padding names (``_``, ``_1``) gain
  ``_``; anonymous struct/union members are named ``anon_0``, ``anon_1``... and unnamed
  bitfields become Koffi padding members ``_0``, ``_1``...;
* IntEnum members: names starting with ``_`` get an ``m`` in front (``_x`` → ``m_x``; Enum
  reserves ``_sunder_`` names), and the attributes of ``IntEnum`` (``name``, ``value``,
  ``real``, ``mro``...) gain ``_``; the module-level constant keeps the rule above;
* a C type name that Koffi already uses for another type (``string``, ``str``, a primitive)
  is registered with a trailing ``_``; one that means the same primitive (``uint``,
  ``size_t``) is not registered again;
* macros whose names start with ``_`` (reserved in C, include guards) are left out.

A renamed function is bound by its C name (``@lib.function("in")``); a renamed record keeps
its C name for type strings (``@koffi.struct(name="str")``).
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import enum
import fnmatch
import keyword
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from koffi_typed.stubgen.builder import Builder
from koffi_typed.stubgen.cmodel import (
    C_ALIASES,
    FAMILIES,
    SIZES,
    Constant,
    CType,
    Enum,
    Function,
    Member,
    Model,
    Proto,
    Record,
    decay,
    prune,
    with_const,
)
from koffi_typed.stubgen.compiler import (
    check_layouts,
    compiler_values,
    fill_values,
    layout_queries,
)
from koffi_typed.stubgen.errors import StubgenError
from koffi_typed.stubgen.macros import macro_constants, macro_notes
from koffi_typed.stubgen.parse import Skipped, deep_recursion, load_pycparser, parse
from koffi_typed.stubgen.preprocess import library_files, preprocess

__all__ = ["RESERVED", "StubgenError", "generate", "main", "python_name"]

#: Names the generated module defines or uses in annotations: a C name never takes them.
RESERVED: Final = frozenset({
    "lib", "koffi", "c", "array", "Annotated", "Any", "Callable", "IntEnum", "TypeAlias",
    "TypeVar", "TYPE_CHECKING", "annotations", "int", "float", "bool", "str", "bytes",
    "bytearray", "memoryview", "list", "object", "type", "None", "True", "False",
    "_T", "_Buf", "_Ref", "_CRef", "_Handle", "_VoidRef", "_CVoidRef", "_Chars", "_CChars",
    "_alias", "_opaque", "_proto", "_enumeration"})
#: Attributes of IntEnum classes that an enumerator must not shadow.
_ENUM_ATTRS: Final = frozenset(dir(enum.IntEnum)) | {"name", "value", "mro", "_missing_"}
#: Member names the record machinery uses itself.
_MEMBER_RESERVED: Final = frozenset({"self", "from_buffer", "_koffi_keep", "_koffi_bytes"})


# ---------------------------------------------------------------------------- names


def python_name(name: str, used: set[str] | frozenset[str] = frozenset(),
                reserved: frozenset[str] = RESERVED) -> str:
    """The Python spelling of the C name ``name`` under the module's naming rules (see the
    module docstring); ``used`` holds the names already taken."""
    out = name.lstrip("_") + "_" if name.startswith("__") else name
    while keyword.iskeyword(out) or out in reserved or out in used:
        out += "_"
    return out


def member_name(name: str, used: set[str], avoid: set[str]) -> str:
    """A record member: the class body only needs to avoid what its annotations use."""
    out = python_name(name, used, _MEMBER_RESERVED | frozenset(avoid))
    while out == "_" or (out[:1] == "_" and out[1:].isdigit()) or out in avoid or out in used:
        out += "_"
    return out


def enum_member_name(name: str, used: set[str]) -> str:
    """An IntEnum member: also avoids the attributes of IntEnum and underscore names (Enum
    reserves ``_sunder_`` names and does not make ``__private`` ones members)."""
    out = "m" + name if name.startswith("_") else name
    while keyword.iskeyword(out) or out in _ENUM_ATTRS or out in used or not out:
        out += "_"
    return out


# ---------------------------------------------------------------------------- generation


def generate(headers: Sequence[str], *, lib: str, only: Sequence[str] = (), cc: str = "cc",
             flags: Sequence[str] = (), source: str | None = None,
             include_dirs: Sequence[str] = (), prefixes: Sequence[str] = (),
             warn: Callable[[str], None] | None = None, command: str | None = None) -> str:
    """The binding module (text) for ``headers``; raises `StubgenError`."""
    warn = warn or (lambda msg: print(f"stubgen: warning: {msg}", file=sys.stderr))
    pycparser = load_pycparser()
    pre = preprocess(headers, cc, flags)
    files = library_files(pre, include_dirs)

    def is_library(file: str, name: str | None) -> bool:
        if file in files:
            return True
        return name is not None and any(name.startswith(p) for p in prefixes)

    tree, skipped = parse(pre, pycparser)
    for s in skipped:
        warn(f"{s.file}:{s.line}: left out, pycparser cannot read it ({s.reason}): {s.text}")
    builder = Builder(pycparser, is_library)
    with deep_recursion():
        for node in tree.ext:
            builder.add(node)
    model = builder.model
    if only:
        model.functions = {n: f for n, f in model.functions.items()
                           if any(fnmatch.fnmatchcase(n, p) for p in only)}
    macros = macro_constants(pre, builder, is_library)
    prune(model, keep_library=not only)
    queries = layout_queries(model)
    pending = [e for e, v in model.exprs.items() if v is None]
    pending += [m for m, v in macros.items() if v is None]
    pending += [q for qs in queries.values() for q in qs.values()]
    computed = compiler_values(headers, pending, cc, flags, warn) if pending else {}
    for e in model.exprs:
        if e in computed:
            model.exprs[e] = computed[e]
    for m in macros:
        if macros[m] is None and m in computed:
            macros[m] = computed[m]
    fill_values(model)
    check_layouts(model, queries, computed)
    constants = [Constant(n, v) for n, v in macros.items() if v is not None]
    shown = source or ", ".join(headers)
    text = Emitter(model, lib, shown, command, macro_notes(pre, macros, is_library),
                   skipped).emit(constants)
    return text

# ---------------------------------------------------------------------------- emitting


_HELPERS: Final = '''

def _alias(name: str, spec: str) -> koffi.Type:
    """koffi.alias, or the type another binding registered under that name already."""
    try:
        return koffi.type(name)
    except koffi.ParseError:
        return koffi.alias(name, spec)


def _opaque(name: str) -> koffi.Type:
    try:
        return koffi.type(name)
    except koffi.ParseError:
        return koffi.opaque(name)


def _proto(name: str, prototype: str) -> koffi.Type:
    try:
        return koffi.type(name)
    except koffi.ParseError:
        return koffi.proto(prototype)


def _enumeration(name: str, values: type[IntEnum]) -> koffi.Type:
    try:
        return koffi.type(name)
    except koffi.ParseError:
        return koffi.enumeration(name, values)
'''

#: Parameter type aliases: what C accepts for pointers, by pointee (see the README).
_PARAM_ALIASES: Final = {
    "_Buf": ("if TYPE_CHECKING:\n"
             "    _Buf: TypeAlias = bytearray | memoryview | array.array[Any]\n"
             "else:  # array.array is not subscriptable at run time before Python 3.12\n"
             "    _Buf = bytearray | memoryview | array.array"),
    "_Ref": "_Ref: TypeAlias = _T | list[_T] | koffi.Pointer[_T] | _Buf | koffi.Cast | None",
    "_CRef": "_CRef: TypeAlias = _T | list[_T] | koffi.Pointer[_T] | _Buf | bytes | koffi.Cast"
             " | None",
    "_Handle": "_Handle: TypeAlias = koffi.Pointer[_T] | koffi.Cast | None",
    "_VoidRef": "_VoidRef: TypeAlias = koffi.Pointer[Any] | _Buf | int | koffi.Cast | None",
    "_CVoidRef": "_CVoidRef: TypeAlias = koffi.Pointer[Any] | _Buf | bytes | int | koffi.Cast"
                 " | None",
    "_Chars": "_Chars: TypeAlias = str | _Buf | koffi.Pointer[Any] | koffi.Cast | None",
    "_CChars": "_CChars: TypeAlias = str | bytes | _Buf | koffi.Pointer[Any] | koffi.Cast | None",
}
_ALIAS_NEEDS: Final = {"_Ref": ("_T", "_Buf"), "_CRef": ("_T", "_Buf"), "_Handle": ("_T",),
                       "_VoidRef": ("_Buf",), "_CVoidRef": ("_Buf",), "_Chars": ("_Buf",),
                       "_CChars": ("_Buf",)}
_STRING_PRIMS: Final = {"char": "str", "char16_t": "str16", "char32_t": "str32",
                        "wchar_t": "wstring"}


class Emitter:
    """`Model` → module text."""

    def __init__(self, model: Model, lib: str, source: str, command: str | None,
                 macro_notes: dict[str, list[str]], skipped: list[Skipped]) -> None:
        self.m = model
        self.lib = lib
        self.source = source
        self.command = command
        self.macro_notes = macro_notes
        self.skipped = skipped
        self.out: list[str] = []
        self.used_aliases: set[str] = set()
        self.used_names: set[str] = set()  # imports actually used
        self.cname: dict[tuple[str, str], str] = {}  # (kind, key) -> Koffi registry name
        self.pyname: dict[tuple[str, str], str] = {}  # (kind, key) -> Python name
        self.fn_names: dict[str, str] = {}
        self.opaque_why: dict[str, str] = {}
        self.scalar_alias: dict[str, str] = {}  # typedef -> Python TypeAlias name

    # --- names
    def assign_names(self, constants: list[Constant]) -> list[tuple[str, str, int | float | str
                                                                    | bytes]]:
        m = self.m
        taken: set[str] = set()
        prim_names = set(FAMILIES)
        # Koffi registry names: typedefs keep theirs unless they clash with a primitive that
        # means something else; tags yield to typedefs of the same name.
        registry: set[str] = set()
        for name, t in m.typedefs.items():
            r = self.resolve(t)
            if name in prim_names and r.kind == "prim" and _same_prim(r.name, name):
                self.cname[("typedef", name)] = name
                continue
            if r.kind in ("record", "enum") and self.item(r).name == name:
                continue  # typedef struct {...} T, typedef struct T T: one type
            fn = r if r.kind == "func" else r.ref if r.kind == "pointer" else None
            if fn is not None and fn.kind == "func" and fn.name == name:
                continue  # typedef int (*T)(...): the function type T
            self.cname[("typedef", name)] = _unique(name, registry | prim_names)
            registry.add(self.cname[("typedef", name)])
        for kind, items in (("record", m.records), ("enum", m.enums)):
            for key, item in items.items():
                base = item.name
                cn = base
                if cn in registry or cn in prim_names or not cn.isidentifier():
                    prefix = key.split()[0]
                    cn = _unique(f"{prefix}_{base}" if cn.isidentifier() else f"{prefix}_anon",
                                 registry | prim_names)
                registry.add(cn)
                self.cname[(kind, key)] = cn
        for key in m.protos:
            cn = _unique(key, registry | prim_names)
            registry.add(cn)
            self.cname[("func", key)] = cn
        # Python names: functions, then types, then enumerators, then macros.
        for name, f in m.functions.items():
            if f.proto is None:
                continue
            py = python_name(name, taken)
            taken.add(py)
            self.fn_names[name] = py
        for kind, items in (("record", m.records), ("enum", m.enums)):
            for key, item in items.items():
                base = self.cname[(kind, key)]
                py = python_name(base, taken)
                if py != base and item.tag is not None and not base.startswith(
                        key.split()[0] + "_"):
                    py = python_name(f"{key.split()[0]}_{base}", taken)
                taken.add(py)
                self.pyname[(kind, key)] = py
        for name in m.typedefs:
            r = self.resolve(CType("typedef", name))
            if r.kind in ("record", "enum") and self.pyname.get((r.kind, r.name)) == \
                    python_name(name, set()):
                continue
            py = python_name(name, taken)
            taken.add(py)
            self.pyname[("typedef", name)] = py
        consts: list[tuple[str, str, int | float | str | bytes]] = []
        seen_values: dict[str, int | None] = {}
        for en in m.enums.values():
            if ("enum", en.key) not in m.library and en.tag is not None:
                continue
            for n, v in en.values:
                if v is None or n in seen_values:
                    continue
                seen_values[n] = v
                py = python_name(n, taken)
                taken.add(py)
                consts.append((n, py, v))
        for const in constants:
            if const.name in seen_values or const.name in m.functions:
                continue
            py = python_name(const.name, taken)
            taken.add(py)
            consts.append((const.name, py, const.value))
        return consts

    def item(self, r: CType) -> Record | Enum:
        return self.m.records[r.name] if r.kind == "record" else self.m.enums[r.name]

    # --- type resolution
    def resolve(self, t: CType) -> CType:
        """Typedefs expanded everywhere (const kept), arrays of unknown length unsupported."""
        seen = 0
        while t.kind == "typedef" and seen < 64:
            target = self.m.typedefs.get(t.name)
            if target is None:
                return CType("unsupported", why=f"unknown type {t.name}")
            t = with_const(target) if t.const else target
            seen += 1
        if t.kind == "pointer" and t.ref is not None:
            return CType("pointer", ref=self.resolve(t.ref), const=t.const)
        if t.kind == "array" and t.ref is not None:
            if t.length is None:
                return CType("unsupported", why=f"array length {t.expr or '?'} is not a "
                             "constant")
            return CType("array", ref=self.resolve(t.ref), length=t.length, const=t.const)
        return t

    def problem(self, t: CType, *, by_value: bool = True) -> str | None:
        """Why ``t`` cannot be used (None if it can)."""
        r = self.resolve(t)
        if r.kind == "unsupported":
            return r.why
        if r.kind == "pointer" and r.ref is not None:
            ref = r.ref
            if ref.kind == "func":
                return self.proto_problem(ref.name)
            if ref.kind in ("record", "void"):
                return None
            return self.problem(ref, by_value=False)
        if r.kind == "array":
            if r.length == 0 and by_value:
                return "array of unknown length"
            return self.problem(r.ref, by_value=by_value) if r.ref else None
        if r.kind == "record":
            rec = self.m.records.get(r.name)
            if by_value and (rec is None or rec.members is None):
                return f"incomplete type {rec.name if rec else r.name} by value"
            if by_value and rec is not None and rec.key in self.opaque_why:
                return f"{rec.name}: {self.opaque_why[rec.key]}"
            return None
        if r.kind == "func":
            return "function type by value"
        if r.kind == "enum":
            en = self.m.enums.get(r.name)
            if en is not None and any(v is None for _, v in en.values):
                return f"enum {en.name} has values the compiler could not give"
            return None
        return None

    def proto_problem(self, key: str) -> str | None:
        p = self.m.protos.get(key)
        if p is None:
            return f"unknown function type {key}"
        if p.variadic:
            return "variadic callback"
        for _, pt in p.params:
            why = self.problem(decay(self.resolve(pt)))
            if why is not None:
                return why
        return self.problem(p.result) if self.resolve(p.result).kind != "void" else None

    def spell(self, t: CType, *, param: bool = False) -> str:
        """The Koffi type string (registry names, const kept, arrays decayed in parameters)."""
        r = self.resolve(t)
        if param and r.kind == "array" and r.ref is not None:
            r = CType("pointer", ref=r.ref, const=r.ref.const)
        const = "const " if r.const and r.kind not in ("pointer", "array") else ""
        if r.kind == "pointer" and r.ref is not None:
            inner = self.spell(r.ref)
            return f"{inner}*" if inner.endswith("*") else f"{inner} *"
        if r.kind == "array" and r.ref is not None:
            inner = self.spell(r.ref)
            m = re.match(r"(.*?) ((?:\[\d+\])+)$", inner)
            if m:  # C order: int [2][3] is 2 arrays of 3
                return f"{m[1]} [{r.length}]{m[2]}"
            return f"{inner} [{r.length}]"
        if r.kind in ("record", "enum"):
            return const + self.cname[(r.kind, r.name)]
        if r.kind == "func":
            return self.cname[("func", r.name)]
        return const + r.name

    # --- Python types
    def value_type(self, t: CType) -> str:
        """The Python type of a C value coming out of C (results, members, callback args)."""
        r = self.resolve(t)
        if r.kind == "void":
            return "None"
        if r.kind == "prim":
            return {"float": "float", "bool": "bool"}.get(FAMILIES[r.name], "int")
        if r.kind == "enum":
            return self.pyname.get(("enum", r.name), "int")
        if r.kind == "record":
            return self.pyname[("record", r.name)]
        if r.kind == "array" and r.ref is not None:
            ref = self.resolve(r.ref)
            if ref.kind == "prim" and ref.name in _STRING_PRIMS:
                return "str"
            return f"list[{self.value_type(ref)}]"
        if r.kind == "pointer" and r.ref is not None:
            ref = self.resolve(r.ref)
            if ref.kind == "prim" and ref.name in _STRING_PRIMS:
                return "str | None"
            return f"koffi.Pointer[{self.pointee_type(ref)}] | None"
        return "Any"

    def pointee_type(self, ref: CType) -> str:
        if ref.kind in ("void", "func") or ref.kind == "array":
            return "Any"
        if ref.kind == "enum":
            return "int"
        return self.value_type(ref)

    def param_type(self, t: CType) -> str:
        """The Python types a parameter of C type ``t`` accepts."""
        r = self.resolve(t)
        if r.kind == "array" and r.ref is not None:
            r = CType("pointer", ref=r.ref)
        if r.kind == "enum":
            return "int"
        if r.kind != "pointer" or r.ref is None:
            return self.value_type(r)
        ref = r.ref
        if ref.kind == "func":
            return f"{self.callback_type(ref.name)} | koffi.Pointer[Any] | None"
        if ref.kind == "void":
            return self.use("_CVoidRef" if ref.const else "_VoidRef")
        if ref.kind == "prim" and ref.name in _STRING_PRIMS:
            return self.use("_CChars" if ref.const else "_Chars")
        if ref.kind == "record":
            rec = self.m.records[ref.name]
            if rec.members is None or rec.key in self.opaque_why:
                return f"{self.use('_Handle')}[{self.pyname[('record', ref.name)]}]"
        return f"{self.use('_CRef' if ref.const else '_Ref')}[{self.pointee_type(ref)}]"

    def callback_type(self, key: str) -> str:
        p = self.m.protos[key]
        args = ", ".join(self.value_type(decay(self.resolve(pt))) for _, pt in p.params)
        result = self.resolve(p.result)
        ret = "None" if result.kind == "void" else "Any" if result.kind == "pointer" else \
            self.value_type(result) if result.kind != "enum" else "int"
        return f"Callable[[{args}], {ret}]"

    def use(self, alias: str) -> str:
        self.used_aliases.add(alias)
        return alias

    def inout(self, t: CType) -> bool:
        """Non-const pointers to scalars, records and pointers are read and written back."""
        r = decay(self.resolve(t))
        if r.kind != "pointer" or r.ref is None or r.ref.const:
            return False
        ref = r.ref
        if ref.kind == "prim":
            return ref.name not in _STRING_PRIMS
        if ref.kind == "record":
            rec = self.m.records[ref.name]
            return rec.members is not None and rec.key not in self.opaque_why
        return ref.kind in ("enum", "pointer")

    def annotation(self, t: CType, *, param: bool) -> str:
        """The annotation of a parameter or result: Python type + C type."""
        r = self.resolve(t)
        if r.kind == "void" and not param:
            return "None"
        if t.kind == "typedef" and t.name in self.scalar_alias and r.kind == "prim":
            return self.scalar_alias[t.name]
        if t.kind == "prim" and not t.const and C_ALIASES.get(t.name):
            return f"c.{C_ALIASES[t.name]}"
        if r.kind == "record" and not param:
            return self.pyname[("record", r.name)]
        spec = self.spell(t, param=param)
        pytype = self.param_type(t) if param else self.value_type(t)
        if param and self.inout(t):
            return f'Annotated[{pytype}, koffi.inout("{spec}")]'
        return f'Annotated[{pytype}, "{spec}"]'

    # --- module
    def emit(self, constants: list[Constant]) -> str:
        m = self.m
        self.mark_opaque()
        consts = self.assign_names(constants)
        body: list[str] = []
        self.out = body
        self.emit_forward()
        self.section("scalar types")
        for name in m.typedefs:
            self.emit_scalar_alias(name)
        self.section("enums")
        for en in m.enums.values():
            self.emit_enum(en)
        self.section("records and function types, each after what it uses")
        for kind, key in self.order():
            if kind == "record":
                self.emit_record(m.records[key])
            else:
                self.emit_proto(m.protos[key])
        self.section("other type names")
        for name in m.typedefs:
            self.emit_type_alias(name)
        self.section("")
        del body[-3:]
        if consts:
            body += ["", "", "# -- constants"]
            for cname, py, value in consts:
                body.append(f"{py} = {_literal(value)}" + (f"  # {cname}" if py != cname
                                                             else ""))
        for why, names in self.macro_notes.items():
            body.append(f"# not translated, {why}: {', '.join(sorted(set(names)))}")
        body += ["", "", "# -- functions"]
        for f in m.functions.values():
            self.emit_function(f)
        for v in m.variables:
            body += ["", f"# {v}: not translated (exported variable; use lib.symbol({v!r}))"]
        head = self.header()
        return "\n".join(head + body).rstrip() + "\n"

    def section(self, title: str) -> None:
        """Start a section; one that stays empty is dropped again by `emit`."""
        while self.out and self.out[-1].startswith("# -- "):
            del self.out[-3:]
        self.out += ["", "", f"# -- {title}"]

    def header(self) -> list[str]:
        body = "\n".join(self.out)
        aliases = set(self.used_aliases)
        for alias in self.used_aliases:
            aliases.update(a for a in _ALIAS_NEEDS.get(alias, ()) if a != "_T")
        need_t = any("_T" in _ALIAS_NEEDS.get(a, ()) for a in aliases)
        definitions = (['_T = TypeVar("_T")'] if need_t else []) + [
            _PARAM_ALIASES[a] for a in _PARAM_ALIASES if a in aliases]
        helpers = [ch.strip("\n") for ch in _HELPERS.split("\n\n\n")
                   if any(re.search(rf"\b{h}\(", body) and f"def {h}(" in ch
                          for h in ("_alias", "_opaque", "_proto", "_enumeration"))]
        text = "\n".join([body, *definitions, *helpers])
        names = {node.id for node in ast.walk(ast.parse(text))  # names read, not defined
                 if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}

        def uses(name: str) -> bool:
            return name in names

        typing_names = [n for n in ("Annotated", "Any", "TYPE_CHECKING", "TypeAlias", "TypeVar")
                        if uses(n)]
        generated = "generated by `python -m koffi_typed stubgen`"
        lines = [f'"""Typed bindings for {self.source} ({self.lib}), {generated}.', ""]
        if self.command:
            lines += ["Regenerate it, do not edit it::", "", f"    {self.command}"]
        else:
            lines += ["Regenerate it, do not edit it."]
        lines += ['"""', "", "# ruff: noqa", '# mypy: disable-error-code="empty-body"',
                  "from __future__ import annotations", ""]
        if uses("array"):
            lines.append("import array")
        if uses("Callable"):
            lines.append("from collections.abc import Callable")
        if uses("IntEnum"):
            lines.append("from enum import IntEnum")
        if typing_names:
            lines.append(f"from typing import {', '.join(typing_names)}")
        lines += ["", "import koffi_typed as koffi"]
        if uses("c"):
            lines.append("from koffi_typed import c")
        lines += ["", f"lib = koffi.load({self.lib!r})"]
        if self.skipped:
            lines += ["", "# left out, pycparser cannot read them:"]
            lines += [f"#   {s.file}:{s.line}: {s.text[:120]}" for s in self.skipped]
        for h in helpers:
            lines += ["", "", h]
        if definitions:
            lines += ["", "", *definitions]
        return lines

    def mark_opaque(self) -> None:
        """Records that cannot be translated become opaque (reason kept), to a fixed point."""
        changed = True
        while changed:
            changed = False
            for key, rec in self.m.records.items():
                if rec.members is None or key in self.opaque_why:
                    continue
                why = rec.why
                for mem in rec.members if not why else []:
                    if mem.bits is None and mem.bits_expr:
                        why = f"member {mem.name}: bitfield width is not a constant"
                        break
                    problem = self.problem(self.member_type(mem))
                    if problem is not None:
                        why = f"member {mem.name or 'anonymous'}: {problem}"
                        break
                if why:
                    self.opaque_why[key] = why
                    changed = True

    def order(self) -> list[tuple[str, str]]:
        """Records and function types, each after what it needs by value (depth first)."""
        m = self.m
        done: set[tuple[str, str]] = set()
        active: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []

        def deps(item: tuple[str, str]) -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            types: list[CType] = []
            if item[0] == "record":
                rec = m.records[item[1]]
                if rec.members is not None and item[1] not in self.opaque_why:
                    types = [mem.type for mem in rec.members]
            else:
                p = m.protos[item[1]]
                types = [p.result, *(pt for _, pt in p.params)]
            for t in types:
                r = self.resolve(t)
                while r.kind == "array" and r.ref is not None:
                    r = r.ref
                if r.kind == "record":
                    found.append(("record", r.name))
                elif r.kind == "pointer" and r.ref is not None:
                    ref = r.ref
                    while ref.kind == "pointer" and ref.ref is not None:
                        ref = ref.ref
                    if ref.kind == "func" and ref.name in m.protos:
                        found.append(("func", ref.name))
            return found

        roots = [("record", k) for k in m.records] + [("func", k) for k in m.protos]
        for root in roots:
            if root in done:
                continue
            stack: list[tuple[tuple[str, str], Iterator[tuple[str, str]]]] = [
                (root, iter(deps(root)))]
            active.add(root)
            while stack:
                item, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    active.discard(item)
                    done.add(item)
                    out.append(item)
                elif nxt not in done and nxt not in active:
                    active.add(nxt)
                    stack.append((nxt, iter(deps(nxt))))
        return out

    def emit_forward(self) -> None:
        out = self.out
        defined = [k for k, r in self.m.records.items()
                   if r.members is not None and k not in self.opaque_why]
        if defined:
            out += ["", "", "# -- C names of the records, so that pointers may refer to them early"]
            out += [f"_opaque({self.cname[('record', k)]!r})" for k in defined]
        for key, rec in self.m.records.items():
            if rec.members is not None and key not in self.opaque_why:
                continue
            py = self.pyname[("record", key)]
            why = self.opaque_why.get(key, "")
            note = f"not translated ({why})" if why else "declared, never defined"
            out += ["", "", f"class {py}:",
                    f'    """Opaque C {"union" if rec.union else "struct"} '
                    f'{self.cname[("record", key)]} ({note}): only pointers to it are used."""',
                    "", f"    __koffi_type__ = _opaque({self.cname[('record', key)]!r})"]

    def emit_scalar_alias(self, name: str) -> None:
        r = self.resolve(CType("typedef", name))
        if r.kind != "prim":
            return
        py = self.pyname.get(("typedef", name))
        if py is None:
            return
        pyt = self.value_type(r)
        cn = self.cname.get(("typedef", name), name)
        self.scalar_alias[name] = py
        if cn in FAMILIES:
            self.out += ["", f"{py}: TypeAlias = Annotated[{pyt}, {cn!r}]"]
        else:
            self.out += ["", f"{py}: TypeAlias = Annotated[{pyt}, _alias({cn!r}, "
                         f"{self.spell(r)!r})]"]

    def emit_type_alias(self, name: str) -> None:
        """Typedefs of records, enums, pointers and function types."""
        if name in self.scalar_alias:
            return
        t = self.m.typedefs[name]
        r = self.resolve(t)
        py = self.pyname.get(("typedef", name))
        cn = self.cname.get(("typedef", name))
        out = self.out
        if r.kind == "unsupported":
            out += ["", f"# typedef {name}: not translated ({r.why})"]
            return
        if r.kind in ("record", "enum"):
            target = self.pyname.get((r.kind, r.name))
            if py is not None and target is not None and py != target:
                out += ["", f"{py} = {target}"]
            if cn is not None and cn != self.cname[(r.kind, r.name)]:
                out.append(f"_alias({cn!r}, {self.spell(r)!r})")
            return
        if r.kind == "func" or cn is None:
            return
        if r.kind == "pointer" and r.ref is not None and r.ref.kind == "func" and \
                self.proto_problem(r.ref.name) is not None:
            out += ["", f"# typedef {name}: not translated ({self.proto_problem(r.ref.name)})"]
            return
        why = self.problem(r)
        if why is not None:
            out += ["", f"# typedef {name}: not translated ({why})"]
            return
        if cn == self.spell(r) or (r.kind == "pointer" and r.ref is not None and r.ref.kind ==
                                   "func" and self.cname[("func", r.ref.name)] == cn):
            return
        out += ["", f"_alias({cn!r}, {self.spell(r)!r})"]

    def emit_enum(self, en: Enum) -> None:
        if en.tag is None and not en.direct and en.name == "anonymous":
            return  # enum { A, B };: only its constants
        py = self.pyname[("enum", en.key)]
        cn = self.cname[("enum", en.key)]
        out = self.out
        if any(v is None for _, v in en.values):
            out += ["", f"# enum {cn}: not translated (values the compiler could not give)"]
            return
        out += ["", "", f"class {py}(IntEnum):"]
        used: set[str] = set()
        for n, v in en.values:
            pn = enum_member_name(n, used)
            used.add(pn)
            out.append(f"    {pn} = {v}" + (f"  # {n}" if pn != n else ""))
        if not en.values:
            out.append("    pass")
        out += ["", f"_enumeration({cn!r}, {py})"]

    def emit_proto(self, p: Proto) -> None:
        why = self.proto_problem(p.key)
        cn = self.cname[("func", p.key)]
        if why is not None:
            self.out += ["", f"# function type {cn}: not translated ({why})"]
            return
        self.out += ["", f"_proto({cn!r}, {self.prototype(p, cn)!r})"]

    def prototype(self, p: Proto, name: str) -> str:
        params = [self.spell(t, param=True) for _, t in p.params]
        if p.variadic:
            params.append("...")
        result = self.spell(p.result)
        sep = "" if result.endswith("*") else " "
        return f"{result}{sep}{name}({', '.join(params) or 'void'})"

    def emit_record(self, rec: Record) -> None:
        if rec.members is None or rec.key in self.opaque_why:
            return
        py = self.pyname[("record", rec.key)]
        cn = self.cname[("record", rec.key)]
        args = []
        if py != cn:
            args.append(f"name={cn!r}")
        if rec.pack is not None:
            args.append(f"pack={rec.pack}")
        deco = "koffi.union" if rec.union else "koffi.struct"
        out = self.out
        out += ["", "", f"@{deco}({', '.join(args)})" if args else f"@{deco}",
                f"class {py}(koffi.Record):",
                f'    """C type ``{self.c_spelling(rec)}`` ({os.path.basename(rec.file)})."""',
                ""]
        lines: list[tuple[str, str, str, bool]] = []
        anon = padding = 0
        for i, mem in enumerate(rec.members):
            if mem.padding:
                cname, padding = f"_{padding}", padding + 1
            elif mem.name is None:
                cname, anon = f"anon_{anon}", anon + 1
            else:
                cname = mem.name
            ann, default = self.member_annotation(mem)
            if i == 0 and rec.align:
                ann = f"Annotated[{ann}, c.align({rec.align})]"
            lines.append((cname, ann, default, mem.padding))
        avoid = {w for _, ann, _, _ in lines for w in re.findall(r"(?<![\w.'\"])[A-Za-z_]\w*",
                                                              re.sub(r"'[^']*'|\"[^\"]*\"",
                                                                     "", ann))}
        used: set[str] = set()
        if rec.flexible:
            out.append(f"    # flexible array member {rec.flexible}[] left out")
        for cname, ann, default, pad in lines:
            if pad:  # an unnamed bitfield: a Koffi padding member
                out.append(f"    {cname}: {ann} = {default}")
                continue
            pm = member_name(cname, used, avoid)
            used.add(pm)
            note = f"  # {cname}" if pm != cname else ""
            out.append(f"    {pm}: {ann} = {default}{note}")

    def c_spelling(self, rec: Record) -> str:
        """How C code names the record (``struct tm``, ``SDL_Event``), or a description."""
        if rec.tag is not None:
            return f"{'union' if rec.union else 'struct'} {rec.tag}"
        if rec.direct:
            return rec.name
        return f"anonymous {'union' if rec.union else 'struct'}"

    def member_type(self, mem: Member) -> CType:
        """A member's type; a function pointer Koffi cannot describe is kept as ``void *``."""
        r = self.resolve(mem.type)
        if r.kind == "pointer" and r.ref is not None and r.ref.kind == "func" and \
                self.proto_problem(r.ref.name) is not None:
            return CType("pointer", ref=CType("void", "void"))
        return mem.type

    def member_annotation(self, mem: Member) -> tuple[str, str]:
        t = self.member_type(mem)
        r = self.resolve(t)
        spec = self.spell(t)
        if mem.bits is not None:
            return f'Annotated[int, c.bits("{spec}", {mem.bits})]', "0"
        if r.kind == "prim":
            default = {"float": "0.0", "bool": "False"}.get(FAMILIES[r.name], "0")
            if t.kind == "typedef" and t.name in self.scalar_alias:
                return self.scalar_alias[t.name], default
            alias = C_ALIASES.get(r.name)
            if alias:
                return f"c.{alias}", default
            return f'Annotated[{self.value_type(r)}, "{spec}"]', default
        if r.kind == "enum":
            return f'Annotated[int, "{spec}"]', "0"
        if r.kind == "pointer":
            return f'Annotated[{_quoted(self.value_type(r))}, "{spec}"]', "None"
        if r.kind == "array" and r.ref is not None:
            ref = self.resolve(r.ref)
            if ref.kind == "prim" and ref.name in _STRING_PRIMS:
                return f'Annotated[str, "{spec}"]', '""'
            return f'Annotated[{_quoted(self.value_type(r))}, "{spec}"]', "koffi.ZERO"
        if r.kind == "record":
            return self.pyname[("record", r.name)], "koffi.ZERO"
        return f'Annotated[Any, "{spec}"]', "koffi.ZERO"

    def emit_function(self, f: Function) -> None:
        out = self.out
        if f.proto is None:
            out += ["", f"# {f.name}: not translated ({f.why})"]
            return
        p = f.proto
        problems = [self.problem(decay(self.resolve(t))) for _, t in p.params]
        if self.resolve(p.result).kind not in ("void",):
            problems.append(self.problem(p.result))
        why = next((w for w in problems if w is not None), None)
        if why is not None:
            out += ["", f"# {f.name}: not translated ({why})"]
            return
        if not _exported(self.lib, f.name):
            what = "inline function, " if f.inline else ""
            out += ["", f"# {f.name}: not translated ({what}not exported by {self.lib})"]
            return
        py = self.fn_names[f.name]
        if p.variadic:  # the mypy plugin types the prototype; enums come out as int there
            rr = self.resolve(p.result)
            result = "None" if rr.kind == "void" else "int" if rr.kind == "enum" else \
                self.value_type(p.result)
            out += ["", f"{py}: koffi.Function[..., {result}] = lib.func("
                    f"{self.prototype(p, f.name)!r})"]
            return
        used: set[str] = set()
        params = []
        for i, (pname, t) in enumerate(p.params):
            pn = python_name(pname or f"arg{i}", used)
            used.add(pn)
            params.append(f"{pn}: {self.annotation(t, param=True)}")
        deco = "@lib.function" if py == f.name else f"@lib.function({f.name!r})"
        result = self.annotation(p.result, param=False)
        sig = f"def {py}({', '.join(params)}) -> {result}: ..."
        out += ["", "", deco]
        if len(sig) <= 100:
            out.append(sig)
        else:
            out.append(f"def {py}(")
            out += [f"    {prm}," for prm in params]
            out.append(f") -> {result}: ...")


def _quoted(annotation: str) -> str:
    """Pointee classes quoted: a record may point to one defined further down."""
    return re.sub(r"koffi\.Pointer\[(\w+)\]", lambda m: f'koffi.Pointer["{m[1]}"]'
                  if m[1] not in ("int", "float", "bool", "Any", "str") else m[0], annotation)


def _same_prim(canon: str, name: str) -> bool:
    """Whether the Koffi primitive ``name`` is the C type ``canon``."""
    return FAMILIES.get(canon) == FAMILIES.get(name) and SIZES.get(canon) == \
        SIZES.get(name)


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _literal(value: int | float | str | bytes) -> str:
    if isinstance(value, float) and value != value:
        return 'float("nan")'
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f'float("{value}")'
    return repr(value)


_LIBS: dict[str, Any] = {}


def _exported(lib: str, name: str) -> bool:
    handle = _LIBS.get(lib)
    if handle is None:
        try:
            handle = _LIBS[lib] = ctypes.CDLL(lib)
        except OSError:
            return True  # cannot check here: trust the header
    try:
        handle[name]  # not getattr: ctypes refuses dunder names there
    except AttributeError:
        return False
    return True


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Command line: ``stubgen HEADER... --lib LIB [-o OUT] [options]``; exit status 2 on
    errors, which are printed without a traceback."""
    ap = argparse.ArgumentParser(prog="python -m koffi_typed stubgen",
                                 description="Generate typed koffi_typed bindings from C headers.")
    ap.add_argument("headers", nargs="+", help="header files or <system> header names")
    ap.add_argument("--lib", required=True, help="shared library to load (e.g. libz.so.1)")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    ap.add_argument("--only", default="", help="comma-separated fnmatch patterns of functions")
    ap.add_argument("--include-dir", action="append", default=[], dest="include_dirs",
                    help="headers under this directory belong to the library (repeatable)")
    ap.add_argument("--prefix", action="append", default=[], dest="prefixes",
                    help="declarations whose names start with this belong to the library "
                    "(repeatable)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="C compiler (cc)")
    ap.add_argument("-D", dest="defines", action="append", default=[], help="preprocessor "
                    "define")
    ap.add_argument("-I", dest="includes", action="append", default=[], help="include dir")
    ap.add_argument("--command", help="the regeneration command the module's docstring shows")
    args = ap.parse_args(argv)
    flags = [f"-D{d}" for d in args.defines] + [f"-I{i}" for i in args.includes]
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    shown: list[str] = []
    skip = False
    for a in argv if argv is not None else sys.argv[1:]:
        if skip or a in ("-o", "--output", "--command"):
            skip = not skip
            continue
        if not a.startswith(("-o", "--output=", "--command=")):
            shown.append(_shell_quote(a))
    command = args.command or "python -m koffi_typed stubgen " + " ".join(shown) + " -o <output>"
    try:
        text = generate(args.headers, lib=args.lib, only=only, cc=args.cc, flags=flags,
                        include_dirs=args.include_dirs, prefixes=args.prefixes,
                        command=command)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    except StubgenError as exc:
        print(f"stubgen: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"stubgen: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: say what broke and where to report it
        print(f"stubgen: internal error ({type(exc).__name__}: {exc}); please report it with "
              "the headers and the command line", file=sys.stderr)
        return 2
    return 0


def _shell_quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + \
        "'"


if __name__ == "__main__":
    raise SystemExit(main())
