"""The generated module's text (`Emitter`).

A header (docstring with the regeneration command, the imports and helpers the body uses, the
parameter aliases), then the records' C names, scalar type aliases, ``IntEnum`` classes,
records and function types each after what it uses, the other type names, constants, and the
``@lib.function`` stubs. Whatever cannot be translated is a comment saying why.
"""

from __future__ import annotations

import ast
import ctypes
import os
import re
from collections.abc import Iterator
from typing import Any, Final

from koffi_typed.stubgen.cmodel import (
    FAMILIES,
    Constant,
    CType,
    Enum,
    Function,
    Model,
    Proto,
    Record,
    decay,
)
from koffi_typed.stubgen.names import Names, enum_member_name, member_name, python_name
from koffi_typed.stubgen.parse import Skipped
from koffi_typed.stubgen.pytypes import TypeWriter

__all__ = ["Emitter"]

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
        self.names = Names()
        self.types = TypeWriter(model, self.names)

    def emit(self, constants: list[Constant]) -> str:
        """The module's text; ``constants`` are the library's ``#define`` constants."""
        m = self.m
        self.types.mark_opaque()
        consts = self.names.assign(m, constants)
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
        """Docstring, imports, ``lib`` and the helpers and aliases the body uses."""
        body = "\n".join(self.out)
        aliases = set(self.types.used_aliases)
        for alias in self.types.used_aliases:
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
                if rec.members is not None and item[1] not in self.types.opaque_why:
                    types = [mem.type for mem in rec.members]
            else:
                p = m.protos[item[1]]
                types = [p.result, *(pt for _, pt in p.params)]
            for t in types:
                r = self.types.resolve(t)
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
                   if r.members is not None and k not in self.types.opaque_why]
        if defined:
            out += ["", "", "# -- C names of the records, so that pointers may refer to them early"]
            out += [f"_opaque({self.names.cname[('record', k)]!r})" for k in defined]
        for key, rec in self.m.records.items():
            if rec.members is not None and key not in self.types.opaque_why:
                continue
            py = self.names.pyname[("record", key)]
            cn = self.names.cname[("record", key)]
            why = self.types.opaque_why.get(key, "")
            note = f"not translated ({why})" if why else "declared, never defined"
            out += ["", "", f"class {py}:",
                    f'    """Opaque C {"union" if rec.union else "struct"} '
                    f'{cn} ({note}): only pointers to it are used."""',
                    "", f"    __koffi_type__ = _opaque({cn!r})"]

    def emit_scalar_alias(self, name: str) -> None:
        r = self.types.resolve(CType("typedef", name))
        if r.kind != "prim":
            return
        py = self.names.pyname.get(("typedef", name))
        if py is None:
            return
        pyt = self.types.value_type(r)
        cn = self.names.cname.get(("typedef", name), name)
        self.types.scalar_alias[name] = py
        if cn in FAMILIES:
            self.out += ["", f"{py}: TypeAlias = Annotated[{pyt}, {cn!r}]"]
        else:
            self.out += ["", f"{py}: TypeAlias = Annotated[{pyt}, _alias({cn!r}, "
                         f"{self.types.spell(r)!r})]"]

    def emit_type_alias(self, name: str) -> None:
        """Typedefs of records, enums, pointers and function types."""
        if name in self.types.scalar_alias:
            return
        t = self.m.typedefs[name]
        r = self.types.resolve(t)
        py = self.names.pyname.get(("typedef", name))
        cn = self.names.cname.get(("typedef", name))
        out = self.out
        if r.kind == "unsupported":
            out += ["", f"# typedef {name}: not translated ({r.why})"]
            return
        if r.kind in ("record", "enum"):
            target = self.names.pyname.get((r.kind, r.name))
            if py is not None and target is not None and py != target:
                out += ["", f"{py} = {target}"]
            if cn is not None and cn != self.names.cname[(r.kind, r.name)]:
                out.append(f"_alias({cn!r}, {self.types.spell(r)!r})")
            return
        if r.kind == "func" or cn is None:
            return
        if r.kind == "pointer" and r.ref is not None and r.ref.kind == "func" and \
                self.types.proto_problem(r.ref.name) is not None:
            why = self.types.proto_problem(r.ref.name)
            out += ["", f"# typedef {name}: not translated ({why})"]
            return
        why = self.types.problem(r)
        if why is not None:
            out += ["", f"# typedef {name}: not translated ({why})"]
            return
        if cn == self.types.spell(r) or (r.kind == "pointer" and r.ref is not None and
                                         r.ref.kind == "func" and
                                         self.names.cname[("func", r.ref.name)] == cn):
            return
        out += ["", f"_alias({cn!r}, {self.types.spell(r)!r})"]

    def emit_enum(self, en: Enum) -> None:
        if en.tag is None and not en.direct and en.name == "anonymous":
            return  # enum { A, B };: only its constants
        py = self.names.pyname[("enum", en.key)]
        cn = self.names.cname[("enum", en.key)]
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
        why = self.types.proto_problem(p.key)
        cn = self.names.cname[("func", p.key)]
        if why is not None:
            self.out += ["", f"# function type {cn}: not translated ({why})"]
            return
        self.out += ["", f"_proto({cn!r}, {self.types.prototype(p, cn)!r})"]

    def emit_record(self, rec: Record) -> None:
        if rec.members is None or rec.key in self.types.opaque_why:
            return
        py = self.names.pyname[("record", rec.key)]
        cn = self.names.cname[("record", rec.key)]
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
            ann, default = self.types.member_annotation(mem)
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

    def emit_function(self, f: Function) -> None:
        out = self.out
        if f.proto is None:
            out += ["", f"# {f.name}: not translated ({f.why})"]
            return
        p = f.proto
        problems = [self.types.problem(decay(self.types.resolve(t))) for _, t in p.params]
        if self.types.resolve(p.result).kind not in ("void",):
            problems.append(self.types.problem(p.result))
        why = next((w for w in problems if w is not None), None)
        if why is not None:
            out += ["", f"# {f.name}: not translated ({why})"]
            return
        if not _exported(self.lib, f.name):
            what = "inline function, " if f.inline else ""
            out += ["", f"# {f.name}: not translated ({what}not exported by {self.lib})"]
            return
        py = self.names.fn_names[f.name]
        if p.variadic:  # the mypy plugin types the prototype; enums come out as int there
            rr = self.types.resolve(p.result)
            result = "None" if rr.kind == "void" else "int" if rr.kind == "enum" else \
                self.types.value_type(p.result)
            out += ["", f"{py}: koffi.Function[..., {result}] = lib.func("
                    f"{self.types.prototype(p, f.name)!r})"]
            return
        used: set[str] = set()
        params = []
        for i, (pname, t) in enumerate(p.params):
            pn = python_name(pname or f"arg{i}", used)
            used.add(pn)
            params.append(f"{pn}: {self.types.annotation(t, param=True)}")
        deco = "@lib.function" if py == f.name else f"@lib.function({f.name!r})"
        result = self.types.annotation(p.result, param=False)
        sig = f"def {py}({', '.join(params)}) -> {result}: ..."
        out += ["", "", deco]
        if len(sig) <= 100:
            out.append(sig)
        else:
            out.append(f"def {py}(")
            out += [f"    {prm}," for prm in params]
            out.append(f") -> {result}: ...")


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
