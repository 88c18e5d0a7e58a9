"""System V AMD64 psABI (Linux, BSD and macOS on x86-64): LP64, GCC record layout."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (ruleset("sysv_x64", "System V AMD64 (Linux, BSD, macOS x86-64)"),)
