"""Annotations to C types: what a record member or a typed parameter annotation declares.

``c.int32``, ``Annotated[int, "char [16]"]``, ``Annotated[int, c.bits(c.uint32, 3)]``,
record classes, ``koffi.Ptr["Node"]`` (forward and self references), ``T | None`` and
Koffi's ``(alignment, spec)`` pairs all come down to a `Type` here.
"""

from __future__ import annotations

import builtins
import types as pytypes
from collections.abc import Mapping
from typing import Annotated, Any, ForwardRef, Union, get_args, get_origin

from koffi_typed.markers import Align, BitField
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, lookup, make_pointer, opaque, resolve_type

__all__ = ["DEFINING", "RecordNames", "annotation_type", "forward_type", "is_record_class"]

#: Key of an annotation namespace (not an identifier, so no annotation can name it) holding
#: ``(class name, C name)`` of the record class a decorator is building: its class name is a
#: forward reference to that record, whatever its C name is.
DEFINING = "<record class being defined>"


def is_record_class(obj: object) -> bool:
    """Whether ``obj`` is a class made by ``@koffi.struct`` / ``@koffi.union``."""
    return isinstance(obj, type) and isinstance(getattr(obj, "__koffi_type__", None), Type)


class RecordNames(dict[str, Any]):
    """Local names for evaluating a string annotation, falling back to record names.

    A name found neither here, nor in ``globals_``, nor in builtins resolves to the record or
    union class registered under that C name. The caller's local names are not always
    visible: a Nuitka-compiled function exposes no frame locals, and a record class may have
    been declared in another function. C type names are global, so ``'Vec'`` still names the
    record declared as ``Vec``.
    """

    def __init__(self, globals_: Mapping[str, Any], names: Mapping[str, Any] | None = None
                 ) -> None:
        super().__init__(names or {})
        self._globals = globals_

    def __missing__(self, name: str) -> Any:
        if name not in self._globals and not hasattr(builtins, name):
            found = lookup(name)
            if found is not None and is_record_class(found.python_class):
                return found.python_class
        raise KeyError(name)


def forward_type(name: str, namespace: Mapping[str, Any]) -> Type:
    """The type a forward reference names: registered name, record class, or a new opaque."""
    if not name.isidentifier():
        return resolve_type(name)
    defining = namespace.get(DEFINING)
    if defining is not None and name == defining[0]:
        return lookup(defining[1]) or opaque(defining[1])
    found = lookup(name)
    if found is not None:
        return found
    obj = namespace.get(name)
    if is_record_class(obj):
        return resolve_type(obj)
    return opaque(name)


def annotation_type(obj: object,
                    namespace: Mapping[str, Any]) -> tuple[Type, int | None, int | None]:
    """(type, bitfield width, explicit alignment) of an annotation or member spec."""
    if isinstance(obj, BitField):
        return annotation_type(obj.spec, namespace)[0], obj.width, None
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
            elif spec is None and (isinstance(item, (Type, str)) or is_record_class(item)
                                   or get_origin(item) is Annotated):
                spec = item
        t = annotation_type(base if spec is None else spec, namespace)[0]
        return t, bits, align
    if origin is Pointer:
        (arg,) = get_args(obj)
        if isinstance(arg, ForwardRef):
            arg = arg.__forward_arg__
        pointee = forward_type(arg, namespace) if isinstance(arg, str) else \
            annotation_type(arg, namespace)[0]
        return make_pointer(pointee), None, None
    if origin in (Union, pytypes.UnionType):
        rest = [a for a in get_args(obj) if a is not type(None)]
        if len(rest) == 1:
            return annotation_type(rest[0], namespace)
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and isinstance(obj[0], int):
        return annotation_type(obj[1], namespace)[0], None, obj[0]
    if isinstance(obj, (Type, str)) or is_record_class(obj):
        return resolve_type(obj), None, None
    shown = getattr(obj, "__name__", None) or repr(obj)
    raise TypeError(f"annotation {shown} is not a C type (use c.int32, "
                    f"Annotated[int, 'int32_t'], a record class or koffi.Ptr[...])")
