"""How long what a callback hands to C lives, against tests/c/callbacks.c (issue #11).

Memory a callback returns to C (a string) lives until the outer call that passed a transient
callback returns, or until `unregister` for a registered one, whichever thread C calls it
on. A transient pointer that C keeps past its call is caught while its thunk is free.
Register/unregister pairs are flat in memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi

REPO = Path(__file__).resolve().parent.parent
GetStr = koffi.proto("const char *CbGetStr(int i)")
Unary = koffi.proto("int CbLtUnary(int x)")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> Iterator[Any]:
    yield koffi.load(c_library("callbacks"))


def _join(lib: Any) -> Any:
    return lib.func("int JoinTwo(CbGetStr *get, int a, int b, _Out_ char *out, int size)")


@pytest.mark.parametrize("registered", [False, True])
def test_two_results_used_together(lib: Any, registered: bool) -> None:
    """get(1) then get(2), then C reads both: each keeps its own text."""
    join = _join(lib)
    for a, b in [(1, 2), (7, 7), (30, 4000)]:
        def get(i: int) -> str:
            return f"value-{i}-" + "x" * (i % 50)

        out = bytearray(256)
        target: Any = koffi.register(get, "CbGetStr *") if registered else get
        try:
            n = join(target, a, b, out, len(out))
        finally:
            if registered:
                koffi.unregister(target)
        assert out[:n].decode() == f"{get(a)}|{get(b)}"


def test_results_of_every_kind_live_for_the_call(lib: Any) -> None:
    """bytes, str built on the fly, the same str object twice, None."""
    join = _join(lib)
    values: dict[int, Any] = {1: b"raw-bytes", 2: "caf\u00e9", 3: None}
    same = "shared"
    values[4] = same
    values[5] = same
    for a, b in [(1, 2), (2, 3), (4, 5), (1, 1)]:
        out = bytearray(128)
        n = join(lambda i: values[i], a, b, out, len(out))

        def text(v: Any) -> str:
            return "(null)" if v is None else v.decode() if isinstance(v, bytes) else v

        assert out[:n].decode() == f"{text(values[a])}|{text(values[b])}"


@pytest.mark.parametrize("registered", [False, True])
def test_eight_c_threads_read_the_right_strings(lib: Any, registered: bool) -> None:
    """8 threads C created each call get() 200 times and read every string after their
    last call: none may be wrong."""
    check = lib.func("int CheckStringsThreaded(CbGetStr *get, int threads, int rounds)")

    def get(i: int) -> str:
        return f"s{i}"

    target: Any = koffi.register(get, "CbGetStr *") if registered else get
    try:
        assert check(target, 8, 200) == 0
    finally:
        if registered:
            koffi.unregister(target)


def test_registered_results_live_until_unregister(lib: Any) -> None:
    keep = lib.func("int KeepString(CbGetStr *get, int i)")
    read = lib.func("int ReadKeptString(_Out_ char *out, int size)")
    ptr = koffi.register(lambda i: f"kept {i} " + "y" * i, "CbGetStr *")
    try:
        assert keep(ptr, 33) == 1
        junk = [bytearray(b"z" * 40) for _ in range(2000)]  # reuse freed memory if any
        out = bytearray(128)
        n = read(out, len(out))
        assert out[:n].decode() == "kept 33 " + "y" * 33
        del junk
    finally:
        koffi.unregister(ptr)


def test_registered_callback_returning_the_same_string_does_not_grow(lib: Any) -> None:
    """A registered callback returning an equal string again hands C the same copy: calling
    it 20000 times allocates (almost) nothing that lives on."""
    keep = lib.func("int KeepString(CbGetStr *get, int i)")
    text = "the same answer every time"
    ptr = koffi.register(lambda i: text, "CbGetStr *")
    try:
        keep(ptr, 0)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20000):
            keep(ptr, i)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert grown < 20_000, grown
    finally:
        koffi.unregister(ptr)


def test_register_unregister_pairs_are_flat(lib: Any) -> None:
    call = lib.func("int CallSimple(CbLtUnary *cb, int x)")
    before_stats = koffi.stats()["callbacks"]
    for _ in range(200):  # fill the pool first
        koffi.unregister(koffi.register(lambda x: x, "CbLtUnary *"))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(5000):
        p = koffi.register(lambda x, k=k: x + k, "CbLtUnary *")
        assert call(p, 1) == k + 1
        koffi.unregister(p)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 100_000, f"{grown} bytes after 5000 register/unregister pairs"
    assert koffi.stats()["callbacks"] == before_stats


def test_stale_transient_pointer_is_caught_while_its_thunk_is_free(
        c_library: Callable[[str], Path]) -> None:
    """C keeps a transient callback; 20 other transient callbacks of the same prototype
    come and go; C then calls the stale pointer: an error, not one of the newer callbacks."""
    script = f"""
import koffi_typed as koffi
lib = koffi.load({str(c_library("callbacks"))!r})
koffi.proto("int CbUnary(int x)")
set_indirect = lib.func("void SetIndirect(CbUnary *cb)")
call_indirect = lib.func("int CallIndirect(int x)")
simple = lib.func("int CallSimple(CbUnary *cb, int x)")
set_indirect(lambda x: x + 1)
for k in range(20):
    assert simple(lambda x, k=k: -1000 - k, 0) == -1000 - k
try:
    value = call_indirect(5)
except koffi.Error as exc:
    assert "beyond" in str(exc), exc
    print("caught")
else:
    raise AssertionError(f"the stale pointer ran a newer callback: {{value}}")
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip() == "caught"
