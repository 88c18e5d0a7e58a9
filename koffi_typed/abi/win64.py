"""Windows x64 (MSVC ABI, also MinGW): LLP64, MSVC bitfield layout, 8-byte long double."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (ruleset("win64", "Windows x64 (MSVC and MinGW)"),)
