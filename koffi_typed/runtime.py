"""Process-wide runtime state: errno, configuration, statistics, reset, the async pool."""

from __future__ import annotations

import ctypes
import errno as _errno
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from types import MappingProxyType, SimpleNamespace
from typing import Any

from koffi_typed import memory, settings, types

__all__ = ["config", "errno", "os", "reset", "stats", "submit"]

#: ``koffi.os.errno``: errno names to codes on this platform.
os = SimpleNamespace(errno=MappingProxyType({name: code for code, name in
                                             sorted(_errno.errorcode.items())}))

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


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
    return {"disposed": memory.disposed_count, "callbacks": 0,
            "allocations": memory.live_allocations()}


def _executor() -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore]:
    global _pool, _slots
    with _pool_lock:
        if _pool is None or _slots is None:
            limit = settings.get()["max_async_calls"]
            _pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="koffi-async")
            _slots = threading.BoundedSemaphore(limit)
        return _pool, _slots


def submit(function: Any, args: tuple[object, ...]) -> Future[Any]:
    """Run ``function(*args)`` on the worker pool (the GIL is released during the C call)."""
    pool, _ = _executor()
    return pool.submit(function, *args)


def reset() -> None:
    """Forget user type names and wait for pending asynchronous calls."""
    global _pool, _slots
    with _pool_lock:
        pool, _pool, _slots = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=True)
    types.reset()
