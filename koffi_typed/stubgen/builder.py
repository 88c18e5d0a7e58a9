"""pycparser's tree → the C model (`Builder`).

Declarations become `Model` entries: types reduced to `CType`, records (with the
``#pragma pack`` in force), enums, function types, typedefs, the library's functions and
exported variables. Constants (array lengths, bitfield widths, enum values) are evaluated with
`koffi_typed.stubgen.cexpr` by C's rules; what it cannot decide is left in ``Model.exprs`` for
the C compiler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import koffi_typed.stubgen.cexpr as cexpr
from koffi_typed.cparser import parse_type
from koffi_typed.errors import ParseError
from koffi_typed.stubgen.cmodel import (
    FAMILIES,
    NUMERIC,
    PTR_SIZE,
    SIZES,
    CType,
    Enum,
    Function,
    Member,
    Model,
    Proto,
    Record,
    with_const,
)
from koffi_typed.stubgen.parse import deep_recursion

__all__ = ["Builder"]


class _Unsupported(Exception):
    pass


class Builder:
    """pycparser AST → `Model`."""

    def __init__(self, pycparser: Any, library: Callable[[str, str | None], bool]) -> None:
        self.c = pycparser.c_ast
        self.generator = pycparser.c_generator.CGenerator()
        self.model = Model()
        self.is_library = library
        self.pack: list[int | None] = [None]
        self.env = cexpr.Env(constants={}, scalar=self.scalar, sizeof=self.sizeof,
                             long_bits=SIZES["long"] * 8,
                             char_signed=FAMILIES["char"] == "int")

    # --- types
    def ctype(self, node: Any, owner: str) -> CType:
        c = self.c
        if isinstance(node, c.TypeDecl):
            t = self.base(node.type, owner)
            if "const" in (node.quals or []):
                t = with_const(t)
            return t
        if isinstance(node, c.PtrDecl):
            if isinstance(node.type, c.FuncDecl):
                return CType("pointer", ref=CType("func", self.proto(node.type, owner)))
            return CType("pointer", ref=self.ctype(node.type, owner))
        if isinstance(node, c.ArrayDecl):
            ref = self.ctype(node.type, owner)
            if node.dim is None:
                return CType("array", ref=ref, length=0)
            value, expr = self.constant(node.dim)
            if value is not None and not isinstance(value, int):
                return CType("unsupported", why="array length is not an integer")
            return CType("array", ref=ref, length=value, expr=expr)
        if isinstance(node, c.FuncDecl):
            return CType("func", self.proto(node, owner))
        if isinstance(node, c.Typename):
            return self.ctype(node.type, owner)
        return CType("unsupported", why=f"{type(node).__name__} declarator")

    def base(self, node: Any, owner: str) -> CType:
        c = self.c
        if isinstance(node, c.IdentifierType):
            names = [n for n in node.names if n not in ("const", "volatile")]
            if len(names) == 1 and names[0] in self.model.typedefs:
                return CType("typedef", names[0])
            if names == ["void"]:
                return CType("void", "void")
            text = " ".join(names)
            try:
                canon = parse_type(text).name
            except ParseError:
                return CType("unsupported", why=f"unknown type {text}")
            if FAMILIES.get(canon) not in NUMERIC:
                return CType("unsupported", why=f"{text} has no Koffi type")
            return CType("prim", canon)
        if isinstance(node, (c.Struct, c.Union)):
            return CType("record", self.record(node, owner))
        if isinstance(node, c.Enum):
            return CType("enum", self.enum(node, owner))
        return CType("unsupported", why=type(node).__name__)

    def resolve(self, t: CType) -> CType:
        """``t`` with typedefs expanded at the top (const kept)."""
        seen = 0
        while t.kind == "typedef" and seen < 64:
            target = self.model.typedefs.get(t.name)
            if target is None:
                return CType("unsupported", why=f"unknown type {t.name}")
            t = with_const(target) if t.const else target
            seen += 1
        return t

    # --- constants
    def scalar(self, name: str) -> tuple[int, str] | None:
        """Size and family of a scalar type name (for casts in constant expressions)."""
        t = CType("typedef", name) if name in self.model.typedefs else None
        if t is not None:
            r = self.resolve(t)
            if r.kind == "enum":
                return 4, "int"
            if r.kind != "prim":
                return None
            name = r.name
        family = FAMILIES.get(name)
        if family not in NUMERIC:
            return None
        return SIZES[name], family

    def sizeof(self, name: str) -> int | None:
        if name.endswith("*"):
            return PTR_SIZE
        found = self.scalar(name)
        return found[0] if found is not None else None

    def constant(self, node: Any) -> tuple[int | float | None, str]:
        """(value, "") or (None, C text for the compiler)."""
        try:
            with deep_recursion():
                value = cexpr.evaluate_postfix(self.postfix(node), self.env).value
            return value, ""
        except (cexpr.Unknown, _Unsupported, RecursionError):
            pass
        try:
            with deep_recursion():
                text = self.generator.visit(node)
        except RecursionError:
            return None, ""
        self.model.exprs.setdefault(text, None)
        return None, text

    def postfix(self, node: Any) -> list[cexpr.Token | cexpr.Op]:
        """A pycparser expression as cexpr postfix items, without recursion."""
        c = self.c
        out: list[cexpr.Token | cexpr.Op] = []
        stack: list[Any] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, cexpr.Op):
                out.append(item)
            elif isinstance(item, c.Constant):
                kind = "char" if item.type == "char" else "str" if item.type == "string" \
                    else "num"
                out.append(cexpr.Token(kind, item.value))
            elif isinstance(item, c.ID):
                out.append(cexpr.Token("id", item.name))
            elif isinstance(item, c.UnaryOp) and item.op == "sizeof":
                out.append(cexpr.Token("sizeof", self.type_text(item.expr)))
            elif isinstance(item, c.UnaryOp) and item.op in ("-", "+", "!", "~"):
                stack.append(cexpr.Op("u" + item.op, 1, 11, True))
                stack.append(item.expr)
            elif isinstance(item, c.BinaryOp):
                stack.append(cexpr.Op(item.op, 2, 1))
                stack.append(item.right)
                stack.append(item.left)
            elif isinstance(item, c.TernaryOp):
                stack.append(cexpr.Op("?:", 3, 0, True))
                stack += [item.iffalse, item.iftrue, item.cond]
            elif isinstance(item, c.Cast):
                stack.append(cexpr.Op("cast", 1, 11, True, self.type_text(item.to_type)))
                stack.append(item.expr)
            else:
                raise _Unsupported(type(item).__name__)
        return out

    def type_text(self, node: Any) -> str:
        """A type name for cexpr (scalars and pointers only)."""
        if not isinstance(node, self.c.Typename):
            raise _Unsupported("sizeof of an expression")
        t = self.resolve(self.ctype(node, "sizeof"))
        if t.kind == "pointer":
            return "void *"
        if t.kind == "prim":
            return t.name
        if t.kind == "enum":
            return "int"
        raise _Unsupported("not a scalar type")

    # --- declarations
    def record(self, node: Any, hint: str) -> str:
        union = isinstance(node, self.c.Union)
        kind = "union" if union else "struct"
        coord = node.coord
        key = f"{kind} {node.name}" if node.name else \
            f"{kind} <{getattr(coord, 'file', '')}:{getattr(coord, 'line', 0)}:" \
            f"{getattr(coord, 'column', 0)}>"
        rec = self.model.records.get(key)
        if rec is None:
            rec = self.model.records[key] = Record(key, union, node.name, node.name or hint,
                                                   getattr(coord, "file", "") or "")
        if node.decls is None or rec.members is not None:
            return key
        rec.file = getattr(coord, "file", "") or rec.file
        rec.pack = self.pack[-1]
        members: list[Member] = []
        anon = 0
        decls = list(node.decls)
        for i, decl in enumerate(decls):
            c = self.c
            if decl.name is None and isinstance(decl.type, (c.Struct, c.Union)):
                inner = self.record(decl.type, f"{rec.name}_anon_{anon}")
                anon += 1
                members.append(Member(None, CType("record", inner)))
                continue
            if decl.name is None and decl.bitsize is None:
                continue
            t = self.ctype(decl.type, f"{rec.name}_{decl.name or 'padding'}")
            bits, bits_expr = (None, "")
            if decl.bitsize is not None:
                value, bits_expr = self.constant(decl.bitsize)
                bits = value if isinstance(value, int) else None
            if t.kind == "array" and t.length == 0 and i == len(decls) - 1 and decl.name:
                rec.flexible, rec.flexible_type = decl.name, t.ref
                continue
            members.append(Member(decl.name, t, bits, bits_expr, padding=decl.name is None))
        if not members and not rec.flexible:
            rec.why = "no members"
        rec.members = members
        return key

    def enum(self, node: Any, hint: str) -> str:
        coord = node.coord
        key = f"enum {node.name}" if node.name else \
            f"enum <{getattr(coord, 'file', '')}:{getattr(coord, 'line', 0)}:" \
            f"{getattr(coord, 'column', 0)}>"
        en = self.model.enums.get(key)
        if en is None:
            en = self.model.enums[key] = Enum(key, node.name, node.name or hint,
                                              getattr(coord, "file", "") or "")
        if node.values is None or en.values:
            return key
        nxt: int | None = 0
        constants: Any = self.env.constants
        for item in node.values.enumerators:
            if item.value is not None:
                value, _ = self.constant(item.value)
                value = value if isinstance(value, int) else None
            else:
                value = nxt
            en.values.append((item.name, value))
            self.model.enumerators[item.name] = value
            if value is not None:
                constants[item.name] = value
            nxt = value + 1 if value is not None else None
        if any(v is None for _, v in en.values):
            for name, _ in en.values:
                self.model.exprs.setdefault(name, None)
        return key

    def proto(self, node: Any, name: str) -> str:
        c = self.c
        key = name
        n = 1
        while key in self.model.protos:
            n += 1
            key = f"{name}_{n}"
        params: list[tuple[str | None, CType]] = []
        variadic = False
        for p in (node.args.params if node.args is not None else []):
            if isinstance(p, c.EllipsisParam):
                variadic = True
                continue
            pname = getattr(p, "name", None)
            t = self.ctype(p.type, f"{name}_{pname or 'arg'}")
            if t.kind == "void":
                continue  # f(void)
            params.append((pname, t))
        result = self.ctype(node.type, f"{name}_result")
        self.model.protos[key] = Proto(key, result, params, variadic)
        return key

    def add(self, node: Any) -> None:
        """One top-level declaration."""
        c = self.c
        coord = getattr(node, "coord", None)
        file = (getattr(coord, "file", "") or "") if coord is not None else ""
        before = (set(self.model.records), set(self.model.enums))
        if isinstance(node, c.Pragma):
            self.pragma(str(node.string))
            return
        if isinstance(node, c.Typedef):
            self.typedef(node, file)
        elif isinstance(node, c.Decl):
            self.decl(node, file)
        elif isinstance(node, c.FuncDef):
            self.function(node.decl, file, inline=True)
        records, enums = before
        for key in set(self.model.records) - records:
            rec = self.model.records[key]
            if self.is_library(rec.file or file, rec.tag):
                self.model.library.add(("record", key))
        for key in set(self.model.enums) - enums:
            en = self.model.enums[key]
            if self.is_library(en.file or file, en.tag) or any(
                    self.is_library(en.file or file, n) for n, _ in en.values):
                self.model.library.add(("enum", key))

    def pragma(self, text: str) -> None:
        m = re.match(r"\s*pack\s*\(\s*(push)?\s*,?\s*(\d+)?\s*\)|\s*pack\s*\(\s*pop", text)
        if m is None:
            return
        if text.strip().startswith("pack") and "pop" in text:
            if len(self.pack) > 1:
                self.pack.pop()
            return
        value = int(m[2]) if m[2] else None
        if m[1]:
            self.pack.append(value)
        else:
            self.pack[-1] = value

    def typedef(self, node: Any, file: str) -> None:
        c = self.c
        name = node.name
        inner = node.type
        if isinstance(inner, c.FuncDecl):
            t = CType("func", self.proto(inner, name))
        elif isinstance(inner, c.PtrDecl) and isinstance(inner.type, c.FuncDecl):
            t = CType("pointer", ref=CType("func", self.proto(inner.type, name)))
        else:
            t = self.ctype(inner, name)
        if isinstance(inner, c.TypeDecl) and isinstance(inner.type, (c.Struct, c.Union, c.Enum)):
            item = self.model.records.get(t.name) or self.model.enums.get(t.name)
            if item is not None and item.tag is None and not item.direct:
                item.name, item.direct = name, True  # typedef struct {...} T, *PT: T
        if name in self.model.typedefs:
            return  # a repeated typedef (C11) names the same type
        self.model.typedefs[name] = t
        self.model.typedef_files[name] = file
        if self.is_library(file, name):
            self.model.library.add(("typedef", name))

    def decl(self, node: Any, file: str) -> None:
        c = self.c
        t = node.type
        if isinstance(t, c.FuncDecl):
            self.function(node, file, inline=False)
            return
        if isinstance(t, (c.Struct, c.Union)):
            self.record(t, f"{t.name or 'anonymous'}")
            return
        if isinstance(t, c.Enum):
            self.enum(t, t.name or "anonymous")
            return
        if node.name is None:
            return
        self.ctype(t, node.name)
        if self.is_library(file, node.name) and (node.storage or []) in ([], ["extern"]):
            self.model.variables.append(node.name)

    def function(self, node: Any, file: str, *, inline: bool) -> None:
        name = node.name
        if not self.is_library(file, name):
            return
        if name in self.model.functions:
            if not inline:
                return
            if not self.model.functions[name].inline:
                return
        key = self.proto(node.type, name)
        proto = self.model.protos.pop(key)
        self.model.functions[name] = Function(name, proto, inline=inline)
