"""Zero-width bitfields (padding members) against the C compilers of every ruleset.

The differential generator names every member, so unnamed ``T :0`` fields are checked here:
GCC aligns the next member to ``T``; on AAPCS (aarch64, armhf) the record's alignment rises
too; MSVC only closes an open bitfield unit. Numbers come from the assembly of a constant
table, so one compile per target, no emulator.
"""

from __future__ import annotations

import re

import cbuild
import pytest

import koffi_typed as koffi
from koffi_typed import c

ABIS = {"host": None, "i386": "x86_cdecl", "aarch64": "aarch64", "armhf": "arm32_hf",
        "riscv64": "riscv64_lp64d", "win64": "win64", "win32": "x86_win"}

# name -> (C body, koffi members); members named _N are zero-width padding
CASES: dict[str, tuple[str, list[tuple[str, object]]]] = {
    "ZwA": ("char a; int :0; char b;", [("a", "char"), ("_0", c.bits("int", 0)), ("b", "char")]),
    "ZwB": ("char a; long long :0; char b; int c:3;",
            [("a", "char"), ("_0", c.bits("long long", 0)), ("b", "char"),
             ("c", c.bits("int", 3))]),
    "ZwC": ("int x:3; int :0; int y:3; char z;",
            [("x", c.bits("int", 3)), ("_0", c.bits("int", 0)), ("y", c.bits("int", 3)),
             ("z", "char")]),
    "ZwD": ("short a:3; char :0; short b:5; char z;",
            [("a", c.bits("short", 3)), ("_0", c.bits("char", 0)), ("b", c.bits("short", 5)),
             ("z", "char")]),
    "ZwE": ("char a; short :0; char b; char :0; int :0; char z;",
            [("a", "char"), ("_0", c.bits("short", 0)), ("b", "char"), ("_1", c.bits("char", 0)),
             ("_2", c.bits("int", 0)), ("z", "char")]),
}
PLAIN = {"ZwA": ["a", "b"], "ZwB": ["a", "b"], "ZwC": ["z"], "ZwD": ["z"], "ZwE": ["a", "b", "z"]}

TYPES = {name: koffi.struct(name, members) for name, (_, members) in CASES.items()}


def c_source() -> str:
    lines = ["#include <stddef.h>"]
    values = []
    for name, (body, _) in CASES.items():
        lines.append(f"struct {name} {{ {body} }};")
        values += [f"sizeof(struct {name})", f"_Alignof(struct {name})"]
        values += [f"offsetof(struct {name}, {m})" for m in PLAIN[name]]
    lines.append(f"const int table[] = {{ {', '.join(values)} }};")
    return "\n".join(lines) + "\n"


def compiler_numbers(target: str) -> list[int]:
    flags = ("-mlong-double-64",) if target.startswith("win") else ()
    asm = cbuild.compile_asm(c_source(), target, opt="-O0", flags=flags)
    body = asm[asm.index("table:"):]
    return [int(v, 0) for v in re.findall(r"\.(?:long|word|4byte)\s+(-?\w+)", body)]


def koffi_numbers(abi: str | None) -> list[int]:
    out = []
    for name in CASES:
        t = koffi.type(TYPES[name]) if abi is None else koffi.abi.layout(TYPES[name], abi)
        out += [t.size, t.alignment]
        out += [(t.members or {})[m].offset for m in PLAIN[name]]
    return out


def test_zero_width_bitfields_host() -> None:
    assert koffi_numbers(None) == compiler_numbers("host")


@pytest.mark.cross
@pytest.mark.parametrize("target", [t for t in ABIS if t != "host"])
def test_zero_width_bitfields_cross(target: str) -> None:
    assert koffi_numbers(ABIS[target]) == compiler_numbers(target)


def test_zero_width_needs_a_padding_name() -> None:
    with pytest.raises(ValueError, match="Zero-width bitfield 'x' in 'ZwBad' must be a padding"):
        koffi.struct("ZwBad", {"x": c.bits("int", 0)})
