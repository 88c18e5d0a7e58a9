"""Converters for everything passed as an address: strings, typed pointers (records, lists
and buffers behind them, with write-back), function pointers, and `koffi.as_` casts."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from koffi_typed import callstate, heap, marshal
from koffi_typed._codec import encode_text, read_string
from koffi_typed.buffers import buffer_argument
from koffi_typed.converters.base import Converter, bytearray_pointer, in_argument
from koffi_typed.converters.records import record_memory, same_record
from koffi_typed.marshal import flat_record
from koffi_typed.pointer import Cast, Pointer, compatible, freed_block, new_pointer
from koffi_typed.typesystem import Type

__all__ = ["CallbackConverter", "PointerConverter", "StringConverter", "cast_argument",
           "cast_converter", "may_return_temporary"]

_UNITS = {"String": 1, "String16": 2, "String32": 4}
_ENCODINGS = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}
_POINTER_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1


def terminated_bytes(label: str, value: bytes, unit: int) -> bytes:
    """``value`` as a C string of ``unit``-byte characters: for ``char`` the bytes as they are
    (raw bytes, possibly binary data with a length passed beside; Python keeps a NUL after
    them), for wider characters bytes that end with one NUL character and contain no other."""
    if unit == 1:
        return value
    zero = bytes(unit)
    if len(value) % unit or value[-unit:] != zero:
        raise ValueError(f"{label}: bytes for a {8 * unit}-bit string must be a whole number "
                         f"of {unit}-byte characters ending with a NUL character")
    for at in range(0, len(value) - unit, unit):
        if value[at:at + unit] == zero:
            raise ValueError(f"{label}: embedded NUL character at byte {at} "
                             "(C would see a truncated string)")
    return value


def _buffer(label: str, value: object, keep: list[object], writable: bool,
            pointee: Type | None = None) -> object | None:
    """`buffer_argument`, its errors (an immutable buffer where C may write, one shorter
    than the ``pointee``) naming ``label``."""
    try:
        if pointee is None:
            return buffer_argument(value, keep, writable)
        return buffer_argument(value, keep, writable, pointee.name, pointee.size)
    except (TypeError, ValueError) as exc:
        raise in_argument(label, exc) from None


def check_address(label: str, value: int) -> int:
    """A raw address, range-checked like every other int."""
    if not 0 <= value <= _POINTER_MAX:
        raise OverflowError(f"{label}: {value} is out of range for an address "
                            f"[0, {_POINTER_MAX:#x}]")
    return value


def live_address(label: str, p: Pointer[Any]) -> int:
    """The address of ``p``, refused when it points into a block `koffi.free` released."""
    block = p.block if p.block is not None else freed_block(p.address)
    if block is not None and block.freed:
        raise ValueError(f"{label}: memory at {block.address:#x} was already freed")
    return p.address


class StringConverter(Converter):
    """``char *`` from str (UTF-8) or bytes; wide strings from str (or terminated bytes);
    buffers and None too. ``_Out_``/``_Inout_`` strings take a one-element list."""

    def __init__(self, label: str, t: Type, direction: str, const: bool = False) -> None:
        super().__init__(label, t)
        self.unit = _UNITS[t.primitive]
        self.encoding = _ENCODINGS[self.unit]
        self.direction = direction
        self.writes_back = direction != "in"
        # C may write through it: only writable buffers (a str is copied anyway)
        self.writable = direction != "in" or not const

    def emit(self, var: str, i: int, slow: str, env: dict[str, Any]) -> tuple[list[str],
                                                                                list[str]]:
        """A str without NUL is encoded inline (the slow path names the argument in the
        errors of anything else), a non-empty bytearray passes its storage."""
        if self.unit != 1 or self.direction != "in":
            return [f"c{i} = {slow}"], [f"c{i}"]
        return [f"if type({var}) is str and '\\0' not in {var}:",
                "    try:",
                f"        c{i} = {var}.encode('utf-8', 'surrogateescape')",
                "    except UnicodeEncodeError:",
                f"        c{i} = {slow}",
                f"elif type({var}) is bytearray and {var}:",
                f"    c{i} = _byref(_char_at({var}))",
                "else:",
                f"    c{i} = {slow}"], [f"c{i}"]

    def convert(self, value: object, keep: list[object]) -> object:
        if isinstance(value, str) and self.direction == "in":
            data = encode_text(self.label, value, self.unit)
            if self.unit == 1:
                return data
            return ctypes.create_string_buffer(data + bytes(self.unit), len(data) + self.unit)
        if value is None:
            return None
        if isinstance(value, bytes) and self.direction == "in" and not self.writable:
            return terminated_bytes(self.label, value, self.unit)
        if isinstance(value, list) and len(value) == 1 and self.direction != "in":
            item = value[0]
            if isinstance(item, str):
                data = encode_text(self.label, item, self.unit)
            elif item is None or isinstance(item, (bytes, bytearray)):
                data = bytes(item or b"")
            else:
                raise TypeError(f"{self.label}: expected a one-element list holding str, "
                                f"bytes or None, got a list holding {type(item).__name__}")
            return ctypes.create_string_buffer(data + bytes(self.unit), len(data) + self.unit)
        buffer = _buffer(self.label, value, keep, self.writable)
        if buffer is not None:
            return buffer
        if isinstance(value, Pointer):
            return ctypes.c_void_p(live_address(self.label, value))
        if isinstance(value, Cast):
            return cast_argument(value, keep, self.direction)
        expected = "str, bytes or None" if self.unit == 1 else "str or None"
        if self.direction != "in":
            expected = "a one-element list or a buffer"
        raise TypeError(f"{self.label}: expected {expected} ({self.type.name}), got "
                        f"{type(value).__name__}")

    def write_back(self, value: object, converted: object) -> None:
        if isinstance(value, list) and isinstance(converted, ctypes.Array):
            raw = bytes(converted)
            zero = bytes(self.unit)
            at = raw.find(zero)
            while at >= 0 and at % self.unit:
                at = raw.find(zero, at + 1)
            value[0] = raw[:at if at >= 0 else len(raw)].decode(
                self.encoding, "surrogateescape" if self.unit == 1 else "replace")

    def result(self, raw: Any) -> object:
        if not raw:
            return None
        text = read_string(raw, self.unit).decode(
            self.encoding, "surrogateescape" if self.unit == 1 else "replace")
        heap.dispose(self.type, raw)
        return text


class PointerConverter(Converter):
    """``T *``: Pointer, None, buffers, records, lists (with write-back for out/inout)."""

    def __init__(self, label: str, t: Type, direction: str, const: bool = False) -> None:
        super().__init__(label, t)
        assert t.ref is not None
        self.ref = t.ref
        self.void = t.ref.primitive == "Void" and t.ref._prim is not None
        self.direction = direction
        self.writes_back = direction != "in"
        self.writable = direction != "in" or not const
        self.elem = marshal.codec_for(t.ref) if t.ref.size else None
        self.text_unit = text_unit(t.ref)


    def fast(self, var: str, slow: str) -> str:
        return f"(None if {var} is None else {bytearray_pointer(var, slow, self.ref.size)})"

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
                return record_memory(self.elem, value, keep, self.direction != "out")
            except (TypeError, ValueError, OverflowError) as exc:
                raise in_argument(self.label, exc) from None
        if isinstance(value, Pointer):
            if not self.void and not compatible(self.ref, value.type):
                raise TypeError(f"{self.label}: expected {self.type.name}, got a pointer to "
                                f"{value.type.name}")
            return ctypes.c_void_p(live_address(self.label, value))
        if isinstance(value, Cast):
            return cast_argument(value, keep, self.direction)
        if self.text_unit and (isinstance(value, str) or (
                isinstance(value, list) and len(value) == 1 and isinstance(value[0], str))):
            return self._text(value)
        buffer = _buffer(self.label, value, keep, self.writable, self.ref)
        if buffer is not None:
            return buffer
        if self.void:
            if isinstance(value, int) and not isinstance(value, bool):
                return ctypes.c_void_p(check_address(self.label, value))
            if isinstance(value, (list, tuple, dict)) or hasattr(value, "__koffi_type__"):
                raise TypeError(f"{self.label}: cannot pass ambiguous value to void *, use "
                                f"koffi.as_()")
        elem = self.elem
        if elem is not None:
            try:
                return self._encode_pointee(elem, value, keep)
            except (TypeError, ValueError, OverflowError) as exc:
                raise in_argument(self.label, exc) from None
        raise TypeError(f"{self.label}: expected {self.type.name} (Pointer, None or a buffer), "
                        f"got {type(value).__name__}")

    def _text(self, value: str | list[str]) -> object:
        """Koffi's polymorphic strings: a str for ``void *``, ``int8_t *``, ``int16_t *`` or
        ``int32_t *`` (encoded as UTF-8, UTF-16 or UTF-32 by the pointee's width), and
        ``['text']``, whose first item C may rewrite in place (``_Inout_``/``_Out_``)."""
        if isinstance(value, str):
            if self.direction != "in":
                raise TypeError(f"{self.label}: a str cannot receive what C writes into "
                                f"{self.type.name}; pass a one-element list ['text']")
            text = value
        else:
            text = value[0]
        if "\0" in text:
            raise ValueError(f"{self.label}: embedded NUL character in string")
        unit = self.text_unit
        data = text.encode(_ENCODINGS[unit], "surrogateescape" if unit == 1 else "strict")
        return ctypes.create_string_buffer(data + b"\0" * unit, len(data) + unit)

    def _encode_pointee(self, elem: Any, value: object, keep: list[object]) -> object:
        """Copy a list or a record into temporary C memory (written back after the call)."""
        twin = same_record(self.ref, value)
        if twin is not None:
            elem = marshal.codec_for(twin)
        if isinstance(value, list):
            if not value and self.direction != "in":
                raise ValueError(f"an empty list has no room for what C writes through "
                                 f"{self.type.name} (pass None for NULL)")
            data = bytearray(elem.size * len(value))
            if self.direction != "out":
                for i, item in enumerate(value):
                    elem.encode(data, i * elem.size, item, keep)
            keep.append(data)
            return (ctypes.c_char * len(data)).from_buffer(data) if data else None
        ref_cls = self.ref.python_class
        if (ref_cls is not None and isinstance(value, ref_cls)) or twin is not None or (
                isinstance(value, dict) and self.ref.primitive in ("Record", "Union")):
            return record_memory(elem, value, keep,
                                  self.direction != "out" or isinstance(value, dict))
        raise TypeError(f"expected {self.type.name} (Pointer, None, a buffer, a record or a "
                        f"list), got {type(value).__name__}")

    def write_back(self, value: object, converted: object) -> None:
        if type(value) is self.ref.python_class and self.elem is not None:
            self.elem.decode_into(value, bytes(converted), 0)  # type: ignore[call-overload]
            return
        if isinstance(value, Cast):
            cast_converter(value.type, self.direction, value.const).write_back(value.value,
                                                                              converted)
            return
        if (self.text_unit and isinstance(value, list) and len(value) == 1
                and isinstance(value[0], str) and isinstance(converted, ctypes.Array)):
            value[0] = _text_before_nul(bytes(converted), self.text_unit)
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
            if self.ref.disposable:  # e.g. _Out_ char **! : free what C allocated, once read
                size = elem.size
                for i in range(len(value)):
                    heap.dispose(self.ref, int.from_bytes(raw[i * size:(i + 1) * size],
                                                          sys.byteorder))
        elif twin is not None or (self.ref.python_class is not None
                                  and isinstance(value, self.ref.python_class)):
            elem.decode_into(value, raw, 0)
        elif isinstance(value, dict) and self.ref.members is not None:
            # Koffi updates the object in place: every member (the given ones for a union)
            record = elem.decode(raw, 0)
            names = list(value) if self.ref.primitive == "Union" and value else \
                list(self.ref.members)
            for name in names:
                value[name] = getattr(record, name)

    def result(self, raw: Any) -> object:
        if not raw:
            return None
        if self.type.disposable:
            heap.dispose(self.type, raw)
        return new_pointer(raw, self.ref)

    def result_within(self, raw: Any, temporaries: tuple[object, ...]) -> object:
        """The result, when C may have returned a pointer into memory made for this call
        only: such a `Pointer` keeps that memory alive and is bounded by it."""
        pointer = self.result(raw)
        if isinstance(pointer, Pointer) and not self.type.disposable:
            for temporary in temporaries:
                extent = _extent(temporary)
                if extent is not None and extent[0] <= raw < extent[0] + extent[1]:
                    pointer.block = heap.Block(extent[0], extent[1], temporary)
                    break
            else:
                pointer.block = heap.block_containing(raw)
        return pointer


def _extent(converted: object) -> tuple[int, int] | None:
    """(address, size) of the memory a converter made for one call (a C buffer, an encoded
    string), or ``None`` for what the caller owns (its own buffers, pointers)."""
    if isinstance(converted, ctypes.Array):
        return ctypes.addressof(converted), ctypes.sizeof(converted)
    if isinstance(converted, bytes):
        return ctypes.cast(ctypes.c_char_p(converted), ctypes.c_void_p).value or 0, \
            len(converted) + 1
    return None


def may_return_temporary(result: Any, converters: list[Any]) -> bool:
    """Whether a pointer result may point into memory made for the call (the generated
    caller then hands the converted arguments to `PointerConverter.result_within`)."""
    return type(result) is PointerConverter and any(
        isinstance(c, (PointerConverter, StringConverter)) for c in converters)


def text_unit(ref: Type) -> int:
    """The character width a str is encoded with when passed for a pointer to ``ref``
    (``void`` and 8-, 16-, 32-bit integers, as Koffi does), or 0 where a str is refused."""
    if ref.primitive == "Void" and ref._prim is not None:
        return 1
    if ref.primitive in ("Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32"):
        return ref.size
    return 0


def _text_before_nul(raw: bytes, unit: int) -> str:
    zero = b"\0" * unit
    at = raw.find(zero)
    while at >= 0 and at % unit:
        at = raw.find(zero, at + 1)
    return raw[:at if at >= 0 else len(raw)].decode(
        _ENCODINGS[unit], "surrogateescape" if unit == 1 else "replace")


class CallbackConverter(PointerConverter):
    """Function pointers: Python callables (transient for the call), `Pointer` or None."""

    def fast(self, var: str, slow: str) -> str:
        return f"(None if {var} is None else {slow})"

    def convert(self, value: object, keep: list[object]) -> object:
        if value is not None and not isinstance(value, Pointer) and callable(value):
            address, lease = callstate.bind_transient(self.ref, value)
            keep.append(lease)
            return ctypes.c_void_p(address)
        return super().convert(value, keep)


_cast_converters: dict[tuple[int, str, bool], Any] = {}


def cast_converter(t: Type, direction: str, const: bool = False) -> Any:
    """The (cached) converter for values cast to ``t`` (`koffi.as_`) and passed with
    ``direction``; ``const``: the cast's type points to const data."""
    key = (id(t), direction, const)
    converter = _cast_converters.get(key)
    if converter is None:
        label = f"as_({'const ' if const else ''}{t.name})"
        if t.primitive == "Callback":
            converter = CallbackConverter(label, t, direction, const)
        elif t.primitive == "Pointer":
            converter = PointerConverter(label, t, direction, const)
        else:
            converter = StringConverter(label, t, direction, const)
        _cast_converters[key] = converter
    return converter


def cast_argument(cast: Cast, keep: list[object], direction: str = "in") -> object:
    """What to pass for a `Cast`: its value converted as its own type and direction; a bare
    address (an int) passes as it is."""
    value = cast.value
    if isinstance(value, int) and not isinstance(value, bool):
        return ctypes.c_void_p(check_address(f"as_({cast.type.name})", value))
    return cast_converter(cast.type, direction, cast.const).convert(value, keep)
