"""Function declarations and calls: prototypes → `FunctionInfo` → a call plan built once.

A `Function` resolves its parameter types, picks one converter per parameter and builds the
ctypes function pointer when it is declared. A call only checks the argument count, runs each
converter, calls, writes ``_Out_``/``_Inout_`` values back and converts the result.
"""

from __future__ import annotations

import builtins
import ctypes
import functools
import inspect
import keyword
import linecache
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from koffi_typed import callbacks as _callbacks
from koffi_typed import marshal, memory
from koffi_typed._codec import read_string, to_int
from koffi_typed.bases import CallFuture
from koffi_typed.cparser import CONVENTIONS, parse_prototype
from koffi_typed.datamodel import host_name
from koffi_typed.errors import Error, ParseError
from koffi_typed.flatgen import flat_record
from koffi_typed.lowering import (
    BlobArgument,
    LoweredArgument,
    LoweredResult,
    blob_ctype,
    encode_record,
    lowering_applies,
)
from koffi_typed.pointer import Pointer, compatible, new_pointer
from koffi_typed.types import (
    Type,
    _resolve_expr,
    int_range,
    is_integer,
    register_name,
    resolve_type,
)

__all__ = ["Argument", "Direction", "Function", "FunctionInfo", "inout", "out", "proto"]

P = ParamSpec("P")
R = TypeVar("R")
MAX_PARAMETERS = 64


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
    """One declared parameter: name (or ``None``), type and direction."""

    name: str | None
    type: Type
    direction: str = "in"


@dataclass(frozen=True)
class FunctionInfo:
    """A function's declared signature (``fn.info``)."""

    name: str | None
    arguments: tuple[Argument, ...]
    result: Type
    variadic: bool = False
    convention: str | None = None

    def __str__(self) -> str:
        params = ", ".join(
            ("" if a.direction == "in" else f"_{a.direction.capitalize()}_ ")
            + a.type.name + (f" {a.name}" if a.name else "") for a in self.arguments)
        if self.variadic:
            params = f"{params}, ..." if params else "..."
        return f"{self.result.name} {self.name or ''}({params})"


# ---------------------------------------------------------------------------- declarations

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
    args = tuple(Argument(p.name, _resolve_expr(p.type), p.direction) for p in proto.params)
    return _finish(FunctionInfo(proto.name, args, _resolve_expr(proto.result), proto.variadic,
                                proto.convention))


def _classic_arg(spec: object) -> Argument:
    if isinstance(spec, Direction):
        return Argument(None, spec.type, spec.direction)
    if isinstance(spec, str):
        stripped = spec.strip()
        for marker, direction in (("_In_", "in"), ("_Out_", "out"), ("_Inout_", "inout")):
            if stripped.startswith(marker + " ") or stripped.startswith(marker + "\t"):
                return Argument(None, resolve_type(stripped[len(marker):]), direction)
    return Argument(None, resolve_type(spec), "in")


def classic_declaration(args: Sequence[object]) -> FunctionInfo:
    """A `FunctionInfo` from Koffi's ``(convention?, name, result, [params])`` form."""
    items = list(args)
    convention = None
    if len(items) == 4:
        convention = items.pop(0)
        if convention not in CONVENTIONS:
            raise ValueError(f"Unknown calling convention {convention!r}")
    if len(items) != 3 or not isinstance(items[2], (list, tuple)):
        raise TypeError("expected (name, result, [parameters]) or (convention, name, result, "
                        "[parameters])")
    name, result = items[0], items[1]
    params: list[object] = list(items[2])
    if name is not None and not isinstance(name, str):
        raise TypeError(f"function name must be a string, not {type(name).__name__}")
    variadic = bool(params) and params[-1] == "..."
    arguments = tuple(_classic_arg(p) for p in (params[:-1] if variadic else params))
    return _finish(FunctionInfo(name, arguments, resolve_type(result), variadic,
                                str(convention) if convention else None))


def typed_declaration(fn: Callable[..., Any], name: str | None) -> FunctionInfo:
    """A `FunctionInfo` from a typed ``def`` (``@lib.function``)."""
    from koffi_typed.records import _type_of
    hints = typing.get_type_hints(fn, include_extras=True)
    namespace = getattr(fn, "__globals__", {})
    args = []
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            raise TypeError(f"{fn.__name__}(): parameter {pname!r} must be positional")
        if pname not in hints:
            raise TypeError(f"{fn.__name__}(): parameter {pname!r} needs a C type annotation")
        ann = hints[pname]
        direction = "in"
        for meta in getattr(ann, "__metadata__", ()):
            if isinstance(meta, Direction):
                direction = meta.direction
                ann = meta.type
        try:
            t = _type_of(ann, namespace)[0]
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{fn.__name__}(): parameter {pname!r}: {exc}") from None
        args.append(Argument(pname, t, direction))
    ret = hints.get("return", type(None))
    result = resolve_type("void") if ret is type(None) or ret is None else \
        _type_of(ret, namespace)[0]
    return _finish(FunctionInfo(name or fn.__name__, tuple(args), result))


def proto(*args: object) -> Type:
    """A function type: ``proto('int Cmp(const void *a, const void *b)')`` or classic forms.

    Use ``'Cmp *'`` (or `koffi.pointer`) for function pointer parameters and members.
    """
    if len(args) == 1 and isinstance(args[0], str):
        info = parse_declaration(args[0], require_name=False)
    else:
        items = list(args)
        if len(items) == 2 or (len(items) == 3 and items[0] in CONVENTIONS):
            items.insert(1 if items[0] in CONVENTIONS else 0, None)
        info = classic_declaration(items)
    from koffi_typed.types import _TOKEN
    t = Type(info.name or "<prototype>", "Prototype", 0, 0, token=_TOKEN, proto=info)
    if info.name:
        register_name(info.name, t)
    return t


# ---------------------------------------------------------------------------- converters

class Converter:
    """Turns one Python argument into what ctypes passes, and writes outputs back.

    ``convert`` returns a value ctypes passes as is, with no ``argtypes``: a Python int only
    for types of at most 32 bits, otherwise a ctypes scalar, ``bytes``, a ctypes array or
    structure, or ``None``. ``fast`` gives an inline expression for the generated caller.
    """

    ctype: Any = ctypes.c_void_p
    writes_back = False
    raw_result = False  # what ctypes returns for ``ctype`` is already the Python value

    def __init__(self, label: str, t: Type) -> None:
        self.label = label
        self.type = t

    def convert(self, value: object, keep: list[object]) -> object:
        raise NotImplementedError

    def write_back(self, value: object, converted: object) -> None:
        """Copy what C wrote into ``converted`` back into the caller's ``value``."""

    def fast(self, var: str, slow: str) -> str:
        """A Python expression converting variable ``var``; ``slow`` is the call to fall
        back on (this converter's `convert`, with a list keeping its temporaries)."""
        return slow

    def result(self, raw: Any) -> object:
        """The Python value of what C returned (ctypes already converted scalars)."""
        return raw

    def callback_return(self, value: object, keep: list[object]) -> object:
        """What a callback hands back to C for the Python ``value`` it returned."""
        converted = self.convert(value, keep)
        if isinstance(converted, ctypes._SimpleCData):
            return converted.value
        address = memory.pointer_address(converted)
        if address is not None:
            keep.append(converted)
            return address
        if isinstance(converted, bytes):
            keep.append(converted)
            return ctypes.cast(ctypes.c_char_p(converted), ctypes.c_void_p).value
        return converted


_INT_CTYPES = {(1, True): ctypes.c_int8, (2, True): ctypes.c_int16, (4, True): ctypes.c_int32,
               (8, True): ctypes.c_int64, (1, False): ctypes.c_uint8, (2, False): ctypes.c_uint16,
               (4, False): ctypes.c_uint32, (8, False): ctypes.c_uint64}


def _int_storage(t: Type) -> Type:
    return t.ref if t.primitive == "Enum" and t.ref is not None else t


class IntConverter(Converter):
    """Integers of every width, enums and endian-specific integers, range-checked."""

    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        store = _int_storage(t)
        self.lo, self.hi = int_range(store)
        self.signed = not store.primitive.startswith("U")
        self.swap = store.primitive.endswith("S")
        self.size = store.size
        if store.size > 8:
            raise NotImplementedError(f"{label}: {t.name} cannot be passed through ctypes yet")
        self.ctype = _INT_CTYPES[(store.size, self.signed)]
        self.raw_result = not self.swap and not (t.primitive == "Enum" and t.python_class)

    def convert(self, value: object, keep: list[object]) -> object:
        if type(value) is int:
            v = value
        else:
            v = to_int(self.label, self.type.name, value)
        if v < self.lo or v > self.hi:
            raise OverflowError(f"{self.label}: {v} is out of range for {self.type.name} "
                                f"[{self.lo}, {self.hi}]")
        if self.swap:
            v = int.from_bytes(v.to_bytes(self.size, "little", signed=self.signed), "big",
                               signed=self.signed)
        return v if self.size <= 4 else self.ctype(v)

    in_register = False  # a 64-bit argument that the host passes in a register

    def fast(self, var: str, slow: str) -> str:
        if self.swap:
            return slow
        check = f"type({var}) is int and {self.lo} <= {var} <= {self.hi}"
        if self.size <= 4:
            return f"({var} if {check} else {slow})"
        expr = f"(_T{var}({var}) if {check} else {slow})"
        if self.in_register:
            # ctypes passes a plain int as a C int, which libffi sign-extends to the whole
            # register: exact for every 64-bit value that fits in 32 bits (no wrapper object)
            small = f"type({var}) is int and {max(self.lo, -(1 << 31))} <= {var} <= {(1 << 31) - 1}"
            expr = f"({var} if {small} else {expr})"
        return expr

    def result(self, raw: Any) -> object:
        v = int(raw)
        if self.swap:
            v = int.from_bytes(v.to_bytes(self.size, "little", signed=self.signed), "big",
                               signed=self.signed)
        enum_class = self.type.python_class if self.type.primitive == "Enum" else None
        if enum_class is not None:
            try:
                return enum_class(v)
            except ValueError:
                return v
        return v


class BoolConverter(Converter):
    ctype = ctypes.c_bool
    raw_result = True

    def convert(self, value: object, keep: list[object]) -> object:
        if value is True or value is False:
            return value
        raise TypeError(f"{self.label}: expected bool, got {type(value).__name__}")

    def fast(self, var: str, slow: str) -> str:
        return f"({var} if {var} is True or {var} is False else {slow})"


class FloatConverter(Converter):
    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        self.ctype = {"Float32": ctypes.c_float, "Float64": ctypes.c_double}.get(
            t.primitive, ctypes.c_longdouble)

    raw_result = True

    def convert(self, value: object, keep: list[object]) -> object:
        if isinstance(value, float):
            return self.ctype(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.ctype(float(value))
        raise TypeError(f"{self.label}: expected float ({self.type.name}), got "
                        f"{type(value).__name__}")

    def fast(self, var: str, slow: str) -> str:
        return f"(_T{var}({var}) if type({var}) is float else {slow})"


_UNITS = {"String": 1, "String16": 2, "String32": 4}
_ENCODINGS = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}


class StringConverter(Converter):
    """``char *`` from str (UTF-8) or bytes; wide strings from str; buffers and None too."""

    def __init__(self, label: str, t: Type, direction: str) -> None:
        super().__init__(label, t)
        self.unit = _UNITS[t.primitive]
        self.encoding = _ENCODINGS[self.unit]
        self.direction = direction
        self.writes_back = direction != "in"


    def fast(self, var: str, slow: str) -> str:
        if self.unit != 1 or self.direction != "in":
            return slow
        return (f"({var}.encode('utf-8', 'surrogateescape') if type({var}) is str else "
                f"{_bytearray_pointer(var, slow)})")

    def convert(self, value: object, keep: list[object]) -> object:
        if isinstance(value, str) and self.direction == "in":
            data = value.encode(self.encoding, "surrogateescape" if self.unit == 1 else "strict")
            if self.unit == 1:
                return data
            return ctypes.create_string_buffer(data + b"\0" * self.unit, len(data) + self.unit)
        if value is None:
            return None
        if isinstance(value, bytes) and self.unit == 1 and self.direction == "in":
            return value
        if isinstance(value, list) and len(value) == 1 and self.direction != "in":
            item = value[0]
            data = item.encode(self.encoding) if isinstance(item, str) else bytes(item or b"")
            return ctypes.create_string_buffer(data + b"\0" * self.unit,
                                               len(data) + self.unit)
        buffer = memory.buffer_argument(value, keep)
        if buffer is not None:
            return buffer
        if isinstance(value, Pointer):
            return ctypes.c_void_p(value.address)
        if isinstance(value, memory.Cast):
            return memory.cast_argument(value, keep)
        expected = "str, bytes or None" if self.unit == 1 else "str or None"
        if self.direction != "in":
            expected = "a one-element list or a buffer"
        raise TypeError(f"{self.label}: expected {expected} ({self.type.name}), got "
                        f"{type(value).__name__}")

    def write_back(self, value: object, converted: object) -> None:
        if isinstance(value, list) and isinstance(converted, ctypes.Array):
            raw = bytes(converted)
            zero = b"\0" * self.unit
            at = raw.find(zero)
            while at >= 0 and at % self.unit:
                at = raw.find(zero, at + 1)
            value[0] = raw[:at if at >= 0 else len(raw)].decode(self.encoding, "replace")

    def result(self, raw: Any) -> object:
        if not raw:
            return None
        text = read_string(raw, self.unit).decode(
            self.encoding, "surrogateescape" if self.unit == 1 else "replace")
        memory.dispose(self.type, raw)
        return text


class PointerConverter(Converter):
    """``T *``: Pointer, None, buffers, records, lists (with write-back for out/inout)."""

    def __init__(self, label: str, t: Type, direction: str) -> None:
        super().__init__(label, t)
        assert t.ref is not None
        self.ref = t.ref
        self.void = t.ref.primitive == "Void" and t.ref._prim is not None
        self.direction = direction
        self.writes_back = direction != "in"
        self.elem = marshal.codec_for(t.ref) if t.ref.size else None


    def fast(self, var: str, slow: str) -> str:
        return f"(None if {var} is None else {_bytearray_pointer(var, slow)})"

    def emit(self, var: str, i: int, slow: str, env: dict[str, Any]) -> tuple[list[str],
                                                                                list[str]]:
        """A flat record instance is packed inline into a fresh C buffer (zeroed for
        ``_Out_``); anything else takes `convert`."""
        flat = flat_record(self.ref)
        if flat is None:
            return [f"c{i} = {self.fast(var, slow)}"], [f"c{i}"]
        env[f"_K{i}"], env[f"_B{i}"], env[f"_S{i}"] = flat.cls, ctypes.c_char * flat.size, \
            flat.struct
        if self.direction == "out":
            fast = [f"if type({var}) is _K{i}:", f"    c{i} = _B{i}()"]
        else:
            fast = [f"if type({var}) is _K{i} and {flat.check(var)}:", f"    c{i} = _B{i}()",
                    f"    _S{i}.pack_into(c{i}, 0, {flat.values(var)})"]
        return [*fast, f"elif {var} is None:", f"    c{i} = None", "else:",
                f"    c{i} = {slow}"], [f"c{i}"]

    def emit_write_back(self, var: str, i: int, env: dict[str, Any]) -> list[str]:
        """Statements copying what C wrote back into the caller's value."""
        flat = flat_record(self.ref)
        if flat is None:
            return [f"_w{i}({var}, c{i})"]
        return [f"if type({var}) is _K{i}:",
                f"    {flat.targets(var)}= _S{i}.unpack_from(c{i})",
                "else:", f"    _w{i}({var}, c{i})"]

    def convert(self, value: object, keep: list[object]) -> object:
        if value is None:
            return None
        if type(value) is self.ref.python_class and self.elem is not None:
            try:  # a record instance: the common case first
                return _record_memory(self.elem, value, keep, self.direction != "out")
            except (TypeError, ValueError, OverflowError) as exc:
                raise _in_argument(self.label, exc) from None
        if isinstance(value, Pointer):
            if not self.void and not compatible(self.ref, value.type):
                raise TypeError(f"{self.label}: expected {self.type.name}, got a pointer to "
                                f"{value.type.name}")
            return ctypes.c_void_p(value.address)
        if isinstance(value, memory.Cast):
            return memory.cast_argument(value, keep, self.direction)
        buffer = memory.buffer_argument(value, keep)
        if buffer is not None:
            return buffer
        if self.void:
            if isinstance(value, int) and not isinstance(value, bool):
                return ctypes.c_void_p(value)
            if isinstance(value, (list, tuple, dict)) or hasattr(value, "__koffi_type__"):
                raise TypeError(f"{self.label}: cannot pass ambiguous value to void *, use "
                                f"koffi.as_()")
        elem = self.elem
        if elem is not None:
            try:
                return self._encode_pointee(elem, value, keep)
            except (TypeError, ValueError, OverflowError) as exc:
                raise _in_argument(self.label, exc) from None
        raise TypeError(f"{self.label}: expected {self.type.name} (Pointer, None or a buffer), "
                        f"got {type(value).__name__}")

    def _encode_pointee(self, elem: Any, value: object, keep: list[object]) -> object:
        """Copy a list or a record into temporary C memory (written back after the call)."""
        twin = same_record(self.ref, value)
        if twin is not None:
            elem = marshal.codec_for(twin)
        if isinstance(value, list):
            data = bytearray(elem.size * len(value))
            if self.direction != "out":
                for i, item in enumerate(value):
                    elem.encode(data, i * elem.size, item, keep)
            keep.append(data)
            return (ctypes.c_char * len(data)).from_buffer(data) if data else None
        ref_cls = self.ref.python_class
        if (ref_cls is not None and isinstance(value, ref_cls)) or twin is not None or (
                isinstance(value, dict) and self.ref.primitive in ("Record", "Union")):
            return _record_memory(elem, value, keep,
                                  self.direction != "out" or isinstance(value, dict))
        raise TypeError(f"expected {self.type.name} (Pointer, None, a buffer, a record or a "
                        f"list), got {type(value).__name__}")

    def write_back(self, value: object, converted: object) -> None:
        if type(value) is self.ref.python_class and self.elem is not None:
            self.elem.decode_into(value, bytes(converted), 0)  # type: ignore[call-overload]
            return
        if isinstance(value, memory.Cast):
            memory.cast_converter(value.type, self.direction).write_back(value.value, converted)
            return
        elem = self.elem
        if elem is None or not isinstance(converted, ctypes.Array):
            return
        raw = bytes(converted)
        twin = same_record(self.ref, value)
        if twin is not None:
            elem = marshal.codec_for(twin)
        if isinstance(value, list):
            for i in range(len(value)):
                value[i] = elem.decode(raw, i * elem.size)
        elif twin is not None or (self.ref.python_class is not None
                                  and isinstance(value, self.ref.python_class)):
            elem.decode_into(value, raw, 0)

    def result(self, raw: Any) -> object:
        if not raw:
            return None
        if self.type.disposable:
            memory.dispose(self.type, raw)
        return new_pointer(raw, self.ref)


def _bytearray_pointer(var: str, slow: str) -> str:
    """An expression passing a non-empty bytearray as a pointer to its storage (what
    `memory.buffer_argument` does, inline), else ``slow``."""
    return f"(_byref(_char_at({var})) if type({var}) is bytearray and {var} else {slow})"


def _record_memory(elem: Any, value: object, keep: list[object], encode: bool) -> object:
    """Temporary C memory holding one record (zeroed for ``_Out_``), kept for the call."""
    data = bytearray(elem.size)
    if encode:
        elem.encode(data, 0, value, keep)
    keep.append(data)
    return (ctypes.c_char * elem.size).from_buffer(data)


def same_record(t: Type, value: object) -> Type | None:
    """The type of ``value`` if it is a record of another class declaring the same C record.

    C identifies records by name: two modules may both declare ``struct tm``. An instance of
    either class is accepted where the other is expected when name and layout agree.
    """
    other = getattr(type(value), "__koffi_type__", None)
    if not isinstance(other, Type) or other is t or t.python_class is None:
        return None
    if other.name != t.name or other.size != t.size or other.primitive != t.primitive:
        return None
    mine, theirs = t.members or {}, other.members or {}
    if [(m.name, m.offset, m.bits, m.type.size) for m in mine.values()] != \
            [(m.name, m.offset, m.bits, m.type.size) for m in theirs.values()]:
        return None
    return other


class RecordConverter(Converter):
    """Records by value through a ctypes structure with the same layout."""


    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        self.ctype = memory.ctypes_record(t, label)
        self.codec = marshal.codec_for(t)

    def convert(self, value: object, keep: list[object]) -> object:
        return self.ctype.from_buffer(
            encode_record(self.label, self.codec, value, keep, self.type.size))

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw), 0)


class CallbackConverter(PointerConverter):
    """Function pointers: Python callables (transient for the call), `Pointer` or None."""

    def __init__(self, label: str, t: Type, direction: str) -> None:
        super().__init__(label, t, direction)
        info = t.ref.proto if t.ref is not None else None
        if isinstance(info, FunctionInfo):
            check_callback_signature(info)

    def fast(self, var: str, slow: str) -> str:
        return f"(None if {var} is None else {slow})"

    def convert(self, value: object, keep: list[object]) -> object:
        if value is not None and not isinstance(value, Pointer) and callable(value):
            from koffi_typed import callbacks
            address, lease = callbacks.transient(self.ref, value)
            keep.append(lease)
            return ctypes.c_void_p(address)
        return super().convert(value, keep)


def check_callback_signature(info: FunctionInfo) -> None:
    """Raise `NotImplementedError` now for callbacks that ctypes cannot build."""
    label = info.name or "callback"
    if info.result.primitive in ("Record", "Union"):
        raise NotImplementedError(
            f"{label}: callbacks cannot return records by value yet (ctypes has no struct "
            f"results for callbacks); return a pointer, or fill a '{info.result.name} *' "
            "parameter")
    if info.variadic:
        raise NotImplementedError(f"{label}: variadic callbacks are not supported")


def callback_converters(info: FunctionInfo) -> tuple[list[Any], Any]:
    """Converters for a callback: arguments C → Python, result Python → C."""
    check_callback_signature(info)
    name = info.name or "callback"
    args = [make_converter(f"{name} callback: argument "
                           f"{repr(a.name) if a.name else i + 1}", a.type)
            for i, a in enumerate(info.arguments)]
    return args, make_converter(f"{name} callback: return value", info.result)


def make_converter(label: str, t: Type, direction: str = "in") -> Any:
    """The converter for a parameter (or the result) of type ``t``."""
    kind = t.primitive
    if kind == "Bool":
        return BoolConverter(label, t)
    if is_integer(t):
        return IntConverter(label, t)
    if kind in ("Float32", "Float64", "LongDouble"):
        return FloatConverter(label, t)
    if kind in _UNITS:
        return StringConverter(label, t, direction)
    if kind == "Callback":
        return CallbackConverter(label, t, direction)
    if kind == "Pointer":
        return PointerConverter(label, t, direction)
    if kind in ("Record", "Union"):
        return RecordConverter(label, t)
    if kind == "Void":
        return VoidResult(label, t)
    raise TypeError(f"{label}: type {t.name} cannot be passed")


class VoidResult(Converter):
    ctype = None
    raw_result = True

    def result(self, raw: Any) -> object:
        return None

    def callback_return(self, value: object, keep: list[object]) -> object:
        if value is not None:
            raise TypeError(f"{self.label}: expected None (void), got {type(value).__name__}")
        return None


# ---------------------------------------------------------------------------- functions

def _raise_callback_error() -> None:
    exc = _callbacks.pending()
    if exc is not None:
        try:
            raise exc
        finally:
            exc = None  # no frame → exception → traceback → frame cycle


def _in_argument(label: str, exc: Exception) -> Exception:
    """The same error, prefixed with the function and argument it happened in."""
    return type(exc)(f"{label}: {exc}")


def _arg_label(func: str, index: int, arg: Argument) -> str:
    return f"{func}(): argument {arg.name!r}" if arg.name else \
        f"{func}(): argument {index + 1}"


_VARIADIC_PROMOTIONS = {"Float32": "double", "Bool": "int", "Int8": "int", "UInt8": "int",
                        "Int16": "int", "UInt16": "int"}  # C's default argument promotions


class _FunctionMeta(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(getattr(instance, "__koffi_function__", None), Plan) or \
            super().__instancecheck__(instance)


class Function(Generic[P, R], metaclass=_FunctionMeta):
    """A declared C function (``lib.func(...)``, ``@lib.function``, ``koffi.call``).

    At run time it is a plain Python function generated for its signature, carrying these
    attributes: ``info`` describes the signature, ``address`` is the C entry point,
    ``async_`` runs the call on a worker thread and returns a `concurrent.futures.Future`,
    ``acall`` awaits it (asyncio), ``explain()`` tells how each argument is passed.
    """

    info: FunctionInfo
    address: int
    __koffi_function__: Plan

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        raise NotImplementedError  # pragma: no cover - instances are generated functions

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> CallFuture[R]:
        """Run the call on a worker thread; the future holds the result (or the exception)
        and ``errno``."""
        raise NotImplementedError  # pragma: no cover

    async def acall(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await the call, run on a worker thread (asyncio)."""
        raise NotImplementedError  # pragma: no cover

    def explain(self) -> str:
        """How each argument is passed."""
        raise NotImplementedError  # pragma: no cover


class Plan:
    """A function's call plan, built once: converters, result conversion, C entry point."""

    def __init__(self, info: FunctionInfo, address: int) -> None:
        self.info = info
        self.address = address
        self.name = info.name or "<anonymous>"
        label = self.name
        types = [a.type for a in info.arguments] + [info.result]
        self.lowered = lowering_applies(host_name(), types, info.variadic)
        placements: Any = None
        if self.lowered:
            from koffi_typed import abi
            placements = abi.classify(info)
        self.converters = []
        for i, a in enumerate(info.arguments):
            arg_label = _arg_label(label, i, a)
            if self.lowered and a.type.primitive in ("Record", "Union"):
                later = placements.arguments[i + 1:]
                follows = any(p.stack_offset is not None for p in later)
                self.converters.append(LoweredArgument(arg_label, a.type,
                                                       placements.arguments[i], follows))
            else:
                self.converters.append(_record_or_blob(arg_label, a.type, a.direction, info,
                                                       i))
        if self.lowered and info.result.primitive in ("Record", "Union"):
            self.result: Any = LoweredResult(f"{label}(): result", info.result,
                                             placements.result)
        else:
            self.result = _record_or_blob(f"{label}(): result", info.result, "in", info, -1)
        mark_register_ints(info, self.converters, placements)
        self.nargs = len(info.arguments)
        self.cfunc: Any = ctypes.CFUNCTYPE(self.result.ctype, use_errno=True)(address)
        self.variadic_cache: dict[tuple[object, ...], Callable[..., Any]] = {}

    def call_variadic(self, fixed: tuple[object, ...], pairs: tuple[object, ...]) -> Any:
        """The variadic call the generated entry point could not take from its cache:
        checks the type/value pairs, plans a caller for their types and calls it."""
        if len(pairs) % 2:
            raise TypeError(f"{self.name}(): missing value argument for variadic call "
                            "(pass type, value pairs after the fixed arguments)")
        specs = pairs[::2]
        try:
            caller = self.variadic_cache[specs]
        except KeyError:
            caller = self.variadic_cache[specs] = self._variadic_caller(specs)
        except TypeError:  # an unhashable type spec: plan this call alone
            caller = self._variadic_caller(specs)
        return caller(*fixed, *pairs[1::2])

    def _variadic_caller(self, specs: tuple[object, ...]) -> Callable[..., Any]:
        """A generated caller for the fixed arguments plus variadic arguments of ``specs``."""
        converters = list(self.converters)
        for j, spec in enumerate(specs):
            t = resolve_type(spec)
            promoted = _VARIADIC_PROMOTIONS.get(t.primitive)
            if promoted is not None:
                t = resolve_type(promoted)
            converters.append(make_converter(f"{self.name}(): variadic argument {j + 1}", t))
        extended = FunctionInfo(self.info.name, self.info.arguments + tuple(
            Argument(None, c.type) for c in converters[self.nargs:]), self.info.result)
        mark_register_ints(extended, converters)
        shape = _Shape(converters, self.result)
        env = self.base_env()
        lines = _call_lines("variadic_call", shape, env, _parameter_names(shape))
        return _compile_caller("variadic_call", lines, env,
                               f"<koffi_typed call {self.name} {len(specs)} varargs>")

    def base_env(self) -> dict[str, Any]:
        """Names the generated callers use."""
        return {"_f": self.cfunc, "_r": self.result.result, "_watch": _callbacks.watch,
                "_raise": _raise_callback_error, "_variadic": self.call_variadic,
                "_byref": ctypes.byref, "_char_at": ctypes.c_char.from_buffer,
                "_vcache": self.variadic_cache}

    def explain(self) -> str:
        from koffi_typed import abi
        text = str(abi.classify(self.info))
        if self.lowered:
            text += ("\nRecords by value are lowered: passed as the eightbytes above "
                     "(separate c_uint64/c_double arguments), MEMORY results through an "
                     "explicit hidden pointer.")
        return text


def mark_register_ints(info: FunctionInfo, converters: list[Any],
                       placements: Any = None) -> None:
    """Flag the 64-bit integer arguments that System V x86-64 passes in registers, where a
    small value can go to ctypes as a plain int (see `IntConverter.fast`). ``placements`` is
    the host's classification of ``info`` when the caller already has it."""
    if host_name() != "sysv_x64":
        return
    if placements is None:
        from koffi_typed import abi
        try:
            placements = abi.classify(info)
        except (NotImplementedError, TypeError, ValueError):
            return
    for conv, placement in zip(converters, placements.arguments):
        if type(conv) is IntConverter and conv.size == 8 and placement.registers \
                and placement.kind == "reg":
            conv.in_register = True


def _record_or_blob(label: str, t: Type, direction: str, info: FunctionInfo,
                    index: int) -> Any:
    """The converter for a parameter (``index``) or the result (-1). Records ctypes cannot
    describe are lowered to a structure built from the host ABI's placement; on RISC-V every
    record is (libffi mis-places single-float structs once the FP registers are used up)."""
    record = t.primitive in ("Record", "Union")
    if not (record and host_name().startswith("riscv64") and not info.variadic):
        try:
            return make_converter(label, t, direction)
        except NotImplementedError:
            if not record or info.variadic:
                raise
    from koffi_typed import abi
    plan = abi.classify(info)
    placement = plan.result if index < 0 else plan.arguments[index]
    return BlobArgument(label, t, blob_ctype(host_name(), t, placement))


def _unloaded(name: str) -> Callable[..., Any]:
    def call(*args: object) -> Any:
        raise Error(f"{name}(): its library was unloaded")
    return call


def disable(function: Function[Any, Any]) -> None:
    """Make ``function`` raise instead of calling into an unloaded library."""
    function.__globals__["_f"] = _unloaded(function.__koffi_function__.name)  # type: ignore[attr-defined]


def make_function(info: FunctionInfo, address: int) -> Function[Any, Any]:
    """The generated Python function calling the C function at ``address``.

    The generated code inlines each converter's fast path (type and range checks) and calls
    a ctypes function pointer that has no ``argtypes``, so ctypes does no per-argument
    ``from_param`` work; everything unusual goes through the converters' ``convert``.
    """
    plan = Plan(info, address)
    env = plan.base_env()
    name = _identifier(plan.name)
    if info.variadic:
        lines = _variadic_lines(name, _parameter_names(plan))
    else:
        lines = _call_lines(name, plan, env, _parameter_names(plan))
    function: Any = _compile_caller(name, lines, env,
                                    f"<koffi_typed call {plan.name} {address:#x}>")
    function.__koffi_function__ = plan
    function.info = info
    function.address = address
    function.__doc__ = f"C function: {info}"
    function.__qualname__ = plan.name
    function.async_ = functools.partial(_submit, function)
    function.acall = functools.partial(_acall, function)
    function.explain = plan.explain
    return function  # type: ignore[no-any-return]


class _Shape:
    """The converters of one call shape (a function, or a variadic call's argument types)."""

    def __init__(self, converters: list[Any], result: Any) -> None:
        self.converters = converters
        self.result = result


def _compile_caller(name: str, lines: list[str], env: dict[str, Any],
                    filename: str) -> Callable[..., Any]:
    source = "\n".join(lines) + "\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), env, scope)
    caller: Callable[..., Any] = scope[name]
    return caller


_RESERVED = frozenset(dir(builtins)) | {"keep", "r", "rb", "o"}


def _parameter_names(plan: Plan | _Shape) -> list[str]:
    """The generated caller's parameter names: the C names where they are plain identifiers
    that cannot clash with the generated code's own names, ``a<i>`` otherwise."""
    names: list[str] = []
    declared = [a.name for a in plan.info.arguments] if isinstance(plan, Plan) else []
    for i in range(len(plan.converters)):
        name = declared[i] if i < len(declared) else None
        if (not name or not name.isidentifier() or keyword.iskeyword(name)
                or name.startswith("_") or name in _RESERVED or name in names
                or (name[:1] in "acekr" and name[1:].replace("_", "").isdigit())):
            name = f"a{i}"
        names.append(name)
    return names


def _variadic_lines(name: str, params: list[str]) -> list[str]:
    """A variadic function's entry point: the caller planned for these variadic types (a
    cache hit) gets the fixed arguments and the values; anything else goes the slow way."""
    fixed = "".join(f"{p}, " for p in params)
    return [f"def {name}({fixed}/, *_pairs):" if params else f"def {name}(*_pairs):",
            "    if not len(_pairs) & 1:",
            "        try:",
            "            _caller = _vcache[_pairs[::2]]",
            "        except (KeyError, TypeError):",
            "            pass",
            "        else:",
            f"            return _caller({fixed}*_pairs[1::2])",
            f"    return _variadic(({fixed}), _pairs)"]


def _call_lines(name: str, plan: Plan | _Shape, env: dict[str, Any],
                params: list[str]) -> list[str]:
    """The source of a generated caller: positional parameters, inline conversions (each
    converter's ``emit`` statements or ``fast`` expression, with its ``convert`` as the slow
    path), the call, write-backs and the result conversion."""
    converters = plan.converters
    scoped = any(isinstance(c, CallbackConverter) for c in converters)
    body: list[str] = []
    call_args: list[str] = []
    for i, conv in enumerate(converters):
        var = params[i]
        env[f"_c{i}"] = conv.convert
        # slow paths get a list keeping their temporaries alive until the call returns
        slow = f"_c{i}({var}, keep)" if scoped else f"_c{i}({var}, (k{i} := []))"
        emit = getattr(conv, "emit", None)
        if emit is not None:
            lines, args = emit(var, i, slow, env)
            body += lines
            call_args += args
        else:
            env[f"_T{var}"] = conv.ctype
            body.append(f"c{i} = {conv.fast(var, slow)}")
            call_args.append(f"c{i}")
    result = plan.result
    sret = getattr(result, "sret", False)
    if sret:
        env["_sret"] = result.buffer
        body.insert(0, "rb = _sret()")
        call_args.insert(0, "rb")
    body += [f"r = _f({', '.join(call_args)})", "if _watch:", "    _raise()"]
    for i, conv in enumerate(converters):
        if conv.writes_back:
            env[f"_w{i}"] = conv.write_back
            emit_back = getattr(conv, "emit_write_back", None)
            body += emit_back(params[i], i, env) if emit_back is not None else \
                [f"_w{i}({params[i]}, c{i})"]
    raw = "rb" if sret else "r"
    emit_result = getattr(result, "emit_result", None)
    if emit_result is not None:
        tail = emit_result(raw, env)
    else:
        tail = ["return r" if result.raw_result else f"return _r({raw})"]
    lines = [f"def {name}({', '.join([*params, '/'])}):" if params else f"def {name}():"]
    if scoped:
        # a transient callback's lease is released promptly even when the call raises;
        # otherwise the temporaries simply die with the frame
        lines += ["    keep = []", "    try:"]
        lines += [f"        {b}" for b in body + tail]
        lines += ["    finally:", "        keep.clear()"]
    else:
        lines += [f"    {b}" for b in body + tail]
    return lines


def _submit(function: Any, *args: object) -> CallFuture[Any]:
    from koffi_typed import runtime
    return runtime.submit(function, args)


async def _acall(function: Any, *args: object) -> Any:
    import asyncio
    return await asyncio.wrap_future(_submit(function, *args))


def _identifier(name: str) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) else "call"


def function_at(address: int, info: FunctionInfo) -> Function[..., Any]:
    """A callable for the C function at ``address`` with signature ``info``."""
    return make_function(info, address)


def prototype_info(spec: object) -> FunctionInfo:
    """The signature of a prototype type (``koffi.proto(...)`` or ``'Fn *'``)."""
    t = resolve_type(spec)
    if t.primitive == "Callback" and t.ref is not None:
        t = t.ref
    if t.primitive != "Prototype" or not isinstance(t.proto, FunctionInfo):
        raise TypeError(f"Expected a function type, got {t.name}")
    return t.proto

