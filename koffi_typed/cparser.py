"""Tokenizer and parser for C type strings and prototypes.

This module only reads syntax. It turns ``'const unsigned long *[4]'`` into a `TypeExpr` (a
base name and a list of suffixes, each with its position in the text) and leaves name
resolution to `types`. Every error is a `ParseError` that carries the text and the offset of
the offending character.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from koffi_typed.errors import ParseError

__all__ = ["Param", "Prototype", "Token", "TypeExpr", "parse_prototype", "parse_type", "tokenize"]

MAX_INDIRECTIONS: Final = 8
QUALIFIERS: Final = frozenset({"const", "volatile", "restrict", "__restrict", "struct", "union",
                               "enum"})
DIRECTIONS: Final = {"_In_": "in", "_Out_": "out", "_Inout_": "inout"}
CONVENTIONS: Final = frozenset({"__cdecl", "__stdcall", "__fastcall", "__thiscall"})
_SPECIFIERS: Final = frozenset({"signed", "unsigned", "char", "short", "int", "long", "float",
                                "double", "void", "bool", "_Bool", "__int128"})
_PUNCT: Final = ("...", "*", "!", "[", "]", "(", ")", ",", ";")


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ``'ident'``, ``'number'``, ``'punct'`` or ``'end'``."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an ``'end'`` token."""
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("ident", text[i:j], i))
            i = j
            continue
        if ch.isdigit():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("number", text[i:j], i))
            i = j
            continue
        for punct in _PUNCT:
            if text.startswith(punct, i):
                tokens.append(Token("punct", punct, i))
                i += len(punct)
                break
        else:
            raise ParseError(f"Unexpected character {ch!r} in type specifier", text, i)
    tokens.append(Token("end", "", n))
    return tokens


@dataclass(frozen=True)
class TypeExpr:
    """A parsed type: ``name`` (canonical primitive name or user name) plus suffixes.

    Each suffix is ``('*', 0, pos)``, ``('!', 0, pos)`` or ``('[]', length, pos)``, applied
    in order to the base type (array suffixes are already in C order: ``int [2][3]`` gives
    ``[('[]', 3, …), ('[]', 2, …)]``, an array of 2 arrays of 3 ints).
    """

    name: str
    name_pos: int
    suffixes: tuple[tuple[str, int, int], ...]
    text: str
    #: Whether what the outermost pointer points to is ``const`` (``const char *``,
    #: ``char *const *``); without a pointer, whether the type itself is.
    const: bool = False


@dataclass(frozen=True)
class Param:
    """One parameter of a prototype."""

    type: TypeExpr
    name: str | None
    direction: str


@dataclass(frozen=True)
class Prototype:
    """A parsed C prototype: result, optional name and calling convention, parameters."""

    result: TypeExpr
    name: str | None
    convention: str | None
    params: tuple[Param, ...]
    variadic: bool
    text: str = field(repr=False, default="")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, msg: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.tok
        return ParseError(msg, self.text, tok.pos)

    def accept(self, text: str) -> Token | None:
        tok = self.tok
        if tok.kind != "end" and tok.text == text:
            self.i += 1
            return tok
        return None

    def skip_qualifiers(self) -> bool:
        """Skip qualifiers; whether one was ``const``."""
        const = False
        while self.tok.kind == "ident" and self.tok.text in QUALIFIERS:
            const = const or self.tok.text == "const"
            self.i += 1
        return const

    def type_expr(self) -> TypeExpr:
        levels_const = [self.skip_qualifiers()]  # [base, after 1st '*', after 2nd '*', ...]
        start = self.tok
        if start.kind != "ident":
            if start.kind == "end":
                raise self.fail("Unexpected end of type specifier, expected a type name")
            raise self.fail(f"Unexpected token {start.text!r}, expected a type name")
        if start.text in _SPECIFIERS:
            name, const = self.specifiers()
            levels_const[0] = levels_const[0] or const
        else:
            name = start.text
            self.i += 1
        suffixes: list[tuple[str, int, int]] = []
        while True:
            tok = self.tok
            if tok.kind == "ident" and tok.text in QUALIFIERS:
                levels_const[-1] = levels_const[-1] or tok.text == "const"
                self.i += 1
            elif tok.text in ("*", "!") and tok.kind == "punct":
                self.i += 1
                suffixes.append((tok.text, 0, tok.pos))
                if tok.text == "*":
                    levels_const.append(False)
            elif tok.text == "[" and tok.kind == "punct":
                dims: list[tuple[str, int, int]] = []
                while self.tok.text == "[" and self.tok.kind == "punct":
                    dims.append(self.array_dim())
                suffixes.extend(reversed(dims))
            else:
                break
        levels = sum(1 for s in suffixes if s[0] != "!")
        if levels > MAX_INDIRECTIONS:
            raise ParseError("Too many type indirections", self.text, suffixes[-1][2])
        const = levels_const[-2] if len(levels_const) > 1 else levels_const[0]
        return TypeExpr(name, start.pos, tuple(suffixes), self.text, const)

    def array_dim(self) -> tuple[str, int, int]:
        open_tok = self.tok
        self.i += 1
        tok = self.tok
        if tok.kind != "number":
            raise self.fail("Invalid array length")
        try:
            length = int(tok.text, 0)
        except ValueError:
            raise self.fail("Invalid array length") from None
        if length <= 0:
            raise self.fail("Array length must be positive and non-zero")
        self.i += 1
        if not self.accept("]"):
            raise self.fail("Expected ']' after array length")
        return ("[]", length, open_tok.pos)

    def specifiers(self) -> tuple[str, bool]:
        """The canonical name of a run of specifier keywords, and whether ``const`` was in it."""
        words: list[Token] = []
        const = False
        while self.tok.kind == "ident" and (self.tok.text in _SPECIFIERS
                                            or self.tok.text in QUALIFIERS):
            if self.tok.text in _SPECIFIERS:
                words.append(self.tok)
            const = const or self.tok.text == "const"
            self.i += 1
        return _combine_specifiers(words, self.text), const


def _combine_specifiers(words: list[Token], text: str) -> str:
    """Canonical primitive name for a run of C specifier keywords (cffi-style counting)."""
    counts: dict[str, int] = {}
    for word in words:
        key = "bool" if word.text == "_Bool" else word.text
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > (2 if key == "long" else 1):
            msg = "'long long long' is too long" if key == "long" else f"Duplicate '{key}'"
            raise ParseError(msg, text, word.pos)
    sign = counts.pop("signed", 0) - counts.pop("unsigned", 0)
    longs = counts.pop("long", 0)
    shorts = counts.pop("short", 0)
    base = [k for k in counts if k != "int"]
    has_int = "int" in counts
    if len(base) > 1 or (base and has_int):
        raise ParseError("Invalid combination of type specifiers", text, words[-1].pos)
    core = base[0] if base else "int"
    bad = ParseError("Invalid combination of type specifiers", text, words[0].pos)
    if core in ("void", "bool", "float"):
        if sign or longs or shorts:
            raise bad
        return core
    if core == "double":
        if sign or shorts or longs > 1:
            raise bad
        return "long double" if longs else "double"
    if core == "char":
        if longs or shorts:
            raise bad
        return {0: "char", 1: "int8_t", -1: "unsigned char"}[sign]
    if core == "__int128":
        if longs or shorts:
            raise bad
        return "unsigned __int128" if sign < 0 else "__int128"
    if shorts and longs:
        raise bad
    name = "short" if shorts else ("long long" if longs == 2 else "long" if longs else "int")
    return f"unsigned {name}" if sign < 0 else name


def parse_type(text: str) -> TypeExpr:
    """Parse a whole type string such as ``'const char *'`` or ``'Point *[4]'``."""
    parser = _Parser(text)
    expr = parser.type_expr()
    tok = parser.tok
    if tok.kind != "end":
        raise parser.fail(f"Unexpected token {tok.text!r} in type specifier")
    return expr


def parse_prototype(text: str) -> Prototype:
    """Parse ``'int abs(int x)'``-style prototypes (name optional, ``'...'`` for variadic)."""
    parser = _Parser(text)
    result = parser.type_expr()
    convention = None
    if parser.tok.kind == "ident" and parser.tok.text in CONVENTIONS:
        convention = parser.tok.text
        parser.i += 1
    name = None
    if parser.tok.kind == "ident":
        name = parser.tok.text
        parser.i += 1
    if not parser.accept("("):
        raise parser.fail(f"Unexpected token {parser.tok.text!r}, expected '('"
                          if parser.tok.kind != "end"
                          else "Unexpected end of prototype, expected '('")
    params: list[Param] = []
    variadic = False
    if parser.tok.text == "void" and parser.tokens[parser.i + 1].text == ")":
        parser.i += 1
    elif parser.tok.text != ")":
        while True:
            if parser.accept("..."):
                variadic = True
                break
            direction = "in"
            if parser.tok.kind == "ident" and parser.tok.text in DIRECTIONS:
                direction = DIRECTIONS[parser.tok.text]
                parser.i += 1
            ptype = parser.type_expr()
            pname = None
            if parser.tok.kind == "ident":
                pname = parser.tok.text
                parser.i += 1
            if parser.tok.text == "[":
                raise parser.fail("Array types decay to pointers in prototypes (C standard), "
                                  "use pointers")
            params.append(Param(ptype, pname, direction))
            if not parser.accept(","):
                break
    if not parser.accept(")"):
        raise parser.fail("Unexpected end of prototype, expected ')'"
                          if parser.tok.kind == "end"
                          else f"Unexpected token {parser.tok.text!r}, expected ')'")
    parser.accept(";")
    if parser.tok.kind != "end":
        raise parser.fail(f"Unexpected token {parser.tok.text!r} after prototype")
    return Prototype(result, name, convention, tuple(params), variadic, text)
