"""Python buffers passed to C as pointers into their own storage (no copy).

Immutable buffers (``bytes``, read-only ``memoryview`` s, read-only arrays) are passed only
where C cannot write (``const T *``): C must never write into an immutable Python object.
Passed elsewhere they raise `ReadOnlyBuffer`, which the converters turn into a `TypeError`
naming the parameter.
"""

from __future__ import annotations

import array
import ctypes

__all__ = ["ReadOnlyBuffer", "buffer_argument", "pinned_address", "pointer_address",
           "short_buffer"]

_CArg = type(ctypes.byref(ctypes.c_char()))


class ReadOnlyBuffer(TypeError):
    """An immutable buffer was given where C may write."""


def is_buffer(value: object) -> bool:
    """Whether ``value`` may export a buffer (cheap check, before `memoryview`)."""
    return isinstance(value, (bytes, bytearray, array.array, memoryview)) or \
        hasattr(value, "__buffer__") or type(value).__module__ == "numpy"


def short_buffer(value: object, nbytes: int, pointee: str, size: int) -> ValueError:
    """The error for a non-empty buffer too short to hold one pointee: C would read or
    write past its end."""
    return ValueError(f"a {nbytes}-byte {type(value).__name__} is shorter than one {pointee} "
                      f"({size} bytes): C would access memory past its end")


def buffer_argument(value: object, keep: list[object], writable: bool = True,
                    pointee: str = "", size: int = 0) -> object | None:
    """What ctypes passes as a pointer into ``value``'s buffer (no copy), or ``None`` if
    ``value`` is not a buffer (or is empty: NULL).

    ``writable``: C may write through the pointer; immutable buffers then raise
    `ReadOnlyBuffer`. ``pointee`` and ``size``: what the pointer points to; a non-empty
    buffer of fewer than ``size`` bytes raises a `ValueError` (`short_buffer`). Writable buffers pass as ``byref`` of a one-char view, the cheapest
    pointer ctypes builds (an array type of the buffer's length costs twice as much); the
    view also stops the buffer from being resized during the call. Read-only ones pass their
    own storage, pinned for the call.
    """
    if isinstance(value, bytes):
        if writable:
            raise ReadOnlyBuffer(_immutable(value))
        if 0 < len(value) < size:
            raise short_buffer(value, len(value), pointee, size)
        return value
    if not is_buffer(value):
        return None
    try:
        view = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        return None
    if 0 < view.nbytes < size:
        raise short_buffer(value, view.nbytes, pointee, size)
    if view.readonly:
        if writable:
            raise ReadOnlyBuffer(_immutable(value))
        if view.nbytes == 0:
            return None
        return ctypes.c_void_p(pinned_address(view, keep))
    if view.nbytes == 0:
        return None
    if not view.contiguous:
        raise TypeError(f"a non-contiguous buffer ({type(value).__name__}) cannot be passed "
                        "as a pointer")
    keep.append(value)
    return ctypes.byref(ctypes.c_char.from_buffer(view))


def _immutable(value: object) -> str:
    return (f"{type(value).__name__} is immutable and C may write through this pointer "
            "(declare the parameter 'const', or pass a bytearray)")


def pointer_address(converted: object) -> int | None:
    """The address a `buffer_argument` result points to (``None`` for other objects)."""
    if isinstance(converted, _CArg):
        return ctypes.addressof(converted._obj)  # type: ignore[attr-defined]
    if isinstance(converted, ctypes.Array):
        return ctypes.addressof(converted)
    if isinstance(converted, ctypes.c_void_p):
        return converted.value or 0
    return None


class _PyBuffer(ctypes.Structure):
    # CPython's Py_buffer (Include/pybuffer.h), stable since 3.3
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p),
                ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
                ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p),
                ("strides", ctypes.c_void_p), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None


class _Pin:
    """A buffer export held open: the storage stays where it is until the pin dies."""

    __slots__ = ("view",)

    def __init__(self, obj: object) -> None:
        self.view = _PyBuffer()
        _get_buffer(obj, ctypes.byref(self.view), 0)  # PyBUF_SIMPLE: contiguous bytes

    def __del__(self) -> None:
        _release_buffer(ctypes.byref(self.view))


def pinned_address(obj: object, keep: list[object]) -> int:
    """The address of ``obj``'s (contiguous, possibly read-only) storage, pinned for as long
    as ``keep`` lives."""
    pin = _Pin(obj)
    keep.append(pin)
    return pin.view.buf or 0
