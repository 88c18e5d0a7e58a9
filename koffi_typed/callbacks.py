"""C → Python callbacks: transient (one call), registered (until unregistered), and errors.

A callback is a ctypes thunk (a libffi closure) bound to one prototype. Thunks are pooled
per prototype and never freed, so C calling a stale pointer cannot crash the process: a
transient thunk is released when its call ends, and a later call through it returns zero to
C and queues ``Cannot use non-registered callback beyond FFI call``.

An exception raised by the Python function (or by converting its result) is never printed:
C receives a zero value and the exception is queued for the calling thread, to be raised by
the koffi call that is running (or the next one) once C returns.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from koffi_typed import callstate
from koffi_typed.converters import callback_converters
from koffi_typed.declarations import FunctionInfo
from koffi_typed.errors import Error
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, resolve_type

__all__ = ["Thunk", "register", "transient", "unregister"]

_pools: dict[int, list[Thunk]] = {}
_REUSE_AFTER = 16  # free thunks kept per prototype before the oldest is reused
_registered: dict[int, Thunk] = {}


def _zero(restype: Any) -> Any:
    if restype is None:
        return None
    if restype in (ctypes.c_float, ctypes.c_double, ctypes.c_longdouble):
        return 0.0
    if restype is ctypes.c_bool:
        return False
    if restype is ctypes.c_void_p:
        return None
    return 0


def _callback_argument(conv: Any, var: str, slow: str,
                       env: dict[str, Any]) -> tuple[list[str], str]:
    """Statements and an expression turning what ctypes hands a callback into the Python
    argument. Pointers are built inline, as `pointer.new_pointer` does without the call
    (the common ``const void *`` comparator case)."""
    if getattr(conv, "raw_result", False):
        return [], var
    ref = getattr(conv, "ref", None)
    if ref is not None and type(conv).__name__ == "PointerConverter" and \
            not conv.type.disposable:
        env[f"_ref_{var}"] = ref
        p = f"p_{var}"
        return [f"if {var}:",
                f"    {p} = _new(_Pointer)",
                f"    {p}.address = {var}",
                f"    {p}.type = _ref_{var}",
                f"    {p}.block = None",
                "else:",
                f"    {p} = None"], p
    return [], f"{slow}({var})"


def _callback_result(conv: Any, var: str) -> str:
    """Expression turning the Python result of a callback into what ctypes returns to C."""
    lo, hi = getattr(conv, "lo", None), getattr(conv, "hi", None)
    if lo is not None and not getattr(conv, "swap", True) and conv.raw_result:
        return f"{var} if type({var}) is int and {lo} <= {var} <= {hi} else _ret({var}, _t.keep)"
    if conv.ctype in (ctypes.c_double, ctypes.c_float):
        return f"{var} if type({var}) is float else _ret({var}, _t.keep)"
    return f"_ret({var}, _t.keep)"


class Thunk:
    """One C function pointer that calls a Python function with converted arguments."""

    def __init__(self, proto_type: Type) -> None:
        info = proto_type.proto
        assert isinstance(info, FunctionInfo)
        self.proto_type = proto_type
        self.info = info
        self.target: Callable[..., Any] | None = None
        # Where exceptions go: the error queue of the thread whose call owns this transient
        # callback (whatever thread C calls it on), or None for registered callbacks.
        self.owner_queue: list[BaseException] | None = None
        self.keep: list[object] = []
        self.args, self.result = callback_converters(info)
        self.restype = self.result.ctype
        self.zero = _zero(self.restype)
        cfunctype = ctypes.CFUNCTYPE(self.restype, *(c.ctype for c in self.args))
        self.cfunc = cfunctype(self._generate())
        self.address: int = ctypes.cast(self.cfunc, ctypes.c_void_p).value or 0
        self.registered = False

    def _generate(self) -> Callable[..., Any]:
        """The Python entry point C calls: converts arguments inline, calls the target,
        converts the result, and turns any exception into a zero value plus a queued error."""
        env: dict[str, Any] = {"_t": self, "_stale": self._stale, "_fail": self._fail,
                               "_zero": self.zero, "_new": object.__new__,
                               "_Pointer": Pointer}
        params = [f"a{i}" for i in range(len(self.args))]
        exprs = []
        prepare: list[str] = []
        for i, conv in enumerate(self.args):
            env[f"_r{i}"] = conv.result
            lines, expr = _callback_argument(conv, f"a{i}", f"_r{i}", env)
            prepare += lines
            exprs.append(expr)
        env["_ret"] = self.result.callback_return
        ret = _callback_result(self.result, "r")
        # what a previous call returned to C (a string, a buffer) is released on the next one
        clear = ["    if _t.keep:", "        _t.keep.clear()"] if ret.startswith("_ret") else []
        source = "\n".join([
            f"def invoke({', '.join(params)}):",
            "    target = _t.target",
            "    if target is None:",
            "        return _stale()",
            *clear,
            "    try:",
            *(f"        {line}" for line in prepare),
            f"        r = target({', '.join(exprs)})",
            f"        return {ret}",
            "    except BaseException as exc:",
            "        _fail(exc)",
            "        return _zero",
            "",
        ])
        scope: dict[str, Any] = {}
        exec(compile(source, f"<koffi_typed callback {self.info.name}>", "exec"), env, scope)
        invoke: Callable[..., Any] = scope["invoke"]
        return invoke

    def _stale(self) -> Any:
        name = self.info.name or "callback"
        exc = Error(f"Cannot use non-registered callback beyond FFI call ({name}); "
                    "use koffi.register() for callbacks that C keeps")
        callstate.record_global(exc)
        return self.zero

    def _fail(self, exc: BaseException) -> None:
        owner = self.owner_queue
        if owner is not None:
            owner.append(exc)
        else:
            callstate.record_error(exc)


def acquire(proto_type: Type, function: Callable[..., Any]) -> Thunk:
    """A pooled thunk for ``proto_type`` bound to ``function`` (transient use)."""
    if not callable(function):
        raise TypeError(f"expected a callable for {proto_type.name} *, got "
                        f"{type(function).__name__}")
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
    thunk.owner_queue = callstate.thread_queue()
    thunk.target = function
    return thunk


def release(thunk: Thunk) -> None:
    """Unbind a transient thunk and return it to its pool."""
    thunk.target = None
    thunk.owner_queue = None
    thunk.keep.clear()
    callstate.add_live(-1)
    with callstate.lock:
        _pools.setdefault(id(thunk.proto_type), []).append(thunk)


def transient(proto_type: Type, function: Callable[..., Any]) -> tuple[int, Lease]:
    """(address, lease) of a thunk calling ``function`` until the lease is dropped."""
    thunk = acquire(proto_type, function)
    return thunk.address, Lease(thunk)


class Lease:
    """Keeps a transient thunk bound while the call's keep-alive list exists."""

    __slots__ = ("thunk",)

    def __init__(self, thunk: Thunk) -> None:
        self.thunk = thunk

    def __del__(self) -> None:
        release(self.thunk)


def _prototype(spec: object) -> Type:
    t = resolve_type(spec)
    if t.primitive == "Callback" and t.ref is not None:
        return t.ref
    if t.primitive == "Prototype":
        return t
    raise TypeError(f"Unexpected {t.name} type, expected a callback type (a prototype "
                    "pointer such as 'Fn *')")


def register(function: Callable[..., Any], spec: object) -> Pointer[Any]:
    """A stable C function pointer calling ``function``, valid until `unregister`."""
    proto_type = _prototype(spec)
    if not callable(function):
        raise TypeError(f"register() expects a callable, got {type(function).__name__}")
    thunk = Thunk(proto_type)
    thunk.target = function
    thunk.registered = True
    with callstate.lock:
        _registered[thunk.address] = thunk
    callstate.add_live(1)
    return Pointer(thunk.address, proto_type)


def unregister(pointer: object) -> None:
    """Release a callback made by `register` (unknown or already released: `ValueError`)."""
    address = pointer.address if isinstance(pointer, Pointer) else pointer
    with callstate.lock:
        thunk = _registered.pop(address, None) if isinstance(address, int) else None
    if thunk is None:
        raise ValueError("Could not find matching registered callback")
    callstate.add_live(-1)
    thunk.target = None
    with callstate.lock:
        _pools.setdefault(id(thunk.proto_type), []).append(thunk)


def registered_count() -> int:
    """How many callbacks are bound right now (registered, or inside a running call)."""
    return callstate.live


def reset() -> None:
    """Unregister every registered callback."""
    with callstate.lock:
        thunks = list(_registered.values())
        _registered.clear()
    for thunk in thunks:
        thunk.target = None
        callstate.add_live(-1)


callstate.install_binder(transient)
