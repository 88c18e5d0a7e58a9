"""Records: ``@koffi.struct``, ``@koffi.union``, ``koffi.pack`` and their dict forms.

Fields are resolved and laid out once, at decoration. The builder then makes a new class with
``__slots__`` and generated ``__init__``, ``__repr__`` and ``__eq__`` (their source is
registered with `linecache`, so tracebacks show it), keeping any dunder the user wrote. Struct
instances hold Python values; union instances hold their bytes, and each member is a property
that reinterprets them, as in C.
"""

from __future__ import annotations

import array
import contextlib
import inspect
import linecache
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import (
    Any,
    ClassVar,
    ForwardRef,
    TypeVar,
    dataclass_transform,
    get_origin,
    overload,
)

from koffi_typed import marshal
from koffi_typed.bases import ZERO
from koffi_typed.errors import Error, ParseError
from koffi_typed.names import internal_prefix, verbatim
from koffi_typed.typehints import DEFINING, RecordNames, annotation_type
from koffi_typed.typesystem import (
    FieldDecl,
    Type,
    define_record,
    is_opaque,
    lookup,
    new_placeholder,
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

def _member(owner: str, name: str, spec: object, namespace: Mapping[str, Any]) -> FieldDecl:
    if not isinstance(name, str) or not name.isidentifier():
        raise Error(f"Invalid member name {name!r} in '{owner}'")
    if len(name) > 4 and name.startswith("__") and name.endswith("__"):
        raise Error(f"Member name {name!r} of '{owner}' is reserved (Python special names "
                    "cannot be record members)")
    try:
        t, bits, align = annotation_type(spec, namespace)
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


class _Names:
    """How generated record methods spell each member: verbatim where Python reads the C
    name as itself, through ``getattr``/``setattr`` and a renamed parameter otherwise
    (keywords, NFKC look-alikes); internal names use a prefix no member starts with."""

    def __init__(self, names: list[str]) -> None:
        self.p = internal_prefix(names)
        self.me = "self" if "self" not in names else f"{self.p}self"
        self.env: dict[str, Any] = {f"{self.p}MISSING": _MISSING, f"{self.p}get": getattr,
                                    f"{self.p}set": setattr, f"{self.p}bytearray": bytearray}
        self.verbatim = {n: verbatim(n) and n != self.me for n in names}
        for i, n in enumerate(names):
            self.env[f"{self.p}n{i}"] = n
        self.index = {n: i for i, n in enumerate(names)}

    def param(self, name: str) -> str:
        return name if self.verbatim[name] else f"{self.p}m{self.index[name]}"

    def get(self, obj: str, name: str) -> str:
        if self.verbatim[name]:
            return f"{obj}.{name}"
        return f"{self.p}get({obj}, {self.p}n{self.index[name]})"

    def set(self, obj: str, name: str, value: str) -> str:
        if self.verbatim[name]:
            return f"{obj}.{name} = {value}"
        return f"{self.p}set({obj}, {self.p}n{self.index[name]}, {value})"

    def keywords(self) -> list[str]:
        """``__init__`` lines taking members that have no verbatim parameter by keyword
        (generated code names no builtin: a member could shadow it)."""
        odd = [n for n, ok in self.verbatim.items() if not ok]
        if not odd:
            return []
        params = [self.param(n) for n in odd]
        self.env[f"{self.p}bind"] = _keyword_binder(dict(zip(odd, params)), params)
        joined = ", ".join(params)
        return [f"    if {self.p}kw:",
                f"        {joined}, = {self.p}bind({self.p}kw, ({joined},))"]

    def signature(self, params: list[str]) -> str:
        extra = [f"**{self.p}kw"] if not all(self.verbatim.values()) else []
        return ", ".join([self.me, *params, *extra])


def _keyword_binder(params_of: dict[str, str],
                    params: list[str]) -> Callable[[dict[str, Any], tuple[Any, ...]],
                                                   tuple[Any, ...]]:
    """Binds keyword arguments named after members that have no verbatim parameter."""
    def bind(kw: dict[str, Any], values: tuple[Any, ...]) -> tuple[Any, ...]:
        bound = dict(zip(params, values))
        for key, value in kw.items():
            if key not in params_of:
                raise TypeError(f"__init__() got an unexpected keyword argument {key!r}")
            bound[params_of[key]] = value
        return tuple(bound[p] for p in params)
    return bind


def _struct_methods(qualname: str, fields: list[FieldDecl],
                    defaults: dict[str, object]) -> dict[str, Any]:
    names = [f.name for f in fields]
    nm = _Names(names)
    p, me, env = nm.p, nm.me, nm.env
    params, body = [], []
    for i, f in enumerate(fields):
        value, make = _zero(f.type)
        if f.name in defaults:
            value, make = defaults[f.name], None
            if isinstance(value, (list, dict, bytearray, array.array)):
                make, value = (lambda v=value: v.copy()), None
        arg = nm.param(f.name)
        if make is None:
            env[f"{p}d{i}"] = value
            params.append(f"{arg}={p}d{i}")
            body.append(f"    {nm.set(me, f.name, arg)}")
        else:
            env[f"{p}f{i}"] = make
            params.append(f"{arg}={p}MISSING")
            body.append(f"    {nm.set(me, f.name, f'{p}f{i}() if {arg} is {p}MISSING else {arg}')}")
    values = "".join(f"{nm.get(me, n)}, " for n in names)
    others = "".join(f"{nm.get('other', n)}, " for n in names)
    shown = ", ".join(f"{n}={{{nm.get(me, n)}!r}}" for n in names)
    source = "\n".join([
        f"def __init__({nm.signature(params)}):",
        *nm.keywords(),
        f"    {me}.__koffi_keep__ = None",
        *body,
        f"def __eq__({me}, other):",
        f"    if other.__class__ is not {me}.__class__:",
        "        return NotImplemented",
        f"    return ({values}) == ({others})",
        f"def __repr__({me}):",
        f"    return f\"{{{me}.__class__.__qualname__}}({shown})\"",
        "",
    ])
    return _compile(source, f"<koffi_typed struct {qualname}>", env)


def _union_methods(qualname: str, t: Type, fields: list[FieldDecl]) -> dict[str, Any]:
    names = [f.name for f in fields]
    nm = _Names(names)
    p, me, env = nm.p, nm.me, nm.env
    shown = ", ".join(f"{n}={{{nm.get(me, n)}!r}}" for n in names)
    params = [f"{nm.param(n)}={p}MISSING" for n in names]
    source = "\n".join([
        f"def __init__({nm.signature(params)}):",
        *nm.keywords(),
        f"    {me}.__koffi_bytes__ = {p}bytearray({t.size})",
        f"    {me}.__koffi_keep__ = []",
        f"    {me}.__koffi_views__ = None",
        *(f"    if {nm.param(n)} is not {p}MISSING:\n        {nm.set(me, n, nm.param(n))}"
          for n in names),
        f"def __eq__({me}, other):",
        f"    if other.__class__ is not {me}.__class__:",
        "        return NotImplemented",
        f"    return {me}.__koffi_bytes__ == other.__koffi_bytes__",
        f"def __repr__({me}):",
        f"    return f\"{{{me}.__class__.__qualname__}}({shown})\"",
        "",
    ])
    methods = _compile(source, f"<koffi_typed union {qualname}>", env)
    for name in names:
        methods[name] = _union_property(t, name)
    return methods


def _union_property(t: Type, name: str) -> property:
    def fget(self: Any) -> Any:
        codec = marshal.codec_for(t).members[name]  # type: ignore[attr-defined]
        return codec.decode(self.__koffi_bytes__, 0)

    def fset(self: Any, value: object) -> None:
        codec = marshal.codec_for(t).members[name]  # type: ignore[attr-defined]
        codec.encode(self.__koffi_bytes__, 0, value, self.__koffi_keep__)

    return property(fget, fset, doc=f"Member {name!r} of union {t.name}.")


def _common_methods(t: Type) -> dict[str, Any]:
    def __bytes__(self: Any) -> bytes:
        keep: list[object] = []
        data = marshal.to_bytes(t, self, keep)
        if keep:
            self.__koffi_keep__ = keep
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
    # a member named like a generated helper (``from_buffer``) keeps its name: the member wins
    generated.update({k: v for k, v in _common_methods(t).items()
                      if k not in {f.name for f in fields}})
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
    slots = ["__koffi_bytes__", "__koffi_keep__", "__koffi_views__"] if union else \
        [*(f.name for f in public), "__koffi_keep__"]
    ns["__slots__"] = tuple(s for s in slots if s not in ns)
    ns["__match_args__"] = tuple(f.name for f in public)
    ns["__koffi_type__"] = t
    ns["__hash__"] = None
    ns["__module__"] = module
    ns["__qualname__"] = qualname
    new_cls: type = metaclass(cls_name, bases, ns)
    if not union:
        _unmangle_private_slots(new_cls, cls_name, [f.name for f in public])
    if original is not None:
        _rebind_class_cells(ns, original, new_cls)
    t._set("python_class", new_cls)
    return new_cls


def _unmangle_private_slots(cls: type, cls_name: str, names: list[str]) -> None:
    """Make members named ``__x`` reachable as ``__x``: ``type()`` stores such a slot under
    the mangled name ``_Cls__x``, as a class body would, but a record member is a C name that
    code outside the class reads and writes verbatim."""
    stripped = cls_name.lstrip("_")
    for name in names:
        if not name.startswith("__") or name.endswith("__") or not stripped:
            continue
        slot = vars(cls).get(f"_{stripped}{name}")
        if slot is not None and name not in vars(cls):
            setattr(cls, name, property(slot.__get__, slot.__set__, slot.__delete__))


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
    for base in cls.__mro__[1:]:
        if "__koffi_type__" in vars(base):
            raise TypeError(f"Record class {cls.__name__} cannot derive from record class "
                            f"{base.__name__}: C has no inheritance (declare a member of "
                            f"type {base.__name__} instead)")
    module_ns = dict(vars(sys.modules[cls.__module__])) if cls.__module__ in sys.modules else {}
    # the class's own name is a forward reference to the record being defined: in string
    # annotations (``next: koffi.Ptr[Node]`` under ``from __future__ import annotations``)
    # and in ``koffi.Ptr["Node"]`` when the C name differs
    env = {**module_ns, **namespace, cls.__name__: ForwardRef(cls.__name__),
           DEFINING: (cls.__name__, c_name)}
    annotations: dict[str, Any] = dict(inspect.get_annotations(cls))
    with _Definition(c_name, replace=True) as target:
        fields: list[FieldDecl] = []
        defaults: dict[str, object] = {}
        for member, ann in annotations.items():
            if isinstance(ann, str):
                ann = _evaluate(c_name, member, ann, env)
                if isinstance(ann, str) and not _is_c_type(ann):
                    # a quoted annotation under the future import ('"koffi.Ptr[Node]"'); a
                    # name Python does not know stays a C type string, for the parser to name
                    with contextlib.suppress(NameError, SyntaxError):
                        ann = eval(ann, env, RecordNames(env))
            if ann is ClassVar or get_origin(ann) is ClassVar:
                continue
            if isinstance(ann, ForwardRef) and ann.__forward_arg__ == cls.__name__:
                raise TypeError(f"{c_name}.{member}: a record cannot contain itself by value "
                                f"(use koffi.Ptr[{cls.__name__}] for a pointer to it)")
            fields.append(_member(c_name, member, ann, env))
            if member in cls.__dict__ and cls.__dict__[member] is not ZERO:
                defaults[member] = cls.__dict__[member]
        if not fields:
            raise TypeError(f"Empty type '{c_name}' is not allowed in C (no annotated members)")
        return _build(c_name, fields, defaults, union=union, pack=pack, target=target,
                      cls_name=cls.__name__, qualname=cls.__qualname__, module=cls.__module__,
                      bases=cls.__bases__, namespace=dict(cls.__dict__), metaclass=type(cls),
                      original=cls)


def _evaluate(c_name: str, member: str, text: str, env: dict[str, Any]) -> Any:
    """A string annotation evaluated as Python, in the class's namespace."""
    try:
        return eval(text, env, RecordNames(env))
    except NameError as exc:
        raise TypeError(f"{c_name}.{member}: cannot resolve annotation {text!r} ({exc}); use "
                        "koffi.Ptr['Name'] for a forward reference") from None


def _is_c_type(text: str) -> bool:
    try:
        resolve_type(text)
    except (Error, TypeError, ValueError):
        return False
    return True


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

