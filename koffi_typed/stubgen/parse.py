"""Step 2: pycparser parses the preprocessed text; what it cannot read is left out.

pycparser (the optional extra ``koffi_typed[stubgen]``, 2.x or 3.x) reads C99/C11 without GNU
extensions. A declaration it rejects is reported (header, line, C text), blanked, and parsing
starts again without it, so the generator never ends in a traceback.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from koffi_typed.stubgen.errors import StubgenError
from koffi_typed.stubgen.preprocess import Preprocessed

__all__ = ["Skipped", "deep_recursion", "load_pycparser", "parse"]

_MAX_SKIPPED: Final = 60


def load_pycparser() -> Any:
    """The pycparser package, or a `StubgenError` saying how to install it."""
    try:
        import pycparser  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pycparser.c_generator  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pycparser.c_parser  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise StubgenError("stubgen needs pycparser: pip install 'koffi_typed[stubgen]'"
                           ) from None
    return pycparser


@dataclass
class Skipped:
    """A declaration pycparser could not read."""

    file: str
    line: int
    text: str
    reason: str


@contextlib.contextmanager
def deep_recursion(limit: int = 60_000) -> Iterator[None]:
    """pycparser and tree walks recurse per nesting level; deep expressions need room."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def parse(pre: Preprocessed, pycparser: Any) -> tuple[Any, list[Skipped]]:
    """Parse the preprocessed text; declarations pycparser rejects are left out (at most
    `_MAX_SKIPPED`), anything else is a `StubgenError` naming the header, line and C text."""
    text = _with_builtin_types(pre.text)
    shift = len(text) - len(pre.text)
    line_starts = [0] + [nl.end() for nl in re.finditer("\n", pre.text)]
    index: dict[tuple[str, int], list[int]] = {}
    for i, origin in enumerate(pre.origins):
        index.setdefault(origin, []).append(i)
    starts = [c[0] for c in pre.chunks]
    blanked: set[int] = set()
    skipped: list[Skipped] = []
    error_cls = pycparser.c_parser.ParseError

    def usable(i: int) -> bool:
        a, b = pre.chunks[i]
        return i not in blanked and any(
            ln.strip() and not ln.startswith("#") for ln in text[a + shift:b + shift].split("\n"))

    while True:
        parser = pycparser.c_parser.CParser()
        try:
            with deep_recursion():
                return parser.parse(text, "<stubgen>"), skipped
        except error_cls as exc:
            message = str(exc)
        except RecursionError:
            raise StubgenError("a declaration nests too deeply for pycparser") from None
        m = re.match(r"(.*?):(\d+)(?::(\d+))?:\s*(.*)$", message, re.S)
        file, line, col, reason = (m[1], int(m[2]), int(m[3] or 1), m[4].strip()) if m \
            else ("", 0, 1, message)
        lines = index.get((file, line), [])
        chunk = -1
        if lines:
            chunk = bisect.bisect_right(starts, line_starts[lines[0]] + col - 1) - 1
        lexpos = _lexer_position(parser)
        if lexpos is not None:
            near = bisect.bisect_right(starts, max(lexpos - shift - 1, 0)) - 1
            while near > 0 and not usable(near):
                near -= 1
            if chunk < 0 or not usable(chunk) or chunk > near:
                chunk = near
        if chunk < 0 or not usable(chunk) or len(skipped) >= _MAX_SKIPPED:
            source = pre.text.splitlines()[lines[0]] if lines else ""
            raise StubgenError(
                f"{file}:{line}:{col}: pycparser cannot read this declaration ({reason})\n"
                f"    {source.strip()}")
        blanked.add(chunk)
        a, b = pre.chunks[chunk]
        a, b = a + shift, b + shift
        body = [ln for ln in text[a:b].split("\n")]
        first = next(i for i, ln in enumerate(body) if ln.strip() and not ln.startswith("#"))
        origin = pre.origins[bisect.bisect_right(line_starts, a - shift) - 1 + first]
        decl = " ".join(ln for ln in body if not ln.startswith("#"))
        skipped.append(Skipped(origin[0], origin[1], " ".join(decl.split())[:300], reason))
        text = text[:a] + _keep_markers(text[a:b]) + text[b:]


#: Types GCC knows that pycparser does not: declared as incomplete types, so that headers
#: using them parse and whatever needs them by value is reported as not translated.
_BUILTIN_TYPES: Final = ("_Float16", "_Float32", "_Float64", "_Float128", "_Float32x",
                         "_Float64x", "_Float128x", "__float80", "__float128", "__bf16",
                         "__fp16", "_Decimal32", "_Decimal64", "_Decimal128", "__int128_t",
                         "__uint128_t")


def _with_builtin_types(text: str) -> str:
    names = [n for n in _BUILTIN_TYPES if re.search(rf"\b{n}\b", text) and not re.search(
        rf"\btypedef\b[^;{{}}]*\b{n}\s*;", text)]
    if not names:
        return text
    decls = "".join(f"typedef struct {n} {n};" for n in names)
    return f'# 1 "<built-in types>"\n{decls}\n{text}'


def _lexer_position(parser: Any) -> int | None:
    """How far pycparser's lexer got (pycparser 3: ``clex._pos``, 2: PLY's ``lexpos``)."""
    clex = getattr(parser, "clex", None)
    pos = getattr(clex, "_pos", None)
    if pos is None:
        pos = getattr(getattr(clex, "lexer", None), "lexpos", None)
    return pos if isinstance(pos, int) else None


def _keep_markers(chunk: str) -> str:
    """Blank a chunk but keep its line markers (they give later lines their origin)."""
    return "\n".join(ln if ln.startswith("#") else " " * len(ln) for ln in chunk.split("\n"))
