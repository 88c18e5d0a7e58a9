"""AArch64 AAPCS64 (Linux, BSD) and its Apple and Windows variants."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (
    ruleset("aarch64", "AArch64 AAPCS64 (Linux, BSD, Android)"),
    ruleset("aarch64_apple", "AArch64 Apple (macOS, iOS): 8-byte long double"),
    ruleset("aarch64_win", "AArch64 Windows: LLP64, MSVC bitfield layout"),
)
