"""Lifetimes: memory handed to C or viewed from Python lives as long as it is used, and
memory that no longer lives is refused instead of read. Crash-prone cases run in a child
process, so a crash is one failure. C side: tests/c/safety.c."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from forked import forked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c, heap


@pytest.fixture(scope="module")
def path(c_library: Callable[[str], Path]) -> Path:
    return c_library("safety")


@pytest.fixture(scope="module")
def lib(path: Path) -> koffi.Library:
    return koffi.load(path)


def _child(code: str, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter; its stdout (a crash fails the test)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"child failed ({done.returncode}):\n{done.stderr}"
    return done.stdout


def _churn() -> None:
    """Allocate and drop enough to reuse recently freed Python memory."""
    junk = [bytearray(b"\xee" * n) for n in range(1, 400)]
    del junk
    gc.collect()


# ---------------------------------------------------------------------------- views

def test_view_keeps_a_temporary_buffer_alive() -> None:
    v = koffi.view(bytearray(b"koffi" * 100), 500)
    _churn()
    assert v.tobytes() == b"koffi" * 100
    v[0] = ord("K")
    assert v[:5].tobytes() == b"Koffi"


def test_view_of_bytes_is_a_read_only_view_of_the_bytes() -> None:
    v = koffi.view(b"abc" * 10, 30)
    _churn()
    assert v.readonly and v.tobytes() == b"abc" * 10
    with pytest.raises(TypeError):
        v[0] = 1


@pytest.mark.parametrize("length", [0, 1, 7, 64])
def test_view_bounds(length: int) -> None:
    p = koffi.alloc("char", 8)
    try:
        if length <= 8:
            assert len(koffi.view(p, length)) == length
        else:
            with pytest.raises(ValueError, match="outside"):
                koffi.view(p, length)
        with pytest.raises(ValueError):
            koffi.view(bytearray(4), 5)
    finally:
        koffi.free(p)


def test_a_view_taken_before_free_never_writes_freed_memory() -> None:
    p = koffi.alloc("char", 64)
    start = p.address
    v = koffi.view(p, 64)
    v[:5] = b"hello"
    koffi.free(p)
    # push far more blocks through the quarantine than it holds
    for _ in range(heap.QUARANTINE_BLOCKS * 2):
        q = koffi.alloc("char", 64)
        assert not start <= q.address < start + 64, "the viewed block was given out again"
        koffi.free(q)
    v[5:10] = b"world"
    assert v[:10].tobytes() == b"helloworld"
    with pytest.raises(ValueError, match="freed"):
        koffi.decode(p, "char", 5)
    del v
    gc.collect()
    assert start not in heap.quarantine or heap.quarantine[start].pins == 0


# ---------------------------------------------------------------------------- freed blocks

def test_freed_blocks_are_refused_everywhere_through_any_copy(lib: koffi.Library) -> None:
    identity = lib.func("void *Identity(void *p)")
    first = lib.func("int FirstByte(const void *p)")
    p = koffi.alloc("uint8_t", 16)
    koffi.encode(p, "uint8_t", 42)
    copy = identity(p)  # the same address, from C: a distinct Pointer object
    raw = koffi.Pointer(p.address, koffi.type("uint8_t"))
    assert first(copy) == 42 and copy.cast("uint8_t")[0] == 42
    koffi.free(copy)  # freeing through the copy frees the block
    for ref in (p, copy, raw):
        with pytest.raises(ValueError, match="already freed"):
            first(ref)
        with pytest.raises(ValueError, match="already freed"):
            koffi.free(ref)
        with pytest.raises(ValueError, match="freed"):
            koffi.decode(ref, "uint8_t")
        with pytest.raises(ValueError, match="freed"):
            koffi.encode(ref, "uint8_t", 1)
    with pytest.raises(ValueError, match="freed"):
        koffi.decode(p.address, "uint8_t", 4)


def test_double_free_through_a_c_copy_does_not_abort() -> None:
    out = _child("""
        import koffi_typed as koffi
        lib = koffi.load(None)
        identity = lib.func("void *memmove(void *d, const void *s, size_t n)")
        for _ in range(50):
            p = koffi.alloc("int", 4)
            copy = identity(p, p, 0)
            koffi.free(p)
            try:
                koffi.free(copy)
            except ValueError:
                pass
            else:
                raise SystemExit("second free accepted")
        print("ok")
    """)
    assert out.strip() == "ok"


# ---------------------------------------------------------------------------- decode bounds

@pytest.mark.parametrize(("spec", "data"), [("char", b"abcdefgh"), ("int32_t", b"\x01" * 16),
                                            ("int16_t", b"\x02" * 6)])
def test_terminated_decode_stops_at_the_end_of_a_block(spec: str, data: bytes) -> None:
    p = koffi.alloc("uint8_t", len(data))
    try:
        koffi.encode(p, "uint8_t", list(data), len(data))
        got = koffi.decode(p, spec, -1)
        assert len(got) == len(data) // koffi.sizeof(spec)
        assert koffi.decode(bytearray(data), spec, -1) == got
        assert koffi.decode(data, spec, -1) == got
    finally:
        koffi.free(p)


def test_string_decode_is_bounded_by_the_block_it_points_into() -> None:
    chars = koffi.alloc("char", 8)
    holder = koffi.alloc("char *", 1)
    try:
        koffi.encode(chars, "uint8_t", [0x41] * 8, 8)  # no terminator in the block
        koffi.encode(holder, "void *", chars.address)
        with pytest.raises(ValueError, match="within its 8-byte block"):
            koffi.decode(holder, "str")
        koffi.encode(chars, "uint8_t", [0x41] * 7 + [0], 8)
        assert koffi.decode(holder, "str") == "A" * 7
    finally:
        koffi.free(holder)
        koffi.free(chars)


def test_string_decode_of_garbage_raises_instead_of_crashing() -> None:
    out = _child("""
        import koffi_typed as koffi
        p = koffi.alloc("char", 16)
        koffi.encode(p, "char", "hello world", 16)   # chars, not a pointer
        try:
            koffi.decode(p, "str")
        except ValueError as exc:
            print("refused:", exc)
        try:
            koffi.decode(0x10, "int", -1)
        except ValueError as exc:
            print("refused:", exc)
    """)
    assert out.count("refused:") == 2, out


# ---------------------------------------------------------------------------- temporaries

def test_pointers_into_call_temporaries_keep_them_alive(lib: koffi.Library) -> None:
    second = lib.func("int *Second(int *values)")
    q = second([10, 20, 30])
    _churn()
    assert (q[0], q[1]) == (20, 30)
    with pytest.raises(ValueError, match="outside"):
        q[2]
    interior = lib.func("const uint8_t *Interior(const char *s, int i)")
    r = interior("hello", 1)
    _churn()
    assert [r[i] for i in range(4)] == list(b"ello")
    assert r[4] == 0
    with pytest.raises(ValueError, match="outside"):
        r[5]


@pytest.mark.parametrize("start", [0, 1, 2])
def test_pointers_into_call_temporaries_cannot_be_freed(lib: koffi.Library, start: int) -> None:
    """The memory is Python's, not C's heap: ``free`` refuses it (a child, so a wrong
    ``free`` is one failure) and the pointer stays usable."""
    out = _child(f"""
        import koffi_typed as koffi
        lib = koffi.load({str(lib.path)!r})
        identity = lib.func("int *Identity(int *values)")
        q = identity([10, 20, 30]) + {start}
        try:
            koffi.free(q)
        except ValueError as exc:
            print("refused:", exc)
        print(q[0])
    """)
    assert "refused:" in out and "made for a call" in out, out
    assert out.splitlines()[-1] == str((10, 20, 30)[start])


def test_localtime_r_result_points_into_the_record_it_filled() -> None:
    libc = koffi.load("libc.so.6")

    @koffi.struct(name="tm")
    class Tm:
        tm_sec: c.int
        tm_min: c.int
        tm_hour: c.int
        tm_mday: c.int
        tm_mon: c.int
        tm_year: c.int
        tm_wday: c.int
        tm_yday: c.int
        tm_isdst: c.int
        tm_gmtoff: c.long
        tm_zone: c.str

    localtime_r = libc.func("tm *localtime_r(const int64_t *t, tm *out)")
    p = localtime_r([86400 * 365], Tm())
    _churn()
    got = p[0]
    assert got.tm_year in (70, 71) and 0 <= got.tm_mon < 12


# ---------------------------------------------------------------------------- unload

def test_unload_waits_for_calls_in_flight(path: Path) -> None:
    out = _child(f"""
        import threading, time
        import koffi_typed as koffi
        lib = koffi.load({str(path)!r})
        slow = lib.func("int SleepThenAdd(int ms, int a, int b)")
        results = []
        threads = [threading.Thread(target=lambda: results.append(slow(1000, 1, 2)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        lib.unload()                       # while four calls sleep inside the library
        for t in threads:
            t.join()
        assert results == [3, 3, 3, 3], results
        try:
            slow(0, 1, 1)
        except koffi.Error as exc:
            print("refused after unload:", exc)
        with koffi.load({str(path)!r}) as lib2:
            future = lib2.func("int SleepThenAdd(int ms, int a, int b)").async_(1000, 2, 3)
            time.sleep(0.3)
        print("async:", future.result())
        deadline = time.monotonic() + 5   # the close follows the result by a moment
        while {str(path)!r} in open("/proc/self/maps").read() and time.monotonic() < deadline:
            time.sleep(0.01)
        print("mapped:", {str(path)!r} in open("/proc/self/maps").read())
    """)
    assert "refused after unload" in out and "async: 5" in out, out
    assert "mapped: False" in out, out


def test_unload_with_nothing_in_flight_closes_at_once(path: Path) -> None:
    out = _child(f"""
        import koffi_typed as koffi
        lib = koffi.load({str(path)!r})
        f = lib.func("int Sum3(int a, int b, int c)")
        v = lib.func("long long VarInt(int kind, ...)")
        assert f(1, 2, 3) == 123 and v(0, "int", 5) == 5
        lib.unload()
        print("mapped:", {str(path)!r} in open("/proc/self/maps").read())
        for call in (lambda: f(1, 2, 3), lambda: v(0, "int", 5)):
            try:
                call()
            except koffi.Error:
                print("refused")
    """)
    assert out.split() == ["mapped:", "False", "refused", "refused"], out


def test_unload_timing_is_not_blocking(path: Path) -> None:
    lib = koffi.load(path)
    slow = lib.func("int SleepThenAdd(int ms, int a, int b)")
    future = slow.async_(1000, 1, 1)
    time.sleep(0.05)
    start = time.monotonic()
    lib.unload()
    # unload does not wait (waiting would take 0.95 s); the close does
    assert time.monotonic() - start < 0.5
    assert future.result() == 2


def test_element_access_through_a_copy_of_a_freed_pointer_raises() -> None:
    for spec in ("int", "double", "uint8_t", "int64_t", "bool"):
        p = koffi.alloc(spec, 4)
        copy = koffi.Pointer(p.address, koffi.type(spec))
        assert copy[0] in (0, 0.0, False)
        koffi.free(p)
        for ref in (p, copy):
            with pytest.raises(ValueError, match="freed"):
                ref[0]
            with pytest.raises(ValueError, match="freed"):
                ref[0] = 1 if spec != "bool" else True


# ------------------------------------------------- any pointer into a freed or live block

_SPECS = ("int", "double", "uint8_t", "int64_t", "int16_t", "float")
_OPS = ("get", "set", "deref", "decode", "encode", "call", "view", "free")


def _copy(lib: koffi.Library, p: koffi.Pointer[Any], spec: str, byte: int, way: str
          ) -> koffi.Pointer[Any]:
    """A distinct Pointer ``byte`` bytes into ``p``'s block, made the way users get them."""
    t = koffi.type(spec)
    if way == "constructor":
        return koffi.Pointer(p.address + byte, t)
    if way == "from C":
        return lib.func("void *Offset(void *p, size_t n)")(p, byte).cast(spec)
    if way == "from C, then +":
        base = lib.func("void *Identity(void *p)")(p).cast(spec)
        return base + byte // t.size if byte % t.size == 0 else koffi.Pointer(
            base.address + byte, t)
    if way == "read from memory":  # e.g. a pointer member of a record C filled
        holder = bytearray(8)
        koffi.encode(holder, "uintptr_t", p.address + byte)
        return koffi.decode(holder, f"{spec} *")  # type: ignore[no-any-return]
    return (koffi.Pointer(p.address, t) + byte // t.size) if byte % t.size == 0 else \
        koffi.Pointer(p.address + byte, t)


def _use(lib: koffi.Library, ref: koffi.Pointer[Any], spec: str, op: str) -> None:
    if op == "get":
        ref[0]
    elif op == "set":
        ref[0] = 1
    elif op == "deref":
        ref.deref()
    elif op == "decode":
        koffi.decode(ref, spec)
    elif op == "encode":
        koffi.encode(ref, spec, 1)
    elif op == "call":
        lib.func("int WriteFirst(void *p, int v)")(ref, 5)
    elif op == "view":
        koffi.view(ref, koffi.sizeof(spec))[0] = 1
    else:
        koffi.free(ref)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.sampled_from(_SPECS), count=st.integers(1, 12), data=st.data(),
       way=st.sampled_from(["constructor", "from C", "from C, then +", "read from memory", "copy +"]),
       op=st.sampled_from(_OPS))
def test_any_pointer_into_a_freed_block_raises(lib: koffi.Library, spec: str, count: int,
                                               data: st.DataObject, way: str, op: str) -> None:
    """Interior addresses too: a copy of any address inside a freed block, however it was
    made, raises on every use (and never reaches C's ``free``)."""
    size = koffi.sizeof(spec)
    byte = data.draw(st.integers(0, count - 1).map(lambda i: i * size) |
                     st.integers(0, count * size - 1), label="byte offset")

    def run() -> None:
        p = koffi.alloc(spec, count)
        ref = _copy(lib, p, spec, byte, way)
        koffi.free(p)
        _use(lib, ref, spec, op)

    outcome = forked(run)
    assert outcome.startswith("raised ValueError") and "freed" in outcome, outcome


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.sampled_from(_SPECS), count=st.integers(2, 12), data=st.data(),
       way=st.sampled_from(["constructor", "from C", "read from memory"]))
def test_freeing_an_interior_pointer_of_a_live_block_raises(
        lib: koffi.Library, spec: str, count: int, data: st.DataObject, way: str) -> None:
    size = koffi.sizeof(spec)
    byte = data.draw(st.integers(1, count * size - 1), label="byte offset")

    def run() -> None:
        p = koffi.alloc(spec, count)
        ref = _copy(lib, p, spec, byte, way)
        try:
            koffi.free(ref)
        finally:
            koffi.free(p)  # the block itself is still live and frees once

    outcome = forked(run)
    assert outcome.startswith("raised ValueError") and "inside the block" in outcome, outcome


# ------------------------------------------------------------- the heap under many threads

@settings(max_examples=6, deadline=None)
@given(threads=st.integers(2, 8), rounds=st.integers(200, 1500),
       uses=st.lists(st.sampled_from(["index", "decode", "copy-free", "view", "call"]),
                     min_size=1, max_size=4, unique=True))
def test_alloc_and_free_from_many_threads(path: Path, threads: int, rounds: int,
                                          uses: list[str]) -> None:
    """Threads allocating, using and freeing blocks at once (a tiny switch interval makes
    them interleave inside koffi_typed): every use sees its own block, every free works
    once, and the process never crashes."""
    out = _child(f"""
        import sys, threading
        import koffi_typed as koffi
        sys.setswitchinterval(1e-6)
        lib = koffi.load({str(path)!r})
        identity = lib.func("void *Identity(void *p)")
        first = lib.func("int FirstByte(const void *p)")
        uses, errors = {uses!r}, []
        def work(k):
            try:
                for i in range({rounds}):
                    p = koffi.alloc("uint8_t", 1 + (i + k) % 64)
                    p[0] = (i + k) % 256
                    if "index" in uses:
                        assert p[0] == (i + k) % 256
                    if "decode" in uses:
                        assert koffi.decode(p, "uint8_t") == (i + k) % 256
                    if "view" in uses:
                        assert koffi.view(p, 1)[0] == (i + k) % 256
                    if "call" in uses:
                        assert first(p) == (i + k) % 256
                    if "copy-free" in uses:
                        koffi.free(identity(p))
                        try:
                            koffi.free(p)
                        except ValueError:
                            pass
                        else:
                            raise AssertionError("second free accepted")
                    else:
                        koffi.free(p)
            except BaseException as exc:
                errors.append(repr(exc))
        ts = [threading.Thread(target=work, args=(k,)) for k in range({threads})]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(errors[:3])
    """, timeout=300)
    assert out.strip() == "[]", out
