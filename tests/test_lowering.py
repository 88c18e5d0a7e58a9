"""Records by value that plain ctypes passes wrongly on x86-64: koffi_typed gets them right.

Each test runs the same call through plain ctypes (in a forked child, since some of them
crash) to show that the case really is one ctypes gets wrong here, then through koffi_typed.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi

X86_64 = koffi.abi.host() == "sysv_x64"
pytestmark = pytest.mark.skipif(not X86_64, reason="these ctypes failures are specific to "
                                "System V x86-64")

UFD = koffi.union("LwUFD", {"f": "float", "d": "double"})
UDL = koffi.union("LwUDL", {"d": "double", "l": "long"})
BF4 = koffi.struct("LwBF4", {"a": koffi.c.bits("unsigned int", 8),
                             "b": koffi.c.bits("unsigned int", 8),
                             "c": koffi.c.bits("unsigned int", 8),
                             "d": koffi.c.bits("unsigned int", 8), "x": "double"})
P5 = koffi.pack("LwP5", {"c": "char", "i": "int"})
ULD2 = koffi.union("LwULD2", {"l": "long", "d": "double [2]"})
S574 = koffi.struct("LwS574", {"c": "char", "d": "double"})


class CtUFD(ctypes.Union):
    _fields_ = [("f", ctypes.c_float), ("d", ctypes.c_double)]


class CtUDL(ctypes.Union):
    _fields_ = [("d", ctypes.c_double), ("l", ctypes.c_long)]


class CtBF4(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint, 8), ("b", ctypes.c_uint, 8), ("c", ctypes.c_uint, 8),
                ("d", ctypes.c_uint, 8), ("x", ctypes.c_double)]


class CtP5(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("c", ctypes.c_char), ("i", ctypes.c_int)]


@pytest.fixture(scope="module")
def path(c_library: Callable[[str], Path]) -> Path:
    return c_library("abi_cases")


@pytest.fixture(scope="module")
def lib(path: Path) -> koffi.Library:
    return koffi.load(path)


def in_child(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child: its result, or 'crash' if it died."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        faulthandler.disable()  # the crash is expected; don't print its traceback
        os.close(read)
        try:
            data = pickle.dumps(fn())
        except BaseException as exc:
            data = pickle.dumps(f"raised {exc!r}")
        os.write(write, data)
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or not chunks:
        return "crash"
    return pickle.loads(b"".join(chunks))


def ctypes_func(path: Path, name: str, restype: Any, argtypes: list[Any]) -> Any:
    func = getattr(ctypes.CDLL(str(path)), name)
    func.restype, func.argtypes = restype, argtypes
    return func


def test_union_float_double(lib: koffi.Library, path: Path) -> None:
    def plain() -> float:
        u = CtUFD()
        u.d = 6.5
        return float(ctypes_func(path, "take_ufd", ctypes.c_double, [CtUFD])(u))
    assert in_child(plain) != 6.5  # ctypes sends 4 of the 8 bytes
    assert lib.func("double take_ufd(LwUFD u)")(UFD(d=6.5)) == 6.5
    assert lib.func("LwUFD give_ufd(double d)")(2.25).d == 2.25


def test_union_double_long(lib: koffi.Library, path: Path) -> None:
    def plain() -> int:
        u = CtUDL()
        u.l = 123456789
        return int(ctypes_func(path, "take_udl", ctypes.c_long, [CtUDL])(u))
    assert in_child(plain) != 123456789  # ctypes passes it in XMM0, C reads RDI
    assert lib.func("long take_udl(LwUDL u)")(UDL(l=123456789)) == 123456789
    assert lib.func("LwUDL give_udl(long l)")(-77).l == -77


def test_bitfields_then_double(lib: koffi.Library, path: Path) -> None:
    def plain() -> float:
        s = CtBF4(1, 2, 3, 4, 0.5)
        return float(ctypes_func(path, "take_bf4", ctypes.c_double, [CtBF4])(s))
    assert in_child(plain) != 4321.5
    assert lib.func("double take_bf4(LwBF4 s)")(BF4(1, 2, 3, 4, 0.5)) == 4321.5
    assert lib.func("LwBF4 give_bf4(double x)")(9.75) == BF4(1, 2, 3, 4, 9.75)


def test_packed_record_by_value_and_returned(lib: koffi.Library, path: Path) -> None:
    def plain_take() -> int:
        return int(ctypes_func(path, "take_p5", ctypes.c_int, [CtP5, ctypes.c_int])(
            CtP5(b"\x07", 8), 3))

    def plain_give() -> int:
        return int(ctypes_func(path, "give_p5", CtP5, [ctypes.c_char, ctypes.c_int])(
            b"\x07", 8).i)
    assert in_child(plain_take) != 7083
    assert in_child(plain_give) in ("crash", "raised") or in_child(plain_give) != 8
    assert lib.func("int take_p5(LwP5 p, int x)")(P5(7, 8), 3) == 7083
    assert lib.func("LwP5 give_p5(char c, int i)")(7, 8) == P5(7, 8)


def test_union_integer_and_sse(lib: koffi.Library) -> None:
    u = ULD2()
    u.d = [0.0, 2.5]
    u.l = 11
    assert lib.func("double take_uld2(LwULD2 u, double extra)")(u, 0.25) == 11 + 250 + 0.25


def test_libffi_574_struct_in_sixth_register(lib: koffi.Library) -> None:
    t574 = lib.func("double t574(char a, char b, char c, char d, char e, float f, LwS574 s)")
    assert t574(1, 2, 3, 4, 5, 0.5, S574(6, 0.25)) == 21.75


def test_record_after_register_exhaustion(lib: koffi.Library) -> None:
    late = lib.func("double late_ufd(long a, long b, long c, long d, long e, long f, "
                    "double g0, double g1, double g2, double g3, double g4, double g5, "
                    "double g6, double g7, LwUFD u, long tail)")
    args = [1, 2, 3, 4, 5, 6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, UFD(d=100.0), 1000]
    assert late(*args) == 21 + 4.0 + 100.0 + 1000


def test_explain_shows_the_plan(lib: koffi.Library) -> None:
    text = lib.func("long take_udl(LwUDL u)").explain()
    assert "rdi" in text and "INTEGER" in text and "lowered" in text
