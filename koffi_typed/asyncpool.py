"""The worker threads behind ``f.async_()`` and ``await f.acall()``.

``resident_async_pools`` workers stay alive between calls; when more calls are pending, more
workers start, up to ``max_async_calls``, and each of these exits as soon as no call waits
for it (Koffi's resident and temporary async pools). Workers are daemon threads; pending
calls are still finished at interpreter exit.
"""

from __future__ import annotations

import atexit
import ctypes
import queue
import threading
from concurrent.futures import Future
from typing import Any

from koffi_typed import settings
from koffi_typed.bases import CallFuture

__all__ = ["live_workers", "shutdown", "submit"]

_Item = tuple[Future[Any], Any, tuple[object, ...]] | None

_lock = threading.Condition()
_queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
_workers = 0       # live worker threads
_free = 0          # workers waiting for an item no queued item has claimed yet
_unclaimed = 0     # queued items that found no free worker and could start none
_outstanding = 0   # items submitted and not finished
_counter = 0


def submit(function: Any, args: tuple[object, ...]) -> CallFuture[Any]:
    """Run ``function(*args)`` on a worker thread (the GIL is released during the C call).

    At most ``max_async_calls`` run at once; more wait their turn. The returned future has an
    ``errno`` attribute: C's errno right after that call, on its worker thread.
    """
    global _free, _unclaimed, _outstanding, _workers, _counter
    outer: CallFuture[Any] = CallFuture()
    start = False
    with _lock:
        _outstanding += 1
        _queue.put((outer, function, args))
        if _free:
            _free -= 1
        elif _workers < settings.get()["max_async_calls"]:
            _workers += 1
            _counter += 1
            start = True
        else:
            _unclaimed += 1
    if start:
        threading.Thread(target=_work, name=f"koffi-async-{_counter}", daemon=True).start()
    return outer


def _run(outer: Future[Any], function: Any, args: tuple[object, ...]) -> None:
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


def _work() -> None:
    global _free, _unclaimed, _outstanding, _workers
    while True:
        item = _queue.get()
        if item is None:  # shutdown
            return
        _run(*item)
        del item
        with _lock:
            _outstanding -= 1
            if not _outstanding:
                _lock.notify_all()
            if _unclaimed:
                _unclaimed -= 1
            elif _workers > settings.get()["resident_async_pools"]:
                _workers -= 1
                return
            else:
                _free += 1


def live_workers() -> int:
    """The number of worker threads alive now."""
    with _lock:
        return _workers


def shutdown() -> None:
    """Wait for pending asynchronous calls, then stop every worker (new ones start on
    demand)."""
    global _free, _workers
    with _lock:
        while _outstanding:
            _lock.wait()
        for _ in range(_free):
            _queue.put(None)
        _workers -= _free
        _free = 0


atexit.register(shutdown)
