"""Which C names may appear verbatim in generated Python source.

Generated code (callers, record methods, flat-record codecs) names parameters and members
after the C declaration where that is safe. A C name is used verbatim only if it means
exactly itself to Python: an identifier, not a keyword, and unchanged by the NFKC
normalisation Python applies to identifiers in source (``ｋｅｅｐ`` *is* ``keep`` there).
Everything else is reached through string constants (``getattr``/``setattr``) or renamed.
"""

from __future__ import annotations

import keyword
import unicodedata
from collections.abc import Iterable

__all__ = ["internal_prefix", "verbatim"]


def verbatim(name: str) -> bool:
    """Whether ``name`` can be written as an identifier in generated source."""
    return name.isidentifier() and not keyword.iskeyword(name) and \
        unicodedata.normalize("NFKC", name) == name


def internal_prefix(names: Iterable[str], base: str = "_k") -> str:
    """A prefix that none of ``names`` starts with, for the generated code's own names."""
    taken = list(names)
    prefix = base
    while any(n.startswith(prefix) for n in taken):
        prefix += "_"
    return prefix
