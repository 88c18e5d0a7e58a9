"""Exception classes raised by koffi_typed."""

from __future__ import annotations

__all__ = ["Error", "LoadError", "ParseError"]

_MAX_CARET_TEXT = 120  # longer declarations are quoted as an excerpt around the error
_CONTEXT = 40  # characters shown each side of the error in an excerpt


class Error(Exception):
    """Base class of every error that koffi_typed raises on its own."""


class ParseError(Error, ValueError):
    """A C declaration could not be parsed.

    ``text`` is the declaration as given and ``pos`` the offset of the offending character;
    ``str(error)`` shows the message, the text (an excerpt around ``pos`` when it is long)
    and a caret under that position.
    """

    def __init__(self, msg: str, text: str = "", pos: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.text = text
        self.pos = pos

    def __str__(self) -> str:
        if not self.text or self.pos is None:
            return self.msg
        text, pos = self.text, min(max(self.pos, 0), len(self.text))
        start, end, before, after = 0, len(text), "", ""
        if len(text) > _MAX_CARET_TEXT:
            start, end = max(0, pos - _CONTEXT), min(len(text), pos + _CONTEXT)
            before = "..." if start else ""
            after = "..." if end < len(text) else ""
        shown = "".join(ch if ch.isprintable() else " " for ch in text[start:end])
        caret = " " * (len(before) + pos - start)
        where = f" (offset {pos} of {len(text)})" if before or after else ""
        return f"{self.msg}{where}\n    {before}{shown}{after}\n    {caret}^"

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str, int | None]]:
        return (ParseError, (self.msg, self.text, self.pos))


class LoadError(Error, OSError):
    """A shared library could not be loaded."""
