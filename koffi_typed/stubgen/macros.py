"""The library's ``#define`` constants.

Object-like macros are expanded as the preprocessor does and evaluated with
`koffi_typed.stubgen.cexpr`; a body that looks like a constant expression it cannot decide
(``sizeof`` of a record, function-like macros such as ``SSL_OP_BIT(n)``) is left for the C
compiler; the others are listed in the module as not translated, by reason. Macros whose
names start with ``_`` (reserved in C, include guards) are left out.
"""

from __future__ import annotations

from collections.abc import Callable

import koffi_typed.stubgen.cexpr as cexpr
from koffi_typed.stubgen.builder import Builder
from koffi_typed.stubgen.parse import deep_recursion
from koffi_typed.stubgen.preprocess import Preprocessed

__all__ = ["macro_constants", "macro_notes"]


def _looks_constant(tokens: list[cexpr.Token]) -> bool:
    """Whether a macro body could be a constant expression worth asking the compiler."""
    depth = 0
    for t in tokens:
        if t.text in ("(", "["):
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
            if depth < 0:
                return False
        elif t.text in (";", "{", "}", "#", "##", "=", ",") or t.kind == "str":
            return False
    return depth == 0 and bool(tokens)


def macro_constants(pre: Preprocessed, builder: Builder,
                    is_library: Callable[[str, str | None], bool]
                    ) -> dict[str, int | float | str | bytes | None]:
    """Library ``#define`` constants: values, None for the compiler to compute."""
    object_like = {n: m for n, m in pre.macros.items() if m.params is None}
    tokens: dict[str, list[cexpr.Token]] = {}
    for n, m in object_like.items():
        try:
            tokens[n] = cexpr.tokenize(m.body)
        except cexpr.Unknown:
            tokens[n] = [cexpr.Token("op", "#")]
    env = cexpr.Env(constants=builder.env.constants, macros=tokens,
                    function_macros=[n for n, m in pre.macros.items() if m.params is not None],
                    scalar=builder.scalar, sizeof=builder.sizeof,
                    long_bits=builder.env.long_bits, char_signed=builder.env.char_signed)
    out: dict[str, int | float | str | bytes | None] = {}
    for m in sorted(object_like.values(), key=lambda m: m.order):
        if m.name.startswith("_") or not m.body or not is_library(m.file, m.name):
            continue
        body = tokens[m.name]
        used: set[str] = {m.name}
        try:
            expanded = cexpr.expand(body, env, used)
        except cexpr.Unknown:
            expanded = []
        text = cexpr.string_value(expanded)
        if text is not None:
            out[m.name] = text
            continue
        if expanded:
            try:
                with deep_recursion():
                    value = cexpr.evaluate_postfix(cexpr.to_postfix(expanded, env), env)
                out[m.name] = value.value
                if cexpr.atomic(expanded):
                    env.memo[m.name] = (value, frozenset(used))
                continue
            except (cexpr.Unknown, RecursionError):
                pass
        if _looks_constant(body) and not (len(body) == 1 and body[0].text == m.name):
            out[m.name] = None
    return out


def macro_notes(pre: Preprocessed, values: dict[str, int | float | str | bytes | None],
                is_library: Callable[[str, str | None], bool]) -> dict[str, list[str]]:
    """The library's macros that are not translated, by reason (listed in the module)."""
    notes: dict[str, list[str]] = {}
    for m in sorted(pre.macros.values(), key=lambda m: m.order):
        if not is_library(m.file, m.name) or m.name.startswith("_"):
            continue
        if m.params is not None:
            notes.setdefault("function-like macros", []).append(m.name)
        elif not m.body:
            notes.setdefault("empty (flags for the preprocessor)", []).append(m.name)
        elif values.get(m.name) is None:
            notes.setdefault("not constants", []).append(m.name)
    return notes
