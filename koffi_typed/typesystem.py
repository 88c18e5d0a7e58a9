"""Type objects, the primitive table and the type registry.

Every C type koffi_typed knows is a `Type`: immutable, built only here, and interned, so
``koffi.type("int *") is koffi.pointer("int")``. Records are nominal (one `Type` per
declaration); pointers, arrays and disposables are structural and cached by what they are
made of. `primitive` gives the primitive types by Koffi name, which ``koffi.types.<name>``
(`koffi_typed.types`) serves.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NamedTuple, overload

from koffi_typed import settings
from koffi_typed.cparser import RESERVED_WORDS, Prototype, TypeExpr, parse_type, quote
from koffi_typed.datamodel import DataModel, host_model
from koffi_typed.errors import Error, ParseError
from koffi_typed.layout import FieldSpec, place_fields
from koffi_typed.primitives import PRIMITIVES, Prim

__all__ = [
    "FieldDecl", "Member", "RecordDecl", "Type", "alias", "alignof", "array", "define_record", "disposable", "enumeration", "is_integer", "lookup", "make_array",
    "make_pointer", "names", "offsetof", "opaque", "pointer", "relayout", "reset",
    "resolve_type", "sizeof", "unregister_name", "register_name", "int_range", "install_explainer", "install_prototype_builder", "resolve_expr",
    "is_opaque", "new_placeholder", "primitive", "primitive_names", "same_prototype", "install_names_hook",
    "same_shape",
]

HINTS: Final = {"array": "Array", "typed": "Typed", "string": "String", "bytes": "Bytes",
                "buffer": "Bytes"}
MEMBER_ALIGNMENTS: Final = (1, 2, 4, 8, 16)


class Member(NamedTuple):
    """A record member: byte ``offset``; for bitfields ``bits`` (width) and ``bit_offset``.

    A bitfield's first bit is bit ``bit_offset`` (0–7, least significant first) of the byte at
    ``offset``.
    """

    name: str
    type: Type
    offset: int
    bits: int | None = None
    bit_offset: int | None = None

    def __getitem__(self, key: Any) -> Any:
        """``m['offset']`` reads a field by name, as in Koffi; ``m[2]`` stays positional."""
        if isinstance(key, str):
            if key not in self._fields:
                raise KeyError(key)
            return getattr(self, key)
        return tuple.__getitem__(self, key)

    def __repr__(self) -> str:
        bits = f", bits={self.bits}, bit_offset={self.bit_offset}" if self.bits is not None \
            else ""
        return f"Member(name={self.name!r}, type={self.type.name!r}, offset={self.offset}{bits})"


@dataclass(frozen=True)
class FieldDecl:
    """A record member as declared: type, bitfield width, explicit alignment."""

    name: str
    type: Type
    bits: int | None = None
    align: int | None = None

    @property
    def is_padding(self) -> bool:
        """Members named ``_`` or ``_<digits>`` only take space (Koffi's padding members)."""
        return self.name == "_" or (self.name[:1] == "_" and self.name[1:].isdigit())


@dataclass(frozen=True)
class RecordDecl:
    """Everything needed to lay a record out again under another data model."""

    fields: tuple[FieldDecl, ...]
    union: bool
    pack: int | None


_TOKEN: Final = object()


class Type:
    """A C type. Immutable; obtain one with `koffi.type`, never by constructing it.

    ``primitive`` names the kind (``'Int32'``, ``'Record'``, ``'Pointer'``, ...). ``members``
    (records), ``ref`` (pointee, element, enum storage), ``length`` and ``hint`` (arrays),
    ``values`` (enums) and ``proto`` (function types) are ``None`` where they do not apply.
    """

    __slots__ = (
        "__weakref__",
        "_codec",
        "_decl",
        "_dispose",
        "_model",
        "_prim",
        "alignment",
        "counted_by",
        "disposable",
        "hint",
        "length",
        "members",
        "name",
        "primitive",
        "proto",
        "python_class",
        "ref",
        "size",
        "values",
    )

    name: str
    primitive: str
    size: int
    alignment: int
    members: Mapping[str, Member] | None
    ref: Type | None
    length: int | None
    hint: str | None
    values: Mapping[str, int] | None
    proto: Any
    disposable: bool
    counted_by: str | None
    python_class: type | None
    _prim: Prim | None
    _decl: RecordDecl | None
    _model: DataModel
    _codec: Any
    _dispose: Any

    def __init__(self, name: str, primitive: str, size: int, alignment: int, *,
                 token: object = None, ref: Type | None = None, length: int | None = None,
                 hint: str | None = None, members: Mapping[str, Member] | None = None,
                 values: Mapping[str, int] | None = None, proto: Any = None,
                 disposable: bool = False, counted_by: str | None = None,
                 python_class: type | None = None, prim: Prim | None = None,
                 decl: RecordDecl | None = None, dispose: Any = None,
                 model: DataModel | None = None) -> None:
        if token is not _TOKEN:
            raise TypeError("Type objects cannot be constructed manually, use koffi.type()")
        fields = {"name": name, "primitive": primitive, "size": size, "alignment": alignment,
                  "ref": ref, "length": length, "hint": hint, "members": members,
                  "values": values, "proto": proto, "disposable": disposable,
                  "counted_by": counted_by, "python_class": python_class, "_prim": prim,
                  "_decl": decl, "_dispose": dispose, "_model": model or host_model(),
                  "_codec": None}
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Type objects are immutable (cannot set {key!r})")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Type objects are immutable (cannot delete {key!r})")

    def __repr__(self) -> str:
        extra = f", model={self._model.name!r}" if self._model is not host_model() else ""
        if self.members is not None:
            extra += " {" + ", ".join(_member_text(m) for m in self.members.values()) + "}"
        return (f"<Type {self.name!r} {self.primitive} size={self.size} "
                f"align={self.alignment}{extra}>")

    # Koffi's type objects are plain JavaScript objects: ``info['members']['b']['offset']``.
    def keys(self) -> list[str]:
        """The fields that apply to this type, as Koffi's type objects list them."""
        return [key for key in INFO_KEYS if key in _ALWAYS or getattr(self, key) is not None]

    def __getitem__(self, key: str) -> Any:
        """``t['size']`` is ``t.size``, for every field in `keys`."""
        if not isinstance(key, str) or key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def _set(self, key: str, value: object) -> None:
        object.__setattr__(self, key, value)

    def explain(self) -> str:
        """For a prototype (or a pointer to one): where C puts a callback's arguments and
        result on this host, and how koffi_typed receives them."""
        if not (self.primitive == "Prototype" or (self.primitive == "Callback"
                                                  and self.ref is not None)):
            raise TypeError(f"explain() needs a prototype or a callback type, got {self.name}")
        return _explainer[0](self)


_explainer: list[Callable[[Type], str]] = []
_prototype_builder: list[Callable[[Prototype], Type]] = []


def install_prototype_builder(builder: Callable[[Prototype], Type]) -> None:
    """Set how an inline function-pointer type (``int (*)(int)``) gets its anonymous
    prototype (done once by `koffi_typed.declarations`, which builds signatures)."""
    _prototype_builder[:] = [builder]


def resolve_expr(expr: TypeExpr) -> Type:
    """The type a parsed type expression names."""
    return _resolve_expr(expr)


#: Called when a type name may change meaning (`reset`, a name redefined or removed).
_names_changed_hooks: list[Callable[[], None]] = []


def install_names_hook(hook: Callable[[], None]) -> None:
    """Run ``hook`` whenever a type name may change meaning, so caches of what type strings
    meant drop it (`koffi_typed.callplan`'s variadic callers)."""
    _names_changed_hooks.append(hook)


def _names_changed() -> None:
    _registry.parsed.clear()
    for hook in _names_changed_hooks:
        hook()


def install_explainer(explainer: Callable[[Type], str]) -> None:
    """Set what `Type.explain` runs (done once by `koffi_typed.callbacks`, which sits above
    the ABI package this needs)."""
    _explainer[:] = [explainer]


INFO_KEYS: Final = ("name", "primitive", "size", "alignment", "disposable", "members", "ref",
                    "length", "hint", "counted_by", "values", "proto")
_ALWAYS: Final = frozenset({"name", "primitive", "size", "alignment", "disposable"})


def _member_text(m: Member) -> str:
    if m.bits is not None:
        return f"{m.name}: {m.type.name} : {m.bits} @{m.offset}.{m.bit_offset}"
    return f"{m.name}: {m.type.name} @{m.offset}"


def is_integer(t: Type) -> bool:
    """Whether values of ``t`` are integers (ints of every width, enums, char types)."""
    if t.primitive == "Enum":
        return True
    return t._prim is not None and t._prim.family in ("int", "uint")


def same_shape(a: Type, b: Type) -> bool:
    """Whether values of ``a`` and ``b`` travel the same way (names, aliases, ``const``
    and member names aside): same kind, size and alignment, members at the same places."""
    if a is b:
        return True
    if a.primitive != b.primitive or a.size != b.size or a.alignment != b.alignment:
        return False
    if a.primitive in ("Record", "Union"):
        ma, mb = list((a.members or {}).values()), list((b.members or {}).values())
        return len(ma) == len(mb) and all(
            x.offset == y.offset and x.bits == y.bits and x.bit_offset == y.bit_offset
            and same_shape(x.type, y.type) for x, y in zip(ma, mb))
    if a.primitive == "Array":
        return a.length == b.length and a.ref is not None and b.ref is not None and \
            same_shape(a.ref, b.ref)
    if a.primitive == "Prototype":
        return same_prototype(a, b)
    return True


def same_prototype(a: Type, b: Type) -> bool:
    """Whether C functions of prototypes ``a`` and ``b`` take and return values the same
    way, so a pointer to one may be called as the other."""
    if a is b:
        return True
    fa, fb = a.proto, b.proto
    if fa is None or fb is None:
        return False
    return len(fa.arguments) == len(fb.arguments) and fa.variadic == fb.variadic and \
        same_shape(fa.result, fb.result) and \
        all(same_shape(x.type, y.type) for x, y in zip(fa.arguments, fb.arguments))


def _int_kind(size: int, signed: bool, swapped: bool) -> str:
    return f"{'' if signed else 'U'}Int{size * 8}{'S' if swapped else ''}"


def _prim_kind(prim: Prim, model: DataModel) -> tuple[str, int, int]:
    """(primitive kind, size, alignment) of a table row under ``model``."""
    if prim.family == "void":
        return "Void", 0, 0
    if prim.family == "bool":
        return "Bool", 1, 1
    size, align = model.scalar(prim.size_key)
    if prim.family == "float":
        kind = {4: "Float32", 8: "Float64"}.get(size, "LongDouble")
        if prim.size_key == "ldouble" and size == 8:
            kind = "Float64"
        return kind, size, align
    if prim.family in ("int", "uint"):
        native = "be" if model.big_endian else "le"
        signed = prim.family == "int" and (model.char_signed or not prim.plain_char)
        return _int_kind(size, signed, prim.swap not in ("", native)), size, align
    if prim.family == "WideString":
        return ("String16" if model.wchar == 2 else "String32"), size, align
    return prim.family, size, align


class _Registry:
    """Names and interned derived types. One per process; `reset` empties the user part."""

    def __init__(self) -> None:
        self.model = host_model()
        self.names: dict[str, Type] = {}
        self.primitive_names: frozenset[str] = frozenset()
        self.derived: dict[tuple[object, ...], Type] = {}
        self.parsed: dict[str, Type] = {}
        self._install_primitives()

    def _install_primitives(self) -> None:
        for prim in PRIMITIVES:
            kind, size, align = _prim_kind(prim, self.model)
            ref = self.names[prim.pointee] if prim.pointee else None
            t = Type(prim.name, kind, size, align, token=_TOKEN, prim=prim, ref=ref)
            for name in (prim.name, *prim.aliases):
                self.names[name] = t
            if ref is not None:
                self.derived[("*", id(ref))] = t
        self.primitive_names = frozenset(self.names)

    def register(self, name: str, t: Type, *, replace: bool = False) -> None:
        if not name.isidentifier():
            raise Error(f"Invalid type name {name!r}")
        if name in RESERVED_WORDS and name not in self.primitive_names:
            raise Error(f"Invalid type name {name!r} (a C keyword: type strings could not "
                        "name it)")
        if name in self.primitive_names:
            raise Error(f"Duplicate type name {name!r} (a primitive type has that name)")
        if name in self.names and not replace:
            raise Error(f"Duplicate type name {name!r}")
        redefined = name in self.names
        self.names[name] = t
        if redefined:
            _names_changed()
        else:
            self.parsed.clear()

    def reset(self) -> None:
        for name in [n for n in self.names if n not in self.primitive_names]:
            del self.names[name]
        _names_changed()


_registry: Final = _Registry()


def lookup(name: str) -> Type | None:
    """The type registered under ``name`` (primitive or user-defined), or ``None``."""
    return _registry.names.get(name)


def names() -> list[str]:
    """All primitive type names and aliases, in table order."""
    return [n for prim in PRIMITIVES for n in (prim.name, *prim.aliases)]


def unregister_name(name: str, previous: Type | None = None) -> None:
    """Remove ``name`` (or bind it back to ``previous``); used to undo a failed definition."""
    if previous is None:
        _registry.names.pop(name, None)
    else:
        _registry.names[name] = previous
    _names_changed()


def reset() -> None:
    """Forget every user-defined type name (types already built stay usable)."""
    _registry.reset()


def register_name(name: str, t: Type, *, replace: bool = False) -> None:
    """Bind ``name`` to ``t`` so type strings can use it."""
    _registry.register(name, t, replace=replace)


# ---------------------------------------------------------------------------- resolution

def resolve_type(spec: object) -> Type:
    """Resolve a type spec: a `Type`, a C type string, a record class or a ``c.*`` alias."""
    if isinstance(spec, Type):
        return spec
    if isinstance(spec, str):
        cached = _registry.parsed.get(spec)
        if cached is None:
            expr = parse_type(spec)
            cached = _resolve_expr(expr)
            _registry.parsed[spec] = cached
        return cached
    found = getattr(spec, "__koffi_type__", None)
    if isinstance(found, Type):
        return found
    for meta in getattr(spec, "__metadata__", ()):
        if isinstance(meta, (Type, str)) or hasattr(meta, "__koffi_type__"):
            return resolve_type(meta)
    raise TypeError(f"Unexpected {type(spec).__name__} value as type specifier, "
                    f"expected string, Type or record class")


def _resolve_expr(expr: TypeExpr) -> Type:
    if expr.proto is not None:
        base: Type | None = _prototype_builder[0](expr.proto)
    else:
        base = _registry.names.get(expr.name)
    if base is None:
        raise ParseError(f"Unknown or invalid type name {quote(expr.name)}", expr.text,
                         expr.name_pos)
    t = base
    for kind, length, pos in expr.suffixes:
        try:
            if kind == "*":
                t = make_pointer(t)
            elif kind == "!":
                t = disposable(t)
            else:
                t = make_array(t, length)
        except (Error, TypeError, ValueError) as exc:
            if isinstance(exc, ParseError):
                raise
            raise ParseError(str(exc), expr.text, pos) from None
    return t


# ---------------------------------------------------------------------------- derived types

def make_pointer(ref: Type, *, counted_by: str | None = None) -> Type:
    """The (interned) pointer type to ``ref``; ``char *``-like pointers are string types."""
    key: tuple[object, ...] = ("*", id(ref)) if counted_by is None else ("*", id(ref),
                                                                         counted_by)
    found = _registry.derived.get(key)
    if found is not None:
        return found
    if counted_by is not None:
        base = make_pointer(ref)
        t = Type(base.name, base.primitive, base.size, base.alignment, token=_TOKEN, ref=ref,
                 counted_by=counted_by, model=ref._model)
    else:
        size = ref._model.pointer
        sep = "" if ref.name.endswith("*") else " "
        kind = "Callback" if ref.primitive == "Prototype" else "Pointer"
        t = Type(f"{ref.name}{sep}*", kind, size, size, token=_TOKEN, ref=ref,
                 model=ref._model)
    _registry.derived[key] = t
    return t


def _array_name(ref: Type, length: int) -> str:
    base, dims = ref.name, ""
    while ref.primitive == "Array" and ref.ref is not None and ref.length is not None:
        dims += f"[{ref.length}]"
        ref = ref.ref
        base = ref.name
    return f"{base}[{length}]{dims}"


def _default_hint(ref: Type) -> str:
    return "String" if ref._prim is not None and ref.name in (
        "char", "char16_t", "char32_t", "wchar_t") else "Array"


def _check_element(ref: Type, what: str) -> None:
    if ref.size == 0 or ref.primitive in ("Void", "Prototype"):
        raise TypeError(f"Type {ref.name} cannot be used as {what} (maybe try {ref.name} *)")


def make_array(ref: Type, length: int, hint: str | None = None, *,
               counted_by: str | None = None) -> Type:
    """The (interned) fixed-size array type of ``length`` elements of ``ref``."""
    if not isinstance(length, int) or isinstance(length, bool):
        raise TypeError(f"Array length must be an int, not {type(length).__name__}")
    if length <= 0:
        raise ValueError("Array length must be positive and non-zero")
    _check_element(ref, "an array element")
    if hint is None:
        hint = _default_hint(ref)
    else:
        canon = HINTS.get(str(hint).lower())
        if canon is None:
            raise ValueError(f"Unknown array hint {hint!r} (expected 'Array', 'Typed', "
                             "'String' or 'Bytes')")
        hint = canon
    if hint == "String" and not (is_integer(ref) and ref.primitive in ("Int8", "Int16", "Int32")):
        raise ValueError("Array hint 'String' can only be used with 8, 16 and 32-bit signed "
                         "integer types")
    if hint == "Typed" and not (is_integer(ref) or ref.primitive in ("Float32", "Float64")):
        raise ValueError(f"Array hint 'Typed' needs a numeric element type, not {ref.name}")
    key = ("[]", id(ref), length, hint, counted_by)
    found = _registry.derived.get(key)
    if found is None:
        size = ref.size * length
        if size > settings.max_type_size():
            raise ValueError(f"Array type {_array_name(ref, length)} is too large "
                             f"(max = {settings.max_type_size()} bytes)")
        found = Type(_array_name(ref, length), "Array", size, ref.alignment, token=_TOKEN,
                     ref=ref, length=length, hint=hint, counted_by=counted_by, model=ref._model)
        _registry.derived[key] = found
    return found


def disposable(spec: object, free: object = None, *args: object,
               name: str | None = None) -> Type:
    """A pointer or string type whose values are freed (C ``free`` or ``free``) after decoding.

    Also Koffi's named form: ``disposable(name, spec, free=None)``.
    """
    if isinstance(spec, str) and free is not None and not callable(free):
        name, spec, free = spec, free, (args[0] if args else None)
    elif args:
        raise TypeError("disposable() takes (spec, free=None) or (name, spec, free=None)")
    ref = resolve_type(spec)
    if ref.primitive not in ("Pointer", "String", "String16", "String32"):
        raise TypeError("Cannot create disposable type for non-pointer")
    if ref.disposable:
        raise TypeError(f"Type {ref.name} is already disposable")
    key = ("!", id(ref))
    found = _registry.derived.get(key) if free is None and name is None else None
    if found is None:
        found = Type(name or f"{ref.name}!", ref.primitive, ref.size, ref.alignment,
                     token=_TOKEN, ref=ref.ref, disposable=True, dispose=free, prim=ref._prim,
                     model=ref._model)
        if free is None and name is None:
            _registry.derived[key] = found
    if name is not None:
        register_name(name, found)
    return found


def pointer(*args: object, counted_by: str | None = None) -> Type:
    """``pointer(spec, count=1)`` or ``pointer(name, spec, count=1)``: a pointer type.

    ``count`` adds that many levels (1–4). With a name, a new named type is registered.
    ``counted_by`` names the integer member holding the element count (record members only);
    Koffi's positional spelling ``pointer(name, spec, "n")`` means the same.
    """
    name: str | None = None
    rest = list(args)
    if len(rest) >= 2 and isinstance(rest[0], str) and not isinstance(rest[1], int):
        name = rest.pop(0)  # type: ignore[assignment]
    if name is not None and len(rest) == 2 and isinstance(rest[1], str):
        if counted_by is not None:
            raise TypeError("pointer() got the counting member twice (positional and "
                            "counted_by=)")
        counted_by = rest.pop()  # type: ignore[assignment]
    if not rest or len(rest) > 2:
        raise TypeError("pointer() takes (spec, count=1) or (name, spec, count=1)")
    count = rest[1] if len(rest) == 2 else 1
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
        raise ValueError("Value of count must be between 1 and 4")
    t = resolve_type(rest[0])
    for level in range(count):
        t = make_pointer(t, counted_by=counted_by if level == count - 1 else None)
    if name is not None:
        t = Type(name, t.primitive, t.size, t.alignment, token=_TOKEN, ref=t.ref,
                 counted_by=t.counted_by, prim=t._prim, model=t._model)
        register_name(name, t)
    return t


@overload
def array(spec: object, length: int, hint: str | None = None, *,
          counted_by: str | None = None) -> Type: ...
@overload
def array(spec: object, length: str, hint: int, hint_: str | None = None) -> Type: ...
def array(spec: object, length: int | str, hint: str | int | None = None,
          hint_: str | None = None, *, counted_by: str | None = None) -> Type:
    """Fixed array type; with ``counted_by`` a flexible array whose count is another member.

    A flexible array reserves room for ``length`` elements (Koffi's rule) and its element
    count is read from, and written to, the integer member named by ``counted_by``.
    Koffi's positional spelling ``array(spec, "n", max_length, hint=None)`` means
    ``array(spec, max_length, hint, counted_by="n")``.
    """
    if isinstance(length, str):
        if counted_by is not None:
            raise TypeError("array() got the counting member twice (positional and "
                            "counted_by=)")
        if hint is None:
            raise TypeError(f"Missing maxLen argument: array(spec, {length!r}, max_length) "
                            "needs the number of elements to reserve")
        if not isinstance(hint, int) or isinstance(hint, bool):
            raise TypeError("array(spec, counted_by, max_length): max_length must be an "
                            f"int, not {type(hint).__name__}")
        return make_array(resolve_type(spec), hint, hint_, counted_by=length)
    if hint_ is not None:
        raise TypeError("array() takes (spec, length, hint=None) or Koffi's (spec, "
                        "counted_by, max_length, hint=None)")
    if hint is not None and not isinstance(hint, str):
        raise TypeError(f"array() hint must be a str, not {type(hint).__name__}")
    return make_array(resolve_type(spec), length, hint, counted_by=counted_by)


def alias(name: str, spec: object) -> Type:
    """Register ``name`` as another name for the type ``spec`` and return that type."""
    t = resolve_type(spec)
    register_name(name, t)
    return t


def opaque(name: str | None = None) -> Type:
    """An incomplete type, usable through pointers only; a record may define it later, once."""
    t = Type(name or "<opaque>", "Void", 0, 0, token=_TOKEN)
    if name is not None:
        register_name(name, t)
    return t


def new_placeholder(name: str) -> Type:
    """An unregistered opaque type, to be defined in place by `define_record`."""
    return Type(name, "Void", 0, 0, token=_TOKEN)


def is_opaque(t: Type) -> bool:
    """Whether ``t`` is an opaque type not yet defined (never ``void`` itself)."""
    return t.primitive == "Void" and t._prim is None


def enumeration(name: object, values: object = None, storage: object = None) -> Type:
    """An enum type: ``enumeration(name, {'A': 0, ...}, storage=None)``.

    ``values`` may also be an `enum.IntEnum` class (then ``name`` may be omitted). The
    storage type follows Koffi: unsigned int unless a value is negative (int), 64-bit when a
    value needs it; always ``int`` on Windows.
    """
    if values is None or (storage is None and not isinstance(name, str)
                          and not isinstance(values, (Mapping, type))):
        name, values, storage = None, name, values
    enum_class = values if isinstance(values, type) and issubclass(values, enum.Enum) else None
    if enum_class is not None:
        items = {m.name: int(m.value) for m in enum_class}
        name = name if name is not None else enum_class.__name__
    elif isinstance(values, Mapping):
        items = dict(values)
    else:
        raise TypeError("enumeration() needs a mapping of names to integers or an IntEnum")
    for key, value in items.items():
        if not isinstance(key, str) or not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"Enum value {key!r} must be an integer, not {value!r}")
    if not items:
        raise ValueError("An enumeration needs at least one value")
    store = resolve_type(storage) if storage is not None else _enum_storage(items)
    if not is_integer(store) or store.primitive == "Enum":
        raise TypeError(f"Enum storage must be an integer type, not {store.name}")
    lo, hi = int_range(store)
    for key, value in items.items():
        if not lo <= value <= hi:
            raise OverflowError(f"Enum value {key} = {value} does not fit in {store.name}")
    label = name if isinstance(name, str) else "<enum>"
    t = Type(label, "Enum", store.size, store.alignment, token=_TOKEN, ref=store,
             values=MappingProxyType(items), python_class=enum_class, model=store._model)
    if isinstance(name, str):
        register_name(name, t)
    return t


def _enum_storage(items: Mapping[str, int]) -> Type:
    lo, hi = min(items.values()), max(items.values())
    if _registry.model.msvc_layout:
        candidates = ["int"]
    elif lo < 0:
        candidates = ["int", "int64_t"]
    else:
        candidates = ["unsigned int", "uint64_t"]
    for cand in candidates:
        t = _registry.names[cand]
        clo, chi = int_range(t)
        if clo <= lo and hi <= chi:
            return t
    raise OverflowError("Cannot find storage type wide enough for enum values")


def int_range(t: Type) -> tuple[int, int]:
    """Smallest and largest value of an integer (or enum, or bool) type."""
    if t.primitive == "Enum" and t.ref is not None:
        return int_range(t.ref)
    if t.primitive == "Bool":
        return 0, 1
    bits = t.size * 8
    if t.primitive.startswith("U"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# ---------------------------------------------------------------------------- records

def _validate_field(record: str, decl: FieldDecl, union: bool) -> None:
    t = decl.type
    if not decl.name.isidentifier():
        raise Error(f"Invalid member name {decl.name!r}")
    if t.size == 0 or t.primitive in ("Void", "Prototype"):
        raise TypeError(f"Type {t.name} cannot be used as a member (maybe try {t.name} *)")
    if decl.align is not None and decl.align not in MEMBER_ALIGNMENTS:
        raise ValueError(f"Alignment of member '{decl.name}' must be 1, 2, 4, 8 or 16")
    if decl.bits is not None:
        if not (is_integer(t) or t.primitive == "Bool"):
            raise TypeError(f"Bitfield '{decl.name}' in '{record}' must have an integer type, "
                            f"not {t.name}")
        if t.primitive.endswith("S") or t.size > 8:
            raise TypeError(f"Bitfield '{decl.name}' in '{record}' cannot use type {t.name}")
        limit = 1 if t.primitive == "Bool" else t.size * 8
        if isinstance(decl.bits, bool) or not isinstance(decl.bits, int) \
                or not 0 <= decl.bits <= limit:
            raise ValueError(f"Bitfield '{decl.name}' in '{record}' is {decl.bits} bits wide, "
                             f"its type {t.name} has {limit}")
        if decl.bits == 0 and not decl.is_padding:
            raise ValueError(f"Zero-width bitfield '{decl.name}' in '{record}' must be a "
                             "padding member (named '_')")
        if decl.align is not None:
            raise ValueError(f"Bitfield '{decl.name}' cannot have an explicit alignment")
    if t.counted_by is not None and t.primitive == "Array" and union:
        raise TypeError(f"Flexible array '{decl.name}' cannot be used in a union")


def _check_counted(record: str, fields: tuple[FieldDecl, ...]) -> None:
    by_name = {f.name: f for f in fields}
    for i, f in enumerate(fields):
        count = f.type.counted_by
        if count is None:
            continue
        if f.type.primitive == "Array" and i != len(fields) - 1:
            raise TypeError(f"Flexible array '{f.name}' is not the last member of struct")
        target = by_name.get(count)
        if target is None:
            raise TypeError(f"Record type {record} does not have member '{count}'")
        if not is_integer(target.type) or target.bits is not None:
            raise TypeError(f"Dynamic length member {count} is not an integer")


def compute_record(name: str, fields: tuple[FieldDecl, ...], union: bool,
                   pack: int | None, model: DataModel) -> tuple[dict[str, Member], int, int]:
    """Lay out ``fields`` under ``model``: (members by name, size, alignment)."""
    specs = [FieldSpec(f.type.size, f.type.alignment, f.bits, f.align) for f in fields]
    placed = place_fields(specs, union=union, pack=pack, msvc=model.msvc_layout,
                          zero_width_aligns=model.zero_width_aligns)
    members: dict[str, Member] = {}
    for f, bitpos in zip(fields, placed.positions, strict=True):
        if f.is_padding:
            continue
        if f.bits is None:
            members[f.name] = Member(f.name, f.type, bitpos // 8)
        else:
            members[f.name] = Member(f.name, f.type, bitpos // 8, f.bits, bitpos % 8)
    return members, placed.size, placed.alignment


def define_record(name: str | None, fields: Iterable[FieldDecl], *, union: bool = False,
                  pack: int | None = None, python_class: type | None = None,
                  target: Type | None = None) -> Type:
    """Build a record type (host layout). With ``target`` (an opaque type), define it in place."""
    label = name or "<anonymous>"
    kind = "union" if union else "struct"
    fields = tuple(fields)
    if pack is not None and (isinstance(pack, bool) or pack not in MEMBER_ALIGNMENTS):
        raise ValueError(f"Packing of {kind} '{label}' must be 1, 2, 4, 8 or 16, not {pack!r}")
    if not any(not f.is_padding for f in fields):
        raise TypeError(f"Empty type '{label}' is not allowed in C")
    seen: set[str] = set()
    for f in fields:
        if f.name in seen and not f.name == "_":
            raise Error(f"Duplicate member '{f.name}' in {kind} '{label}'")
        seen.add(f.name)
        _validate_field(label, f, union)
    _check_counted(label, fields)
    members, size, align = compute_record(label, fields, union, pack, _registry.model)
    if size > settings.max_type_size():
        raise ValueError(f"{kind.capitalize()} '{label}' size is too high "
                         f"(max = {settings.max_type_size()})")
    decl = RecordDecl(fields, union, pack)
    primitive = "Union" if union else "Record"
    frozen = MappingProxyType(members)
    if target is not None:
        if not is_opaque(target):
            raise Error(f"Cannot redefine non-opaque type {target.name}")
        for key, value in (("primitive", primitive), ("size", size), ("alignment", align),
                           ("members", frozen), ("python_class", python_class),
                           ("_decl", decl)):
            target._set(key, value)
        return target
    return Type(label, primitive, size, align, token=_TOKEN, members=frozen,
                python_class=python_class, decl=decl)


# ---------------------------------------------------------------------------- other models

def relayout(t: Type, model: DataModel, cache: dict[int, Type] | None = None) -> Type:
    """The same type laid out under another data model (a new, unregistered `Type` tree)."""
    if model is t._model:
        return t
    cache = {} if cache is None else cache
    found = cache.get(id(t))
    if found is not None:
        return found
    if t._prim is not None:
        kind, size, align = _prim_kind(t._prim, model)
        if t.disposable:
            size = align = model.pointer
        out = Type(t.name, kind, size, align, token=_TOKEN, prim=t._prim, model=model,
                   disposable=t.disposable)
        cache[id(t)] = out
        if t.ref is not None:
            out._set("ref", relayout(t.ref, model, cache))
        return out
    if t.primitive == "Pointer" or t.primitive == "Callback":
        out = Type(t.name, t.primitive, model.pointer, model.pointer, token=_TOKEN,
                   counted_by=t.counted_by, model=model, disposable=t.disposable)
        cache[id(t)] = out
        if t.ref is not None:
            out._set("ref", relayout(t.ref, model, cache))
        return out
    if t.primitive == "Array" and t.ref is not None and t.length is not None:
        elem = relayout(t.ref, model, cache)
        out = Type(t.name, "Array", elem.size * t.length, elem.alignment, token=_TOKEN,
                   ref=elem, length=t.length, hint=t.hint, counted_by=t.counted_by,
                   model=model)
    elif t.primitive == "Enum" and t.ref is not None:
        store = relayout(t.ref, model, cache)
        out = Type(t.name, "Enum", store.size, store.alignment, token=_TOKEN, ref=store,
                   values=t.values, python_class=t.python_class, model=model)
    elif t._decl is not None:
        decl = t._decl
        fields = tuple(FieldDecl(f.name, relayout(f.type, model, cache), f.bits, f.align)
                       for f in decl.fields)
        members, size, align = compute_record(t.name, fields, decl.union, decl.pack, model)
        out = Type(t.name, t.primitive, size, align, token=_TOKEN,
                   members=MappingProxyType(members), python_class=t.python_class,
                   decl=RecordDecl(fields, decl.union, decl.pack), model=model)
    else:
        out = Type(t.name, t.primitive, t.size, t.alignment, token=_TOKEN, model=model,
                   proto=t.proto)
    cache[id(t)] = out
    return out


# ---------------------------------------------------------------------------- queries

def sizeof(spec: object) -> int:
    """Size in bytes of a type."""
    return resolve_type(spec).size


def alignof(spec: object) -> int:
    """Alignment in bytes of a type (as a member of a record)."""
    return resolve_type(spec).alignment


def offsetof(spec: object, member: str) -> int:
    """Byte offset of ``member`` in a record type."""
    t = resolve_type(spec)
    if t.members is None:
        raise TypeError("The offsetof() function can only be used with record types")
    found = t.members.get(member)
    if found is None:
        raise ValueError(f"Record type {t.name} does not have member '{member}'")
    return found.offset


def primitive(name: str) -> Type | None:
    """The primitive type called ``name`` (Koffi name or alias), or ``None``."""
    return _registry.names.get(name) if name in _registry.primitive_names else None


def primitive_names() -> list[str]:
    """Every primitive type name and alias that is a Python identifier, sorted."""
    return sorted(n for n in _registry.primitive_names if n.isidentifier())
