"""What calls and callbacks share: queued callback errors, the watch flag, transient binding.

Calls into C and callbacks out of C meet here, below both. A callback that raises queues its
exception here; the generated caller checks `watch` after C returns and raises what
`pending` gives. Converting a Python callable for a function-pointer parameter or member
needs a C function pointer bound to it for one call: `bind_transient` does that through the
binder that `koffi_typed.callbacks` installs when it is imported (it sits above the
converters, which it uses itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from koffi_typed.typesystem import Type

__all__ = ["bind_transient", "install_binder", "pending", "raise_pending", "record_error",
           "record_for", "watch"]


class _Errors(threading.local):
    def __init__(self) -> None:
        self.queue: list[BaseException] = []


_errors = _Errors()
#: Errors raised on threads that are not running a koffi call (threads C created).
global_errors: list[BaseException] = []
lock = threading.Lock()
#: Number of thunks bound to a Python function right now (registered or in a call).
live = 0
#: Number of errors waiting in threads' own queues (a stale callback can queue one while no
#: callback is live).
queued = 0
#: Non-empty exactly when calls must look for callback errors (callbacks live or errors
#: queued): generated callers test ``if watch:``, the cheapest check Python offers.
watch: list[bool] = []


def update_watch() -> None:
    """Recompute `watch`; call with `lock` held after changing `live` or `global_errors`."""
    watch[:] = [True] if (live or global_errors or queued) else []


def add_live(delta: int) -> None:
    """Count thunks bound (``+1``) or unbound (``-1``)."""
    global live
    with lock:
        live += delta
        update_watch()


def thread_queue() -> list[BaseException]:
    """This thread's error queue (a transient callback sends its errors to its owner's)."""
    return _errors.queue


def record_error(exc: BaseException) -> None:
    """Queue an exception raised inside a callback for the koffi call waiting on it.

    On a thread C created (ctypes gives it a fresh dummy thread state every time), the
    exception goes to the process-wide queue, picked up by the next call that returns.
    """
    if isinstance(threading.current_thread(), threading._DummyThread):
        record_global(exc)
    else:
        record_for(_errors.queue, exc)


def record_for(queue: list[BaseException], exc: BaseException) -> None:
    """Queue ``exc`` for the thread whose error queue is ``queue`` (the call that owns a
    transient callback, whatever thread C runs it on)."""
    global queued
    with lock:
        queue.append(exc)
        queued += 1
        update_watch()


def record_global(exc: BaseException) -> None:
    """Queue an exception for whichever koffi call returns next, on any thread."""
    with lock:
        global_errors.append(exc)
        update_watch()


def pending() -> BaseException | None:
    """The first queued callback exception for this thread, if any; the queue is emptied, so
    however many times C ran a failing callback, one call reports it (with a note counting
    the others) and the calls after it are clean."""
    global queued
    queue = _errors.queue
    if not queue:
        if not global_errors:
            return None
        with lock:
            if not global_errors:
                return None
            queue = global_errors[:]
            global_errors.clear()
            update_watch()
    if queue is _errors.queue:
        with lock:
            queued -= len(queue)
            update_watch()
    first = queue[0]
    if len(queue) > 1:
        first.add_note(f"({len(queue) - 1} more exceptions were raised by callbacks before "
                       "this call returned; only the first is raised)")
    queue.clear()
    return first


def raise_pending() -> None:
    """Raise the callback exception queued for this thread, if there is one."""
    exc = pending()
    if exc is not None:
        try:
            raise exc
        finally:
            exc = None  # no frame → exception → traceback → frame cycle


#: ``binder(prototype, function) -> (address, lease)``: a C function pointer calling
#: ``function`` for as long as ``lease`` lives.
Binder = Callable[[Type, Callable[..., Any]], tuple[int, object]]
_binder: list[Binder] = []


def install_binder(binder: Binder) -> None:
    """Set how transient callbacks are made (done once by `koffi_typed.callbacks`)."""
    _binder[:] = [binder]


def bind_transient(proto: Type, function: Callable[..., Any]) -> tuple[int, object]:
    """(address, lease) of a C function pointer calling ``function`` while ``lease`` lives."""
    return _binder[0](proto, function)
