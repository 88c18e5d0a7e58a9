"""The worker pool behind ``f.async_()`` and ``await f.acall()``."""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from koffi_typed import settings

__all__ = ["shutdown", "submit"]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_pool_limit = 0


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


def submit(function: Any, args: tuple[object, ...]) -> Future[Any]:
    """Run ``function(*args)`` on the worker pool (the GIL is released during the C call).

    At most ``max_async_calls`` run at once; more wait their turn. The returned future has an
    ``errno`` attribute: C's errno right after that call, on its worker thread.
    """
    pool = _executor()
    outer: Future[Any] = Future()

    def run() -> None:
        if not outer.set_running_or_notify_cancel():
            return
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the caller through the future
            outer.errno = ctypes.get_errno()  # type: ignore[attr-defined]
            outer.set_exception(exc)
            return
        outer.errno = ctypes.get_errno()  # type: ignore[attr-defined]
        outer.set_result(result)

    pool.submit(run)
    return outer


def shutdown() -> None:
    """Wait for pending asynchronous calls and drop the pool (a new one starts on demand)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
