"""Classes that tell type checkers what the runtime does: `Record` and `CallFuture`.

pyright has no plugins, so what ``@koffi.struct`` adds to a class and what ``async_`` attaches
to its future must be visible in the types themselves.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Final, Self, TypeVar

__all__ = ["ZERO", "CallFuture", "Record"]

R = TypeVar("R")


class _Zero:
    """The type of `ZERO`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "koffi.ZERO"


#: A record member default meaning "the zero value of the member's type" (``0``, ``None``,
#: a zeroed nested record, a list of zeros...), fresh for each instance. Typed ``Any`` so that
#: any member may use it: ``keysym: SDL_Keysym = koffi.ZERO`` makes the constructor argument
#: optional for every type checker, which is what a missing default means at run time.
ZERO: Final[Any] = _Zero()


class Record:
    """Optional base of record classes: ``class Point(koffi.Record)``.

    ``@koffi.struct`` and ``@koffi.union`` give every record ``bytes(record)`` (its C bytes)
    and ``Cls.from_buffer(data, offset=0)``; deriving from `Record` tells type checkers without
    a plugin (pyright) about them. Used without the decorator, both raise `TypeError`.
    """

    __slots__ = ()

    def __bytes__(self) -> bytes:
        raise TypeError(f"{type(self).__name__} is not a record class (decorate it with "
                        "@koffi.struct or @koffi.union)")

    @classmethod
    def from_buffer(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> Self:
        """Decode an instance from the C bytes in ``data`` (a copy; nothing is shared)."""
        raise TypeError(f"{cls.__name__} is not a record class (decorate it with "
                        "@koffi.struct or @koffi.union)")


class CallFuture(Future[R]):
    """The future of ``fn.async_(...)``: a `concurrent.futures.Future` that also carries
    ``errno``, C's errno right after the call on its worker thread."""

    errno: int
