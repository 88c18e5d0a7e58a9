"""Classification per ruleset: the worked examples of ``reference/abi.md`` (every [verified]
row) as expected placements, and a check against GCC's assembly: for each example argument
in registers, a callee returning the member at offset 0 must read the register the
classification names (host target unmarked, foreign targets ``cross``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import cbuild
import pytest

from koffi_typed import abi
from koffi_typed.abi.cli import main as layout_main
from koffi_typed.abi.cli import parse_records
from koffi_typed.typesystem import Type, resolve_type


@dataclass(frozen=True)
class Arg:
    name: str | None
    type: Type


@dataclass(frozen=True)
class Sig:
    name: str | None
    arguments: tuple[Arg, ...]
    result: Type
    variadic: bool = False
    convention: str | None = None


def sig(result: str, *params: str, records: str = "", variadic: bool = False,
        convention: str | None = None) -> Sig:
    """A signature whose types may name the records declared in ``records`` (C text)."""
    local: dict[str, Type] = {}
    packed = records.startswith("packed ")
    decls = [d.strip() + "}" for d in records.removeprefix("packed ").split("};") if d.strip()]
    for k, decl in enumerate(decls):
        local[decl.split()[1]] = parse_records(";".join(decls[:k + 1]), 1 if packed else None)

    def res(spec: str) -> Type:
        return local.get(spec) or resolve_type(spec)

    return Sig("f", tuple(Arg(f"a{i}", res(p)) for i, p in enumerate(params)), res(result),
               variadic, convention)


def where(p: abi.Placement) -> str:
    if p.kind == "stack":
        return f"stack {p.stack_offset}"
    if p.kind == "split":
        return f"split {' '.join(p.registers)} + {p.stack_offset}"
    return f"{p.kind} {' '.join(p.registers)}".strip()


# (abi, records, result, params, expected result, expected per argument (None = unchecked))
EXAMPLES = [
    # --- SysV x86-64 (§1.1)
    ("sysv_x64", "union U { int i; float f; double d; };", "U", ["U"], "reg rax", ["reg rdi"]),
    ("sysv_x64", "union UF { float f; double d; };", "UF", ["UF"], "reg xmm0", ["reg xmm0"]),
    ("sysv_x64", "union UDL { double d; long l; };", "UDL", ["UDL"], "reg rax", ["reg rdi"]),
    ("sysv_x64", "union U16 { long l; double b[2]; };", "U16", ["U16"], "reg rax xmm0",
     ["reg rdi xmm0"]),
    ("sysv_x64", "struct BF4 { unsigned a:8, b:8, c:8, d:8; double x; };", "BF4", ["BF4"],
     "reg rax xmm0", ["reg rdi xmm0"]),
    ("sysv_x64", "struct F3 { float a, b, c; };", "F3", ["F3"], "reg xmm0 xmm1",
     ["reg xmm0 xmm1"]),
    ("sysv_x64", "packed struct P5 { char c; int i; };", "P5", ["P5", "int"], "sret rdi",
     ["stack 0", "reg rsi"]),
    ("sysv_x64", "struct LD { long double x; };", "LD", ["LD"], "reg st0", ["stack 0"]),
    ("sysv_x64", "struct I128 { __int128 v; };", "I128", ["int", "I128"], "reg rax rdx",
     ["reg rdi", "reg rsi rdx"]),
    ("sysv_x64", "struct LL { long a, b; };", "void",
     ["long", "long", "long", "long", "long", "LL", "long"], "ignored",
     [None] * 5 + ["stack 0", "reg r9"]),
    ("sysv_x64", "struct DD { double a, b; };", "void", ["double"] * 7 + ["DD", "double"],
     "ignored", [None] * 7 + ["stack 0", "reg xmm7"]),
    ("sysv_x64", "", "__int128", ["int", "__int128"], "reg rax rdx", ["reg rdi", "reg rsi rdx"]),
    # --- Windows x64 (§1.2)
    ("win64", "struct D { double d; };", "D", ["D", "int"], "reg rax", ["reg rcx", "reg rdx"]),
    ("win64", "struct S8 { int a, b; };", "S8", ["S8"], "reg rax", ["reg rcx"]),
    ("win64", "union UDL { double d; long long l; };", "UDL", ["UDL"], "reg rax", ["reg rcx"]),
    ("win64", "struct S3 { char a, b, c; };", "S3", ["S3", "int"], "sret rcx",
     ["ref rdx", "reg r8"]),
    ("win64", "struct FF { float a, b; };", "FF", ["double", "int"], "reg rax",
     ["reg xmm0", "reg rdx"]),
    ("win64", "struct S12 { int a, b, c; };", "S12", ["S12"], "sret rcx", ["ref rdx"]),
    # --- AArch64 (§1.3)
    ("aarch64", "struct F3 { float a, b, c; };", "F3", ["F3"], "reg v0 v1 v2",
     ["reg v0 v1 v2"]),
    ("aarch64", "struct D4 { double a, b, c, d; };", "D4", ["D4"], "reg v0 v1 v2 v3",
     ["reg v0 v1 v2 v3"]),
    ("aarch64", "struct F5 { float a, b, c, d, e; };", "void", ["F5"], "ignored", ["ref x0"]),
    ("aarch64", "union UHF { float a; float b[2]; };", "UHF", ["UHF"], "reg v0 v1",
     ["reg v0 v1"]),
    ("aarch64", "struct P { float x, y; }; struct N { struct P p; float z; };", "void", ["N"],
     "ignored", ["reg v0 v1 v2"]),
    ("aarch64", "struct FI { float f; int i; };", "FI", ["FI"], "reg x0", ["reg x0"]),
    ("aarch64", "struct L3 { long a, b, c; };", "L3", ["L3"], "sret x8", ["ref x0"]),
    ("aarch64", "struct I128 { __int128 v; };", "void", ["int", "I128"], "ignored",
     ["reg x0", "reg x2 x3"]),
    ("aarch64", "struct BF { unsigned a:3, b:29; float f; };", "BF", ["BF"], "reg x0",
     ["reg x0"]),
    ("aarch64", "struct F3 { float a, b, c; };", "void", ["float"] * 7 + ["F3", "float"],
     "ignored", [None] * 7 + ["stack 0", "stack 16"]),
    ("aarch64", "struct LD { long double x; };", "LD", ["LD"], "reg v0", ["reg v0"]),
    ("aarch64", "", "int", ["int"], "reg x0", ["reg x0"]),
    # --- ARM32 hard-float (§1.5)
    ("arm32_hf", "", "void", ["float", "double", "float"], "ignored", ["reg s0", "reg d1",
                                                                        "reg s1"]),
    ("arm32_hf", "", "void", ["int", "long long"], "ignored", ["reg r0", "reg r2 r3"]),
    ("arm32_hf", "struct LI { long long a; int b; };", "void", ["int", "LI"], "ignored",
     ["reg r0", "split r2 r3 + 0"]),
    ("arm32_hf", "struct II { int a, b; };", "void", ["int", "int", "int", "II"], "ignored",
     [None, None, "reg r2", "split r3 + 0"]),
    ("arm32_hf", "struct II { int a, b; };", "II", ["int"], "sret r0", ["reg r1"]),
    ("arm32_hf", "struct D2 { double a, b; };", "D2", ["D2"], "reg d0 d1", ["reg d0 d1"]),
    # --- RISC-V LP64D (§1.6)
    ("riscv64_lp64d", "struct FI { float f; int i; };", "FI", ["FI"], "reg fa0 a0",
     ["reg fa0 a0"]),
    ("riscv64_lp64d", "struct ID { int i; double d; };", "void", ["ID"], "ignored",
     ["reg a0 fa0"]),
    ("riscv64_lp64d", "struct DD { double a, b; };", "DD", ["DD"], "reg fa0 fa1",
     ["reg fa0 fa1"]),
    ("riscv64_lp64d", "struct F3 { float a, b, c; };", "void", ["F3"], "ignored",
     ["reg a0 a1"]),
    ("riscv64_lp64d", "struct FA { float f[2]; };", "void", ["FA"], "ignored",
     ["reg fa0 fa1"]),
    ("riscv64_lp64d", "union UFD { float f; double d; };", "UFD", ["UFD"], "reg a0",
     ["reg a0"]),
    ("riscv64_lp64d", "struct BF { int x:3; float f; };", "void", ["BF"], "ignored",
     ["reg a0 fa0"]),
    ("riscv64_lp64d", "struct S { float a; }; struct N { struct S s; int i; };", "void",
     ["N"], "ignored", ["reg fa0 a0"]),
    ("riscv64_lp64d", "struct L3 { long a, b, c; };", "L3", ["L3"], "sret a0", ["ref a1"]),
    ("riscv64_lp64d", "struct FI { float f; int i; };", "void", ["double"] * 8 + ["FI"],
     "ignored", [None] * 8 + ["reg a0"]),
    ("riscv64_lp64d", "struct DD { double a, b; };", "void", ["double"] * 7 + ["DD"],
     "ignored", [None] * 7 + ["reg a0 a1"]),
    ("riscv64_lp64d", "", "void", ["int", "__int128"], "ignored", ["reg a0", "reg a1 a2"]),
    ("riscv64_lp64d", "struct SD { double d; };", "void",
     ["long"] * 6 + ["double"] * 8 + ["SD", "long"], "ignored", [None] * 14 + ["reg a6",
                                                                                "reg a7"]),
    # --- i386 (§1.4)
    ("x86_cdecl", "struct S4 { int a; };", "S4", ["int"], "sret", ["stack 4"]),
    ("x86_win", "struct S4 { int a; };", "S4", ["int"], "reg eax", ["stack 0"]),
    ("x86_win", "struct S8 { int a, b; };", "S8", ["int"], "reg eax edx", ["stack 0"]),
    ("x86_win", "struct S12 { int a, b, c; };", "S12", ["int"], "sret", ["stack 4"]),
]


@pytest.mark.parametrize(("abi_name", "records", "result", "params", "want_result", "want"),
                         EXAMPLES)
def test_worked_examples(abi_name: str, records: str, result: str, params: list[str],
                         want_result: str, want: list[str | None]) -> None:
    plan = abi.get(abi_name).classify(sig(result, *params, records=records))
    assert where(plan.result) == want_result or (
        want_result == "sret" and plan.result.kind == "sret"), str(plan)
    for p, expected in zip(plan.arguments, want, strict=True):
        if expected is not None:
            assert where(p) == expected, str(plan)


def test_variadic_rules() -> None:
    s = sig("int", "int", variadic=True)
    double = resolve_type("double")
    assert where(abi.get("aarch64").classify(s, [double]).arguments[1]) == "reg v0"
    assert where(abi.get("aarch64_apple").classify(s, [double]).arguments[1]) == "stack 0"
    assert where(abi.get("aarch64_win").classify(s, [double]).arguments[1]) == "reg x1"
    assert where(abi.get("riscv64_lp64d").classify(s, [double]).arguments[1]) == "reg a1"
    assert where(abi.get("arm32_hf").classify(s, [double]).arguments[1]) == "reg r2 r3"
    assert abi.get("win64").classify(s, [double]).arguments[1].registers == ("xmm1", "rdx")
    assert "al = 1" in str(abi.get("sysv_x64").classify(s, [double]))


def test_x86_conventions() -> None:
    records = "struct S12 { int a, b, c; };"
    plan = abi.get("x86_cdecl").classify(sig("S12", "int", records=records))
    assert plan.callee_pops == 4 and plan.result.stack_offset == 0
    plan = abi.get("x86_cdecl").classify(sig("S12", "int", "int", records=records,
                                             convention="__fastcall"))
    assert where(plan.result) == "sret ecx" and where(plan.arguments[0]) == "reg edx"
    assert where(plan.arguments[1]) == "stack 0" and plan.callee_pops == 4
    plan = abi.get("x86_win").classify(sig("int", "int", "int", convention="__stdcall"))
    assert plan.callee_pops == 8
    # fastcall: GCC lets a long long use up both registers, MSVC does not.
    gcc = abi.get("x86_cdecl").classify(sig("int", "long long", "int", convention="__fastcall"))
    msvc = abi.get("x86_win").classify(sig("int", "long long", "int", convention="__fastcall"))
    assert where(gcc.arguments[1]) == "stack 8" and where(msvc.arguments[1]) == "reg ecx"
    plan = abi.get("x86_win").classify(sig("S12", "int", records=records))
    assert plan.callee_pops == 0


def test_pieces_for_lowering() -> None:
    plan = abi.get("sysv_x64").classify(sig("U16", "U16", records="union U16 { long l; "
                                                                    "double b[2]; };"))
    assert plan.arguments[0].pieces == ((0, 8, "int"), (8, 8, "double"))
    plan = abi.get("riscv64_lp64d").classify(sig("void", "FI", records="struct FI { float f; "
                                                                         "int i; };"))
    assert plan.arguments[0].pieces == ((0, 4, "float"), (4, 4, "int"))
    plan = abi.get("sysv_x64").classify(sig("void", "F", records="struct F { float f; };"))
    assert plan.arguments[0].pieces == ((0, 4, "float"),)


def test_classify_front_end() -> None:
    import koffi_typed as koffi
    info = koffi.proto("double fe_proto(int a, double b)")
    for spec in (info, "double g(int a, double b)", info.proto):
        plan = koffi.abi.classify(spec, "sysv_x64")
        assert [where(p) for p in plan.arguments] == ["reg rdi", "reg xmm0"]
        assert "xmm0" in str(plan)
    with pytest.raises(TypeError):
        koffi.abi.classify(42)


def test_layout_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert layout_main(["union { double d; long l; }", "--abi", "sysv_x64"]) == 0
    out = capsys.readouterr().out
    assert "passed:   reg     rdi" in out
    assert layout_main(["struct { char c; int i; }", "--pack", "1", "--abi", "all"]) == 0
    out = capsys.readouterr().out
    assert "unaligned → MEMORY" in out and "on riscv64_lp64d" in out
    assert layout_main(["struct { int a; ^ }"]) == 2


# ---------------------------------------------------------------------------- GCC assembly

TARGET_OF = {"sysv_x64": "host", "win64": "win64", "aarch64": "aarch64", "arm32_hf": "armhf",
             "riscv64_lp64d": "riscv64"}
ALIASES = {
    "rdi": "rdi|edi|dil|di", "rsi": "rsi|esi|sil|si", "rdx": "rdx|edx|dl|dx",
    "rcx": "rcx|ecx|cl|cx", "r8": r"r8d?\b", "r9": r"r9d?\b",
}


def _reg_pattern(reg: str) -> str:
    if reg in ALIASES:
        return ALIASES[reg]
    m = re.fullmatch(r"([xv])(\d)", reg)
    if m:
        return rf"\b[xw]{m[2]}\b" if m[1] == "x" else rf"\b[sdqv]{m[2]}\b"
    m = re.fullmatch(r"d(\d)", reg)
    if m:  # ARM32 d<n> overlaps s<2n>, s<2n+1>
        n = int(m[1])
        return rf"\b(d{n}|s{2 * n}|s{2 * n + 1})\b"
    return rf"\b{reg}\b"


def _c_type(abi_name: str, name: str) -> str:
    return name


def _asm_cases() -> list[tuple[str, str, str, list[str], int]]:
    out = []
    for abi_name, records, _, params, _, want in EXAMPLES:
        if abi_name not in TARGET_OF:
            continue
        for i, w in enumerate(want):
            if w is not None and w.startswith("reg") and (params[i] in records.split() or True):
                out.append((abi_name, records, params[i], params, i))
                break
    return out


def _first_member(records: str, tname: str) -> str:
    m = re.search(rf"(?:struct|union) {tname} \{{\s*(?:struct \w+ )?[\w ]*?(\w+)\s*[\[;:,]",
                  records)
    if m is None:
        return ""
    member = m[1]
    inner = re.search(rf"(?:struct|union) {tname} \{{\s*struct (\w+) (\w+)", records)
    if inner:
        return f".{inner[2]}{_first_member(records, inner[1])}"
    arr = re.search(rf"(?:struct|union) {tname} \{{[^}}]*?\b{member}\[", records)
    return f".{member}" + ("[0]" if arr else "")


def _asm_source(records: str, params: list[str], index: int) -> str:
    packed = records.startswith("packed ")
    decls = re.sub(r"(struct|union) (\w+) \{", r"typedef \1 \2 {",
                   records.removeprefix("packed "))
    decls = re.sub(r"typedef (struct|union) (\w+) \{([^}]*)\};", r"typedef \1 \2 {\3} \2;",
                   decls)
    decls = decls.replace("struct P p;", "P p;").replace("struct S s;", "S s;")
    args = ", ".join(f"{p} a{i}" for i, p in enumerate(params))
    member = _first_member(records, params[index]) if params[index][0].isupper() else ""
    expr = f"a{index}{member}"
    if packed:
        decls = f"#pragma pack(push, 1)\n{decls}\n#pragma pack(pop)"
    return (f"{decls}\nvoid probe({args}) {{ static volatile __typeof__(({expr}) + 0) sink; "
            f"sink = {expr}; }}\n")


def _check_asm(abi_name: str, records: str, params: list[str], index: int) -> None:
    target = TARGET_OF[abi_name]
    source = _asm_source(records, params, index)
    asm = cbuild.compile_asm(source, target, "-O2", flags=("-w",))
    body = asm[asm.index("probe:"):]
    end = re.search(r"\n\s*(ret|retq|bx\s+lr|jr\s+ra)\b", body)
    body = body[:end.start() if end else len(body)]
    plan = abi.get(abi_name).classify(sig("void", *params, records=records))
    reg = plan.arguments[index].registers[0]
    assert re.search(_reg_pattern(reg), body), f"{reg} not read:\n{source}\n{body}"


_CASES = _asm_cases()


@pytest.mark.parametrize(("abi_name", "records", "tname", "params", "index"),
                         [c for c in _CASES if c[0] == "sysv_x64"])
def test_against_gcc_host(abi_name: str, records: str, tname: str, params: list[str],
                          index: int) -> None:
    _check_asm(abi_name, records, params, index)


@pytest.mark.cross
@pytest.mark.parametrize(("abi_name", "records", "tname", "params", "index"),
                         [c for c in _CASES if c[0] != "sysv_x64"])
def test_against_gcc_cross(abi_name: str, records: str, tname: str, params: list[str],
                           index: int) -> None:
    if not cbuild.toolchain_available(TARGET_OF[abi_name]) and TARGET_OF[abi_name] != "win64":
        pytest.fail(f"toolchain for {TARGET_OF[abi_name]} missing")
    _check_asm(abi_name, records, params, index)
