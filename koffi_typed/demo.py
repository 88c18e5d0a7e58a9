"""``python -m koffi_typed demo``: koffi_typed at work on real C (libc), printed step by step.

It declares libc's ``struct tm``, ``struct timeval``, ``struct timespec`` and ``struct stat``
as annotated classes, checks their layouts against the C compiler, calls libc, libm and zlib
with them (out-parameters, variadic calls, buffers, errno) and compares every result with
Python's own ``time``, ``os.stat``, ``math`` and ``zlib``.
"""

from __future__ import annotations

import ctypes.util
import errno as errno_module
import importlib.machinery
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Annotated, Any

import koffi_typed as koffi
from koffi_typed import c

__all__ = ["describe_build", "main"]


@koffi.struct(name="tm")
class Tm:
    """libc ``struct tm`` (glibc and musl)."""

    tm_sec: c.int = 0
    tm_min: c.int = 0
    tm_hour: c.int = 0
    tm_mday: c.int = 0
    tm_mon: c.int = 0
    tm_year: c.int = 0
    tm_wday: c.int = 0
    tm_yday: c.int = 0
    tm_isdst: c.int = 0
    tm_gmtoff: c.long = 0
    tm_zone: c.str = None


@koffi.struct(name="timeval")
class Timeval:
    """libc ``struct timeval``."""

    tv_sec: c.long = 0
    tv_usec: c.long = 0


@koffi.struct(name="timespec")
class Timespec:
    """libc ``struct timespec``."""

    tv_sec: c.long = 0
    tv_nsec: c.long = 0


def _stat_members() -> dict[str, object] | None:
    """Linux ``struct stat`` for the host (x86-64 and the generic 64-bit layout)."""
    host = koffi.abi.host()
    if host == "sysv_x64":
        return {"st_dev": "uint64_t", "st_ino": "uint64_t", "st_nlink": "uint64_t",
                "st_mode": "uint32_t", "st_uid": "uint32_t", "st_gid": "uint32_t",
                "_0": "int", "st_rdev": "uint64_t", "st_size": "int64_t",
                "st_blksize": "int64_t", "st_blocks": "int64_t", "st_atim": Timespec,
                "st_mtim": Timespec, "st_ctim": Timespec, "_1": "int64_t [3]"}
    if host in ("aarch64", "riscv64_lp64d", "loongarch64"):
        return {"st_dev": "uint64_t", "st_ino": "uint64_t", "st_mode": "uint32_t",
                "st_nlink": "uint32_t", "st_uid": "uint32_t", "st_gid": "uint32_t",
                "st_rdev": "uint64_t", "_0": "uint64_t", "st_size": "int64_t",
                "st_blksize": "int32_t", "_1": "int32_t", "st_blocks": "int64_t",
                "st_atim": Timespec, "st_mtim": Timespec, "st_ctim": Timespec,
                "_2": "int32_t [2]"}
    return None


_C_PROBE = r"""
#include <stdio.h>
#include <stddef.h>
#include <time.h>
#include <sys/time.h>
#include <sys/stat.h>
#define M(T, m) printf(" %s=%zu", #m, offsetof(T, m));
int main(void) {
    printf("tm %zu %zu", sizeof(struct tm), _Alignof(struct tm));
    M(struct tm, tm_sec) M(struct tm, tm_min) M(struct tm, tm_hour) M(struct tm, tm_mday)
    M(struct tm, tm_mon) M(struct tm, tm_year) M(struct tm, tm_wday) M(struct tm, tm_yday)
    M(struct tm, tm_isdst) M(struct tm, tm_gmtoff) M(struct tm, tm_zone)
    printf("\ntimeval %zu %zu", sizeof(struct timeval), _Alignof(struct timeval));
    M(struct timeval, tv_sec) M(struct timeval, tv_usec)
    printf("\ntimespec %zu %zu", sizeof(struct timespec), _Alignof(struct timespec));
    M(struct timespec, tv_sec) M(struct timespec, tv_nsec)
    printf("\nstat %zu %zu", sizeof(struct stat), _Alignof(struct stat));
    M(struct stat, st_dev) M(struct stat, st_ino) M(struct stat, st_nlink)
    M(struct stat, st_mode) M(struct stat, st_uid) M(struct stat, st_gid)
    M(struct stat, st_rdev) M(struct stat, st_size) M(struct stat, st_blksize)
    M(struct stat, st_blocks) M(struct stat, st_atim) M(struct stat, st_mtim)
    M(struct stat, st_ctim)
    printf("\n");
    return 0;
}
"""


def compiler_layouts() -> dict[str, tuple[int, int, dict[str, int]]] | None:
    """Size, alignment and member offsets of the libc records, as the C compiler sees them."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(_C_PROBE)
        subprocess.run([cc, "-o", exe, src], check=True, capture_output=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    layouts = {}
    for line in out.splitlines():
        name, size, align, *members = line.split()
        layouts[name] = (int(size), int(align),
                         {k: int(v) for k, v in (m.split("=") for m in members)})
    return layouts


def show_layout(cls: type, truth: tuple[int, int, dict[str, int]] | None) -> bool:
    """Print a record's layout next to the compiler's; return whether they agree."""
    t = koffi.type(cls)
    agree = truth is None or (t.size, t.alignment) == truth[:2]
    print(f"  {t.name}: size {t.size}, alignment {t.alignment}")
    for member in (t.members or {}).values():
        expected = None if truth is None else truth[2].get(member.name)
        if expected is not None and expected != member.offset:
            agree = False
        mark = "" if expected is None else ("  = cc" if expected == member.offset
                                            else f"  != cc ({expected})")
        print(f"    {member.offset:4d}  {member.type.name:<12} {member.name}{mark}")
    verdict = "no C compiler to check with" if truth is None else (
        "the C compiler agrees" if agree else "MISMATCH with the C compiler")
    print(f"    -> {verdict}")
    return agree


def call_libc(Stat: Any) -> bool:
    """Fill the records by calling libc through koffi_typed, compare with Python's stdlib."""
    libc = koffi.load(ctypes.util.find_library("c") or "libc.so.6")
    ok: bool = True

    gettimeofday = libc.func("int gettimeofday(_Out_ timeval *tv, void *tz)")
    tv = Timeval()
    gettimeofday(tv, None)
    now = time.time()
    close = abs(tv.tv_sec + tv.tv_usec / 1e6 - now) < 5
    ok &= close
    print(f"  gettimeofday(_Out_ timeval *) -> {tv}")
    print(f"    time.time() = {now:.6f}: {'agrees' if close else 'DIFFERS'}")

    localtime_r = libc.func("tm *localtime_r(const long *t, _Out_ tm *result)")
    tm = Tm()
    stamp = int(now)
    returned = localtime_r([stamp], tm)
    py = time.localtime(stamp)
    same = (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            tm.tm_zone) == (py.tm_year, py.tm_mon, py.tm_mday, py.tm_hour, py.tm_min,
                            py.tm_sec, py.tm_zone)
    ok &= same and returned is not None
    print(f"  localtime_r -> {tm}")
    print(f"    time.localtime agrees: {same}")

    if Stat is not None:
        stat = libc.func("int stat(const char *path, _Out_ stat *buf)")
        path = sys.executable
        st = Stat()
        if stat(path, st) != 0:
            print(f"  stat({path!r}) failed: errno {koffi.errno()}")
            return False
        ref = os.stat(path)
        same = bool((st.st_size, st.st_ino, st.st_mode, st.st_mtim.tv_sec) == (
            ref.st_size, ref.st_ino, ref.st_mode, int(ref.st_mtime)))
        ok &= same
        print(f"  stat({os.path.basename(path)!r}) -> size {st.st_size}, inode {st.st_ino}, "
              f"mode {st.st_mode:o}, mtime {st.st_mtim.tv_sec}")
        print(f"    os.stat agrees: {same}")

    close_fd = libc.func("int close(int fd)")
    result = close_fd(-1)
    same = bool(result == -1) and koffi.errno() == errno_module.EBADF == koffi.os.errno["EBADF"]
    ok &= same
    print(f"  close(-1) -> {result}, koffi.errno() = {koffi.errno()} (EBADF): "
          f"{'agrees' if same else 'DIFFERS'}")

    snprintf = libc.func("int snprintf(char *buf, size_t size, const char *fmt, ...)")
    buf = bytearray(64)
    n = snprintf(buf, len(buf), "%d|%.2f|%s", "int", 42, "double", 3.14159, "str", "hi")
    text = buf[:n].decode()
    ok &= text == "42|3.14|hi"
    print(f"  snprintf(buf, 64, '%d|%.2f|%s', 'int', 42, 'double', 3.14159, 'str', 'hi')"
          f" -> {text!r}")
    return ok


def call_libm_and_zlib() -> bool:
    """libm against `math`, zlib against Python's `zlib`, through typed declarations."""
    ok = True
    libm = koffi.load(ctypes.util.find_library("m") or "libm.so.6")

    @libm.function
    def cos(x: c.double) -> c.double: ...

    frexp = libm.func("double frexp(double x, _Out_ int *exp)")
    exponent = [0]
    mantissa = frexp(1234.5, exponent)
    same = cos(0.5) == math.cos(0.5) and (mantissa, exponent[0]) == math.frexp(1234.5)
    ok &= same
    print(f"  cos(0.5) = {cos(0.5)!r}; frexp(1234.5) = ({mantissa}, {exponent[0]}): "
          f"math agrees: {same}")

    zname = ctypes.util.find_library("z")
    if zname is None:
        print("  zlib: not installed, skipped")
        return ok
    libz = koffi.load(zname)
    compress = libz.func("int compress(uint8_t *dest, _Inout_ unsigned long *destLen, "
                         "const uint8_t *source, unsigned long sourceLen)")
    crc32 = libz.func("unsigned long crc32(unsigned long crc, const uint8_t *buf, "
                      "unsigned int len)")
    data = b"koffi_typed " * 20
    out = bytearray(512)
    size = [len(out)]
    status = compress(out, size, data, len(data))
    same = bool(status == 0 and zlib.decompress(bytes(out[: size[0]])) == data
                and crc32(0, data, len(data)) == zlib.crc32(data))
    ok &= same
    print(f"  compress({len(data)} bytes) -> {size[0]} bytes; Python's zlib decompresses it "
          f"and crc32 matches: {same}")
    return ok


def _build_record(package: str) -> dict[str, str]:
    """What the build that installed ``package`` did with mypyc (``setup.py`` writes it);
    empty for a source tree or an editable install."""
    try:
        with open(os.path.join(package, "_build.json"), encoding="utf-8") as record:
            data = json.load(record)
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _shadowed_copy(package: str) -> str | None:
    """Another koffi_typed on ``sys.path`` hidden by the one imported from the current
    directory (``python -m`` from a checkout root imports the source tree first)."""
    here = os.path.dirname(package)
    cwd = os.getcwd()
    others = [p for p in sys.path if os.path.abspath(p or cwd) not in (here, cwd)]
    if os.path.abspath(here) != cwd:
        return None
    spec = importlib.machinery.PathFinder.find_spec("koffi_typed", others)
    if spec is None or spec.origin is None:
        return None
    other = os.path.dirname(os.path.abspath(spec.origin))
    return None if other == package else other


def describe_build() -> str:
    """Says truthfully whether the running koffi_typed is compiled, where it was imported
    from and, when it is pure Python, why."""
    package = os.path.dirname(os.path.abspath(koffi.__file__ or "."))
    record = _build_record(package)
    if koffi.compiled:
        kind = "compiled with mypyc"
    elif record.get("mypyc") == "failed":
        kind = f"pure Python: the mypyc compilation failed at install ({record.get('reason')})"
    elif record.get("mypyc") == "off":
        kind = "pure Python: installed without mypyc (KOFFI_TYPED_COMPILE=0 or not CPython)"
    elif record:
        kind = "pure Python, although it was compiled at install: the compiled module is missing"
    else:
        kind = "pure Python: a source tree or an editable install"
    lines = [f"koffi_typed {koffi.version} on {koffi.abi.host()}, {kind}",
             f"  imported from {package}"]
    other = _shadowed_copy(package)
    if other is not None:
        lines.append(f"  NOTE: this is the source tree in the current directory; the copy "
                     f"installed at {other} is not the one running. Run `koffi-typed demo` "
                     "or `python -P -m koffi_typed demo` to use it.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; exit status 1 if anything disagreed with C or with Python."""
    print(describe_build() + "\n")
    members = _stat_members()
    Stat = koffi.struct("stat", members) if members is not None else None

    print("1. Records declared as annotated classes, laid out by koffi_typed:")
    truth = compiler_layouts()
    ok = True
    for name, cls in (("tm", Tm), ("timeval", Timeval), ("timespec", Timespec),
                      ("stat", Stat)):
        if cls is not None:
            ok &= show_layout(cls, None if truth is None else truth[name])

    print("\n2. The same records on other ABIs (koffi.abi.layout):")
    for abi in ("x86_cdecl", "arm32_hf", "aarch64", "win64"):
        sizes = ", ".join(f"{koffi.type(k).name} {koffi.abi.layout(k, abi).size}"
                          for k in (Tm, Timeval))
        print(f"  {abi:<10} {sizes}")

    print("\n3. Type strings and derived types:")
    for spec in ("const char *", "unsigned long long", "tm *", "timeval [4]", "char *!"):
        t = koffi.type(spec)
        print(f"  koffi.type({spec!r:22}) -> {t.name!r} ({t.primitive}, {t.size} bytes)")
    try:
        koffi.type("tm * [x]")
    except koffi.ParseError as exc:
        print("  a bad declaration is reported with its position:")
        print("    " + str(exc).replace("\n", "\n    "))

    print("\n4. libc called through koffi_typed, compared with Python's stdlib:")
    ok &= call_libc(Stat)

    print("\n5. libm and zlib, typed declarations, out-parameters and buffers:")
    ok &= call_libm_and_zlib()

    @koffi.union
    class Bits64:
        i: Annotated[int, c.uint64] = 0  # defaults keep type checkers from requiring both
        d: c.double = 0.0

    print("\n6. Unions reinterpret their bytes as C does:")
    print(f"  Bits64(d=1.0).i = {Bits64(d=1.0).i:#x}")

    print(f"\n{'All checks agree.' if ok else 'SOME CHECKS DISAGREE.'}")
    return 0 if ok else 1
