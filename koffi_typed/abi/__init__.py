"""The ``koffi.abi`` package: ABI rulesets, per-target layouts and (later) argument passing.

Each ruleset lives in its own module and imports on any host; only `host` looks at the
running platform.
"""

from __future__ import annotations

from koffi_typed.abi import aarch64, arm32_hf, riscv64, sysv_x64, win64, x86
from koffi_typed.abi.ruleset import Ruleset
from koffi_typed.datamodel import host_name
from koffi_typed.types import Type, relayout, resolve_type

__all__ = ["RULESETS", "Ruleset", "host", "layout", "names"]

RULESETS: dict[str, Ruleset] = {
    r.name: r
    for module in (sysv_x64, win64, aarch64, x86, arm32_hf, riscv64)
    for r in module.RULESETS
}


def host() -> str:
    """The ruleset of this process: ``'sysv_x64'``, ``'win64'``, ``'aarch64'``, ..."""
    return host_name()


def names() -> list[str]:
    """Names of every ruleset koffi_typed knows."""
    return list(RULESETS)


def get(abi: str) -> Ruleset:
    """The ruleset named ``abi`` (``ValueError`` naming the known ones otherwise)."""
    try:
        return RULESETS[abi]
    except KeyError:
        raise ValueError(f"Unknown ABI {abi!r} (known: {', '.join(RULESETS)})") from None


def layout(spec: object, abi: str | None = None) -> Type:
    """The type ``spec`` laid out for ruleset ``abi`` (the host's when omitted).

    The result has the same shape as `koffi.type` gives (size, alignment, members with
    offsets and bit positions) but describes the target's data model.
    """
    t = resolve_type(spec)
    ruleset = get(abi or host_name())
    return relayout(t, ruleset.model)
