"""Shared libraries: `load`, `Library.func`, typed `@lib.function` declarations, symbols."""

from __future__ import annotations

import _ctypes
import ctypes
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from koffi_typed.callplan import Plan
from koffi_typed.declarations import (
    FunctionInfo,
    classic_declaration,
    string_declaration,
    typed_declaration,
)
from koffi_typed.errors import Error, LoadError
from koffi_typed.functions import Function, disable, make_function
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import resolve_type

__all__ = ["Library", "load"]

P = ParamSpec("P")
R = TypeVar("R")
RTLD_DEEPBIND = getattr(os, "RTLD_DEEPBIND", 0)
_pending: set[_Closer] = set()  # closers waiting for in-flight calls


#: The file name extension of shared libraries on this platform (Koffi's ``koffi.extension``).
extension: str = ".dll" if sys.platform == "win32" else (
    ".dylib" if sys.platform == "darwin" else ".so")


class Library:
    """A loaded shared library (or the running process). Use as a context manager to unload."""

    def __init__(self, path: str | None, handle: ctypes.CDLL) -> None:
        self.path = path
        self._dll = handle
        self.closed = False
        self._plans: weakref.WeakSet[Plan] = weakref.WeakSet()  # of the declared functions

    def __repr__(self) -> str:
        state = " (unloaded)" if self.closed else ""
        return f"<koffi Library {self.path or '<process>'}{state}>"

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unload()

    def _address(self, name: str, what: str) -> int:
        if self.closed:
            raise Error(f"Cannot find {what} '{name}': the library was unloaded")
        try:
            symbol = self._dll[name]
        except AttributeError:
            where = f"'{self.path}'" if self.path is not None else "of the running process"
            raise Error(f"Cannot find {what} '{name}' in shared library {where}") from None
        return ctypes.cast(symbol, ctypes.c_void_p).value or 0

    def func(self, *args: Any, release_gil: bool = True) -> Function[..., Any]:
        """Declare a function: ``func('int abs(int x)')``, ``func(name, result, [params])``,
        ``func(convention, name, result, [params])`` or ``func(convention, 'int f(int)')``.

        ``release_gil=False`` keeps the GIL during each call: cheaper for short calls, but
        other Python threads wait until C returns, and C must not call back into Python from
        another thread meanwhile (it would wait forever). Calls release it by default.
        """
        info = string_declaration(args) or classic_declaration(args)
        if info.name is None:
            raise TypeError("A function declared on a library needs a name")
        return self._declare(info, release_gil)

    def _shorthand(self, convention: str, args: tuple[Any, ...], release_gil: bool
                   ) -> Function[..., Any]:
        warnings.warn(f"lib.{convention[2:]}(...) is deprecated (as in Koffi); use "
                      f"lib.func('{convention}', ...)", DeprecationWarning, stacklevel=3)
        return self.func(convention, *args, release_gil=release_gil)

    def cdecl(self, *args: Any, release_gil: bool = True) -> Function[..., Any]:
        """Deprecated (Koffi 2.7): ``lib.func('__cdecl', ...)``."""
        return self._shorthand("__cdecl", args, release_gil)

    def stdcall(self, *args: Any, release_gil: bool = True) -> Function[..., Any]:
        """Deprecated (Koffi 2.7): ``lib.func('__stdcall', ...)``."""
        return self._shorthand("__stdcall", args, release_gil)

    def fastcall(self, *args: Any, release_gil: bool = True) -> Function[..., Any]:
        """Deprecated (Koffi 2.7): ``lib.func('__fastcall', ...)``."""
        return self._shorthand("__fastcall", args, release_gil)

    def thiscall(self, *args: Any, release_gil: bool = True) -> Function[..., Any]:
        """Deprecated (Koffi 2.7): ``lib.func('__thiscall', ...)``."""
        return self._shorthand("__thiscall", args, release_gil)

    def _declare(self, info: FunctionInfo, release_gil: bool) -> Function[Any, Any]:
        assert info.name is not None
        function = make_function(info, self._address(info.name, "function"),
                                 release_gil=release_gil)
        self._plans.add(function.__koffi_function__)
        return function

    @overload
    def function(self, fn: Callable[P, R], /, *, release_gil: bool = True) -> Function[P, R]:
        ...
    @overload
    def function(self, name: str, /, *, release_gil: bool = True
                 ) -> Callable[[Callable[P, R]], Function[P, R]]: ...
    @overload
    def function(self, *, release_gil: bool = True
                 ) -> Callable[[Callable[P, R]], Function[P, R]]: ...

    def function(self, arg: Any = None, *, release_gil: bool = True) -> Any:
        """Declare a function from a typed ``def`` stub (annotations give the C types).

        ``@lib.function`` uses the function's own name; ``@lib.function("real_name")``
        binds another symbol; ``@lib.function(release_gil=False)`` keeps the GIL during
        calls (see `func`).
        """
        if arg is None or isinstance(arg, str):
            def bind(fn: Callable[P, R]) -> Function[P, R]:
                return self._typed(fn, arg, release_gil)
            return bind
        return self._typed(arg, None, release_gil)

    def _typed(self, fn: Callable[..., Any], name: str | None,
               release_gil: bool = True) -> Function[Any, Any]:
        info: FunctionInfo = typed_declaration(fn, name)
        function = self._declare(info, release_gil)
        generated: Any = function
        generated.__doc__ = fn.__doc__ or generated.__doc__
        generated.__name__ = fn.__name__
        generated.__qualname__ = fn.__qualname__
        generated.__wrapped__ = fn
        return function

    def symbol(self, name: str, spec: object = None) -> Pointer[Any]:
        """An exported variable as a `Pointer` to ``spec`` (``void`` when omitted); read and
        write it with `koffi.decode` / `koffi.encode`, or the pointer's ``[0]``."""
        return Pointer(self._address(name, "symbol"), resolve_type("void" if spec is None
                                                                    else spec))

    def unload(self) -> None:
        """Unload the library; functions declared from it refuse to run afterwards.

        Calls already running (on other threads, or `async_` calls under way) keep the
        library loaded: it is closed when the last of them returns.
        """
        if self.closed or self.path is None:
            self.closed = True
            return
        self.closed = True
        in_flight = []
        for plan in list(self._plans):
            cfunc = disable(plan)
            # after disable, only frames of running calls still reference the pointer
            if sys.getrefcount(cfunc) > 2:
                in_flight.append(cfunc)
            del cfunc
        _Closer(self._dll._handle, in_flight)


class _Closer:
    """Closes a library handle once every in-flight call into it has returned: each holds
    its ctypes function pointer, and the pointer dies when the last call drops it."""

    def __init__(self, handle: int, in_flight: list[Any]) -> None:
        self.handle = handle
        self.lock = threading.Lock()
        self.closed = False
        self.waiting = len(in_flight)
        _pending.add(self)  # alive until the last call returns
        self.refs = [weakref.ref(cfunc, self._returned) for cfunc in in_flight]
        in_flight.clear()
        if not self.waiting:
            self._close()

    def _returned(self, ref: weakref.ref[Any]) -> None:
        with self.lock:
            self.waiting -= 1
            last = self.waiting == 0
        if last:
            self._close()

    def _close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        _pending.discard(self)
        if sys.platform != "win32":
            _ctypes.dlclose(self.handle)


def load(path: str | os.PathLike[str] | None, *, lazy: bool = False, global_: bool = False,
         deep: bool = False) -> Library:
    """Load a shared library (``None`` is the running process).

    ``lazy`` resolves symbols on first use (``RTLD_LAZY``), ``global_`` makes them available to
    libraries loaded later (``RTLD_GLOBAL``), ``deep`` prefers the library's own symbols
    (``RTLD_DEEPBIND``, where the platform has it).
    """
    for option, value in (("lazy", lazy), ("global_", global_), ("deep", deep)):
        if not isinstance(value, bool):
            raise TypeError(f"load(): {option} must be a bool, not {type(value).__name__}")
    if path is not None and not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"load(): expected a path (str or os.PathLike) or None, not "
                        f"{type(path).__name__}")
    mode = (os.RTLD_LAZY if lazy else os.RTLD_NOW) if sys.platform != "win32" else 0
    if global_:
        mode |= getattr(os, "RTLD_GLOBAL", 0)
    elif sys.platform != "win32":
        mode |= os.RTLD_LOCAL
    if deep:
        mode |= RTLD_DEEPBIND
    name = None if path is None else os.fspath(path)
    if name == "":
        raise LoadError("Failed to load shared library: empty path (use None for the "
                        "running process)")
    try:
        handle = ctypes.CDLL(name, mode=mode, use_errno=True)
    except OSError as exc:
        raise LoadError(f"Failed to load shared library: {exc}") from None
    return Library(name, handle)
