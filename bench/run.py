"""Benchmarks: koffi_typed (compiled and pure) against idiomatic ctypes and cffi ABI mode.

    python bench/run.py            # full table (about a minute)
    python bench/run.py --quick    # fewer repeats

Every case runs in the same process for ctypes, cffi and the installed koffi_typed, with the
implementations interleaved repeat by repeat. The pure-Python koffi_typed runs the same cases
in a child process (``--pure``, importing the source tree) interleaved with its own ctypes
baseline, so each build's ratio is taken against ctypes in the same process. The table shows
the median ns per call, the ratio to ctypes, the issue #15 target for that ratio and whether
the compiled build meets it (PASS/MISS) and the pure build stays within 1.3x of it. Cases
that ctypes gets wrong show ctypes' answer.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Case = dict[str, Callable[[], object]]


def build_library() -> Path:
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    out = Path(tempfile.gettempdir()) / f"koffi_bench_{os.getuid()}.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(HERE / "bench.c")],
                   check=True)
    return out


def koffi_cases(path: Path) -> Case:
    import koffi_typed as koffi
    libc = koffi.load(ctypes.util.find_library("c"))
    libm = koffi.load(ctypes.util.find_library("m"))
    lib = koffi.load(path)
    S = koffi.struct("BS", {"a": "int", "b": "double"})
    B48 = koffi.struct("BB48", {"a": "int64_t", "b": "int64_t", "c": "int64_t",
                                "d": "double", "e": "double", "f": "double"})
    U = koffi.union("BU", {"d": "double", "i": "int64_t"})
    Rec = koffi.struct("BRec", {"id": "int32_t", "x": "float", "y": "double"})
    abs_ = libc.func("int abs(int x)")
    abs_held = libc.func("int abs(int x)", release_gil=False)
    sum6 = lib.func("int sum6(int a, int b, int c, int d, int e, int f)")
    cos = libm.func("double cos(double x)")
    strlen = libc.func("size_t strlen(const char *s)")
    add_s = lib.func("BS add_s(BS s)")
    fill48 = lib.func("void fill48(_Out_ BB48 *out)")
    take_u = lib.func("int64_t take_u(BU u)")
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, BCmp *cmp)") \
        if koffi.proto("int BCmp(const void *a, const void *b)") else None
    snprintf = libc.func("int snprintf(char *buf, size_t size, const char *fmt, ...)")
    koffi.struct("BVec2", {"x": "double", "y": "double"})
    call_vec2 = lib.func("double call_vec2_n(BVec2 (*f)(BVec2 v, void *data), int n)")
    fill_recs = lib.func("void fill_recs(BRec *recs, int n)")
    s, out, u = S(1, 2.5), B48(), U(i=123456789)
    recs = koffi.alloc(Rec, 10_000)
    fill_recs(recs, 10_000)
    ints = array.array("i", range(1000, 0, -1))
    buf = bytearray(64)
    decode = koffi.decode

    def cmp(a: object, b: object) -> int:
        x, y = decode(a, "int"), decode(b, "int")
        return (x > y) - (x < y)

    def same(v: Any, data: Any) -> Any:
        return v

    return {
        "abs(int)": lambda: abs_(-5),
        "abs(int), GIL held": lambda: abs_held(-5),
        "sum6(6 ints)": lambda: sum6(1, 2, 3, 4, 5, 6),
        "cos(double)": lambda: cos(0.5),
        "strlen(str)": lambda: strlen("hello world"),
        "{int;double} by value in+out": lambda: add_s(s),
        "48-byte record _Out_": lambda: fill48(out),
        "union by value": lambda: take_u(u),
        "qsort 1000 ints": lambda: qsort(array.array("i", ints), 1000, 4, cmp),
        "decode 10000 records": lambda: decode(recs, Rec, 10_000),
        "snprintf variadic": lambda: snprintf(buf, 64, "%d %s", "int", 5, "str", "five"),
        "Vec2-returning callback x100": lambda: call_vec2(same, 100),
    }


def ctypes_cases(path: Path) -> Case:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    lib = ctypes.CDLL(str(path))

    class S(ctypes.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]

    class B48(ctypes.Structure):
        _fields_ = [(n, ctypes.c_int64) for n in "abc"] + [(n, ctypes.c_double) for n in "def"]

    class U(ctypes.Union):
        _fields_ = [("d", ctypes.c_double), ("i", ctypes.c_int64)]

    class Rec(ctypes.Structure):
        _fields_ = [("id", ctypes.c_int32), ("x", ctypes.c_float), ("y", ctypes.c_double)]

    def declare(func: ctypes._CFuncPtr, res: object, args: list[object]) -> ctypes._CFuncPtr:
        func.restype, func.argtypes = res, args
        return func

    abs_ = declare(libc.abs, ctypes.c_int, [ctypes.c_int])
    sum6 = declare(lib.sum6, ctypes.c_int, [ctypes.c_int] * 6)
    cos = declare(libm.cos, ctypes.c_double, [ctypes.c_double])
    strlen = declare(libc.strlen, ctypes.c_size_t, [ctypes.c_char_p])
    add_s = declare(lib.add_s, S, [S])
    fill48 = declare(lib.fill48, None, [ctypes.POINTER(B48)])
    take_u = declare(lib.take_u, ctypes.c_int64, [U])
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    qsort = declare(libc.qsort, None, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMP])
    snprintf = libc.snprintf
    snprintf.restype = ctypes.c_int
    fill_recs = declare(lib.fill_recs, None, [ctypes.POINTER(Rec), ctypes.c_int])
    s, out = S(1, 2.5), B48()
    u = U()
    u.i = 123456789
    recs = (Rec * 10_000)()
    fill_recs(recs, 10_000)
    ints = array.array("i", range(1000, 0, -1))
    buf = ctypes.create_string_buffer(64)
    cmp = CMP(lambda a, b: (a[0] > b[0]) - (a[0] < b[0]))

    def sort() -> None:
        data = (ctypes.c_int * 1000)(*ints)
        qsort(data, 1000, 4, cmp)

    return {
        "abs(int)": lambda: abs_(-5),
        "abs(int), GIL held": lambda: abs_(-5),  # the target compares with the usual call
        "sum6(6 ints)": lambda: sum6(1, 2, 3, 4, 5, 6),
        "cos(double)": lambda: cos(0.5),
        "strlen(str)": lambda: strlen(b"hello world"),
        "{int;double} by value in+out": lambda: add_s(s),
        "48-byte record _Out_": lambda: fill48(ctypes.byref(out)),
        "union by value": lambda: take_u(u),
        "qsort 1000 ints": sort,
        "decode 10000 records": lambda: [(r.id, r.x, r.y) for r in recs],
        "snprintf variadic": lambda: snprintf(buf, 64, b"%d %s", 5, b"five"),
    }


def cffi_cases(path: Path) -> Case:
    try:
        import cffi
    except ImportError:
        return {}
    ffi = cffi.FFI()
    ffi.cdef("""
        int abs(int); double cos(double); size_t strlen(const char *);
        typedef struct { int a; double b; } S;
        typedef struct { int64_t a, b, c; double d, e, f; } B48;
        typedef struct { int32_t id; float x; double y; } Rec;
        int sum6(int, int, int, int, int, int); S add_s(S); void fill48(B48 *);
        void fill_recs(Rec *, int);
        void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
        int snprintf(char *, size_t, const char *, ...);
        typedef struct { double x, y; } Vec2;
        double call_vec2_n(Vec2 (*)(Vec2, void *), int);
    """)
    libc = ffi.dlopen(None)
    libm = ffi.dlopen(ctypes.util.find_library("m"))
    lib = ffi.dlopen(str(path))
    abs_, cos, strlen, sum6 = libc.abs, libm.cos, libc.strlen, lib.sum6
    add_s, fill48, qsort, snprintf = lib.add_s, lib.fill48, libc.qsort, libc.snprintf
    s = ffi.new("S *", [1, 2.5])[0]
    out = ffi.new("B48 *")
    recs = ffi.new("Rec[]", 10_000)
    lib.fill_recs(recs, 10_000)
    ints = list(range(1000, 0, -1))
    buf = ffi.new("char[]", 64)

    @ffi.callback("int(const void *, const void *)")
    def cmp(a: object, b: object) -> int:
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    @ffi.callback("Vec2(Vec2, void *)")
    def same(v: object, data: object) -> object:
        return v

    return {
        "abs(int)": lambda: abs_(-5),
        "sum6(6 ints)": lambda: sum6(1, 2, 3, 4, 5, 6),
        "cos(double)": lambda: cos(0.5),
        "strlen(str)": lambda: strlen(b"hello world"),
        "{int;double} by value in+out": lambda: add_s(s),
        "48-byte record _Out_": lambda: fill48(out),
        "qsort 1000 ints": lambda: qsort(ffi.new("int[]", ints), 1000, 4, cmp),
        "decode 10000 records": lambda: [(r.id, r.x, r.y) for r in recs],
        "snprintf variadic": lambda: snprintf(buf, 64, b"%d %s", ffi.cast("int", 5),
                                              ffi.new("char[]", b"five")),
        "Vec2-returning callback x100": lambda: lib.call_vec2_n(same, 100),
    }


def timing(fn: Callable[[], object], target: float = 0.05) -> float:
    """ns per call: calibrate a loop of about ``target`` seconds, time it once."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target / 4 or n >= 1 << 24:
            break
        n *= 4
    count = max(1, int(n * target / max(elapsed, 1e-9)))
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count * 1e9


def measure(impls: dict[str, Case], repeats: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in impls}
    cases = list(dict.fromkeys(case for table in impls.values() for case in table))
    for _ in range(repeats):
        for case in cases:
            for name, table in impls.items():
                if case in table:
                    samples[name].setdefault(case, []).append(timing(table[case]))
    return {k: {c: statistics.median(v) for c, v in t.items()} for k, t in samples.items()}


#: Issue #15's targets for the ratio to idiomatic ctypes (compiled build); ``None``: report.
TARGETS: dict[str, float | None] = {
    "abs(int)": 0.90, "abs(int), GIL held": 0.75, "sum6(6 ints)": 0.50, "cos(double)": None,
    "strlen(str)": None,
    "{int;double} by value in+out": 1.00, "48-byte record _Out_": 1.00,
    "union by value": 1.00, "qsort 1000 ints": 1.20, "decode 10000 records": 0.50,
    "snprintf variadic": 2.00, "Vec2-returning callback x100": None,
}
PURE_SLACK = 1.3  # the pure build may be this much slower than the target


def pure_results(path: Path, repeats: int) -> dict[str, dict[str, float]]:
    """The pure build's and ctypes' medians, measured interleaved in one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KOFFI_TYPED_BENCH_CHILD": "1"}
    out = subprocess.run([sys.executable, __file__, "--pure", str(path), str(repeats)],
                         env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def verdict(ratio: float | None, target: float | None, slack: float = 1.0) -> str:
    if ratio is None or target is None:
        return "-"
    return "PASS" if ratio <= target * slack else "MISS"


def ctypes_union_answer(path: Path) -> str:
    """What plain ctypes returns for take_u(U(i=123456789)) (C returns 123456789)."""
    code = ("import ctypes,sys\nclass U(ctypes.Union):\n _fields_=[('d',ctypes.c_double),"
            "('i',ctypes.c_int64)]\nf=ctypes.CDLL(sys.argv[1]).take_u\n"
            "f.restype=ctypes.c_int64\nf.argtypes=[U]\nu=U()\nu.i=123456789\nprint(f(u))")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True)
    return result.stdout.strip() if result.returncode == 0 else f"crash ({result.returncode})"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pure"]:
        import koffi_typed
        assert not koffi_typed.compiled, "the --pure child must import the source tree"
        path = Path(argv[1])
        print(json.dumps(measure({"ctypes": ctypes_cases(path), "pure": koffi_cases(path)},
                                 int(argv[2]))))
        return 0
    repeats = 3 if "--quick" in argv else 7
    path = build_library()
    import koffi_typed
    impls = {"ctypes": ctypes_cases(path), "koffi": koffi_cases(path),
             "cffi": cffi_cases(path)}
    results = measure(impls, repeats)
    child = pure_results(path, max(3, repeats // 2))
    print(f"koffi_typed {koffi_typed.version} ({'compiled' if koffi_typed.compiled else 'PURE'})"
          f", Python {sys.version.split()[0]}, median of {repeats} interleaved repeats, "
          "ns per call (ratio to ctypes in the same process)\n")
    header = (f"{'case':30s} {'ctypes':>9s} {'koffi':>15s} {'koffi pure':>15s} "
              f"{'cffi ABI':>15s} {'target':>6s} {'koffi':>5s} {'pure':>5s}")
    print(header)
    print("-" * len(header))
    for case in impls["koffi"]:
        base = results["ctypes"].get(case)

        def cell(value: float | None, base: float | None) -> tuple[str, float | None]:
            if value is None:
                return f"{'-':>15s}", None
            ratio = value / base if base else None
            shown = f" ({ratio:.2f})" if ratio is not None else ""
            return f"{value:9.0f}{shown:>6s}", ratio

        koffi, kr = cell(results["koffi"].get(case), base)
        pure, pr = cell(child["pure"].get(case), child["ctypes"].get(case))
        cffi, _ = cell(results["cffi"].get(case), base)
        target = TARGETS.get(case)
        shown_target = f"{target:.2f}" if target is not None else "report"
        shown_base = f"{base:9.0f}" if base else f"{'-':>9s}"
        print(f"{case:30s} {shown_base} {koffi} {pure} {cffi} {shown_target:>6s} "
              f"{verdict(kr, target):>5s} {verdict(pr, target, PURE_SLACK):>5s}")
    print(f"\nunion {{double; int64_t}} by value: C returns 123456789, koffi_typed "
          f"{impls['koffi']['union by value']()}, plain ctypes {ctypes_union_answer(path)}; "
          "cffi refuses unions by value in ABI mode")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
