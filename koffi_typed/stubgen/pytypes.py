"""C types as a generated module writes them (`TypeWriter`).

Koffi type strings (registry names, const kept, arrays decayed in parameters), the Python
types of values coming out of C and of what a parameter accepts (the parameter aliases
``_Ref``, ``_Chars``... of `koffi_typed.stubgen.emit`), the ``Annotated`` annotations of
parameters, results and record members, and why a type cannot be translated; a record that
cannot be becomes opaque.
"""

from __future__ import annotations

import re
from typing import Final

from koffi_typed.stubgen.cmodel import (
    C_ALIASES,
    FAMILIES,
    CType,
    Member,
    Model,
    Proto,
    decay,
    resolved,
)
from koffi_typed.stubgen.names import Names

__all__ = ["TypeWriter"]

_STRING_PRIMS: Final = {"char": "str", "char16_t": "str16", "char32_t": "str32",
                        "wchar_t": "wstring"}


class TypeWriter:
    """Spells the types of ``model`` with the names in ``names`` (filled before anything is
    spelled; `mark_opaque` and `problem` do not need them)."""

    def __init__(self, model: Model, names: Names) -> None:
        self.m = model
        self.names = names
        self.used_aliases: set[str] = set()
        self.opaque_why: dict[str, str] = {}
        self.scalar_alias: dict[str, str] = {}  # typedef -> Python TypeAlias name

    def resolve(self, t: CType) -> CType:
        """Typedefs expanded everywhere (const kept), arrays of unknown length unsupported."""
        return resolved(self.m, t)

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
        """Why the function type ``key`` cannot be a callback (None if it can)."""
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
            return const + self.names.cname[(r.kind, r.name)]
        if r.kind == "func":
            return self.names.cname[("func", r.name)]
        return const + r.name

    def value_type(self, t: CType) -> str:
        """The Python type of a C value coming out of C (results, members, callback args)."""
        r = self.resolve(t)
        if r.kind == "void":
            return "None"
        if r.kind == "prim":
            return {"float": "float", "bool": "bool"}.get(FAMILIES[r.name], "int")
        if r.kind == "enum":
            return self.names.pyname.get(("enum", r.name), "int")
        if r.kind == "record":
            return self.names.pyname[("record", r.name)]
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
        """The type argument of ``koffi.Pointer`` for a pointer to ``ref``."""
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
                return f"{self.use('_Handle')}[{self.names.pyname[('record', ref.name)]}]"
        return f"{self.use('_CRef' if ref.const else '_Ref')}[{self.pointee_type(ref)}]"

    def callback_type(self, key: str) -> str:
        """The ``Callable`` a Python function passed for the function type ``key`` must be."""
        p = self.m.protos[key]
        args = ", ".join(self.value_type(decay(self.resolve(pt))) for _, pt in p.params)
        result = self.resolve(p.result)
        ret = "None" if result.kind == "void" else "Any" if result.kind == "pointer" else \
            self.value_type(result) if result.kind != "enum" else "int"
        return f"Callable[[{args}], {ret}]"

    def use(self, alias: str) -> str:
        """``alias`` (a parameter alias), noted as used so that the module defines it."""
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
            return self.names.pyname[("record", r.name)]
        spec = self.spell(t, param=param)
        pytype = self.param_type(t) if param else self.value_type(t)
        if param and self.inout(t):
            return f'Annotated[{pytype}, koffi.inout("{spec}")]'
        return f'Annotated[{pytype}, "{spec}"]'

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

    def prototype(self, p: Proto, name: str) -> str:
        """The Koffi prototype string of ``p`` named ``name``."""
        params = [self.spell(t, param=True) for _, t in p.params]
        if p.variadic:
            params.append("...")
        result = self.spell(p.result)
        sep = "" if result.endswith("*") else " "
        return f"{result}{sep}{name}({', '.join(params) or 'void'})"

    def member_type(self, mem: Member) -> CType:
        """A member's type; a function pointer Koffi cannot describe is kept as ``void *``."""
        r = self.resolve(mem.type)
        if r.kind == "pointer" and r.ref is not None and r.ref.kind == "func" and \
                self.proto_problem(r.ref.name) is not None:
            return CType("pointer", ref=CType("void", "void"))
        return mem.type

    def member_annotation(self, mem: Member) -> tuple[str, str]:
        """A member's annotation and default value."""
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
            return self.names.pyname[("record", r.name)], "koffi.ZERO"
        return f'Annotated[Any, "{spec}"]', "koffi.ZERO"


def _quoted(annotation: str) -> str:
    """Pointee classes quoted: a record may point to one defined further down."""
    return re.sub(r"koffi\.Pointer\[(\w+)\]", lambda m: f'koffi.Pointer["{m[1]}"]'
                  if m[1] not in ("int", "float", "bool", "Any", "str") else m[0], annotation)
