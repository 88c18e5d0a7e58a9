"""ARM32 AAPCS, hard-float (armhf): ILP32, 64-bit types 8-aligned, long double = double."""

from koffi_typed.abi.ruleset import ruleset

RULESETS = (ruleset("arm32_hf", "ARM32 AAPCS-VFP (armhf)"),)
