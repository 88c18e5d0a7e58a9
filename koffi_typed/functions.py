"""Declared C functions: `Function`, `make_function`, async calls.

A declared function is a plain Python function generated for its signature
(`koffi_typed.callers`) from its call plan (`koffi_typed.callplan`), carrying ``info``,
``address``, ``async_``, ``acall`` and ``explain``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from koffi_typed import asyncpool, heap
from koffi_typed.bases import CallFuture
from koffi_typed.callers import compiled_caller, generate, signature
from koffi_typed.callplan import Plan
from koffi_typed.declarations import FunctionInfo
from koffi_typed.errors import Error
from koffi_typed.names import verbatim
from koffi_typed.pointer import ADDRESS_MAX, NULL_PAGE, Cast, Pointer
from koffi_typed.typesystem import Type, same_prototype

__all__ = ["Function", "disable", "function_address", "function_at", "make_function"]

P = ParamSpec("P")
R = TypeVar("R")


class _FunctionMeta(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(getattr(instance, "__koffi_function__", None), Plan) or \
            super().__instancecheck__(instance)


class Function(Generic[P, R], metaclass=_FunctionMeta):
    """A declared C function (``lib.func(...)``, ``@lib.function``, ``koffi.call``).

    At run time it is a plain Python function generated for its signature, carrying these
    attributes: ``info`` describes the signature, ``address`` is the C entry point,
    ``async_`` runs the call on a worker thread and returns a `concurrent.futures.Future`,
    ``acall`` awaits it (asyncio), ``explain()`` tells how each argument is passed.
    """

    info: FunctionInfo
    address: int
    __koffi_function__: Plan

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        raise NotImplementedError  # pragma: no cover - instances are generated functions

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> CallFuture[R]:
        """Run the call on a worker thread; the future holds the result (or the exception)
        and ``errno``."""
        raise NotImplementedError  # pragma: no cover

    async def acall(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await the call, run on a worker thread (asyncio)."""
        raise NotImplementedError  # pragma: no cover

    def explain(self) -> str:
        """How each argument is passed."""
        raise NotImplementedError  # pragma: no cover


def _unloaded(name: str) -> Callable[..., Any]:
    def call(*args: object) -> Any:
        raise Error(f"{name}(): its library was unloaded")
    return call


def disable(plan: Plan) -> Any:
    """Make the function of ``plan`` raise instead of calling into an unloaded library.
    Returns its ctypes function pointer: calls already in flight hold a reference to it
    until they return (`Library.unload` waits for them through weak references)."""
    return plan.disable(_unloaded(plan.name))


def make_function(info: FunctionInfo, address: int, *,
                  release_gil: bool = True) -> Function[Any, Any]:
    """The declared function calling the C function at ``address``: a compiled caller
    (`koffi_typed._callers`, in the mypyc build, for simple signatures) or a Python function
    generated for the signature (`koffi_typed.callers`).

    Both inline each converter's fast path (type and range checks) and call a ctypes function
    pointer that has no ``argtypes``, so ctypes does no per-argument ``from_param`` work;
    everything unusual goes through the converters' ``convert``. ``release_gil=False`` keeps
    the GIL during the call (see `koffi_typed.callplan.function_type`).
    """
    plan = Plan(info, address, release_gil=release_gil)
    function: Any = compiled_caller(plan)
    if function is None:
        function = generate(plan, _identifier(plan.name))
    else:
        function.__name__ = _identifier(plan.name)
        function.__signature__ = signature(plan)
        function.params = list(function.__signature__.parameters)
    function.__koffi_function__ = plan
    function.info = info
    function.address = address
    function.__doc__ = f"C function: {info}"
    function.__qualname__ = plan.name
    function.async_ = functools.partial(_submit, function)
    function.acall = functools.partial(_acall, function)
    function.explain = plan.explain
    return function  # type: ignore[no-any-return]


def _submit(function: Any, /, *args: object, **kwargs: object) -> CallFuture[Any]:
    if kwargs:
        raise TypeError(f"{function.__name__}.async_() takes the C arguments by position, "
                        f"got keyword argument(s) {', '.join(map(repr, kwargs))}")
    return asyncpool.submit(function, args)


async def _acall(function: Any, /, *args: object, **kwargs: object) -> Any:
    if kwargs:
        raise TypeError(f"{function.__name__}.acall() takes the C arguments by position, "
                        f"got keyword argument(s) {', '.join(map(repr, kwargs))}")
    return await asyncio.wrap_future(_submit(function, *args))


def _identifier(name: str) -> str:
    return name if verbatim(name) else "call"


def function_at(address: int, info: FunctionInfo) -> Function[..., Any]:
    """A callable for the C function at ``address`` with signature ``info``."""
    return make_function(info, address)


def function_address(ptr: object, proto: Type, info: FunctionInfo) -> int:
    """The address ``koffi.call(ptr, proto, ...)`` calls, checked: not NULL, not memory
    koffi_typed allocated (`koffi.alloc` blocks, freed or not, and call memory: data, which
    C cannot run), and for a `Pointer` to a function of another prototype, a signature that
    passes every value the same way. A `koffi.as_` cast passes its value."""
    if isinstance(ptr, Cast):
        ptr = ptr.value
    if isinstance(ptr, Pointer):
        address: object = ptr.address
        block = ptr.block
    else:
        address, block = (0 if ptr is None else ptr), None
    if not isinstance(address, int) or isinstance(address, bool):
        raise TypeError(f"call() needs a function pointer (a Pointer or an address), not "
                        f"{type(ptr).__name__}")
    if not address:
        raise ValueError("call() needs a non-NULL function pointer")
    if not NULL_PAGE <= address <= ADDRESS_MAX:
        raise ValueError(f"call(): {address:#x} cannot be a function's address (the first "
                         f"page is NULL plus an offset; addresses end at {ADDRESS_MAX:#x})")
    if block is None:
        block = heap.block_containing(address)
    if block is not None:
        what = "memory koffi_typed made for a call" if block.owner is not None else \
            "freed koffi.alloc memory" if block.freed else "koffi.alloc memory"
        raise ValueError(f"call(): {address:#x} points into {what} (the block at "
                         f"{block.address:#x}), not a function")
    if isinstance(ptr, Pointer):
        pointee = ptr.type
        if pointee.primitive == "Prototype" and not same_prototype(pointee, proto):
            raise TypeError(f"call(): the pointer is a function pointer of prototype "
                            f"{pointee.name} ({pointee.proto}), which does not take and "
                            f"return what {proto.name} ({info}) does")
    return address

