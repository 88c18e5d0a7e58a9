"""Writes koffi_typed/_callers.py: the compiled ``Call<n>`` classes, one per arity, spelled
out (mypyc compiles fixed-arity ``__call__`` methods much faster than ``*args``).

    python tools/gen_callers.py           # regenerate
    python tools/gen_callers.py --check   # fail if the module is stale (tests do this)
"""

import sys
from pathlib import Path

HEAD = '''"""Compiled callers: simple signatures called without a Python frame (mypyc).

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
            if "\\0" in s:
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
'''

ATTRS = """    f: Any
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
"""
INIT = """        self.f = f
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
"""


def call_class(n):
    # n + 1 optional positional parameters: a missing argument or an extra one gets
    # Python's own message naming the function, not mypyc's (more parameters would cost
    # every call; two extra arguments and more get mypyc's message)
    params = ",\n                 ".join(f"x{i}: object = ABSENT" for i in range(n + 1))
    sig = f"self,\n                 {params}, /"
    lines = [f"class Call{n}:",
             f"    # A compiled caller of {n} argument{'s' if n != 1 else ''}. No docstring and no",
             "    # base class: each instance has its own ``__doc__`` (the declared function's).",
             ""]
    lines.append(ATTRS.rstrip("\n"))
    for i in range(n):
        lines.append(f"    a{i}: Arg")
    lines.append("")
    lines.append("    def __init__(self, f: Any, watch: list[bool], raise_pending: Any, raw: bool,")
    lines.append("                 result: Any, args: list[Arg]) -> None:")
    lines.append(INIT.rstrip("\n"))
    for i in range(n):
        lines.append(f"        self.a{i} = args[{i}]")
    lines.append("")
    lines.append("    def __repr__(self) -> str:")
    lines.append("        return describe(self)")
    lines.append("")
    lines.append(f"    def __call__({sig}) -> object:")
    check = " or ".join([f"x{i} is ABSENT" for i in range(n)] + [f"x{n} is not ABSENT"])
    lines += [f"        if {check}:",
              "            raise arity_error(self.__name__, self.params,",
              "                              [" + ", ".join(f"x{i}" for i in range(n + 1)) + "])"]
    if n:
        lines.append("        keep: list[object] | None = None")
    for i in range(n):
        lines += [f"        c{i} = fast(self.a{i}, x{i})",
                  f"        if c{i} is MISS:",
                  "            if keep is None:",
                  "                keep = []",
                  f"            c{i} = self.a{i}.convert(x{i}, keep)"]
    args = ", ".join(f"c{i}" for i in range(n))
    lines += ["        f = self.f  # a reference of the call's own (see the module docstring)",
              f"        r = f({args})"]
    if n:
        lines += ["        if keep is not None:",
                  "            keep.clear()  # the call's temporaries lived until here"]
    lines += ["        if self.watch:",
              "            self.raise_pending()",
              "        if self.raw:",
              "            return r",
              "        return self.result(r)"]
    return "\n".join(lines)


body = HEAD + "\n\n" + "\n\n\n".join(call_class(n) for n in range(9)) + '''


_CLASSES: Final[list[Any]] = [Call0, Call1, Call2, Call3, Call4, Call5, Call6, Call7, Call8]


def make_caller(f: Any, watch: list[bool], raise_pending: Any, raw: bool, result: Any,
                args: list[Arg]) -> Any:
    """The compiled caller of ``len(args)`` (at most `MAX_ARITY`) arguments."""
    return _CLASSES[len(args)](f, watch, raise_pending, raw, result, args)
'''


def main() -> None:
    target = Path(__file__).resolve().parent.parent / "koffi_typed" / "_callers.py"
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if target.read_text() == body else "koffi_typed/_callers.py is stale: "
                 "run python tools/gen_callers.py")
    target.write_text(body)


if __name__ == "__main__":
    main()
