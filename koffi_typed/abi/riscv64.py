"""RISC-V LP64D, and LoongArch64 (LP64D as well, same layout rules)."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (
    ruleset("riscv64_lp64d", "RISC-V 64 LP64D"),
    ruleset("loongarch64", "LoongArch64 LP64D"),
)
