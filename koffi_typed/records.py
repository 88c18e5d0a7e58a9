"""Records: ``@koffi.struct``, ``@koffi.union``, ``koffi.pack`` and their dict forms.

Fields are resolved and laid out once, at decoration. The builder then makes a new class with
``__slots__`` and generated ``__init__``, ``__repr__`` and ``__eq__`` (their source is
registered with `linecache`, so tracebacks show it), keeping any dunder the user wrote. Struct
instances hold Python values; union instances hold their bytes, and each member is a property
that reinterprets them, as in C.
"""

from __future__ import annotations

import array
import inspect
import keyword
import linecache
import sys
import types as pytypes
from collections.abc import Callable, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    ClassVar,
    ForwardRef,
    TypeVar,
    Union,
    dataclass_transform,
    get_args,
    get_origin,
    overload,
)

from koffi_typed import marshal
from koffi_typed.bases import ZERO
from koffi_typed.errors import Error, ParseError
from koffi_typed.markers import Align, BitField
from koffi_typed.pointer import Pointer
from koffi_typed.types import (
    FieldDecl,
    Type,
    define_record,
    is_opaque,
    lookup,
    make_pointer,
    new_placeholder,
    opaque,
    register_name,
    resolve_type,
    unregister_name,
)

__all__ = ["pack", "struct", "union"]

_T = TypeVar("_T")
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
_GENERATED = ("__init__", "__repr__", "__eq__")
_counter = 0


# ---------------------------------------------------------------------------- member specs

def _is_record_class(obj: object) -> bool:
    return isinstance(obj, type) and isinstance(getattr(obj, "__koffi_type__", None), Type)


def _forward(name: str, namespace: Mapping[str, Any]) -> Type:
    """The type a forward reference names: registered name, record class, or a new opaque."""
    if not name.isidentifier():
        return resolve_type(name)
    found = lookup(name)
    if found is not None:
        return found
    obj = namespace.get(name)
    if _is_record_class(obj):
        return resolve_type(obj)
    return opaque(name)


def _type_of(obj: object, namespace: Mapping[str, Any]) -> tuple[Type, int | None, int | None]:
    """(type, bitfield width, explicit alignment) of an annotation or member spec."""
    if isinstance(obj, BitField):
        return _type_of(obj.spec, namespace)[0], obj.width, None
    origin = get_origin(obj)
    if origin is Annotated:
        base, *meta = get_args(obj)
        spec: object = None
        bits = align = None
        for item in meta:
            if isinstance(item, BitField):
                spec, bits = item.spec, item.width
            elif isinstance(item, Align):
                align = item.value
            elif spec is None and (isinstance(item, (Type, str)) or _is_record_class(item)
                                   or get_origin(item) is Annotated):
                spec = item
        t = _type_of(base if spec is None else spec, namespace)[0]
        return t, bits, align
    if origin is Pointer:
        (arg,) = get_args(obj)
        if isinstance(arg, ForwardRef):
            arg = arg.__forward_arg__
        pointee = _forward(arg, namespace) if isinstance(arg, str) else \
            _type_of(arg, namespace)[0]
        return make_pointer(pointee), None, None
    if origin in (Union, pytypes.UnionType):
        rest = [a for a in get_args(obj) if a is not type(None)]
        if len(rest) == 1:
            return _type_of(rest[0], namespace)
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and isinstance(obj[0], int):
        return _type_of(obj[1], namespace)[0], None, obj[0]
    if isinstance(obj, (Type, str)) or _is_record_class(obj):
        return resolve_type(obj), None, None
    shown = getattr(obj, "__name__", None) or repr(obj)
    raise TypeError(f"annotation {shown} is not a C type (use c.int32, "
                    f"Annotated[int, 'int32_t'], a record class or koffi.Ptr[...])")


def _member(owner: str, name: str, spec: object, namespace: Mapping[str, Any]) -> FieldDecl:
    if not isinstance(name, str) or not name.isidentifier():
        raise Error(f"Invalid member name {name!r} in '{owner}'")
    if keyword.iskeyword(name):
        raise Error(f"Member name {name!r} of '{owner}' is a Python keyword")
    try:
        t, bits, align = _type_of(spec, namespace)
    except ParseError as exc:
        raise ParseError(f"{owner}.{name}: {exc.msg}", exc.text, exc.pos) from None
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{owner}.{name}: {exc}") from None
    return FieldDecl(name, t, bits, align)


# ---------------------------------------------------------------------------- defaults

def _zero(t: Type) -> tuple[object, Callable[[], object] | None]:
    """(default value, or a factory for mutable defaults) of a member of type ``t``."""
    kind = t.primitive
    if kind == "Bool":
        return False, None
    if kind in ("Float32", "Float64", "LongDouble"):
        return 0.0, None
    if kind in ("Record", "Union"):
        cls = t.python_class
        assert cls is not None
        return None, cls
    if kind == "Array" and t.ref is not None and t.length is not None:
        if t.hint == "String":
            return "", None
        if t.hint == "Bytes":
            return bytes(t.size), None
        if t.counted_by is not None:
            return None, list
        elem, make = _zero(t.ref)
        n = t.length
        if t.hint == "Typed":
            code = marshal._scalar_format(t.ref)[1]
            zeros: list[Any] = [elem] * n
            return None, lambda: array.array(code, zeros)
        if make is not None:
            return None, lambda: [make() for _ in range(n)]
        return None, lambda: [elem] * n
    if kind.startswith(("Int", "UInt")) or kind == "Enum":
        return 0, None
    return None, None


# ---------------------------------------------------------------------------- class building

def _compile(source: str, filename: str, env: dict[str, Any]) -> dict[str, Any]:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), env, scope)
    return scope


def _struct_methods(qualname: str, fields: list[FieldDecl],
                    defaults: dict[str, object]) -> dict[str, Any]:
    env: dict[str, Any] = {"_MISSING": _MISSING}
    params, body = [], []
    for f in fields:
        value, make = _zero(f.type)
        if f.name in defaults:
            value, make = defaults[f.name], None
            if isinstance(value, (list, dict, bytearray, array.array)):
                make, value = (lambda v=value: v.copy()), None
        if make is None:
            env[f"_d_{f.name}"] = value
            params.append(f"{f.name}=_d_{f.name}")
            body.append(f"    self.{f.name} = {f.name}")
        else:
            env[f"_f_{f.name}"] = make
            params.append(f"{f.name}=_MISSING")
            body.append(f"    self.{f.name} = _f_{f.name}() if {f.name} is _MISSING "
                        f"else {f.name}")
    names = [f.name for f in fields]
    values = "".join(f"self.{n}, " for n in names)
    others = "".join(f"other.{n}, " for n in names)
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    source = "\n".join([
        f"def __init__(self, {', '.join(params)}):",
        "    self._koffi_keep = None",
        *body,
        "def __eq__(self, other):",
        "    if other.__class__ is not self.__class__:",
        "        return NotImplemented",
        f"    return ({values}) == ({others})",
        "def __repr__(self):",
        f"    return f\"{{self.__class__.__qualname__}}({shown})\"",
        "",
    ])
    return _compile(source, f"<koffi_typed struct {qualname}>", env)


def _union_methods(qualname: str, t: Type, fields: list[FieldDecl]) -> dict[str, Any]:
    names = [f.name for f in fields]
    env: dict[str, Any] = {"_MISSING": _MISSING}
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    source = "\n".join([
        f"def __init__(self, {', '.join(f'{n}=_MISSING' for n in names)}):",
        f"    self._koffi_bytes = bytearray({t.size})",
        "    self._koffi_keep = []",
        *(f"    if {n} is not _MISSING:\n        self.{n} = {n}" for n in names),
        "def __eq__(self, other):",
        "    if other.__class__ is not self.__class__:",
        "        return NotImplemented",
        "    return self._koffi_bytes == other._koffi_bytes",
        "def __repr__(self):",
        f"    return f\"{{self.__class__.__qualname__}}({shown})\"",
        "",
    ])
    methods = _compile(source, f"<koffi_typed union {qualname}>", env)
    for name in names:
        methods[name] = _union_property(t, name)
    return methods


def _union_property(t: Type, name: str) -> property:
    def fget(self: Any) -> Any:
        codec = marshal.codec_for(t).members[name]  # type: ignore[attr-defined]
        return codec.decode(self._koffi_bytes, 0)

    def fset(self: Any, value: object) -> None:
        codec = marshal.codec_for(t).members[name]  # type: ignore[attr-defined]
        codec.encode(self._koffi_bytes, 0, value, self._koffi_keep)

    return property(fget, fset, doc=f"Member {name!r} of union {t.name}.")


def _common_methods(t: Type) -> dict[str, Any]:
    def __bytes__(self: Any) -> bytes:
        keep: list[object] = []
        data = marshal.to_bytes(t, self, keep)
        if keep:
            self._koffi_keep = keep
        return data

    def from_buffer(cls: type[_T], data: bytes | bytearray | memoryview,
                    offset: int = 0) -> _T:
        """Decode an instance from the C bytes in ``data`` (a copy; nothing is shared)."""
        value: _T = marshal.from_bytes(t, data, offset)
        return value

    return {"__bytes__": __bytes__, "from_buffer": classmethod(from_buffer)}


def _rebind_class_cells(ns: dict[str, Any], old: type, new: type) -> None:
    """Point ``__class__`` closure cells (used by ``super()``) at the rebuilt class."""
    for value in ns.values():
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        for cell in getattr(func, "__closure__", None) or ():
            try:
                if cell.cell_contents is old:
                    cell.cell_contents = new
            except ValueError:
                continue


def _build(name: str | None, fields: list[FieldDecl], defaults: dict[str, object], *,
           union: bool, pack: int | None, target: Type | None, cls_name: str, qualname: str,
           module: str, bases: tuple[type, ...], namespace: dict[str, Any],
           metaclass: type = type, original: type | None = None) -> type:
    t = define_record(name, fields, union=union, pack=pack, target=target)
    public = [f for f in fields if not f.is_padding]
    generated = (_union_methods(qualname, t, public) if union
                 else _struct_methods(qualname, public, defaults))
    generated.update(_common_methods(t))
    # Class-body values of members are defaults (structs; for unions they only tell type
    # checkers that the argument is optional): they must not stay as class attributes.
    members = {f.name for f in fields}
    ns = {k: v for k, v in namespace.items()
          if k not in ("__dict__", "__weakref__") and k not in members}
    user_defined = set(ns)
    for key, value in generated.items():
        if key not in user_defined:
            ns[key] = value
    for key in _GENERATED:
        if key in ns and key in generated and ns[key] is generated[key]:
            ns[key].__qualname__ = f"{qualname}.{key}"
    slots = ["_koffi_bytes", "_koffi_keep"] if union else [*(f.name for f in public),
                                                           "_koffi_keep"]
    ns["__slots__"] = tuple(s for s in slots if s not in ns)
    ns["__match_args__"] = tuple(f.name for f in public)
    ns["__koffi_type__"] = t
    ns["__hash__"] = None
    ns["__module__"] = module
    ns["__qualname__"] = qualname
    new_cls: type = metaclass(cls_name, bases, ns)
    if original is not None:
        _rebind_class_cells(ns, original, new_cls)
    t._set("python_class", new_cls)
    return new_cls


class _Definition:
    """Reserves a record's name while its members resolve, so self-references find it."""

    def __init__(self, name: str | None, replace: bool, target: Type | None = None) -> None:
        self.name = name
        self.previous: Type | None = None
        self.registered = False
        if target is not None:
            if not is_opaque(target):
                raise Error(f"Cannot redefine non-opaque type {target.name}")
            self.target: Type | None = target
            return
        if name is None:
            self.target = None
            return
        old = lookup(name)
        if old is not None and is_opaque(old):
            self.target = old
            return
        if old is not None and not (replace and old.python_class is not None
                                    and old.primitive in ("Record", "Union")):
            raise Error(f"Duplicate type name {name!r}")
        self.previous = old
        self.target = new_placeholder(name)
        register_name(name, self.target, replace=True)
        self.registered = True

    def __enter__(self) -> Type | None:
        return self.target

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and self.registered and self.name is not None:
            unregister_name(self.name, self.previous)


def _caller_namespace(depth: int) -> dict[str, Any]:
    frame = sys._getframe(depth + 1)
    return {**frame.f_globals, **frame.f_locals}


def _from_class(cls: type, *, union: bool, pack: int | None, name: str | None,
                namespace: dict[str, Any]) -> type:
    c_name = name or cls.__name__
    module_ns = dict(vars(sys.modules[cls.__module__])) if cls.__module__ in sys.modules else {}
    env = {**module_ns, **namespace}
    annotations: dict[str, Any] = dict(inspect.get_annotations(cls))
    with _Definition(c_name, replace=True) as target:
        fields: list[FieldDecl] = []
        defaults: dict[str, object] = {}
        for member, ann in annotations.items():
            if isinstance(ann, str):
                try:
                    ann = eval(ann, env, {cls.__name__: cls})
                except NameError as exc:
                    raise TypeError(f"{c_name}.{member}: cannot resolve annotation {ann!r} "
                                    f"({exc}); use koffi.Ptr['Name'] for a forward "
                                    "reference") from None
            if ann is ClassVar or get_origin(ann) is ClassVar:
                continue
            fields.append(_member(c_name, member, ann, env))
            if member in cls.__dict__ and cls.__dict__[member] is not ZERO:
                defaults[member] = cls.__dict__[member]
        if not fields:
            raise TypeError(f"Empty type '{c_name}' is not allowed in C (no annotated members)")
        return _build(c_name, fields, defaults, union=union, pack=pack, target=target,
                      cls_name=cls.__name__, qualname=cls.__qualname__, module=cls.__module__,
                      bases=cls.__bases__, namespace=dict(cls.__dict__), metaclass=type(cls),
                      original=cls)


def _member_items(members: object) -> list[tuple[str, object]]:
    if isinstance(members, Mapping):
        return list(members.items())
    if isinstance(members, Sequence) and not isinstance(members, str):
        items = []
        for item in members:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise TypeError("members must be a mapping or a sequence of (name, spec) pairs")
            items.append((item[0], item[1]))
        return items
    raise TypeError(f"members must be a mapping of names to types, not "
                    f"{type(members).__name__}")


def _from_members(name_or_type: object, members: object, *, union: bool, pack: int | None,
                  namespace: dict[str, Any]) -> type:
    global _counter
    target = name_or_type if isinstance(name_or_type, Type) else None
    name = target.name if target is not None else name_or_type
    if name is not None and not isinstance(name, str):
        raise TypeError(f"record name must be a string, not {type(name).__name__}")
    if isinstance(name, str) and not name.isidentifier():
        raise Error(f"Invalid type name {name!r}")
    items = _member_items(members)
    with _Definition(name, replace=False, target=target) as placeholder:
        label = name or "<anonymous>"
        fields = [_member(label, str(k), v, namespace) for k, v in items]
        _counter += 1
        cls_name = name or f"Anonymous{'Union' if union else 'Struct'}{_counter}"
        module = namespace.get("__name__", __name__)
        return _build(name, fields, {}, union=union, pack=pack, target=placeholder,
                      cls_name=cls_name, qualname=cls_name, module=str(module), bases=(),
                      namespace={"__doc__": f"C {'union' if union else 'struct'} {label}."})


def _record(args: tuple[object, ...], *, union: bool, pack: int | None, name: str | None,
            depth: int) -> Any:
    if len(args) == 1 and isinstance(args[0], type):
        return _from_class(args[0], union=union, pack=pack, name=name,
                           namespace=_caller_namespace(depth + 1))
    if not args:
        namespace = _caller_namespace(depth + 1)

        def decorate(cls: type[_T]) -> type[_T]:
            return _from_class(cls, union=union, pack=pack, name=name,
                               namespace=namespace)
        return decorate
    if len(args) == 1:
        return _from_members(None, args[0], union=union, pack=pack,
                             namespace=_caller_namespace(depth + 1))
    if len(args) == 2:
        return _from_members(args[0], args[1], union=union, pack=pack,
                             namespace=_caller_namespace(depth + 1))
    raise TypeError("expected a class, (members) or (name, members)")


@overload
def struct(cls: type[_T], /) -> type[_T]: ...
@overload
def struct(*, pack: int | None = None, name: str | None = None
           ) -> Callable[[type[_T]], type[_T]]: ...
@overload
def struct(name: str | Type | Mapping[str, object] | Sequence[tuple[str, object]],
           members: Mapping[str, object] | Sequence[tuple[str, object]] | None = None, /, *,
           pack: int | None = None) -> type[Any]: ...


@dataclass_transform()
def struct(*args: Any, pack: int | None = None, name: str | None = None) -> Any:
    """Declare a C struct.

    As a class decorator (``@koffi.struct`` or ``@koffi.struct(pack=1, name='tm')``) the
    annotated members become C members in order; in Koffi's dict form
    (``koffi.struct('Point', {'x': 'int', 'y': 'double'})``) it returns the same kind of class.
    ``pack`` gives ``#pragma pack(N)`` packing. An opaque type may be passed instead of a
    name to define it.
    """
    return _record(args, union=False, pack=pack, name=name, depth=1)


@overload
def union(cls: type[_T], /) -> type[_T]: ...
@overload
def union(*, pack: int | None = None, name: str | None = None
          ) -> Callable[[type[_T]], type[_T]]: ...
@overload
def union(name: str | Type | Mapping[str, object] | Sequence[tuple[str, object]],
          members: Mapping[str, object] | Sequence[tuple[str, object]] | None = None, /, *,
          pack: int | None = None) -> type[Any]: ...


@dataclass_transform()
def union(*args: Any, pack: int | None = None, name: str | None = None) -> Any:
    """Declare a C union (class decorator or dict form, like `struct`).

    An instance holds the union's bytes: assigning a member writes its bytes, reading a member
    reinterprets them, and the constructor writes the given members, in order, over zeros.
    """
    return _record(args, union=True, pack=pack, name=name, depth=1)


@overload
def pack(cls: type[_T], /) -> type[_T]: ...
@overload
def pack(*, pack: int | None = 1, name: str | None = None
         ) -> Callable[[type[_T]], type[_T]]: ...
@overload
def pack(name: str | Type | Mapping[str, object] | Sequence[tuple[str, object]],
         members: Mapping[str, object] | Sequence[tuple[str, object]] | None = None, /, *,
         pack: int | None = 1) -> type[Any]: ...


@dataclass_transform()
def pack(*args: Any, pack: int | None = 1, name: str | None = None) -> Any:
    """Declare a packed C struct (no padding unless ``pack`` says otherwise); see `struct`."""
    return _record(args, union=False, pack=pack, name=name, depth=1)

