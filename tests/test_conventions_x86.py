"""32-bit x86 calling conventions against GCC, run by the i386 sysroot's Python.

ctypes calls every function pointer as cdecl. That is right for ``__stdcall`` too (the callee
popping its arguments is harmless: libffi restores the stack pointer from its frame), but a
``__fastcall``/``__thiscall`` function reads its first small integer arguments from ECX/EDX,
which a cdecl call leaves as garbage. A generator makes signatures of every convention over
integers of each width, 64-bit integers, floats, doubles, pointers and small records, with
integer, floating-point and record (hidden pointer) results; GCC compiles them for i386, and
the foreign Python calls each one through koffi_typed. Every call must return what C computes
or be refused at declaration, and a refusal must be exactly where the x86 plan puts something
in a register.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cbuild
import pytest
from test_abi_differential_cross import foreign_python, sysroot

import koffi_typed as koffi

CONVENTIONS = ["__cdecl", "__stdcall", "__fastcall", "__thiscall"]
# C type -> (width in bits or None for floating point, signed)
SCALARS = {"int8_t": (8, True), "uint8_t": (8, False), "int16_t": (16, True),
           "uint16_t": (16, False), "int32_t": (32, True), "uint32_t": (32, False),
           "int64_t": (64, True), "uint64_t": (64, False), "float": (None, True),
           "double": (None, True)}
# Argument records, and the result record returned through the hidden pointer.
RECORDS = {"CvPair": {"a": "int32_t", "b": "int32_t"}, "CvOne": {"d": "double"},
           "CvByte": {"c": "uint8_t"}}
ALL_RECORDS = {**RECORDS, "CvTriple": {"a": "int32_t", "b": "int32_t", "c": "int32_t"}}
RESULTS = ["int32_t", "int64_t", "double", "CvTriple"]
MASK = (1 << 64) - 1
N_SIGNATURES = 160


@dataclass
class Sig:
    name: str
    convention: str
    params: list[str]
    result: str

    def c_decl(self) -> str:
        attr = self.convention.strip("_")
        params = ", ".join(f"{t} p{i}" for i, t in enumerate(self.params)) or "void"
        return f"__attribute__(({attr})) {self.result} {self.name}({params})"

    def koffi_decl(self) -> str:
        params = ", ".join(f"{t} p{i}" for i, t in enumerate(self.params)) or "void"
        return f"{self.result} {self.convention} {self.name}({params})"


def signatures(seed: int = 0x86) -> list[Sig]:
    rnd = random.Random(seed)
    kinds = [*SCALARS, "void *", *RECORDS]
    sigs = []
    for i in range(N_SIGNATURES):
        convention = CONVENTIONS[i % len(CONVENTIONS)]
        params = [rnd.choice(kinds) for _ in range(rnd.randint(0, 5))]
        sigs.append(Sig(f"Cv{i}", convention, params, rnd.choice(RESULTS)))
    return sigs


def c_term(t: str, expr: str) -> str:
    """The int64 that one argument adds to the checksum (mirrors `py_term`)."""
    if t in ("float", "double"):
        return f"(int64_t)({expr} * 8)"
    if t == "void *":
        return f"(int64_t)(uintptr_t){expr}"
    if t == "CvPair":
        return f"((int64_t){expr}.a * 3 + {expr}.b)"
    if t == "CvOne":
        return f"(int64_t)({expr}.d * 8)"
    if t == "CvByte":
        return f"(int64_t){expr}.c"
    return f"(int64_t){expr}"


def render(sigs: list[Sig]) -> str:
    lines = ["#include <stdint.h>"]
    for name, members in ALL_RECORDS.items():
        body = " ".join(f"{t} {m};" for m, t in members.items())
        lines.append(f"typedef struct {{ {body} }} {name};")
    for s in sigs:
        lines.append(s.c_decl() + " {")
        lines.append("    uint64_t h = 7;")
        for i, t in enumerate(s.params):
            lines.append(f"    h = h * 1000003u + (uint64_t){c_term(t, f'p{i}')};")
        if s.result == "CvTriple":
            lines.append("    CvTriple r = { (int32_t)h, (int32_t)(h >> 32), "
                         f"{len(s.params)} }}; return r;")
        elif s.result == "double":
            lines.append("    return (double)(int32_t)h;")
        else:
            lines.append(f"    return ({s.result})h;")
        lines.append("}")
    return "\n".join(lines) + "\n"


def values(sig: Sig, rnd: random.Random) -> list[object]:
    out: list[object] = []
    for t in sig.params:
        if t in ("float", "double"):
            out.append(rnd.randint(-4000, 4000) / 8)
        elif t == "void *":
            out.append(rnd.randint(0, 2**32 - 1))
        elif t == "CvPair":
            out.append({"a": rnd.randint(-(2**31), 2**31 - 1), "b": rnd.randint(-(2**31), 2**31 - 1)})
        elif t == "CvOne":
            out.append({"d": rnd.randint(-4000, 4000) / 8})
        elif t == "CvByte":
            out.append({"c": rnd.randint(0, 255)})
        else:
            bits, signed = SCALARS[t]
            assert bits is not None
            lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            out.append(rnd.randint(lo, hi))
    return out


def py_term(t: str, v: object) -> int:
    if t in ("float", "double"):
        return int(v * 8)  # type: ignore[operator]
    if t == "CvPair":
        return v["a"] * 3 + v["b"]  # type: ignore[index,no-any-return]
    if t == "CvOne":
        return int(v["d"] * 8)  # type: ignore[index]
    if t == "CvByte":
        return v["c"]  # type: ignore[index,no-any-return]
    return v  # type: ignore[return-value]


def expected(sig: Sig, args: list[object]) -> object:
    h = 7
    for t, v in zip(sig.params, args):
        h = (h * 1000003 + py_term(t, v)) & MASK

    def signed(x: int, bits: int) -> int:
        x &= (1 << bits) - 1
        return x - (1 << bits) if x >> (bits - 1) else x
    if sig.result == "CvTriple":
        return {"a": signed(h, 32), "b": signed(h >> 32, 32), "c": len(sig.params)}
    if sig.result == "double":
        return float(signed(h, 32))
    return signed(h, 32 if sig.result == "int32_t" else 64)


DRIVER = """
import json, sys
sys.path.insert(0, {repo!r})
import koffi_typed as koffi
for name, members in {records!r}.items():
    koffi.struct(name, members)
lib = koffi.load({library!r})
out = {{}}
for decl, name, args in {calls!r}:
    try:
        f = lib.func(decl)
    except NotImplementedError as exc:
        out[name] = ["refused", str(exc)]
        continue
    r = f(*args)
    if not isinstance(r, (int, float)):
        r = {{"a": r.a, "b": r.b, "c": r.c}}
    out[name] = ["ok", r]
print("CONV-RESULT " + json.dumps(out))
"""


@pytest.mark.cross("i386")
def test_x86_conventions_match_gcc_or_are_refused(tmp_path: Path) -> None:
    root = sysroot("i386")
    assert root is not None, "no i386 Python sysroot; run .ci/install-toolchains"
    sigs = signatures()
    source = tmp_path / "conventions.c"
    source.write_text(render(sigs))
    library = cbuild.build_shared([source], "i386")
    rnd = random.Random(0xC0DE)
    calls = [(s.koffi_decl(), s.name, values(s, rnd)) for s in sigs]
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(repo=str(cbuild.REPO_ROOT), records=ALL_RECORDS,
                                    library=str(library), calls=calls))
    proc = subprocess.run([*foreign_python("i386", root), "-I", str(script)],
                          capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("CONV-RESULT ")), None)
    assert proc.returncode == 0 and line is not None, proc.stderr[-3000:]
    results = json.loads(line[len("CONV-RESULT "):])

    for name, members in ALL_RECORDS.items():  # the same records here, for the x86 plans
        koffi.struct(name, members)
    wrong, tally = [], {"ok": 0, "refused": 0, "ok fastcall/thiscall": 0}
    for (decl, name, args), sig in zip(calls, sigs):
        status, got = results[name]
        plan = koffi.abi.classify(koffi.proto(decl.replace(f" {name}(", " (")), "x86_cdecl")
        in_registers = any(p.kind == "reg" for p in plan.arguments) or (
            plan.result.kind == "sret" and bool(plan.result.registers))
        tally[status] += 1
        if status == "refused":
            if not (in_registers and sig.convention in ("__fastcall", "__thiscall")):
                wrong.append(f"{decl}: refused needlessly: {got}")
            continue
        if sig.convention in ("__fastcall", "__thiscall"):
            tally["ok fastcall/thiscall"] += 1
        if in_registers:
            wrong.append(f"{decl}: accepted though the plan uses registers")
        want = expected(sig, args)
        if got != want:
            wrong.append(f"{decl}{tuple(args)}: C returned {want}, koffi_typed {got}")
    assert not wrong, "\n".join(wrong[:20])
    print(f"i386 conventions: {tally}")
    assert tally["refused"] and tally["ok fastcall/thiscall"], tally
