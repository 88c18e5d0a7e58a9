"""What bounds koffi_typed's per-call cost: the pieces of each benchmark case, timed alone.

    python bench/floors.py

koffi_typed calls C through a ctypes function pointer without ``argtypes`` and converts in
generated Python code. Each row below times one building block that a case cannot avoid on
that route (the bare call, one Python frame, one ctypes wrapper object, one new record or
`Pointer` instance), next to idiomatic ctypes doing the whole case. Summing a case's blocks
gives the lowest time that design can reach, hence the best ratio to ctypes it allows.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import struct
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import build_library

from koffi_typed import _callers
from koffi_typed.callplan import function_type


def ns(stmt: str, env: dict[str, object], number: int = 200_000) -> float:
    """Best-of-7 ns per execution of ``stmt``."""
    return min(timeit.repeat(stmt, globals=env, number=number, repeat=7)) / number * 1e9


def main() -> int:
    path = build_library()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    lib = ctypes.CDLL(str(path))

    def bare(func: object, restype: object, release_gil: bool = True) -> object:
        """A function pointer as koffi_typed builds it: no argtypes, errno captured."""
        address = ctypes.cast(func, ctypes.c_void_p).value
        return function_type(restype, release_gil)(address)

    class S(ctypes.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]

    class Words(ctypes.Structure):  # the eightbytes of S, as koffi_typed receives them
        _fields_ = [("w0", ctypes.c_uint64), ("w1", ctypes.c_double)]

    class Rec:
        __slots__ = ("__koffi_keep__", "a", "b", "c", "d", "e", "f")

    class Pointer:
        __slots__ = ("address", "block", "type")

    abs_idiomatic = libc.abs
    abs_idiomatic.argtypes, abs_idiomatic.restype = [ctypes.c_int], ctypes.c_int
    sum6_idiomatic = lib.sum6
    sum6_idiomatic.argtypes, sum6_idiomatic.restype = [ctypes.c_int] * 6, ctypes.c_int
    add_idiomatic = lib.add_s
    add_idiomatic.argtypes, add_idiomatic.restype = [S], S
    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    qsort = libc.qsort
    qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, cmp_type]
    calls = [0]

    def count(a: int, b: int) -> int:
        calls[0] += 1
        return 0

    counter = cmp_type(count)
    qsort((ctypes.c_int * 1000)(), 1000, 4, counter)

    def frame(x: int) -> int:
        return x

    env: dict[str, object] = {
        "abs_idiomatic": abs_idiomatic, "abs_bare": bare(libc.abs, ctypes.c_int),
        "sum6_idiomatic": sum6_idiomatic, "sum6_bare": bare(lib.sum6, ctypes.c_int),
        "add_idiomatic": add_idiomatic, "add_bare": bare(lib.add_s, Words), "s": S(1, 2.5),
        "frame": frame, "c_double": ctypes.c_double, "x": -5, "new": object.__new__,
        "Rec": Rec, "Pointer": Pointer, "B48": ctypes.c_char * 48,
        "unpack48": struct.Struct("<qqqddd").unpack_from, "r": Words(),
        "unpack16": struct.Struct("<i4xd").unpack_from, "qsort": qsort,
        "zero_cmp": cmp_type(lambda a, b: 0), "array": array.array, "ints": bytes(4000),
        "c_int_array": ctypes.c_int * 1000,
        "fill48_bare": bare(lib.fill48, None), "buffer48": (ctypes.c_char * 48)(),
        "take_u_bare": bare(lib.take_u, ctypes.c_int64), "c_uint64": ctypes.c_uint64,
        "abs_held": bare(libc.abs, ctypes.c_int, release_gil=False),
        "snprintf_bare": bare(libc.snprintf, ctypes.c_int), "sbuf": bytearray(64),
        "byref": ctypes.byref, "char_at": ctypes.c_char.from_buffer,
        "view_u": ctypes.c_uint64.from_buffer(bytearray(8)),
    }
    # a compiled caller with an int's range check, nothing else: the cost of the object
    checked = _callers.Arg(_callers.ARG_INT, None, lo=-(1 << 31), hi=(1 << 31) - 1)
    env["abs_forward"] = _callers.make_caller(env["abs_bare"], [], None, True, None, [checked])
    env["variadic_entry"] = _variadic_entry(env["snprintf_bare"])
    rows = [
        ("abs: idiomatic ctypes (argtypes)", "abs_idiomatic(x)"),
        ("abs: bare call (no argtypes, use_errno)", "abs_bare(x)"),
        ("abs: bare call, GIL held (PYTHONAPI flag)", "abs_held(x)"),
        ("abs: a compiled caller, int check only (mypyc build)", "abs_forward(x)"),
        ("one Python frame (the generated caller)", "frame(x)"),
        ("int type and range check", "type(x) is int and -2147483648 <= x <= 2147483647"),
        ("sum6: idiomatic ctypes", "sum6_idiomatic(1, 2, 3, 4, 5, 6)"),
        ("sum6: bare call", "sum6_bare(1, 2, 3, 4, 5, 6)"),
        ("c_double(x): the wrapper a double needs", "c_double(0.5)"),
        ("{int;double}: idiomatic (prebuilt Structure)", "add_idiomatic(s)"),
        ("{int;double}: bare call, eightbytes in and out", "add_bare(1, c_double(2.5))"),
        ("new record instance + 2 members from the result", "o = new(Rec); o.a, o.b = unpack16(r)"),
        ("_Out_ 48 bytes: bare call with a C buffer", "fill48_bare(buffer48)"),
        ("_Out_ 48 bytes: fresh zeroed C buffer", "B48()"),
        ("_Out_ 48 bytes: 6 members from the buffer", "o.a, o.b, o.c, o.d, o.e, o.f = unpack48(b)"),
        ("union: bare call with its eightbyte as c_uint64", "take_u_bare(c_uint64(5))"),
        ("union: bare call with a view of its bytes", "take_u_bare(view_u)"),
        ("snprintf: bare call, C-ready arguments",
         'snprintf_bare(byref(char_at(sbuf)), 64, b"%d %s", 5, b"five")'),
        ("snprintf: the variadic entry alone (frame, key, star call)",
         'variadic_entry(sbuf, 64, "%d %s", "int", 5, "str", "five")'),
        ("decode: one new record instance (per record)", "new(Rec)"),
        ("qsort: one Pointer for a callback argument", "p = new(Pointer); p.address = 1; "
         "p.type = None; p.block = None"),
    ]
    env["o"], env["b"] = Rec(), (ctypes.c_char * 48)()
    print(f"Python {sys.version.split()[0]}; best of 7, ns per execution\n")
    for label, stmt in rows:
        print(f"{label:52s} {ns(stmt, env):8.0f}")
    per_sort = ns("qsort(c_int_array(), 1000, 4, zero_cmp)", env, 50) / calls[0]
    print(f"{'qsort: one bare callback call (c_void_p args)':52s} {per_sort:8.0f}")
    return 0


def _variadic_entry(target: object) -> object:
    """What koffi_typed's variadic entry does before the planned caller: split the
    type/value pairs, look the caller up by the types, call it with the values."""
    cache = {("int", "str"): lambda *args: None}

    def entry(buf: object, n: object, fmt: object, /, *pairs: object) -> object:
        if not len(pairs) & 1:
            caller = cache[pairs[::2]]
            return caller(buf, n, fmt, *pairs[1::2])
        return target

    return entry


if __name__ == "__main__":
    sys.exit(main())
