"""Process-wide runtime state: errno, configuration, statistics, reset."""

from __future__ import annotations

import ctypes
import errno as _errno
from types import MappingProxyType, SimpleNamespace

from koffi_typed import asyncpool, callbacks, heap, settings, typesystem

__all__ = ["config", "errno", "os", "reset", "stats"]

#: ``koffi.os.errno``: errno names to codes on this platform.
os = SimpleNamespace(errno=MappingProxyType({name: code for code, name in
                                             sorted(_errno.errorcode.items())}))


def errno(value: int | None = None) -> int:
    """The C ``errno`` seen right after the last call on this thread; with ``value``, set it
    for the next call and return it."""
    if value is None:
        return ctypes.get_errno()
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"errno must be an int, not {type(value).__name__}")
    ctypes.set_errno(value)
    return value


def config(values: dict[str, int] | None = None) -> dict[str, int]:
    """The settings (``max_async_calls``, ``max_type_size``); pass a dict to change some."""
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
