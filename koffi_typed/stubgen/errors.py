"""The one error stubgen raises for bad input: a problem with the headers or the command line."""

from __future__ import annotations

__all__ = ["StubgenError"]


class StubgenError(Exception):
    """A problem with the headers or the command line; the message says what and where."""
