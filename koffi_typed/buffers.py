"""Python buffers passed to C as pointers into their own storage (no copy)."""

from __future__ import annotations

import array
import ctypes

__all__ = ["buffer_argument", "pointer_address"]

_CArg = type(ctypes.byref(ctypes.c_char()))


def buffer_argument(value: object, keep: list[object]) -> object | None:
    """What ctypes passes as a pointer into ``value``'s buffer (no copy), or ``None`` if
    ``value`` is not a buffer (or is empty: NULL).

    Read-only buffers (``bytes``) pass their own storage too; C must not write into them.
    Writable ones pass as ``byref`` of a one-char view, the cheapest pointer ctypes builds
    (an array type of the buffer's length costs twice as much); the view also stops the
    buffer from being resized during the call.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, array.array)) or (
            isinstance(value, memoryview) or hasattr(value, "__buffer__")
            or type(value).__module__ == "numpy"):
        try:
            view = memoryview(value)  # type: ignore[arg-type]
        except TypeError:
            return None
        if view.readonly:
            data = view.tobytes()
            keep.append(data)
            return data
        if view.nbytes == 0:
            return None
        keep.append(value)
        return ctypes.byref(ctypes.c_char.from_buffer(view))
    return None


def pointer_address(converted: object) -> int | None:
    """The address a `buffer_argument` result points to (``None`` for other objects)."""
    if isinstance(converted, _CArg):
        return ctypes.addressof(converted._obj)  # type: ignore[attr-defined]
    if isinstance(converted, ctypes.Array):
        return ctypes.addressof(converted)
    return None
