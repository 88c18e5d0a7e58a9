"""Plain ``char`` and ``__int128`` per target, against the C compilers.

``char``'s signedness is the target's (SPEC §8): each ruleset's ``koffi.abi.layout("char",
abi)`` is compared with what GCC for that target says about ``(char)-1 < 0`` (the host's and
i386/aarch64/armhf/riscv64 by running a program, Windows by reading ``-S`` output).
``__int128`` exists on 64-bit targets only: GCC refuses it on 32-bit ones, and so does
classification.
"""

from __future__ import annotations

import re

import cbuild
import pytest

import koffi_typed as koffi

PROGRAM = '#include <stdio.h>\nint main(void) { printf("%d\\n", (char)-1 < 0); return 0; }\n'
FUNCTION = "int probe(void) { return (char)-1 < 0; }\n"

# cbuild target -> rulesets whose compiler it is (Apple arm64 cannot be compiled for here)
RULESETS = {"host": ["sysv_x64"], "i386": ["x86_cdecl"], "aarch64": ["aarch64"],
            "armhf": ["arm32_hf"], "riscv64": ["riscv64_lp64d"], "win64": ["win64"],
            "win32": ["x86_win"]}


def _gcc_char_signed(target: str) -> bool:
    if cbuild.TARGETS[target].can_run:
        return cbuild.run_program(PROGRAM, target).strip() == "1"
    asm = cbuild.compile_asm(FUNCTION, target)
    found = re.search(r"\$([01]), %eax|xorl\s+%eax, %eax", asm)
    assert found, asm
    return found.group(1) == "1"


def _check(target: str) -> None:
    signed = _gcc_char_signed(target)
    for abi in RULESETS[target]:
        t = koffi.abi.layout("char", abi)
        assert t.primitive == ("Int8" if signed else "UInt8"), (abi, t)
        assert koffi.abi.layout("signed char", abi).primitive == "Int8"
        assert koffi.abi.layout("unsigned char", abi).primitive == "UInt8"
        assert koffi.abi.layout("int8_t", abi).primitive == "Int8"
        assert koffi.abi.layout("uint8_t", abi).primitive == "UInt8"


def test_char_host() -> None:
    _check("host")
    signed = _gcc_char_signed("host")
    assert koffi.types.char.primitive == ("Int8" if signed else "UInt8")


@pytest.mark.cross
@pytest.mark.parametrize("target", ["i386", "aarch64", "armhf", "riscv64", "win64", "win32"])
def test_char_cross(target: str) -> None:
    _check(target)


def test_char_members_and_bitfields_follow_the_ruleset() -> None:
    S = koffi.struct("TTT_Chars", {"c": "char", "b": koffi.c.bits("char", 3)})
    for abi, prim in (("sysv_x64", "Int8"), ("aarch64", "UInt8"), ("aarch64_apple", "Int8"),
                      ("arm32_hf", "UInt8"), ("riscv64_lp64d", "UInt8"), ("win64", "Int8")):
        members = koffi.abi.layout(S, abi).members
        assert members["c"].type.primitive == prim and members["b"].type.primitive == prim


WIDE = koffi.struct("TTT_Wide", {"v": "__int128"})
WIDE_PROTO = koffi.proto("void TTT_wide(TTT_Wide r)")


@pytest.mark.parametrize("abi", ["x86_cdecl", "x86_win", "arm32_hf"])
def test_int128_does_not_exist_on_32_bit_targets(abi: str) -> None:
    for decl in ("__int128 f(void)", "void f(int a, unsigned __int128 v)"):
        with pytest.raises(TypeError, match="no 128-bit integers"):
            koffi.abi.classify(decl, abi)
    with pytest.raises(TypeError, match="no 128-bit integers"):
        koffi.abi.classify(WIDE_PROTO, abi)


def test_int128_on_64_bit_targets() -> None:
    plan = koffi.abi.classify("__int128 f(int a, __int128 v, long b)", "aarch64")
    assert [p.registers for p in plan.arguments] == [("x0",), ("x2", "x3"), ("x4",)]
    plan = koffi.abi.classify("__int128 f(int a, __int128 v, long b)", "sysv_x64")
    assert [p.registers for p in plan.arguments] == [("rdi",), ("rsi", "rdx"), ("rcx",)]
    plan = koffi.abi.classify("__int128 f(int a, __int128 v, long b)", "riscv64_lp64d")
    assert [p.registers for p in plan.arguments] == [("a0",), ("a1", "a2"), ("a3",)]
