"""Exception classes raised by koffi_typed."""

from __future__ import annotations

import re

__all__ = ["Error", "LoadError", "ParseError", "with_proto_hint"]

_MAX_CARET_TEXT = 500


class Error(Exception):
    """Base class of every error that koffi_typed raises on its own."""


class ParseError(Error, ValueError):
    """A C declaration could not be parsed.

    ``text`` is the declaration as given and ``pos`` the offset of the offending character;
    ``str(error)`` shows the message, the text and a caret under that position.
    """

    def __init__(self, msg: str, text: str = "", pos: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.text = text
        self.pos = pos

    def __str__(self) -> str:
        if not self.text or self.pos is None:
            return self.msg
        shown = "".join(ch if ch.isprintable() else " " for ch in self.text)
        if len(shown) > _MAX_CARET_TEXT:
            return f"{self.msg}\n    {shown[:_MAX_CARET_TEXT]}..."
        return f"{self.msg}\n    {shown}\n    {' ' * self.pos}^"

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str, int | None]]:
        return (ParseError, (self.msg, self.text, self.pos))


class LoadError(Error, OSError):
    """A shared library could not be loaded."""


# ``int (*cmp)(`` or ``void (*)(``: what a parse error on an inline function pointer looks like.
_INLINE_FUNCTION_POINTER = re.compile(r"[A-Za-z_][\w\s*]*\(\s*\*\s*\w*\s*\)\s*\(")


def with_proto_hint(exc: ParseError) -> ParseError:
    """``exc``, pointing to `koffi.proto` when its text has a function pointer written inline
    (``int (*cmp)(const void *, const void *)``), which the parser does not take."""
    hint = _INLINE_FUNCTION_POINTER.search(exc.text)
    if hint is None or "koffi.proto" in exc.msg:
        return exc
    return ParseError(
        f"{exc.msg}; function pointers written inline such as '{hint.group(0).strip()}...)' "
        "are not supported here: declare the function type with "
        "koffi.proto('int Cmp(const void *a, const void *b)') and write 'Cmp *cmp' instead",
        exc.text, exc.pos)
