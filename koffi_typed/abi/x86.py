"""32-bit x86: System V i386 (doubles and 64-bit ints 4-aligned in records) and Windows."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (
    ruleset("x86_cdecl", "i386 System V (Linux, BSD)"),
    ruleset("x86_win", "i386 Windows (MSVC and MinGW)"),
)
