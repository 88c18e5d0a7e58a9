"""Process-wide runtime state: errno, configuration, statistics, reset, the async pool."""

from __future__ import annotations

import ctypes
import errno as _errno
import threading
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType, SimpleNamespace
from typing import Any

from koffi_typed import callbacks, memory, settings, types
from koffi_typed.bases import CallFuture

__all__ = ["config", "errno", "os", "reset", "stats", "submit"]

#: ``koffi.os.errno``: errno names to codes on this platform.
os = SimpleNamespace(errno=MappingProxyType({name: code for code, name in
                                             sorted(_errno.errorcode.items())}))

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_pool_limit = 0


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
    return {"disposed": memory.disposed_count, "callbacks": callbacks.registered_count(),
            "allocations": memory.live_allocations()}


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_limit
    limit = settings.get()["max_async_calls"]
    with _pool_lock:
        if _pool is None or _pool_limit != limit:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="koffi-async")
            _pool_limit = limit
        return _pool


def submit(function: Any, args: tuple[object, ...]) -> CallFuture[Any]:
    """Run ``function(*args)`` on the worker pool (the GIL is released during the C call).

    At most ``max_async_calls`` run at once; more wait their turn. The returned future has an
    ``errno`` attribute: C's errno right after that call, on its worker thread.
    """
    pool = _executor()
    outer: CallFuture[Any] = CallFuture()

    def run() -> None:
        if not outer.set_running_or_notify_cancel():
            return
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the caller through the future
            outer.errno = ctypes.get_errno()
            outer.set_exception(exc)
            return
        outer.errno = ctypes.get_errno()
        outer.set_result(result)

    pool.submit(run)
    return outer


def reset() -> None:
    """Wait for pending asynchronous calls, unregister callbacks, forget user type names."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
    callbacks.reset()
    types.reset()
