"""The libffi that ctypes itself loads, reached through ctypes: call interfaces and closures
whose argument and result types we describe ourselves.

ctypes cannot give a callback a record (or union) result, but libffi can: a closure made
with ``ffi_prep_closure_loc`` calls a generic handler with the address of every argument and
of the result buffer, whatever their types. The handler is itself a ctypes callback (so it
takes the GIL on any thread, as ctypes callbacks do), and the record types are described to
libffi as the carrier structures that make libffi place them where the C ABI does.

On Linux ``_ctypes`` links libffi dynamically, so its symbols resolve through the
``_ctypes`` module; elsewhere the shared libffi is looked up by name (CPython's Windows and
macOS builds ship or use one). `available` is false where none is found, and only the
callbacks that need this path are then refused.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any, Final

from koffi_typed.datamodel import host_name

__all__ = ["Cif", "FFI_TYPE_STRUCT", "Opaque", "available", "closure", "ffi_type_of", "reason",
           "size_of"]

FFI_TYPE_STRUCT: Final = 13
_CIF_BYTES: Final = 256  # larger than any port's ffi_cif (its tail is port-specific)
_CLOSURE_BYTES: Final = 256  # larger than any port's ffi_closure

#: ``ffi_abi`` value of FFI_DEFAULT_ABI for each ruleset (libffi's ffitarget.h per port).
_DEFAULT_ABI: Final = {"sysv_x64": 2, "win64": 1, "x86_cdecl": 1, "x86_win": 5,
                       "aarch64": 1, "aarch64_apple": 1, "aarch64_win": 2, "arm32_hf": 2,
                       "riscv64_lp64d": 1}


class _FfiType(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("alignment", ctypes.c_ushort),
                ("type", ctypes.c_ushort), ("elements", ctypes.c_void_p)]


_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
                            ctypes.c_size_t)


def _load() -> tuple[Any, str]:
    candidates: list[str | None] = []
    try:
        import _ctypes
        candidates.append(getattr(_ctypes, "__file__", None))
    except ImportError:  # pragma: no cover - ctypes needs it
        pass
    if sys.platform == "win32":  # pragma: no cover - Windows
        candidates += ["libffi-8", "libffi-7"]
    candidates.append(ctypes.util.find_library("ffi"))
    for path in candidates:
        if not path:
            continue
        try:
            lib = ctypes.CDLL(path)
            for name in ("ffi_prep_cif", "ffi_prep_closure_loc", "ffi_closure_alloc",
                         "ffi_type_double"):
                getattr(lib, name)
        except (OSError, AttributeError):
            continue
        lib.ffi_closure_alloc.restype = ctypes.c_void_p
        return lib, ""
    return None, "libffi (the library ctypes uses) could not be found"


_lib, reason = _load()
try:
    _abi = _DEFAULT_ABI[host_name()]
except (KeyError, RuntimeError):
    _abi = 0
    reason = reason or "libffi's calling-convention number for this machine is unknown"
available: Final = _lib is not None and _abi != 0

_scalars: dict[tuple[str, int], int] = {}


def _symbol(name: str) -> int:
    return ctypes.addressof(_FfiType.in_dll(_lib, name))


def _scalar_ffi_type(ctype: Any) -> int:
    """The address of libffi's own ``ffi_type`` for a ctypes scalar type."""
    code = getattr(ctype, "_type_", "")
    size = ctypes.sizeof(ctype)
    key = (code, size)
    found = _scalars.get(key)
    if found is not None:
        return found
    if code in "fdg":
        if code == "g" and size != ctypes.sizeof(ctypes.c_double):
            name = "ffi_type_longdouble"
        else:
            name = "ffi_type_float" if code == "f" else "ffi_type_double"
    elif code in ("P", "z", "Z", "O"):
        name = "ffi_type_pointer"
    else:
        signed = code in "bhilqc"
        name = f"ffi_type_{'s' if signed else 'u'}int{size * 8}"
        if code == "?":
            name = f"ffi_type_uint{size * 8}"
    found = _symbol(name)
    _scalars[key] = found
    return found


_keep: list[object] = []  # ffi_type structures live as long as the closures using them
_structs: dict[Any, int] = {}


class Opaque:
    """A structure type given to libffi with its size and alignment set (libffi then does not
    compute them from the elements): ``size`` bytes of ``element`` items, ``alignment``."""

    def __init__(self, size: int, alignment: int, element: Any) -> None:
        self.size = size
        self.alignment = alignment
        self.element = element

    def __repr__(self) -> str:
        return f"Opaque({self.size}, {self.alignment}, {self.element.__name__})"


def size_of(carrier: Any) -> int:
    """The size in bytes of a carrier (a ctypes type or an `Opaque`)."""
    return carrier.size if isinstance(carrier, Opaque) else ctypes.sizeof(carrier)


def ffi_type_of(ctype: Any) -> int:
    """The address of an ``ffi_type`` describing ``ctype`` to libffi (``None`` is void).

    A structure becomes ``FFI_TYPE_STRUCT`` with one element per field, an array field one
    element per item (as ctypes does itself); libffi computes size and alignment.
    """
    if ctype is None:
        return _symbol("ffi_type_void")
    if isinstance(ctype, Opaque):
        key = (ctype.size, ctype.alignment, ctype.element)
        found = _structs.get(key)
        if found is None:
            count = ctype.size // ctypes.sizeof(ctype.element)
            items = [_scalar_ffi_type(ctype.element)] * count
            array = (ctypes.c_void_p * (count + 1))(*items, None)
            struct = _FfiType(ctype.size, ctype.alignment, FFI_TYPE_STRUCT,
                              ctypes.addressof(array))
            _keep.extend((array, struct))
            found = _structs[key] = ctypes.addressof(struct)
        return found
    if not (isinstance(ctype, type) and issubclass(ctype, ctypes.Structure)):
        return _scalar_ffi_type(ctype)
    found = _structs.get(ctype)
    if found is not None:
        return found
    elements: list[int] = []
    for f in ctype._fields_:
        elements += _elements(f[1])
    array = (ctypes.c_void_p * (len(elements) + 1))(*elements, None)
    struct = _FfiType(0, 0, FFI_TYPE_STRUCT, ctypes.addressof(array))
    _keep.extend((array, struct))
    address = ctypes.addressof(struct)
    _structs[ctype] = address
    return address


def _elements(ctype: Any) -> list[int]:
    length: int | None = getattr(ctype, "_length_", None)
    if length is not None:
        return _elements(ctype._type_) * length
    return [ffi_type_of(ctype)]


class Cif:
    """A prepared call interface (``ffi_cif``): result and argument types, default ABI."""

    def __init__(self, result: int, arguments: list[int]) -> None:
        self.types = (ctypes.c_void_p * max(len(arguments), 1))(*arguments)
        self.buffer = ctypes.create_string_buffer(_CIF_BYTES)
        status = _lib.ffi_prep_cif(self.buffer, ctypes.c_int(_abi),
                                   ctypes.c_uint(len(arguments)), ctypes.c_void_p(result),
                                   self.types)
        if status != 0:
            raise NotImplementedError(f"libffi refused this signature (ffi_prep_cif: {status})")
        self.address = ctypes.addressof(self.buffer)


def handler(function: Any) -> Any:
    """A ctypes callback ``void (ffi_cif *cif, void *result, void **args, void *data)``
    calling ``function(cif, result, args, data)``, every address as an int."""
    return _HANDLER(function)


def closure(cif: Cif, handler_cfunc: Any) -> int:
    """A new closure (never freed) with ``cif``'s signature calling ``handler_cfunc`` (a
    `handler`); its executable address."""
    code = ctypes.c_void_p()
    writable = _lib.ffi_closure_alloc(ctypes.c_size_t(_CLOSURE_BYTES), ctypes.byref(code))
    if not writable or not code.value:
        raise MemoryError("ffi_closure_alloc failed")
    status = _lib.ffi_prep_closure_loc(ctypes.c_void_p(writable), ctypes.c_void_p(cif.address),
                                       handler_cfunc, None, code)
    if status != 0:
        raise NotImplementedError(f"libffi refused this closure (ffi_prep_closure_loc: "
                                  f"{status})")
    return code.value
