"""Function declarations: what a C function *is*, from each of the three declaration forms.

A prototype string (``'int abs(int x)'``), Koffi's classic ``(name, result, [params])`` form
and a typed ``def`` all give a `FunctionInfo`: name, `Argument` s with directions, result,
variadic flag and calling convention, checked once here. `proto` makes function types.
"""

from __future__ import annotations

import inspect
import itertools
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from koffi_typed.cparser import (
    CONVENTIONS,
    DIRECTIONS,
    MAX_PARAMETERS,
    Prototype,
    parse_prototype,
    parse_type,
)
from koffi_typed.errors import ParseError
from koffi_typed.typehints import RecordNames, annotation_type
from koffi_typed.typesystem import (
    _TOKEN,
    Type,
    _resolve_expr,
    install_prototype_builder,
    register_name,
    resolve_type,
)

__all__ = ["Argument", "Direction", "FunctionInfo", "classic_declaration", "inout", "out",
           "parse_declaration", "proto", "prototype_info", "string_declaration",
           "typed_declaration"]



@dataclass(frozen=True)
class Direction:
    """A parameter type with a direction: `koffi.out` / `koffi.inout` (``_Out_``/``_Inout_``)."""

    type: Type
    direction: str


def _directed(spec: object, direction: str) -> Direction:
    t = resolve_type(spec)
    if t.primitive not in ("Pointer", "String", "String16", "String32"):
        raise TypeError(f"Unexpected {t.name} type, expected pointer or string type")
    return Direction(t, direction)


def out(spec: object) -> Direction:
    """Mark a pointer parameter as output (``_Out_``): C fills it, Python sees the result."""
    return _directed(spec, "out")


def inout(spec: object) -> Direction:
    """Mark a pointer parameter as input and output (``_Inout_``)."""
    return _directed(spec, "inout")


@dataclass(frozen=True)
class Argument:
    """One declared parameter: name (or ``None``), type, direction, and whether a pointer
    parameter points to ``const`` data (C may not write through it: immutable buffers such
    as ``bytes`` are accepted only there)."""

    name: str | None
    type: Type
    direction: str = "in"
    const: bool = False


@dataclass(frozen=True)
class FunctionInfo:
    """A function's declared signature (``fn.info``)."""

    name: str | None
    arguments: tuple[Argument, ...]
    result: Type
    variadic: bool = False
    convention: str | None = None
    #: The result points to ``const`` data (``const char *f(void)``): what a callback
    #: returns there may be immutable (``bytes``).
    result_const: bool = False

    def __str__(self) -> str:
        params = ", ".join(
            ("" if a.direction == "in" else f"_{a.direction.capitalize()}_ ")
            + ("const " if a.const else "") + a.type.name + (f" {a.name}" if a.name else "")
            for a in self.arguments)
        if self.variadic:
            params = f"{params}, ..." if params else "..."
        return f"{self.result.name} {self.name or ''}({params})"


def _check_param(func: str, index: int, t: Type) -> None:
    if t.primitive == "Array":
        raise TypeError(f"{func}(): parameter {index + 1}: array types decay to pointers in "
                        f"prototypes (C standard), use pointers")
    if t.primitive in ("Void", "Prototype") or t.size == 0:
        raise TypeError(f"{func}(): type {t.name} cannot be used as a parameter "
                        f"(maybe try {t.name} *)")


def _check_result(func: str, t: Type) -> None:
    if t.primitive in ("Array", "Prototype") or (t.size == 0 and t.primitive != "Void") \
            or (t.primitive == "Void" and t._prim is None):
        raise TypeError(f"{func}(): you are not allowed to directly return {t.name} values "
                        f"(maybe try {t.name} *)")


def _finish(info: FunctionInfo) -> FunctionInfo:
    label = info.name or "<anonymous>"
    if len(info.arguments) > MAX_PARAMETERS:
        raise TypeError(f"Functions cannot have more than {MAX_PARAMETERS} parameters")
    for i, arg in enumerate(info.arguments):
        _check_param(label, i, arg.type)
        if arg.direction != "in" and arg.type.primitive not in (
                "Pointer", "String", "String16", "String32"):
            raise TypeError(f"{label}(): parameter {arg.name or i + 1}: unexpected "
                            f"{arg.type.name} type, expected pointer or string type")
    _check_result(label, info.result)
    return info


def parse_declaration(text: str, *, require_name: bool = True) -> FunctionInfo:
    """A `FunctionInfo` from a C prototype string."""
    proto = parse_prototype(text)
    if require_name and proto.name is None:
        raise ParseError("Expected a function name in prototype", text,
                         len(text) - len(text.lstrip()))
    return _signature(proto)


def _signature(proto: Prototype) -> FunctionInfo:
    args = tuple(Argument(p.name, _resolve_expr(p.type), p.direction, p.type.readonly)
                 for p in proto.params)
    return _finish(FunctionInfo(proto.name, args, _resolve_expr(proto.result), proto.variadic,
                                proto.convention, proto.result.readonly))


_anonymous = itertools.count(1)


def _prototype_type(info: FunctionInfo) -> Type:
    name = info.name or f"<anonymous_{next(_anonymous)}>"
    return Type(name, "Prototype", 0, 0, token=_TOKEN, proto=info)


def _inline_prototype(proto: Prototype) -> Type:
    """The anonymous prototype of an inline function-pointer type (``int (*)(int)``)."""
    return _prototype_type(_signature(proto))


def _classic_arg(spec: object) -> Argument:
    if isinstance(spec, Direction):
        return Argument(None, spec.type, spec.direction)
    if isinstance(spec, str):
        stripped = spec.strip()
        for marker, direction in (("_In_", "in"), ("_Out_", "out"), ("_Inout_", "inout")):
            if stripped.startswith(marker + " ") or stripped.startswith(marker + "\t"):
                text = stripped[len(marker):]
                return Argument(None, resolve_type(text), direction, _readonly(text))
        return Argument(None, resolve_type(spec), "in", _readonly(spec))
    return Argument(None, resolve_type(spec), "in")


def _readonly(text: str) -> bool:
    """Whether the type string ``text`` is a pointer to ``const`` data."""
    return "const" in text and parse_type(text).readonly


def _annotation_readonly(annotation: object) -> bool:
    """Whether an annotation's C type string (``Annotated[bytes, "const char *"]``) is a
    pointer to ``const`` data."""
    return any(isinstance(meta, str) and _readonly(meta)
               for meta in getattr(annotation, "__metadata__", ()))


def is_convention(value: object) -> bool:
    """Whether ``value`` names a calling convention (``'__stdcall'``...)."""
    return isinstance(value, str) and value in CONVENTIONS


def string_declaration(args: Sequence[object], *,
                       require_name: bool = True) -> FunctionInfo | None:
    """A `FunctionInfo` from the prototype-string forms, ``('int f(int)')`` and Koffi's
    ``(convention, 'int f(int)')`` (the prototype may repeat the convention, not contradict
    it); ``None`` for the classic forms."""
    if len(args) == 1 and isinstance(args[0], str):
        return parse_declaration(args[0], require_name=require_name)
    if len(args) != 2 or not is_convention(args[0]) or not isinstance(args[1], str):
        return None
    convention = str(args[0])
    info = parse_declaration(args[1], require_name=require_name)
    if info.convention not in (None, convention):
        raise ValueError(f"{info.name or '<anonymous>'}(): declared {info.convention}, but "
                         f"{convention} given")
    return replace(info, convention=convention)


def classic_declaration(args: Sequence[object]) -> FunctionInfo:
    """A `FunctionInfo` from Koffi's ``(convention?, name, result, [params])`` form."""
    items = list(args)
    convention = None
    if len(items) == 4:
        convention = items.pop(0)
        if not is_convention(convention):
            raise ValueError(f"Unknown calling convention {convention!r}")
    if len(items) != 3 or not isinstance(items[2], (list, tuple)):
        raise TypeError("expected (name, result, [parameters]) or (convention, name, result, "
                        "[parameters])")
    name, result = items[0], items[1]
    params: list[object] = list(items[2])
    if name is not None and not isinstance(name, str):
        raise TypeError(f"function name must be a string, not {type(name).__name__}")
    variadic = bool(params) and params[-1] == "..."
    label = f"{name or '<anonymous>'}()"
    arguments = []
    for i, spec in enumerate(params[:-1] if variadic else params):
        try:
            arguments.append(_classic_arg(spec))
        except (TypeError, ValueError) as exc:
            raise _labelled(f"{label}: parameter {i + 1}", exc) from None
    try:
        result_type = resolve_type(result)
    except (TypeError, ValueError) as exc:
        raise _labelled(f"{label}: result", exc) from None
    return _finish(FunctionInfo(name, tuple(arguments), result_type, variadic,
                                str(convention) if convention else None))


def _labelled(label: str, exc: Exception) -> Exception:
    """The same error, its message prefixed with ``label`` (a `ParseError` keeps its text)."""
    if isinstance(exc, ParseError):
        return ParseError(f"{label}: {exc.msg}", exc.text, exc.pos)
    return (TypeError if isinstance(exc, TypeError) else ValueError)(f"{label}: {exc}")


def _type_hints(fn: Callable[..., Any], namespace: dict[str, Any]) -> dict[str, Any]:
    """The evaluated annotations of ``fn``; one that cannot be evaluated (an undefined
    name, a syntax error in a string) raises `TypeError` naming its parameter."""
    localns = RecordNames(namespace)
    try:
        return typing.get_type_hints(fn, localns=localns, include_extras=True)
    except Exception:  # any error evaluating an annotation: find which one
        pass
    for pname, annotation in getattr(fn, "__annotations__", {}).items():
        def one() -> None: ...
        one.__annotations__ = {pname: annotation}
        try:
            typing.get_type_hints(one, globalns=namespace, localns=localns,
                                  include_extras=True)
        except Exception as exc:
            what = "result" if pname == "return" else f"parameter {pname!r}"
            raise TypeError(f"{fn.__name__}(): {what}: cannot evaluate the annotation "
                            f"{annotation!r} ({type(exc).__name__}: {exc})") from None
    return typing.get_type_hints(fn, localns=localns, include_extras=True)


def _qualifier(spec: str) -> str | None:
    """The direction qualifier a C type string starts with (``_Out_ int *``), if any."""
    words = spec.split(maxsplit=1)
    return words[0] if words and words[0] in DIRECTIONS else None


def typed_declaration(fn: Callable[..., Any], name: str | None) -> FunctionInfo:
    """A `FunctionInfo` from a typed ``def`` (``@lib.function``)."""
    if not inspect.isfunction(fn):
        raise TypeError(f"function() expects a function (a typed def), got "
                        f"{type(fn).__name__}")
    namespace = getattr(fn, "__globals__", {})
    label = f"{fn.__name__}()"
    hints = _type_hints(fn, namespace)
    parameters = inspect.signature(fn).parameters
    args = []
    for pname, param in parameters.items():
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            raise TypeError(f"{label}: parameter {pname!r} must be positional")
        if param.default is not param.empty:
            raise TypeError(f"{label}: parameter {pname!r} has a default value, which C "
                            "functions cannot have (every argument is passed)")
        if pname not in hints:
            raise TypeError(f"{label}: parameter {pname!r} needs a C type annotation")
        ann = hints[pname]
        direction = "in"
        for meta in getattr(ann, "__metadata__", ()):
            if isinstance(meta, Direction):
                direction = meta.direction
                ann = meta.type
            elif isinstance(meta, str) and (qualifier := _qualifier(meta)) is not None:
                # Annotated[Timeval, "_Out_ timeval *"]: the qualifier as in a prototype
                spec = meta.strip()[len(qualifier):].strip()
                if not spec:
                    raise TypeError(f"{label}: parameter {pname!r}: {qualifier} needs a type "
                                    f"after it ({meta!r})")
                direction = DIRECTIONS[qualifier]
                ann = typing.Annotated[ann.__origin__, spec]
        try:
            t = annotation_type(ann, namespace)[0]
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{label}: parameter {pname!r}: {exc}") from None
        args.append(Argument(pname, t, direction, _annotation_readonly(ann)))
    if "return" not in hints:
        raise TypeError(f"{label}: needs a return annotation (-> None for void)")
    ret = hints["return"]
    try:
        result = resolve_type("void") if ret is type(None) or ret is None else \
            annotation_type(ret, namespace)[0]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label}: result: {exc}") from None
    return _finish(FunctionInfo(name or fn.__name__, tuple(args), result))


def proto(*args: object) -> Type:
    """A function type: ``proto('int Cmp(const void *a, const void *b)')`` or classic forms.

    Use ``'Cmp *'`` (or `koffi.pointer`) for function pointer parameters and members, or
    write the type inline as C does (``int (*cmp)(const void *, const void *)``): that makes
    an anonymous prototype named ``<anonymous_N>``, as does ``proto`` without a name.
    """
    found = string_declaration(args, require_name=False)
    if found is not None:
        info = found
    else:
        items = list(args)
        convention = bool(items) and is_convention(items[0])
        if len(items) == 2 or (len(items) == 3 and convention):
            items.insert(1 if convention else 0, None)
        info = classic_declaration(items)
    t = _prototype_type(info)
    if info.name:
        register_name(info.name, t)
    return t


def prototype_info(spec: object) -> FunctionInfo:
    """The signature of a prototype type (``koffi.proto(...)`` or ``'Fn *'``)."""
    t = resolve_type(spec)
    if t.primitive == "Callback" and t.ref is not None:
        t = t.ref
    if t.primitive != "Prototype" or not isinstance(t.proto, FunctionInfo):
        raise TypeError(f"Expected a function type, got {t.name}")
    return t.proto


install_prototype_builder(_inline_prototype)
