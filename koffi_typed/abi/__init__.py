"""The ``koffi.abi`` package: ABI rulesets, per-target layouts and argument classification.

Each ruleset lives in its own module and imports on any host; only `host` looks at the
running platform. `classify` tells where a function's result and arguments go.
"""

from __future__ import annotations

from collections.abc import Sequence

from koffi_typed.abi import aarch64, arm32_hf, riscv64, sysv_x64, win64, x86
from koffi_typed.abi.plan import CallPlan, Placement, Signature
from koffi_typed.abi.ruleset import Ruleset
from koffi_typed.datamodel import host_name
from koffi_typed.declarations import parse_declaration
from koffi_typed.typesystem import Type, relayout, resolve_type

__all__ = ["RULESETS", "CallPlan", "Placement", "Ruleset", "classify", "get", "host", "layout",
           "names"]

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


def signature_of(spec: object) -> Signature:
    """A signature from a ``FunctionInfo``, a prototype type (``koffi.proto``), a prototype
    string, or an object with an ``.info`` signature (a declared function)."""
    if isinstance(spec, str):
        return parse_declaration(spec, require_name=False)
    if isinstance(spec, Type):
        t = spec.ref if spec.primitive == "Callback" and spec.ref is not None else spec
        if t.proto is None:
            raise TypeError(f"Expected a function type, got {spec.name}")
        return _checked(t.proto)
    info = getattr(spec, "info", None)
    if info is not None:
        return _checked(info)
    return _checked(spec)


def _checked(obj: object) -> Signature:
    for attr in ("arguments", "result", "variadic"):
        if not hasattr(obj, attr):
            raise TypeError(f"Expected a function, a prototype or a FunctionInfo, got "
                            f"{type(obj).__name__}")
    return obj  # type: ignore[return-value]


def classify(proto_or_function: object, abi: str | None = None,
             variadic_types: Sequence[object] = ()) -> CallPlan:
    """Where the result and every argument go under ruleset ``abi`` (the host's by default).

    Accepts a ``FunctionInfo``, a prototype type, a prototype string or a declared function.
    ``variadic_types`` classifies the variadic arguments of one call too (type specs, already
    promoted as C does: ``double``, ``int``...).
    """
    info = signature_of(proto_or_function)
    extra = tuple(resolve_type(s) for s in variadic_types)
    return get(abi or host_name()).classify(info, extra)
