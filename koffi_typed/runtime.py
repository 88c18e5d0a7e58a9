"""Process-wide runtime state: errno, configuration, statistics, reset."""

from __future__ import annotations

import ctypes
import errno as _errno
from collections.abc import Iterator, Mapping
from types import SimpleNamespace

from koffi_typed import asyncpool, callbacks, heap, settings, typesystem

__all__ = ["ErrnoCodes", "config", "errno", "os", "reset", "stats"]


class ErrnoCodes(Mapping[str, int]):
    """errno names to codes on this platform, read as ``codes.EBADF`` or ``codes['EBADF']``."""

    __slots__ = ("_codes",)
    _codes: dict[str, int]

    def __init__(self, codes: dict[str, int]) -> None:
        object.__setattr__(self, "_codes", codes)

    def __getitem__(self, name: str) -> int:
        return self._codes[name]

    def __getattr__(self, name: str) -> int:
        try:
            return self._codes[name]
        except KeyError:
            raise AttributeError(f"no errno code named {name!r} on this platform") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("koffi.os.errno is read-only")

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __dir__(self) -> list[str]:
        return list(self._codes)

    def __repr__(self) -> str:
        return f"<errno codes: {len(self._codes)} names>"


#: ``koffi.os.errno``: errno names to codes on this platform (``koffi.os.errno.EBADF`` and
#: ``koffi.os.errno['EBADF']``).
os = SimpleNamespace(errno=ErrnoCodes({name: code for code, name in
                                       sorted(_errno.errorcode.items())}))


def errno(value: int | None = None) -> int:
    """The C ``errno`` seen right after the last call on this thread; with ``value``, set it
    for the next call and return it."""
    if value is None:
        return ctypes.get_errno()
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"errno must be an int, not {type(value).__name__}")
    if not -2**31 <= value < 2**31:
        raise OverflowError(f"errno: {value} is out of range for int "
                            f"[{-2**31}, {2**31 - 1}]")
    ctypes.set_errno(value)
    return value


def config(values: dict[str, int] | None = None) -> dict[str, int]:
    """Koffi's settings as a dict; pass a dict to change some (all are checked first).

    - ``max_type_size`` (64 MiB): largest size in bytes of a record or array type.
    - ``max_async_calls`` (256): asynchronous calls running at once; more wait their turn.
    - ``resident_async_pools`` (8): worker threads kept alive for asynchronous calls; workers
      started beyond these exit once idle. Given alone, a ``max_async_calls`` below it lowers
      it too.
    - ``sync_stack_size`` (2 MiB), ``sync_heap_size`` (1 MiB), ``async_stack_size``
      (128 KiB), ``async_heap_size`` (128 KiB): accepted and reported, with Koffi's ranges,
      but without meaning over ctypes, which runs each call on the calling thread's own
      stack and takes a call's temporary memory from Python's allocator as needed.

    Unlike Koffi, settings may change after a library was loaded.
    """
    if values is None:
        return settings.get()
    if not isinstance(values, dict):
        raise TypeError("config() takes a dict of settings")
    return settings.update(values)


def stats() -> dict[str, int]:
    """Counters: values disposed after conversion, live callbacks, live `alloc` blocks."""
    return {"disposed": heap.disposed_count, "callbacks": callbacks.registered_count(),
            "allocations": heap.live_allocations()}


def reset() -> None:
    """Wait for pending asynchronous calls, unregister callbacks, forget user type names."""
    asyncpool.shutdown()
    callbacks.reset()
    typesystem.reset()
