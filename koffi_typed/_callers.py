"""Compiled callers: simple signatures called without a Python frame (mypyc).

In the compiled build, a declared function whose arguments all convert by a fixed rule and
whose result needs no write-back is an instance of one of the ``Call<n>`` classes below
instead of generated Python code (`koffi_typed.callers`): calling a compiled object skips the
interpreter frame, and the type and range checks run as C. Each argument has an `Arg`: its
fast rule (`fast`) and the converter's ``convert`` for everything else, which raises the
same errors as the generated code. The pure build keeps the generated callers (a Python class
with ``__call__`` would be slower than a plain function there).

Unloading a library swaps ``f`` for a function that raises: a call under way holds its own
reference to the ctypes function pointer (mypyc takes one for the call), which is how
`koffi_typed.library` knows when the last call has returned.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["ARG_BOOL", "ARG_FLOAT", "ARG_INT", "ARG_POINTER", "ARG_SLOW", "ARG_TEXT",
           "ARG_WIDE", "MAX_ARITY", "Arg", "fast", "make_caller"]

#: A Python int in [lo, hi] passes as is (C ints of at most 32 bits).
ARG_INT: Final = 1
#: An int in [lo, hi] is wrapped in ``wrap`` (64-bit ints); in [plo, phi] it passes as is.
ARG_WIDE: Final = 2
#: True or False pass as is.
ARG_BOOL: Final = 3
#: A float in [-limit, limit] is wrapped in ``wrap`` (``c_double``, ``c_float``: ctypes
#: passes no Python float as it is).
ARG_FLOAT: Final = 4
#: A str without NUL passes as UTF-8 bytes; a non-empty bytearray as its storage.
ARG_TEXT: Final = 5
#: None passes as NULL; a non-empty bytearray as its storage.
ARG_POINTER: Final = 6
#: Always the converter's ``convert``.
ARG_SLOW: Final = 7

MAX_ARITY: Final = 8


class _Miss:
    pass


#: What `fast` returns when its rule does not apply.
MISS: Final = _Miss()


class Arg:
    """How one argument is converted: its fast rule, then ``convert(value, keep)``."""

    kind: int
    lo: int
    hi: int
    plo: int
    phi: int
    limit: float
    wrap: Any
    convert: Any
    byref: Any
    char_at: Any

    def __init__(self, kind: int, convert: Any, *, lo: int = 0, hi: int = 0, plo: int = 1,
                 phi: int = 0, limit: float = 0.0, wrap: Any = None, byref: Any = None,
                 char_at: Any = None) -> None:
        self.kind = kind
        self.convert = convert
        self.lo = lo
        self.hi = hi
        self.plo = plo
        self.phi = phi
        self.limit = limit
        self.wrap = wrap
        self.byref = byref
        self.char_at = char_at


def fast(a: Arg, v: object) -> object:
    """``v`` converted by ``a``'s fast rule, or `MISS`."""
    kind = a.kind
    if kind == ARG_INT:
        if type(v) is int:
            i: int = v
            if a.lo <= i <= a.hi:
                return v
        return MISS
    if kind == ARG_FLOAT:
        if type(v) is float:
            f: float = v
            if -a.limit <= f <= a.limit:
                return a.wrap(v)
        return MISS
    if kind == ARG_WIDE:
        if type(v) is int:
            w: int = v
            if a.plo <= w <= a.phi:
                return v
            if a.lo <= w <= a.hi:
                return a.wrap(v)
        return MISS
    if kind == ARG_BOOL:
        if v is True or v is False:
            return v
        return MISS
    if kind == ARG_TEXT:
        if type(v) is str:
            s: str = v
            if "\0" in s:
                return MISS
            try:
                return s.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                return MISS
        if type(v) is bytearray and len(v) > 0:
            return a.byref(a.char_at(v))
        return MISS
    if kind == ARG_POINTER:
        if v is None:
            return None
        if type(v) is bytearray and len(v) > 0:
            return a.byref(a.char_at(v))
        return MISS
    return MISS


def describe(caller: Any) -> str:
    return f"<koffi_typed function {caller.__qualname__}>"


class _Absent:
    pass


#: The default of every ``__call__`` parameter: an argument the caller did not give.
ABSENT: Final = _Absent()


def arity_error(name: str, params: list[str], given: list[object]) -> TypeError:
    """The error Python raises for a call of ``name(params..., /)`` with the arguments
    ``given`` (`ABSENT` where none was given), worded as Python words it."""
    count = 0
    for i in range(len(given)):
        if given[i] is not ABSENT:
            count = i + 1
    n = len(params)
    if count > n:
        plural = "" if n == 1 else "s"
        return TypeError(f"{name}() takes {n} positional argument{plural} but {count} were "
                         "given")
    missing = [f"'{params[i]}'" for i in range(count, n)]
    if len(missing) == 1:
        listed = missing[0]
    elif len(missing) == 2:
        listed = f"{missing[0]} and {missing[1]}"
    else:
        listed = ", ".join(missing[:-1]) + f", and {missing[-1]}"
    plural = "" if len(missing) == 1 else "s"
    return TypeError(f"{name}() missing {len(missing)} required positional argument{plural}: "
                     f"{listed}")


class Call0:
    # A compiled caller of 0 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT, /) -> object:
        if x0 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0])
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f()
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call1:
    # A compiled caller of 1 argument. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call2:
    # A compiled caller of 2 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call3:
    # A compiled caller of 3 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call4:
    # A compiled caller of 4 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg
    a3: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]
        self.a3 = args[3]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT,
                 x4: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is ABSENT or x4 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3, x4])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        c3 = fast(self.a3, x3)
        if c3 is MISS:
            if keep is None:
                keep = []
            c3 = self.a3.convert(x3, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2, c3)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call5:
    # A compiled caller of 5 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg
    a3: Arg
    a4: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]
        self.a3 = args[3]
        self.a4 = args[4]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT,
                 x4: object = ABSENT,
                 x5: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is ABSENT or x4 is ABSENT or x5 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3, x4, x5])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        c3 = fast(self.a3, x3)
        if c3 is MISS:
            if keep is None:
                keep = []
            c3 = self.a3.convert(x3, keep)
        c4 = fast(self.a4, x4)
        if c4 is MISS:
            if keep is None:
                keep = []
            c4 = self.a4.convert(x4, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2, c3, c4)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call6:
    # A compiled caller of 6 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg
    a3: Arg
    a4: Arg
    a5: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]
        self.a3 = args[3]
        self.a4 = args[4]
        self.a5 = args[5]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT,
                 x4: object = ABSENT,
                 x5: object = ABSENT,
                 x6: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is ABSENT or x4 is ABSENT or x5 is ABSENT or x6 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3, x4, x5, x6])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        c3 = fast(self.a3, x3)
        if c3 is MISS:
            if keep is None:
                keep = []
            c3 = self.a3.convert(x3, keep)
        c4 = fast(self.a4, x4)
        if c4 is MISS:
            if keep is None:
                keep = []
            c4 = self.a4.convert(x4, keep)
        c5 = fast(self.a5, x5)
        if c5 is MISS:
            if keep is None:
                keep = []
            c5 = self.a5.convert(x5, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2, c3, c4, c5)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call7:
    # A compiled caller of 7 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg
    a3: Arg
    a4: Arg
    a5: Arg
    a6: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]
        self.a3 = args[3]
        self.a4 = args[4]
        self.a5 = args[5]
        self.a6 = args[6]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT,
                 x4: object = ABSENT,
                 x5: object = ABSENT,
                 x6: object = ABSENT,
                 x7: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is ABSENT or x4 is ABSENT or x5 is ABSENT or x6 is ABSENT or x7 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3, x4, x5, x6, x7])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        c3 = fast(self.a3, x3)
        if c3 is MISS:
            if keep is None:
                keep = []
            c3 = self.a3.convert(x3, keep)
        c4 = fast(self.a4, x4)
        if c4 is MISS:
            if keep is None:
                keep = []
            c4 = self.a4.convert(x4, keep)
        c5 = fast(self.a5, x5)
        if c5 is MISS:
            if keep is None:
                keep = []
            c5 = self.a5.convert(x5, keep)
        c6 = fast(self.a6, x6)
        if c6 is MISS:
            if keep is None:
                keep = []
            c6 = self.a6.convert(x6, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2, c3, c4, c5, c6)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


class Call8:
    # A compiled caller of 8 arguments. No docstring and no
    # base class: each instance has its own ``__doc__`` (the declared function's).

    f: Any
    watch: list[bool]
    raise_pending: Any
    raw: bool
    result: Any
    # the attributes of a declared function (see koffi_typed.functions.Function)
    info: Any
    address: int
    async_: Any
    acall: Any
    explain: Any
    __koffi_function__: Any
    __name__: str
    __qualname__: str
    __doc__: str | None
    __signature__: Any
    __wrapped__: Any
    params: list[str]
    a0: Arg
    a1: Arg
    a2: Arg
    a3: Arg
    a4: Arg
    a5: Arg
    a6: Arg
    a7: Arg

    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,
                 result: Any, args: list[Arg]) -> None:
        self.f = f
        self.watch = watch
        self.raise_pending = raise_pending
        self.raw = raw
        self.result = result
        self.info = None
        self.address = 0
        self.async_ = None
        self.acall = None
        self.explain = None
        self.__koffi_function__ = None
        self.__name__ = ""
        self.__qualname__ = ""
        self.__doc__ = None
        self.__signature__ = None
        self.__wrapped__ = None
        self.params = [f"a{i}" for i in range(len(args))]
        self.a0 = args[0]
        self.a1 = args[1]
        self.a2 = args[2]
        self.a3 = args[3]
        self.a4 = args[4]
        self.a5 = args[5]
        self.a6 = args[6]
        self.a7 = args[7]

    def __repr__(self) -> str:
        return describe(self)

    def __call__(self,
                 x0: object = ABSENT,
                 x1: object = ABSENT,
                 x2: object = ABSENT,
                 x3: object = ABSENT,
                 x4: object = ABSENT,
                 x5: object = ABSENT,
                 x6: object = ABSENT,
                 x7: object = ABSENT,
                 x8: object = ABSENT, /) -> object:
        if x0 is ABSENT or x1 is ABSENT or x2 is ABSENT or x3 is ABSENT or x4 is ABSENT or x5 is ABSENT or x6 is ABSENT or x7 is ABSENT or x8 is not ABSENT:
            raise arity_error(self.__name__, self.params,
                              [x0, x1, x2, x3, x4, x5, x6, x7, x8])
        keep: list[object] | None = None
        c0 = fast(self.a0, x0)
        if c0 is MISS:
            if keep is None:
                keep = []
            c0 = self.a0.convert(x0, keep)
        c1 = fast(self.a1, x1)
        if c1 is MISS:
            if keep is None:
                keep = []
            c1 = self.a1.convert(x1, keep)
        c2 = fast(self.a2, x2)
        if c2 is MISS:
            if keep is None:
                keep = []
            c2 = self.a2.convert(x2, keep)
        c3 = fast(self.a3, x3)
        if c3 is MISS:
            if keep is None:
                keep = []
            c3 = self.a3.convert(x3, keep)
        c4 = fast(self.a4, x4)
        if c4 is MISS:
            if keep is None:
                keep = []
            c4 = self.a4.convert(x4, keep)
        c5 = fast(self.a5, x5)
        if c5 is MISS:
            if keep is None:
                keep = []
            c5 = self.a5.convert(x5, keep)
        c6 = fast(self.a6, x6)
        if c6 is MISS:
            if keep is None:
                keep = []
            c6 = self.a6.convert(x6, keep)
        c7 = fast(self.a7, x7)
        if c7 is MISS:
            if keep is None:
                keep = []
            c7 = self.a7.convert(x7, keep)
        f = self.f  # a reference of the call's own (see the module docstring)
        r = f(c0, c1, c2, c3, c4, c5, c6, c7)
        if keep is not None:
            keep.clear()  # the call's temporaries lived until here
        if self.watch:
            self.raise_pending()
        if self.raw:
            return r
        return self.result(r)


_CLASSES: Final[list[Any]] = [Call0, Call1, Call2, Call3, Call4, Call5, Call6, Call7, Call8]


def make_caller(f: Any, watch: list[bool], raise_pending: Any, raw: bool, result: Any,
                args: list[Arg]) -> Any:
    """The compiled caller of ``len(args)`` (at most `MAX_ARITY`) arguments."""
    return _CLASSES[len(args)](f, watch, raise_pending, raw, result, args)
