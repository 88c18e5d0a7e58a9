"""Does compiling user code with Nuitka change koffi_typed's per-call cost?

    python bench/nuitka.py             # CPython vs this script compiled by Nuitka (~1 min)
    python bench/nuitka.py --follow    # also a build that compiles koffi_typed too (slow)
    python bench/nuitka.py --quick     # fewer rounds

The same cases run in three kinds of process: this script under CPython, this script compiled
by Nuitka (user code in C, koffi_typed imported as installed, its mypyc modules included),
and, with ``--follow``, a Nuitka build of this script and koffi_typed's Python modules
(``--follow-import-to=koffi_typed``). Each process times idiomatic ctypes and koffi_typed
interleaved, so every build has its own ctypes baseline; the processes alternate round by
round and the table shows medians: ns per call, and koffi_typed's ratio to ctypes in the
same process. Needs Nuitka (``pip install nuitka``) and a C compiler; builds go to
``build/bench-nuitka``.
"""

from __future__ import annotations

import array
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Case = dict[str, Callable[[], object]]
QSORT_N = 200


def koffi_cases(path: str) -> tuple[Case, int]:
    """The koffi_typed cases, and how many comparator calls one qsort makes."""
    import koffi_typed as koffi

    libc, lib = koffi.load(None), koffi.load(path)
    S = koffi.struct("NBS", {"a": "int", "b": "double"})
    B48 = koffi.struct("NBB48", {"a": "int64_t", "b": "int64_t", "c": "int64_t",
                                 "d": "double", "e": "double", "f": "double"})
    koffi.proto("int NBCmp(const void *a, const void *b)")
    abs_ = libc.func("int abs(int x)")
    add_s = lib.func("NBS add_s(NBS s)")
    fill48 = lib.func("void fill48(_Out_ NBB48 *out)")
    qsort = libc.func("void qsort(_Inout_ void *base, size_t n, size_t size, NBCmp *cmp)")
    snprintf = libc.func("int snprintf(char *buf, size_t size, const char *fmt, ...)")
    s, out, buf = S(1, 2.5), B48(), bytearray(64)
    ints = array.array("i", range(QSORT_N, 0, -1))
    decode = koffi.decode
    calls = [0]

    def cmp(a: koffi.Pointer[None], b: koffi.Pointer[None]) -> int:
        x, y = decode(a, "int"), decode(b, "int")
        return (x > y) - (x < y)

    def counting(a: koffi.Pointer[None], b: koffi.Pointer[None]) -> int:
        calls[0] += 1
        return cmp(a, b)

    qsort(array.array("i", ints), QSORT_N, 4, counting)
    assert abs_(-5) == 5 and add_s(s) == S(2, 5.0)
    return {
        "abs(int)": lambda: abs_(-5),
        "{int;double} by value in+out": lambda: add_s(s),
        "48-byte record _Out_": lambda: fill48(out),
        "qsort comparator, per call": lambda: qsort(array.array("i", ints), QSORT_N, 4, cmp),
        "snprintf variadic": lambda: snprintf(buf, 64, "%d %s", "int", 5, "str", "five"),
    }, calls[0]


def ctypes_cases(path: str) -> Case:
    libc, lib = ctypes.CDLL(None), ctypes.CDLL(path)

    class S(ctypes.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]

    class B48(ctypes.Structure):
        _fields_ = [(n, ctypes.c_int64) for n in "abc"] + [(n, ctypes.c_double) for n in "def"]

    abs_, add_s, fill48, qsort, snprintf = (libc.abs, lib.add_s, lib.fill48, libc.qsort,
                                            libc.snprintf)
    abs_.restype, abs_.argtypes = ctypes.c_int, [ctypes.c_int]
    add_s.restype, add_s.argtypes = S, [S]
    fill48.restype, fill48.argtypes = None, [ctypes.POINTER(B48)]
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    qsort.restype = None
    qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMP]
    snprintf.restype = ctypes.c_int
    s, out, buf = S(1, 2.5), B48(), ctypes.create_string_buffer(64)
    ints = list(range(QSORT_N, 0, -1))
    cmp = CMP(lambda a, b: (a[0] > b[0]) - (a[0] < b[0]))

    def sort() -> None:
        qsort((ctypes.c_int * QSORT_N)(*ints), QSORT_N, 4, cmp)

    return {
        "abs(int)": lambda: abs_(-5),
        "{int;double} by value in+out": lambda: add_s(s),
        "48-byte record _Out_": lambda: fill48(ctypes.byref(out)),
        "qsort comparator, per call": sort,
        "snprintf variadic": lambda: snprintf(buf, 64, b"%d %s", 5, b"five"),
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


def measure(path: str, repeats: int) -> dict[str, dict[str, float]]:
    """Median ns per call of each case, ctypes and koffi_typed interleaved in this process."""
    import koffi_typed

    koffi, comparisons = koffi_cases(path)
    impls = {"ctypes": ctypes_cases(path), "koffi": koffi}
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in impls}
    for _ in range(repeats):
        for case in koffi:
            for name, table in impls.items():
                samples[name].setdefault(case, []).append(timing(table[case]))
    result = {k: {c: statistics.median(v) for c, v in t.items()} for k, t in samples.items()}
    for table in result.values():
        table["qsort comparator, per call"] /= comparisons
    env: dict[str, object] = {}
    exec("def generated(x):\n    return x\n", env)  # as koffi_typed writes its callers
    generated = env["generated"]
    result["info"] = {"compiled": float(koffi_typed.compiled),
                      "nuitka": float("__compiled__" in globals()),
                      "generated": statistics.median(
                          timing(lambda: generated(-5)) for _ in range(repeats))}  # type: ignore[operator]
    return result


def nuitka_build(root: Path, name: str, options: list[str]) -> Path:
    """Compile this script with Nuitka into ``root/name``; the binary's path."""
    out = root / name
    source = out / "nuitka_bench.py"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, source)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nuitka", *options, "--remove-output",
                    "--assume-yes-for-downloads", "--no-prefer-source-code", "--quiet",
                    f"--output-dir={out}", str(source)], check=True, cwd=out,
                   env={**os.environ, "NUITKA_CACHE_DIR": str(root / "cache")})
    print(f"built {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return out / "nuitka_bench.bin"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--cases"]:
        print(json.dumps(measure(argv[1], int(argv[2]))))
        return 0
    here = Path(__file__).resolve().parent
    root = here.parent / "build" / "bench-nuitka"
    root.mkdir(parents=True, exist_ok=True)
    library = root / "libbench.so"
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(library), str(here / "bench.c")],
                   check=True)
    runs = {"CPython": [sys.executable, __file__],
            "Nuitka (app)": [str(nuitka_build(root, "app", ["--nofollow-imports"]))]}
    if "--follow" in argv:
        runs["Nuitka (app + koffi_typed)"] = [
            str(nuitka_build(root, "follow", ["--follow-import-to=koffi_typed"]))]
    rounds, repeats = (2, 3) if "--quick" in argv else (3, 5)
    results: dict[str, list[dict[str, dict[str, float]]]] = {k: [] for k in runs}
    for _ in range(rounds):
        for name, command in runs.items():
            done = subprocess.run([*command, "--cases", str(library), str(repeats)],
                                  check=True, capture_output=True, text=True)
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    import koffi_typed

    print(f"koffi_typed {koffi_typed.version} "
          f"({'compiled' if koffi_typed.compiled else 'PURE'}), Python "
          f"{sys.version.split()[0]}, {rounds} rounds x median of {repeats} repeats; "
          "ns per call (koffi_typed / ctypes in the same process)\n")
    for name, samples in results.items():
        info = samples[0]["info"]
        assert info["compiled"] == koffi_typed.compiled, f"{name}: another koffi_typed build"
        assert info["nuitka"] == (name != "CPython"), f"{name}: not the expected kind of build"
    header = f"{'case':30s}" + "".join(f" {name:>28s}" for name in runs)
    print(header)
    print("-" * len(header))
    for case in results["CPython"][0]["koffi"]:
        cells = []
        for samples in results.values():
            ct = statistics.median(s["ctypes"][case] for s in samples)
            ko = statistics.median(s["koffi"][case] for s in samples)
            cells.append(f"{ct:8.0f} {ko:8.0f} ({ko / ct:.2f})")
        print(f"{case:30s}" + "".join(f" {cell:>28s}" for cell in cells))
    print("\ncolumns: ctypes ns, koffi_typed ns (ratio)")
    print("calling a one-line function made by exec (as koffi_typed makes its callers), ns: "
          + ", ".join(f"{name} {statistics.median(s['info']['generated'] for s in samples):.0f}"
                      for name, samples in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
