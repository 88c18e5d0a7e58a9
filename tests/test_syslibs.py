"""Real system libraries (libc, libm, zlib) called through koffi_typed, checked against
Python's standard library."""

from __future__ import annotations

import ctypes.util
import errno
import math
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c
from koffi_typed.demo import Timespec, Timeval, Tm

X86_64 = koffi.abi.host() == "sysv_x64"

# struct stat on x86-64 Linux (glibc), named so it cannot clash with the demo's "stat".
StatX64 = koffi.struct("StatX64", {
    "st_dev": "uint64_t", "st_ino": "uint64_t", "st_nlink": "uint64_t",
    "st_mode": "uint32_t", "st_uid": "uint32_t", "st_gid": "uint32_t", "_0": "int",
    "st_rdev": "uint64_t", "st_size": "int64_t", "st_blksize": "int64_t",
    "st_blocks": "int64_t", "st_atim": Timespec, "st_mtim": Timespec, "st_ctim": Timespec,
    "_1": "int64_t [3]",
})


def find(name: str) -> str:
    path = ctypes.util.find_library(name)
    if path is None:  # libc, libm and zlib are part of every supported system
        pytest.fail(f"lib{name} not found: install it (Debian: zlib1g for libz)")
    return path


@pytest.fixture(scope="module")
def libc() -> Any:
    return koffi.load(find("c"))


@pytest.fixture(scope="module")
def libm() -> Any:
    return koffi.load(find("m"))


@pytest.fixture(scope="module")
def libz() -> Any:
    return koffi.load(find("z"))


# ----------------------------------------------------------------------------- libc


def test_strlen_typed_declaration(libc: Any) -> None:
    @libc.function
    def strlen(s: c.str) -> c.size_t: ...

    for text in ("", "abc", "héllo wörld", "😀" * 100):
        assert strlen(text) == len(text.encode())
    assert strlen(b"raw\xffbytes") == 9


def test_strlen_renamed(libc: Any) -> None:
    @libc.function("strlen")
    def c_strlen(s: c.str) -> c.size_t: ...

    assert c_strlen("koffi") == 5
    assert c_strlen.info.name == "strlen"


def test_snprintf_variadic(libc: Any) -> None:
    snprintf = libc.func("int snprintf(char *buf, size_t size, const char *fmt, ...)")
    buf = bytearray(128)
    n = snprintf(buf, len(buf), "%s=%d, %.3f, %x, %lu, %c", "str", "pi", "int", -3,
                 "double", math.pi, "unsigned int", 0xBEEF, "unsigned long", 2**63, "int",
                 ord("Z"))
    expected = f"pi=-3, {math.pi:.3f}, beef, {2**63}, Z"
    assert n == len(expected)
    assert buf[:n].decode() == expected
    # the return value counts what would have been written, even when truncated
    small = bytearray(4)
    assert snprintf(small, len(small), "%d", "int", 123456) == 6
    assert small == b"123\0"


def test_strtol_with_end_pointer(libc: Any) -> None:
    strtol = libc.func("long strtol(const char *s, _Out_ char **end, int base)")
    end: list[object] = [None]
    assert strtol("  -123abc", end, 10) == -123
    assert end[0] == "abc"
    assert strtol("ff rest", end, 16) == int("ff", 16)
    assert end[0] == " rest"
    assert strtol("0x1F", end, 0) == 0x1F
    assert end[0] == ""
    assert strtol("9223372036854775807", end, 10) == 2**63 - 1


def test_strtol_end_pointer_points_into_the_buffer(libc: Any) -> None:
    strtol = libc.func("long strtol(const void *s, _Out_ void **end, int base)")
    text = bytearray(b"4096 tail\0")
    end: list[object] = [None]
    assert strtol(text, end, 10) == 4096
    assert int(end[0]) - koffi.address(text) == 4  # type: ignore[call-overload]


def test_abs_and_labs(libc: Any) -> None:
    c_abs = libc.func("int abs(int x)")
    labs = libc.func("labs", "long", ["long"])
    for v in (0, 5, -5, 2**31 - 1, -(2**31) + 1):
        assert c_abs(v) == abs(v)
    for v in (-(2**62), 2**63 - 1, -1):
        assert labs(v) == abs(v)


def test_abs_rejects_out_of_range_and_wrong_type(libc: Any) -> None:
    c_abs = libc.func("int abs(int x)")
    with pytest.raises(OverflowError) as overflow:
        c_abs(2**31)
    assert "abs()" in str(overflow.value) and "'x'" in str(overflow.value)
    with pytest.raises(TypeError, match=r"abs\(\): argument 'x': expected int \(int\), got str"):
        c_abs("1")
    with pytest.raises(TypeError, match=r"abs\(\) takes 1 positional argument but 2 were given"):
        c_abs(1, 2)


def test_gettimeofday(libc: Any) -> None:
    gettimeofday = libc.func("int gettimeofday(_Out_ timeval *tv, void *tz)")
    tv = Timeval()
    before = time.time()
    assert gettimeofday(tv, None) == 0
    after = time.time()
    assert 0 <= tv.tv_usec < 1_000_000
    assert before - 1 <= tv.tv_sec + tv.tv_usec / 1e6 <= after + 1


def test_localtime_r(libc: Any) -> None:
    localtime_r = libc.func("tm *localtime_r(const int64_t *t, _Out_ tm *result)")
    stamp = int(time.time())
    tm = Tm()
    assert localtime_r([stamp], tm)
    py = time.localtime(stamp)
    assert (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            (tm.tm_wday + 6) % 7, tm.tm_yday + 1, tm.tm_isdst) == tuple(py)
    assert tm.tm_zone == py.tm_zone and tm.tm_gmtoff == py.tm_gmtoff


def test_gmtime_r(libc: Any) -> None:
    gmtime_r = libc.func("tm *gmtime_r(const int64_t *t, _Out_ tm *result)")
    stamp = 86400 * 365 + 3600 * 5 + 61
    tm = Tm()
    assert gmtime_r([stamp], tm)
    g = time.gmtime(stamp)
    assert (tm.tm_year + 1900, tm.tm_yday + 1, tm.tm_hour, tm.tm_min, tm.tm_sec) == (
        g.tm_year, g.tm_yday, g.tm_hour, g.tm_min, g.tm_sec)
    assert tm.tm_gmtoff == 0


@pytest.mark.skipif(not X86_64, reason="struct stat layout declared for x86-64 only")
def test_stat(libc: Any) -> None:
    stat = libc.func("int stat(const char *path, _Out_ StatX64 *buf)")
    st = StatX64()
    path = sys.executable
    assert stat(path, st) == 0
    ref = os.stat(path)
    assert (st.st_size, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_dev) == (
        ref.st_size, ref.st_ino, ref.st_mode, ref.st_nlink, ref.st_uid, ref.st_dev)
    assert st.st_mtim.tv_sec == ref.st_mtime_ns // 10**9
    assert st.st_mtim.tv_nsec == ref.st_mtime_ns % 10**9


@pytest.mark.skipif(not X86_64, reason="struct stat layout declared for x86-64 only")
def test_stat_missing_file_sets_errno(libc: Any, tmp_path: Path) -> None:
    stat = libc.func("int stat(const char *path, _Out_ StatX64 *buf)")
    assert stat(str(tmp_path / "missing"), StatX64()) == -1
    assert koffi.errno() == errno.ENOENT


def test_getpid_from_the_process() -> None:
    process = koffi.load(None)
    getpid = process.func("int getpid(void)")
    assert getpid() == os.getpid()


def test_errno_after_close(libc: Any) -> None:
    close = libc.func("int close(int fd)")
    assert close(-1) == -1
    assert koffi.errno() == errno.EBADF
    assert koffi.errno() == koffi.os.errno["EBADF"]
    assert koffi.os.errno["EBADF"] == errno.EBADF
    assert koffi.os.errno["ENOENT"] == errno.ENOENT


def test_getenv_null_result(libc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    getenv = libc.func("const char *getenv(const char *name)")
    monkeypatch.setenv("KOFFI_TYPED_TEST_VAR", "välue")
    assert getenv("KOFFI_TYPED_TEST_VAR") == "välue"
    monkeypatch.delenv("KOFFI_TYPED_TEST_VAR")
    assert getenv("KOFFI_TYPED_TEST_VAR") is None


def test_memcpy_into_an_allocation(libc: Any) -> None:
    memcpy = libc.func("void *memcpy(void *dest, const void *src, size_t n)")
    p = koffi.alloc("uint8_t", 6)
    try:
        src = b"abcdef"
        assert memcpy(p, src, 6) == p
        assert bytes(koffi.view(p, 6)) == src
    finally:
        koffi.free(p)


# ----------------------------------------------------------------------------- libm


def test_cos_and_pow(libm: Any) -> None:
    @libm.function
    def cos(x: c.double) -> c.double: ...

    c_pow = libm.func("double pow(double x, double y)")
    for x in (0.0, 0.5, math.pi, -2.25, 1e6):
        assert cos(x) == math.cos(x)
    for x, y in ((2.0, 10.0), (2.0, 0.5), (10.0, -3.0), (-8.0, 3.0)):
        assert c_pow(x, y) == math.pow(x, y)
    assert c_pow(2, 3) == 8.0


def test_frexp_with_out_int(libm: Any) -> None:
    frexp = libm.func("double frexp(double x, _Out_ int *exp)")
    for x in (8.0, 0.1, -3.5, 1e-300, 123456.789):
        exp = [0]
        mantissa = frexp(x, exp)
        assert (mantissa, exp[0]) == math.frexp(x)


def test_ldexp(libm: Any) -> None:
    ldexp = libm.func("double ldexp(double x, int exp)")
    for x, e in ((0.75, 5), (1.0, -1074), (0.5, 1024), (-3.0, 0)):
        assert ldexp(x, e) == math.ldexp(x, e)


def test_float_math(libm: Any) -> None:
    sqrtf = libm.func("float sqrtf(float x)")
    assert sqrtf(16.0) == 4.0
    assert sqrtf(2.0) == pytest.approx(math.sqrt(2.0), rel=1e-7)


# ----------------------------------------------------------------------------- zlib


DATA = b"koffi_typed calls zlib. " * 200 + bytes(range(256))


def test_zlib_version(libz: Any) -> None:
    version = libz.func("const char *zlibVersion(void)")
    assert version() == zlib.ZLIB_RUNTIME_VERSION


def test_compress_bound(libz: Any) -> None:
    bound = libz.func("unsigned long compressBound(unsigned long sourceLen)")
    for n in (0, 1, 1000, len(DATA), 10**6):
        assert bound(n) == n + (n >> 12) + (n >> 14) + (n >> 25) + 13
    assert bound(len(DATA)) >= len(zlib.compress(DATA))


def test_compress_then_python_decompresses(libz: Any) -> None:
    bound = libz.func("unsigned long compressBound(unsigned long sourceLen)")
    compress = libz.func("int compress(uint8_t *dest, _Inout_ unsigned long *destLen, "
                         "const uint8_t *source, unsigned long sourceLen)")
    size = bound(len(DATA))
    dest = bytearray(size)
    dest_len = [size]
    assert compress(dest, dest_len, DATA, len(DATA)) == 0  # Z_OK
    assert 0 < dest_len[0] < len(DATA)
    assert zlib.decompress(bytes(dest[:dest_len[0]])) == DATA


def test_python_compresses_then_uncompress(libz: Any) -> None:
    uncompress = libz.func("int uncompress(uint8_t *dest, _Inout_ unsigned long *destLen, "
                           "const uint8_t *source, unsigned long sourceLen)")
    packed = zlib.compress(DATA, 9)
    dest = bytearray(len(DATA) + 16)
    dest_len = [len(dest)]
    assert uncompress(dest, dest_len, packed, len(packed)) == 0
    assert dest_len == [len(DATA)]
    assert bytes(dest[:dest_len[0]]) == DATA


def test_uncompress_reports_small_buffer(libz: Any) -> None:
    uncompress = libz.func("int uncompress(uint8_t *dest, _Inout_ unsigned long *destLen, "
                           "const uint8_t *source, unsigned long sourceLen)")
    packed = zlib.compress(DATA)
    dest = bytearray(10)
    assert uncompress(dest, [len(dest)], packed, len(packed)) == -5  # Z_BUF_ERROR
    bad = bytearray(len(DATA))
    assert uncompress(bad, [len(bad)], b"not zlib data", 13) == -3  # Z_DATA_ERROR


def test_crc32(libz: Any) -> None:
    crc32 = libz.func("unsigned long crc32(unsigned long crc, const uint8_t *buf, "
                      "unsigned int len)")
    assert crc32(0, DATA, len(DATA)) == zlib.crc32(DATA)
    assert crc32(0, None, 0) == 0
    running = crc32(0, DATA[:100], 100)
    assert crc32(running, DATA[100:], len(DATA) - 100) == zlib.crc32(DATA)
    assert crc32(0, bytearray(b"hello"), 5) == zlib.crc32(b"hello")
    assert crc32(0, memoryview(DATA)[10:20], 10) == zlib.crc32(DATA[10:20])
