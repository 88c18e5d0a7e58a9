"""C → Python callbacks: transient (one call), registered (until unregistered), and errors.

A callback is a C entry point bound to one prototype (`koffi_typed.callbackgen` builds it: a
ctypes thunk, or a libffi closure when records travel by value). Thunks are pooled per
prototype and never freed, so C calling a stale pointer cannot crash the process: a transient
thunk is released when its call ends, and a later call through it returns zero to C and
queues ``Cannot use non-registered callback beyond FFI call``. A released thunk is reused
only once `_REUSE_AFTER` others of its prototype are free (oldest first), so a pointer that C
kept past its call is caught for that long; after reuse it reaches the new callback.

Memory a callback hands to C in its result (a string, a buffer, what a record result points
to) lives until the outer call that passed a transient callback returns, or until
`unregister` for a registered one; the same string returned again is not copied again.

An exception raised by the Python function (or by converting its result) is never printed:
C receives a zero value and the exception is queued for the calling thread, to be raised by
the koffi call that is running (or the next one) once C returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from koffi_typed import callstate
from koffi_typed.callbackgen import Shape, explain_callback, shape_of
from koffi_typed.declarations import FunctionInfo
from koffi_typed.errors import Error
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, install_explainer, resolve_type

__all__ = ["Thunk", "register", "transient", "unregister"]

_pools: dict[int, list[Thunk]] = {}
_REUSE_AFTER = 32  # free thunks kept per prototype before the oldest is reused
_registered: dict[int, Thunk] = {}


class Thunk:
    """One C function pointer that calls a Python function with converted arguments."""

    def __init__(self, proto_type: Type) -> None:
        info = proto_type.proto
        assert isinstance(info, FunctionInfo)
        self.shape: Shape = shape_of(proto_type)
        self.proto_type = proto_type
        self.info = info
        self.target: Callable[..., Any] | None = None
        # Where exceptions go: the error queue of the thread whose call owns this transient
        # callback (whatever thread C calls it on), or None for registered callbacks.
        self.owner_queue: list[BaseException] | None = None
        #: What the callback handed to C (strings, buffers), kept until the thunk is unbound.
        self.keep: list[object] = []
        #: Address of the copy C got for each ``str`` returned while bound.
        self.strings: dict[object, int] = {}
        #: Bumped at every bind: a lease releases only the binding it was given.
        self.generation = 0
        self.registered = False
        self.cfunc, self.address = self.shape.bind(self)

    def string(self, value: object) -> Any:
        """What C receives for a string result ``value``, kept while the thunk is bound."""
        address = self.shape.result.callback_return(value, self.keep)
        if type(value) is str and address:
            self.strings[value] = address
        return address

    def stale(self) -> Any:
        """Called when C calls the thunk while it is unbound: queue the error, return zero."""
        name = self.info.name or "callback"
        exc = Error(f"Cannot use non-registered callback beyond FFI call ({name}); "
                    "use koffi.register() for callbacks that C keeps")
        callstate.record_error(exc)  # the call C runs it in raises it (any call, off C threads)
        return self.shape.zero

    def fail(self, exc: BaseException) -> None:
        """Queue ``exc`` (raised by the callback) for the koffi call that owns it."""
        owner = self.owner_queue
        if owner is not None:
            callstate.record_for(owner, exc)
        else:
            callstate.record_error(exc)

    def bind(self, function: Callable[..., Any], owner: list[BaseException] | None) -> int:
        """Bind to ``function``; the generation of this binding."""
        self.generation += 1
        self.owner_queue = owner
        self.target = function
        return self.generation

    def unbind(self) -> None:
        """Stop calling the Python function and drop what it handed to C."""
        self.target = None
        self.owner_queue = None
        self.registered = False
        self.keep.clear()
        self.strings.clear()


def _take(proto_type: Type) -> Thunk:
    """A free thunk of ``proto_type`` (a pooled one once enough are free), counted live."""
    with callstate.lock:
        pool = _pools.setdefault(id(proto_type), [])
        # Oldest first, and only once enough are free: a pointer C kept past its call then
        # most likely still hits an unbound thunk (an error) rather than a newer callback.
        thunk = pool.pop(0) if len(pool) > _REUSE_AFTER else None
    callstate.add_live(1)
    if thunk is None:
        try:
            thunk = Thunk(proto_type)
        except BaseException:
            callstate.add_live(-1)
            raise
    return thunk


def _give_back(thunk: Thunk) -> None:
    thunk.unbind()
    callstate.add_live(-1)
    with callstate.lock:
        _pools.setdefault(id(thunk.proto_type), []).append(thunk)


def transient(proto_type: Type, function: Callable[..., Any]) -> tuple[int, Lease]:
    """(address, lease) of a thunk calling ``function`` until the lease is dropped (the
    outer call's keep-alive list holds it, so everything the callback hands C lives until
    that call returns)."""
    if not callable(function):
        raise TypeError(f"expected a callable for {proto_type.name} *, got "
                        f"{type(function).__name__}")
    thunk = _take(proto_type)
    generation = thunk.bind(function, callstate.thread_queue())
    return thunk.address, Lease(thunk, generation)


class Lease:
    """Keeps a transient thunk bound while the call's keep-alive list exists."""

    __slots__ = ("generation", "thunk")

    def __init__(self, thunk: Thunk, generation: int) -> None:
        self.thunk = thunk
        self.generation = generation

    def __del__(self) -> None:
        if self.thunk.generation == self.generation and not self.thunk.registered:
            _give_back(self.thunk)


def _prototype(spec: object) -> Type:
    t = resolve_type(spec)
    if t.primitive == "Callback" and t.ref is not None:
        return t.ref
    if t.primitive == "Prototype":
        return t
    raise TypeError(f"Unexpected {t.name} type, expected a callback type (a prototype "
                    "pointer such as 'Fn *')")


def register(function: Callable[..., Any], spec: object) -> Pointer[Any]:
    """A stable C function pointer calling ``function``, valid until `unregister`.

    What the callback hands to C in its results lives until `unregister`.
    """
    proto_type = _prototype(spec)
    if not callable(function):
        raise TypeError(f"register() expects a callable, got {type(function).__name__}")
    thunk = _take(proto_type)
    thunk.bind(function, None)
    thunk.registered = True
    with callstate.lock:
        _registered[thunk.address] = thunk
    return Pointer(thunk.address, proto_type)


def unregister(pointer: object) -> None:
    """Release a callback made by `register` (unknown or already released: `ValueError`)."""
    address = pointer.address if isinstance(pointer, Pointer) else pointer
    with callstate.lock:
        thunk = _registered.pop(address, None) if isinstance(address, int) else None
    if thunk is None:
        raise ValueError("Could not find matching registered callback")
    _give_back(thunk)


def registered_count() -> int:
    """How many callbacks are bound right now (registered, or inside a running call)."""
    return callstate.live


def reset() -> None:
    """Unregister every registered callback."""
    with callstate.lock:
        thunks = list(_registered.values())
        _registered.clear()
    for thunk in thunks:
        _give_back(thunk)


def explain(proto_type: Type) -> str:
    """How a callback of ``proto_type`` receives its arguments and where its result goes."""
    return explain_callback(_prototype(proto_type))


callstate.install_binder(transient)
install_explainer(explain)
