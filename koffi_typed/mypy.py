"""mypy plugin for koffi_typed: enable it with ``plugins = koffi_typed.mypy``.

What it adds on top of the annotations:

* ``lib.func('int abs(int)')`` (and the ``lib.func(name, result, [params])`` form with literal
  arguments) is a ``Function[[int], int]``: the prototype is parsed by the runtime parser
  (`koffi_typed.cparser`), so checker and runtime agree. ``char *`` results are
  ``str | None``; a ``T *`` result is ``Pointer[T] | None``; a ``T *`` parameter takes a
  ``Pointer[T]``, a ``T`` record, a ``list[T]``, a writable buffer (``bytearray``,
  ``memoryview``, ``array.array``), a ``koffi.as_`` cast or ``None``, and ``bytes`` only when
  the pointee is ``const`` (C may not write into immutable memory); ``char *`` parameters take
  ``str`` too. Records named in the string are their classes.
* ``koffi.proto('int Cmp(int, int)')`` is checked the same way, and a ``Cmp *`` parameter
  of a later prototype accepts a Python callable of that signature.
* Keyword arguments (``release_gil=False``, ``pack=1``) do not change what is typed.
* Malformed prototypes, unknown C types, ``_Out_``/``_Inout_`` on a parameter that is not a
  pointer or string, opaque types, prototypes and arrays by value, more than 64 parameters,
  duplicate members of a dict-form record and record members whose annotation is not a C
  type are errors (code ``koffi-decl``) on the string or the member, where the runtime
  raises (``tests/test_typing.py`` compares the two verdicts over generated declarations).
* ``bool`` given for a C integer or floating-point parameter of a declared function (a call,
  ``async_`` or ``acall``) is an error (code ``koffi-bool``): the runtime refuses it, although
  ``bool`` is an ``int`` to the type system.
* Record members all default to zero at runtime, so the plugin marks every member of an
  ``@koffi.struct`` / ``@koffi.union`` / ``@koffi.pack`` class as optional in ``__init__``;
  the dict form ``Point = koffi.struct('Point', {'x': 'int'})`` becomes a typed class.
  Record classes get ``__bytes__`` and the ``from_buffer`` classmethod the decorator adds
  (pyright users derive from ``koffi.Record`` instead).
* Typed declarations (``@lib.function def cos(x: c.double) -> c.double: ...``) do not
  trigger ``empty-body``.

C type names declared with string literals (``koffi.opaque('sqlite3')``, ``koffi.alias``,
``koffi.enumeration``, ``koffi.proto``, dict-form records) are found by scanning the sources of
the modules mypy knows about; names built from non-literal strings are unknown to the plugin
(use a literal, or expect an error you can silence with ``# type: ignore[koffi-decl]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from mypy.errorcodes import ErrorCode
from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    GDEF,
    MDEF,
    ArgKind,
    Argument,
    AssignmentStmt,
    Block,
    CallExpr,
    ClassDef,
    Context,
    Decorator,
    DictExpr,
    Expression,
    FuncDef,
    IfStmt,
    ListExpr,
    MemberExpr,
    MypyFile,
    NameExpr,
    Statement,
    StrExpr,
    SymbolTableNode,
    TupleExpr,
    TypeAlias,
    TypeInfo,
    Var,
)
from mypy.plugin import (
    ClassDefContext,
    DynamicClassDefContext,
    FunctionContext,
    MethodContext,
    Plugin,
    SemanticAnalyzerPluginInterface,
)
from mypy.plugins.common import add_method_to_class
from mypy.plugins.dataclasses import dataclass_class_maker_callback
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    LiteralType,
    NoneType,
    Parameters,
    ProperType,
    RawExpressionType,
    Type,
    TypeOfAny,
    UnboundType,
    UnionType,
    get_proper_type,
)

from koffi_typed.cparser import (
    CONVENTIONS,
    MAX_PARAMETERS,
    Prototype,
    TypeExpr,
    parse_prototype,
    parse_type,
)
from koffi_typed.errors import ParseError
from koffi_typed.primitives import PRIMITIVES

__all__ = ["KOFFI_BOOL", "KOFFI_DECL", "KoffiPlugin", "plugin"]

KOFFI_DECL: Final = ErrorCode("koffi-decl", "Invalid koffi_typed C declaration", "Plugin")
KOFFI_BOOL: Final = ErrorCode("koffi-bool", "bool given for a C number", "Plugin")

RECORD_KEY: Final = "koffi_typed"
PKG: Final = "koffi_typed"
FUNCTION: Final = "koffi_typed.functions.Function"
POINTER: Final = "koffi_typed.pointer.Pointer"
CAST: Final = "koffi_typed.pointer.Cast"
RECORD_DECORATORS: Final = frozenset(
    {"koffi_typed.records.struct", "koffi_typed.records.union", "koffi_typed.records.pack"})
LIB_FUNC: Final = "koffi_typed.library.Library.func"
CALLS: Final = frozenset({f"{FUNCTION}.__call__", f"{FUNCTION}.async_", f"{FUNCTION}.acall"})
PROTO: Final = "koffi_typed.declarations.proto"
ANNOTATED: Final = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
CLASSVAR: Final = frozenset({"typing.ClassVar", "typing_extensions.ClassVar"})
OPTIONAL: Final = frozenset({"typing.Optional", "typing_extensions.Optional"})
UNION: Final = frozenset({"typing.Union", "typing_extensions.Union"})

#: Koffi name (and alias) -> family: 'int', 'uint', 'float', 'bool', 'void', 'String'...
FAMILIES: Final[dict[str, str]] = {
    name: prim.family for prim in PRIMITIVES for name in (prim.name, *prim.aliases)}
#: Pointee names whose single pointer is a string type (``char *`` and the wide ones).
STRING_POINTEES: Final[dict[str, str]] = {
    prim.pointee: prim.family for prim in PRIMITIVES if prim.pointee}
for _prim in PRIMITIVES:
    if _prim.pointee:
        for _alias in (_prim.name, *_prim.aliases):
            if _alias.endswith(" *"):
                STRING_POINTEES[_alias[:-2]] = _prim.family
STRING_FAMILIES: Final = frozenset({"String", "String16", "String32", "WideString"})
#: Integer pointees a ``str`` is accepted for (encoded by their width, as Koffi does).
TEXT_POINTEES: Final = frozenset(
    name for prim in PRIMITIVES for name in (prim.name, *prim.aliases)
    if prim.family in ("int", "uint") and prim.size_key in ("1", "2", "4") and not prim.swap)
#: Runtime-registered names by declaration kind, found in module sources.
_DECL_RE: Final = re.compile(
    r"""(?P<fn>opaque|alias|enumeration|struct|union|pack|pointer|disposable|proto)\(\s*"""
    r"""(?P<q>['"])(?P<first>[^'"\n]*)(?P=q)(?:\s*,\s*(?P<q2>['"])(?P<second>[^'"\n]*)(?P=q2))?""")
_MAX_DEPTH: Final = 16


class _CTypeError(Exception):
    """A C type the plugin cannot accept; the message is shown to the user."""


# ---------------------------------------------------------------------------- C names


class _Names:
    """C names declared at runtime with string literals, scanned lazily from module sources."""

    def __init__(self) -> None:
        self.scanned: set[str] = set()
        self.kinds: dict[str, tuple[str, str | None]] = {}  # name -> (kind, spec or proto)

    def scan(self, paths: Iterable[str]) -> None:
        for path in paths:
            if path in self.scanned or not path.endswith(".py"):
                continue
            self.scanned.add(path)
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            if "koffi" not in text:
                continue
            for m in _DECL_RE.finditer(text):
                self.add(m["fn"], m["first"], m["second"])

    def add(self, fn: str, first: str, second: str | None) -> None:
        if fn == "proto":
            if first.isidentifier() and second is not None:
                if second.isidentifier() or second is None:
                    self.kinds.setdefault(first, ("proto", None))
                    return
                first = second
            try:
                name = parse_prototype(first).name
            except ParseError:
                return
            if name:
                self.kinds.setdefault(name, ("proto", first))
        elif first.isidentifier():
            if fn == "alias":
                self.kinds.setdefault(first, ("alias", second))
            elif fn == "pointer" and second is not None:
                self.kinds.setdefault(first, ("alias", f"{second} *"))
            elif fn in ("struct", "union", "pack"):
                self.kinds.setdefault(first, ("record", None))
            else:
                self.kinds.setdefault(first, (fn, None))


# ---------------------------------------------------------------------------- the plugin


class KoffiPlugin(Plugin):
    """Dispatches by fullname; one small callback per hook."""

    def __init__(self, options: object) -> None:
        super().__init__(options)  # type: ignore[arg-type]
        self.names = _Names()
        self.records: dict[str, str] = {}  # C name -> class fullname (seen this run)

    # hooks
    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        if fullname in CALLS:
            return _no_bool_for_int
        return self._lib_func if fullname == LIB_FUNC else None

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return self._proto if fullname == PROTO else None

    def get_class_decorator_hook_2(
            self, fullname: str) -> Callable[[ClassDefContext], bool] | None:
        return self._record_class if fullname in RECORD_DECORATORS else None

    def get_dynamic_class_hook(
            self, fullname: str) -> Callable[[DynamicClassDefContext], None] | None:
        return self._dict_record if fullname in RECORD_DECORATORS else None

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        if file.path:
            self.names.scan([file.path])
        if any(imp_mentions_koffi(d) for d in file.defs):
            _allow_empty_typed_declarations(file.defs)
            return [(10, "array", -1)]  # array.array buffers in prototype types
        return []

    # lib.func / koffi.proto
    def _lib_func(self, ctx: MethodContext) -> Type:
        return self._prototype_call(ctx, named=True)

    def _proto(self, ctx: FunctionContext) -> Type:
        self._prototype_call(ctx, named=False)
        return ctx.default_return_type

    def _prototype_call(self, ctx: MethodContext | FunctionContext, *, named: bool) -> Type:
        found = _literal_prototype(ctx)
        if found is None:
            return ctx.default_return_type
        text, node = found
        try:
            proto = parse_prototype(text)
            if named and proto.name is None:
                raise ParseError("Expected a function name in prototype", text, 0)
            params, result = self._signature(ctx, proto, 0)
        except ParseError as exc:
            where = f" (at offset {exc.pos})" if exc.pos is not None else ""
            ctx.api.fail(f'{exc.msg} in C prototype "{text}"{where}', node, code=KOFFI_DECL)
            return ctx.default_return_type
        except _CTypeError as exc:
            ctx.api.fail(f'{exc} in C prototype "{text}"', node, code=KOFFI_DECL)
            return ctx.default_return_type
        if not named:
            return ctx.default_return_type
        function = _instance(ctx, FUNCTION, [params, result])
        return function if function is not None else ctx.default_return_type

    def _signature(self, ctx: MethodContext | FunctionContext, proto: Prototype,
                   depth: int, *, callback: bool = False) -> tuple[Parameters, Type]:
        """Parameter and result types; a callback receives C values (converted like results)
        and returns a Python value (converted like a parameter)."""
        types: list[Type] = []
        kinds: list[ArgKind] = []
        if len(proto.params) > MAX_PARAMETERS:
            raise _CTypeError(f"Functions cannot have more than {MAX_PARAMETERS} parameters")
        for p in proto.params:
            types.append(self._c_type(ctx, p.type, param=not callback, direction=p.direction,
                                      depth=depth))
            kinds.append(ARG_POS)
        if proto.variadic:
            types.append(AnyType(TypeOfAny.explicit))
            kinds.append(ARG_STAR)
        result = self._c_type(ctx, proto.result, param=callback, direction="in", depth=depth)
        names: list[str | None] = [None] * len(types)
        return Parameters(types, kinds, names), result

    def _lookup_record(self, ctx: MethodContext | FunctionContext, name: str) -> TypeInfo | None:
        """The record class whose C name is ``name``, seen this run or in any module."""
        modules: dict[str, MypyFile] = getattr(ctx.api, "modules", {})
        fullname = self.records.get(name)
        if fullname is not None:
            node = _lookup_info(modules, fullname)
            if node is not None:
                return node
        for mod in modules.values():
            for sym in mod.names.values():
                node_ = sym.node
                if isinstance(node_, TypeInfo) and RECORD_KEY in node_.metadata \
                        and node_.metadata[RECORD_KEY].get("c_name") == name:
                    self.records[name] = node_.fullname
                    return node_
        return None

    def _runtime_name(self, ctx: MethodContext | FunctionContext,
                      name: str) -> tuple[str, str | None] | None:
        found = self.names.kinds.get(name)
        if found is None:
            modules: dict[str, MypyFile] = getattr(ctx.api, "modules", {})
            self.names.scan(m.path for m in modules.values()
                            if m.path and "typeshed" not in m.path)
            found = self.names.kinds.get(name)
        return found

    def _c_type(self, ctx: MethodContext | FunctionContext, expr: TypeExpr, *, param: bool,
                direction: str, depth: int) -> Type:
        stars = [s for s in expr.suffixes if s[0] == "*"]
        if any(s[0] == "[]" for s in expr.suffixes):
            return AnyType(TypeOfAny.explicit)  # arrays: the runtime explains the error
        if expr.proto is not None:  # an inline function-pointer type: typed as 'Fn *'
            if len(stars) != 1 or depth > _MAX_DEPTH:
                return self._pointer(ctx, None, param, direction, void=False)
            return self._callback(ctx, expr.proto, param=param, direction=direction,
                                  depth=depth, strict=True)
        return self._named(ctx, expr.name, len(stars), param=param, direction=direction,
                           depth=depth, const=expr.readonly)

    def _callback(self, ctx: MethodContext | FunctionContext, proto: Prototype | None, *,
                  param: bool, direction: str, depth: int, strict: bool = False) -> Type:
        """A pointer to a prototype: a parameter takes a Python callable of the callback's
        signature (or a Pointer / None); elsewhere it is a Pointer. ``strict``: an error in
        the signature is reported (an inline type is checked here, a named one where it was
        declared)."""
        api = ctx.api
        _check_direction(f"{proto.name or 'function'} *" if proto is not None else "function *",
                         direction)
        callback: Type = AnyType(TypeOfAny.explicit)
        if proto is not None:
            try:
                params, result = self._signature(ctx, proto, depth + 1, callback=True)
                callback = CallableType(params.arg_types, params.arg_kinds,
                                        params.arg_names, result,
                                        api.named_generic_type("builtins.function", []))
            except (ParseError, _CTypeError):
                if strict:
                    raise
        if not param:
            return self._pointer(ctx, None, False, direction, void=False)
        return UnionType([callback, self._pointer_type(ctx), NoneType()])

    def _named(self, ctx: MethodContext | FunctionContext, name: str, stars: int, *,
               param: bool, direction: str, depth: int, const: bool = False) -> Type:
        """The Python type of C type ``name`` with ``stars`` pointers; ``const``: the pointee
        of the outermost pointer is const (C may not write there, so ``bytes`` will do)."""
        api = ctx.api
        if depth > _MAX_DEPTH:
            return AnyType(TypeOfAny.explicit)
        family = FAMILIES.get(name)
        if family in STRING_FAMILIES:  # 'str', 'str16'...: already a pointer
            return self._pointer_or_string(ctx, str(family), stars + 1, param, direction,
                                           const=const)
        if family is not None and stars and name in STRING_POINTEES:  # char *, wchar_t *...
            return self._pointer_or_string(ctx, STRING_POINTEES[name], stars, param,
                                           direction, const=const)
        if family is not None:
            if stars:
                elem = None if family == "void" and stars == 1 else self._named(
                    ctx, name, stars - 1, param=False, direction="in", depth=depth)
                return self._pointer(ctx, elem, param, direction,
                                     void=family == "void" and stars == 1, const=const,
                                     text=stars == 1 and (family == "void"
                                                          or name in TEXT_POINTEES))
            if family == "void":
                if param:
                    raise _CTypeError("Type void cannot be used as a parameter")
                return NoneType()
            _check_direction(name, direction)
            if family == "bool":
                return api.named_generic_type("builtins.bool", [])
            if family == "float":
                return api.named_generic_type("builtins.float", [])
            return api.named_generic_type("builtins.int", [])
        record = self._lookup_record(ctx, name)
        if record is not None:
            inst = Instance(record, [])
            if not stars:
                _check_direction(name, direction)
                return inst
            elem = inst if stars == 1 else self._named(
                ctx, name, stars - 1, param=False, direction="in", depth=depth)
            return self._pointer(ctx, elem, param, direction, void=False,
                                 record=inst if stars == 1 else None, const=const)
        runtime = self._runtime_name(ctx, name)
        if runtime is None:
            raise _CTypeError(f'Unknown C type "{name}"')
        kind, spec = runtime
        if kind == "alias" and spec is not None:
            try:
                target = parse_type(spec)
            except ParseError:
                return AnyType(TypeOfAny.explicit)
            if any(s[0] == "[]" for s in target.suffixes):
                if not stars:  # an array by value, as a parameter or a result
                    raise _CTypeError(f"{name} is an array type: array types decay to "
                                      "pointers in prototypes (C standard), use pointers")
                return AnyType(TypeOfAny.explicit)
            inner = sum(1 for s in target.suffixes if s[0] == "*")
            if target.proto is not None:
                if inner + stars != 1:
                    return self._pointer(ctx, None, param, direction, void=False)
                return self._callback(ctx, target.proto, param=param, direction=direction,
                                      depth=depth + 1)
            return self._named(ctx, target.name, inner + stars, param=param,
                               direction=direction, depth=depth + 1,
                               const=const if stars else target.readonly)
        if kind == "enumeration" and not stars:
            _check_direction(name, direction)
            return api.named_generic_type("builtins.int", [])
        if kind in ("opaque", "proto") and not stars:
            raise _CTypeError(f"Type {name} cannot be passed or returned by value (maybe try "
                              f"{name} *)")
        if stars > 1:
            elem = self._named(ctx, name, stars - 1, param=False, direction="in",
                               depth=depth)
            return self._pointer(ctx, elem, param, direction, void=False, const=const)
        if kind == "proto" and stars == 1:
            parsed = None
            if spec is not None:
                try:
                    parsed = parse_prototype(spec)
                except ParseError:
                    parsed = None
            return self._callback(ctx, parsed, param=param, direction=direction, depth=depth)
        if stars:
            return self._pointer(ctx, None, param, direction, void=False, const=const)
        return AnyType(TypeOfAny.explicit)

    def _pointer_type(self, ctx: MethodContext | FunctionContext,
                      elem: Type | None = None) -> Type:
        pointer = _instance(ctx, POINTER, [elem if elem is not None
                                           else AnyType(TypeOfAny.explicit)])
        return pointer if pointer is not None else AnyType(TypeOfAny.explicit)

    def _buffers(self, ctx: MethodContext | FunctionContext, *, const: bool) -> list[Type]:
        """Buffer types C may write into, and ``bytes`` where it may not (``const``)."""
        api = ctx.api
        items: list[Type] = [api.named_generic_type(f"builtins.{n}", []) for n in ("bytearray",
                                                                        "memoryview")]
        array = _instance(ctx, "array.array", [AnyType(TypeOfAny.explicit)])
        if array is not None:
            items.append(array)
        if const:
            items.insert(0, api.named_generic_type("builtins.bytes", []))
        return items

    def _pointer(self, ctx: MethodContext | FunctionContext, elem: Type | None, param: bool,
                 direction: str, *, void: bool, record: Type | None = None,
                 const: bool = False, text: bool = False) -> Type:
        """``Pointer[T] | None`` for results; parameters also take ``T`` records, lists,
        buffers (``bytes`` only where C cannot write) and ``koffi.as_`` casts, and ``text``:
        a ``str`` (``void *`` and narrow integer pointees, encoded by their width)."""
        api = ctx.api
        items: list[Type] = [self._pointer_type(ctx, elem)]
        if param and text and direction == "in":
            items.append(api.named_generic_type("builtins.str", []))
        if param:
            items += self._buffers(ctx, const=const and direction == "in")
            items.append(api.named_generic_type(
                "builtins.list", [elem if elem is not None else AnyType(TypeOfAny.explicit)]))
            if record is not None:
                items.append(record)
            if void:
                items.append(api.named_generic_type("builtins.int", []))
            cast = _instance(ctx, CAST, [])
            if cast is not None:
                items.append(cast)
        items.append(NoneType())
        return UnionType(items)

    def _pointer_or_string(self, ctx: MethodContext | FunctionContext, family: str, stars: int,
                           param: bool, direction: str, *, const: bool = False) -> Type:
        """Strings: ``str | None`` out of C; in, ``str``, buffers (``bytes`` for ``const
        char *``), pointers; an ``_Out_`` string takes a one-element list or a buffer."""
        api = ctx.api
        text = api.named_generic_type("builtins.str", [])
        if stars > 1:
            elem: Type = UnionType([text, NoneType()])
            return self._pointer(ctx, elem, param, direction, void=False, const=const)
        if not param:
            return UnionType([text, NoneType()])
        if direction != "in":
            return UnionType([api.named_generic_type("builtins.list", [text]),
                              *self._buffers(ctx, const=False),
                              self._pointer_type(ctx), NoneType()])
        items: list[Type] = [text, *self._buffers(ctx, const=const and family == "String"),
                             self._pointer_type(ctx)]
        cast = _instance(ctx, CAST, [])
        if cast is not None:
            items.append(cast)
        items.append(NoneType())
        return UnionType(items)

    # records
    def _record_class(self, ctx: ClassDefContext) -> bool:
        """Run mypy's own dataclass_transform handling, then make every member optional."""
        if not dataclass_class_maker_callback(ctx):
            return False
        info = ctx.cls.info
        c_name = _decorator_name(ctx.reason) or ctx.cls.name
        info.metadata[RECORD_KEY] = {"c_name": c_name}
        self.records[c_name] = info.fullname
        _all_members_default(info)
        _add_record_methods(ctx)
        for stmt in ctx.cls.defs.body:
            if isinstance(stmt, AssignmentStmt) and stmt.unanalyzed_type is not None \
                    and len(stmt.lvalues) == 1 and isinstance(stmt.lvalues[0], NameExpr):
                problem = _member_problem(ctx.api, stmt.unanalyzed_type, ctx.cls)
                if problem is not None:
                    ctx.api.fail(f'Member "{stmt.lvalues[0].name}" of record "{ctx.cls.name}": '
                                 f"{problem}", stmt, code=KOFFI_DECL)
        return True

    def _dict_record(self, ctx: DynamicClassDefContext) -> None:
        """``Point = koffi.struct('Point', {'x': 'int', 'y': 'double'})`` as a class."""
        call = ctx.call
        positional = [a for a, k in zip(call.args, call.arg_kinds) if k == ARG_POS]
        if len(positional) != sum(1 for k in call.arg_kinds if k != ARG_NAMED):
            return  # *args or **kwargs: not literal
        if len(positional) == 1:
            name, members = ctx.name, positional[0]
        elif len(positional) == 2 and isinstance(positional[0], StrExpr):
            name, members = positional[0].value, positional[1]
        else:
            return
        items = _member_items(members)
        if items is None:
            return
        api = ctx.api
        seen: set[str] = set()
        unique = []
        for member, spec in items:
            if member in seen:  # a dict literal would keep the last one silently
                api.fail(f'Duplicate member "{member}" in record "{name}"', call,
                         code=KOFFI_DECL)
                continue
            seen.add(member)
            unique.append((member, spec))
        items = unique
        fields: list[tuple[str, Type]] = []
        for member, spec in items:
            try:
                fields.append((member, _member_type(api, spec)))
            except (ParseError, _CTypeError) as exc:
                api.fail(f'Member "{member}" of record "{name}": '
                         f'{getattr(exc, "msg", exc)} in "{spec}"', call, code=KOFFI_DECL)
                fields.append((member, AnyType(TypeOfAny.from_error)))
        info = api.basic_new_typeinfo(ctx.name, api.named_type("builtins.object"), call.line)
        info.metadata[RECORD_KEY] = {"c_name": name}
        for member, typ in fields:
            var = Var(member, typ)
            var.info = info
            var._fullname = f"{info.fullname}.{member}"
            info.names[member] = SymbolTableNode(MDEF, var)
        args = [Argument(Var(m, t), t, None, ARG_OPT) for m, t in fields]
        add_method_to_class(api, info.defn, "__init__", args, NoneType())
        api.add_symbol_table_node(ctx.name, SymbolTableNode(GDEF, info))
        self.records[name] = info.fullname


# ---------------------------------------------------------------------------- helpers


def imp_mentions_koffi(stmt: Statement) -> bool:
    """Whether a top-level statement imports koffi_typed."""
    from mypy.nodes import Import, ImportFrom
    if isinstance(stmt, Import):
        return any(name == PKG or name.startswith(PKG + ".") for name, _ in stmt.ids)
    if isinstance(stmt, ImportFrom):
        return stmt.id == PKG or stmt.id.startswith(PKG + ".")
    return False


def _is_function_decorator(expr: Expression) -> bool:
    """``@<library>.function``, ``@<library>.function("name")``, with keywords or not."""
    if isinstance(expr, CallExpr) and all(
            isinstance(a, StrExpr) for a, kind in zip(expr.args, expr.arg_kinds)
            if kind == ARG_POS):
        expr = expr.callee
    return isinstance(expr, MemberExpr) and expr.name == "function"


def _allow_empty_typed_declarations(defs: list[Statement]) -> None:
    """Mark ``@<library>.function`` stubs like ``if TYPE_CHECKING`` definitions, which mypy
    does not ask for a body (the decorator replaces the function by the C one)."""
    for stmt in defs:
        if isinstance(stmt, Decorator) and any(_is_function_decorator(d)
                                               for d in stmt.decorators):
            stmt.func.is_mypy_only = True
        elif isinstance(stmt, IfStmt):
            for block in stmt.body:
                _allow_empty_typed_declarations(block.body)
            if stmt.else_body is not None:
                _allow_empty_typed_declarations(stmt.else_body.body)
        elif isinstance(stmt, ClassDef):
            _allow_empty_typed_declarations(stmt.defs.body)
        elif isinstance(stmt, Block):
            _allow_empty_typed_declarations(stmt.body)


def _literal_prototype(ctx: MethodContext | FunctionContext) -> tuple[str, Context] | None:
    """The prototype text of a call with literal arguments, and the node to blame. Keyword
    arguments (``release_gil=False``) do not change the prototype."""
    positional = _positional(ctx)
    args = [a for a, _ in positional]
    if len(args) == 1:
        arg = args[0]
        if isinstance(arg, StrExpr):
            return arg.value, arg
        lit = get_proper_type(positional[0][1])
        if isinstance(lit, Instance) and lit.last_known_value is not None \
                and isinstance(lit.last_known_value.value, str):
            return lit.last_known_value.value, arg
        return None
    # Koffi's (convention, prototype)
    if len(args) == 2 and isinstance(args[0], StrExpr) and args[0].value in CONVENTIONS \
            and isinstance(args[1], StrExpr):
        return args[1].value, args[1]
    # Classic form: (convention?, name, result, [params])
    if len(args) == 4 and isinstance(args[0], StrExpr):
        args = args[1:]
    if len(args) == 3 and isinstance(args[1], StrExpr) and isinstance(args[2], ListExpr) and \
            all(isinstance(p, StrExpr) for p in args[2].items) and (
                isinstance(args[0], StrExpr) or _is_none(args[0])):
        name = args[0].value if isinstance(args[0], StrExpr) else ""
        params = ", ".join(p.value for p in args[2].items if isinstance(p, StrExpr))
        return f"{args[1].value} {name}({params})", args[1]
    return None


def _positional(ctx: MethodContext | FunctionContext) -> list[tuple[Expression, Type]]:
    """The positional arguments of a call with their types (keywords left out)."""
    return [(a, t) for args_, kinds, types in zip(ctx.args, ctx.arg_kinds, ctx.arg_types)
            for a, k, t in zip(args_, kinds, types) if k == ARG_POS]


def _no_bool_for_int(ctx: MethodContext) -> Type:
    """A call of a declared function: ``bool`` is refused for C integer and floating-point
    parameters at run time (``True`` is not ``1`` there), so it is refused here too, although
    ``bool`` is an ``int`` to the type system."""
    function = get_proper_type(ctx.type)
    if not isinstance(function, Instance) or not function.args:
        return ctx.default_return_type
    params = get_proper_type(function.args[0])
    if not isinstance(params, Parameters):
        return ctx.default_return_type
    actual = _positional(ctx)
    for i, ((node, given), (wanted, kind)) in enumerate(zip(actual, zip(params.arg_types,
                                                                         params.arg_kinds))):
        if kind != ARG_POS:
            break
        wanted_p, given_p = get_proper_type(wanted), get_proper_type(given)
        if isinstance(wanted_p, Instance) and _is_bool(given_p):
            number = _NUMBERS.get(wanted_p.type.fullname)
            if number is not None:
                ctx.api.fail(f"Argument {i + 1} is a bool, but the C parameter is {number[0]} "
                             f"(koffi_typed refuses bool there; pass {number[1]}(...))", node,
                             code=KOFFI_BOOL)
    return ctx.default_return_type


_NUMBERS: Final = {"builtins.int": ("an integer", "int"),
                   "builtins.float": ("a floating-point number", "float")}


def _is_bool(typ: Type) -> bool:
    if isinstance(typ, LiteralType):
        return typ.fallback.type.fullname == "builtins.bool"
    return isinstance(typ, Instance) and typ.type.fullname == "builtins.bool"


def _check_direction(name: str, direction: str) -> None:
    """``_Out_``/``_Inout_`` apply to pointers and strings only (the runtime refuses the rest)."""
    if direction != "in":
        qualifier = "_Out_" if direction == "out" else "_Inout_"
        raise _CTypeError(f"Unexpected {name} type for an {qualifier} parameter, expected a "
                          "pointer or string type")


def _is_none(expr: Expression) -> bool:
    return isinstance(expr, NameExpr) and expr.fullname == "builtins.None"


def _instance(ctx: MethodContext | FunctionContext, fullname: str,
              args: list[Type]) -> Instance | None:
    """An instance of a koffi_typed class, looked up by module (the package namespace does not
    bind every submodule, so ``named_generic_type`` cannot be used)."""
    info = _lookup_info(getattr(ctx.api, "modules", {}), fullname)
    return Instance(info, args) if info is not None else None


def _lookup_info(modules: dict[str, MypyFile], fullname: str) -> TypeInfo | None:
    module, _, name = fullname.rpartition(".")
    mod = modules.get(module)
    sym = mod.names.get(name) if mod is not None else None
    return sym.node if sym is not None and isinstance(sym.node, TypeInfo) else None


def _decorator_name(reason: Expression) -> str | None:
    """``name=`` of ``@koffi.struct(name='tm')``."""
    if isinstance(reason, CallExpr):
        for arg_name, arg in zip(reason.arg_names, reason.args):
            if arg_name == "name" and isinstance(arg, StrExpr):
                return arg.value
    return None


def _all_members_default(info: TypeInfo) -> None:
    """Every member of a record defaults to zero at runtime: make them optional."""
    meta = info.metadata.get("dataclass")
    if meta is not None:
        for attr in meta.get("attributes", []):
            attr["has_default"] = True
    sym = info.names.get("__init__")
    init = sym.node if sym is not None else None
    if not isinstance(init, FuncDef) or not (sym is not None and sym.plugin_generated):
        return
    relaxed = {ARG_POS: ARG_OPT, ARG_NAMED: ARG_NAMED_OPT}
    for arg in init.arguments[1:]:
        arg.kind = relaxed.get(arg.kind, arg.kind)
    typ = init.type
    if isinstance(typ, CallableType):
        kinds = [typ.arg_kinds[0], *(relaxed.get(k, k) for k in typ.arg_kinds[1:])]
        init.type = typ.copy_modified(arg_kinds=kinds)
    init.arg_kinds = [a.kind for a in init.arguments]


def _add_record_methods(ctx: ClassDefContext) -> None:
    """``bytes(record)`` and ``Cls.from_buffer(data, offset=0)``, which the decorator adds at
    run time (a `koffi_typed.Record` base declares them too)."""
    info = ctx.cls.info
    if info.get_method("__bytes__") is None:
        add_method_to_class(ctx.api, ctx.cls, "__bytes__", [],
                            ctx.api.named_type("builtins.bytes"))
    if info.get("from_buffer") is None or not info.has_base("koffi_typed.bases.Record"):
        data_type = UnionType([ctx.api.named_type(f"builtins.{n}")
                               for n in ("bytes", "bytearray", "memoryview")])
        args = [Argument(Var("data", data_type), data_type, None, ARG_POS),
                Argument(Var("offset", ctx.api.named_type("builtins.int")),
                         ctx.api.named_type("builtins.int"), None, ARG_OPT)]
        self_type = Instance(info, [])
        add_method_to_class(ctx.api, ctx.cls, "from_buffer", args, self_type,
                            is_classmethod=True)


def _member_items(expr: Expression) -> list[tuple[str, str]] | None:
    """Literal ``{'x': 'int'}`` or ``[('x', 'int')]`` members."""
    out: list[tuple[str, str]] = []
    if isinstance(expr, DictExpr):
        for key, value in expr.items:
            if not isinstance(key, StrExpr) or not isinstance(value, StrExpr):
                return None
            out.append((key.value, value.value))
        return out
    if isinstance(expr, (ListExpr, TupleExpr)):
        for item in expr.items:
            if not (isinstance(item, TupleExpr) and len(item.items) == 2
                    and isinstance(item.items[0], StrExpr)
                    and isinstance(item.items[1], StrExpr)):
                return None
            out.append((item.items[0].value, item.items[1].value))
        return out
    return None


def _member_type(api: SemanticAnalyzerPluginInterface, spec: str) -> Type:
    """The Python type of a dict-form member (semantic analysis: records are Any)."""
    expr = parse_type(spec)
    family = FAMILIES.get(expr.name)
    stars = sum(1 for s in expr.suffixes if s[0] == "*")
    arrays = any(s[0] == "[]" for s in expr.suffixes)
    if arrays:
        return AnyType(TypeOfAny.explicit)
    if (family in STRING_FAMILIES and not stars) or (
            family is not None and stars == 1 and expr.name in STRING_POINTEES):
        return UnionType([api.named_type("builtins.str"), NoneType()])
    if stars or family is None:
        pointer = api.named_type_or_none(POINTER, [AnyType(TypeOfAny.explicit)])
        if stars and pointer is not None:
            return UnionType([pointer, NoneType()])
        return AnyType(TypeOfAny.explicit)
    if family == "void":
        raise _CTypeError("Type void cannot be a member")
    if family == "bool":
        return api.named_type("builtins.bool")
    if family == "float":
        return api.named_type("builtins.float")
    return api.named_type("builtins.int")


def _member_problem(api: SemanticAnalyzerPluginInterface, typ: Type,
                    ctx: Context) -> str | None:
    """Why an (unanalyzed) member annotation is not a C type, or None if it is one."""
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):  # X | None
        rest = [t for t in proper.items if not _is_none_type(t)]
        return _member_problem(api, rest[0], ctx) if len(rest) == 1 else \
            "a union is not a C type"
    if not isinstance(proper, UnboundType):
        return None
    sym = api.lookup_qualified(proper.name, ctx, suppress_errors=True)
    node = sym.node if sym is not None else None
    fullname = getattr(node, "fullname", "") or ""
    if fullname in CLASSVAR:
        return None
    if fullname in OPTIONAL or (fullname in UNION and len(proper.args) == 2):
        rest = [t for t in proper.args if not _is_none_type(t)]
        return _member_problem(api, rest[0], ctx) if len(rest) == 1 else None
    if fullname in ANNOTATED:
        return _annotated_problem(list(proper.args[1:]))
    if isinstance(node, TypeAlias):
        return None  # c.int32 or a user alias: mypy has dropped the Annotated metadata
    if fullname in (POINTER, "koffi_typed.Ptr", "koffi_typed.pointer.Ptr"):
        return None
    if isinstance(node, TypeInfo):
        if RECORD_KEY in node.metadata or node.fullname == POINTER:
            return None
        if node.has_base("enum.IntEnum") or node.has_base("enum.IntFlag"):
            return None
        if any(RECORD_KEY in base.metadata for base in node.mro):
            return None
        return (f"annotation {proper.name} is not a C type (use c.int32, "
                "Annotated[int, 'int32_t'], a record class or koffi.Ptr[...])")
    if node is None:
        return None  # not resolvable here: the runtime says what is wrong
    return None


def _annotated_problem(meta: list[Type]) -> str | None:
    """Annotated[...] metadata: a C type string is checked; other metadata is accepted."""
    for item in meta:
        text: str | None = None
        if isinstance(item, RawExpressionType) and isinstance(item.literal_value, str):
            text = item.literal_value
        elif isinstance(item, UnboundType) and item.original_str_expr is not None:
            text = item.original_str_expr
        if text is None:
            continue
        try:
            expr = parse_type(text)
        except ParseError as exc:
            return f'{exc.msg} in C type "{text}"'
        return None if expr.name or expr.proto else f'"{text}" is not a C type'
    return None if meta else "Annotated needs C type metadata"


def _is_none_type(typ: Type) -> bool:
    proper: ProperType = get_proper_type(typ)
    if isinstance(proper, NoneType):
        return True
    return isinstance(proper, UnboundType) and proper.name == "None"


def plugin(version: str) -> type[Plugin]:
    """mypy entry point."""
    del version  # one plugin for every supported mypy version
    return KoffiPlugin
