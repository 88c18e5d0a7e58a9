"""The naming rules: which Python name each C name takes in a generated module.

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

import enum
import keyword
from typing import Final

from koffi_typed.stubgen.cmodel import (
    FAMILIES,
    SIZES,
    Constant,
    CType,
    Enum,
    Model,
    Record,
    resolved,
)

__all__ = ["RESERVED", "Names", "enum_member_name", "member_name", "python_name"]

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


class Names:
    """The names of a model's declarations, filled by `assign`: ``cname`` (Koffi registry
    name) and ``pyname`` (Python name) by ``(kind, key)``, ``fn_names`` (C function name →
    Python name)."""

    def __init__(self) -> None:
        self.cname: dict[tuple[str, str], str] = {}
        self.pyname: dict[tuple[str, str], str] = {}
        self.fn_names: dict[str, str] = {}

    def assign(self, model: Model, constants: list[Constant]
               ) -> list[tuple[str, str, int | float | str | bytes]]:
        """Name the declarations of ``model`` by the rules above; returns the constants to
        write (enumerators of the library, then ``constants``) as (C name, Python name,
        value)."""
        m = model
        taken: set[str] = set()
        prim_names = set(FAMILIES)
        # Koffi registry names: typedefs keep theirs unless they clash with a primitive that
        # means something else; tags yield to typedefs of the same name.
        registry: set[str] = set()
        for name, t in m.typedefs.items():
            r = resolved(m, t)
            if name in prim_names and r.kind == "prim" and _same_prim(r.name, name):
                self.cname[("typedef", name)] = name
                continue
            if r.kind in ("record", "enum") and _item(m, r).name == name:
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
            r = resolved(m, CType("typedef", name))
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


def _item(m: Model, r: CType) -> Record | Enum:
    return m.records[r.name] if r.kind == "record" else m.enums[r.name]


def _same_prim(canon: str, name: str) -> bool:
    """Whether the Koffi primitive ``name`` is the C type ``canon``."""
    return FAMILIES.get(canon) == FAMILIES.get(name) and SIZES.get(canon) == \
        SIZES.get(name)


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name
