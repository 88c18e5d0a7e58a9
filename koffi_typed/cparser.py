"""Tokenizer and parser for C type strings and prototypes.

This module only reads syntax. It turns ``'const unsigned long *[4]'`` into a `TypeExpr` (a
base name and a list of suffixes, each with its position in the text) and leaves name
resolution to `types`. Every error is a `ParseError` that carries the text and the offset of
the offending character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from koffi_typed.errors import ParseError

__all__ = ["Param", "Prototype", "Token", "TypeExpr", "next_token", "parse_member", "parse_prototype", "parse_type",
           "quote", "tokenize"]

MAX_INDIRECTIONS: Final = 8
QUALIFIERS: Final = frozenset({"const", "volatile", "restrict", "__restrict", "struct", "union",
                               "enum"})
DIRECTIONS: Final = {"_In_": "in", "_Out_": "out", "_Inout_": "inout"}
CONVENTIONS: Final = frozenset({"__cdecl", "__stdcall", "__fastcall", "__thiscall"})
_SPECIFIERS: Final = frozenset({"signed", "unsigned", "char", "short", "int", "long", "float",
                                "double", "void", "bool", "_Bool", "__int128"})
#: C's keywords and the words the type parser reads as syntax: no type is named after them.
RESERVED_WORDS: Final = QUALIFIERS | frozenset(DIRECTIONS) | CONVENTIONS | _SPECIFIERS | \
    frozenset({"auto", "break", "case", "continue", "default", "do", "else", "extern", "for",
               "goto", "if", "inline", "register", "return", "sizeof", "static", "switch",
               "typedef", "while", "_Alignas", "_Alignof", "_Atomic", "_Complex",
               "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local"})
_KINDS: Final = ("", "ident", "number", "punct")
#: Koffi's string type names stand for pointers to const characters (``str`` is
#: ``const char *``).
CONST_STRINGS: Final = frozenset({"str", "string", "str16", "string16", "str32", "string32",
                                  "wstring"})


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ``'ident'``, ``'number'``, ``'punct'`` or ``'end'``."""

    kind: str
    text: str
    pos: int


_EXCERPT: Final = 40  # characters of a token quoted in an error message
MAX_NESTING: Final = 16  # function-pointer declarators inside one another
MAX_PARAMETERS: Final = 64  # parameters a function may have (Koffi's limit; checked later)
MAX_PARSED_PARAMETERS: Final = 1024  # far above MAX_PARAMETERS, so the later check says why


def quote(text: str) -> str:
    """``repr`` of a token for an error message, shortened when long."""
    if len(text) > _EXCERPT:
        return repr(text[:_EXCERPT]) + f"... ({len(text)} characters)"
    return repr(text)


# C's white space only (not Python's: U+2028, U+0085 and the like are no separators in C)
_SPACE: Final = " \t\n\r\f\v"
_TOKEN_RE: Final = re.compile(r"[ \t\n\r\f\v]*(?:([^\W\d]\w*)|(\d\w*)|(\.\.\.|[*!\[\](),;]))")


def next_token(text: str, i: int) -> Token:
    """The token starting at or after offset ``i`` (``'end'`` past the last one); a character
    no token starts with raises `ParseError` right there."""
    m = _TOKEN_RE.match(text, i)
    if m is None:
        while i < len(text) and text[i] in _SPACE:
            i += 1
        if i >= len(text):
            return Token("end", "", len(text))
        raise ParseError(f"Unexpected character {text[i]!r} in type specifier", text, i)
    group = m.lastindex or 0
    return Token(_KINDS[group], m.group(group), m.start(group))


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an ``'end'`` token."""
    tokens = [next_token(text, 0)]
    while tokens[-1].kind != "end":
        last = tokens[-1]
        tokens.append(next_token(text, last.pos + len(last.text)))
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
    #: The outermost pointer points to ``const`` data (``const char *``, ``int *const *``
    #: is not: its pointee is a const pointer to writable ints).
    readonly: bool = False
    #: For a function-pointer type written inline (``int (*)(int)``): the anonymous
    #: prototype that is the base type (``name`` is then empty), under ``suffixes``.
    proto: Prototype | None = None


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
    """Recursive descent over tokens read on demand: a bad character is reported as soon as
    the parser reaches it, in time proportional to its position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tok = next_token(text, 0)  # the current token
        self.ahead: list[Token] = []  # tokens read past it by `peek`
        self.depth = 0

    def peek(self, ahead: int) -> Token:
        """The token ``ahead`` places after the current one."""
        queue = self.ahead
        while len(queue) < ahead:
            last = queue[-1] if queue else self.tok
            if last.kind == "end":
                return last
            queue.append(next_token(self.text, last.pos + len(last.text)))
        return queue[ahead - 1]

    def advance(self) -> None:
        """Move to the next token."""
        tok = self.tok
        if self.ahead:
            self.tok = self.ahead.pop(0)
        elif tok.kind != "end":
            self.tok = next_token(self.text, tok.pos + len(tok.text))

    def fail(self, msg: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.tok
        return ParseError(msg, self.text, tok.pos)

    def accept(self, text: str) -> Token | None:
        tok = self.tok
        if tok.kind != "end" and tok.text == text:
            self.advance()
            return tok
        return None

    def skip_qualifiers(self) -> bool:
        """Skip qualifiers; whether ``const`` was among them."""
        const = False
        while self.tok.kind == "ident" and self.tok.text in QUALIFIERS:
            const = const or self.tok.text == "const"
            self.advance()
        return const

    def type_expr(self) -> TypeExpr:
        const = self.skip_qualifiers()
        start = self.tok
        if start.kind != "ident":
            if start.kind == "end":
                raise self.fail("Unexpected end of type specifier, expected a type name")
            raise self.fail(f"Unexpected token {quote(start.text)}, expected a type name")
        if start.text in _SPECIFIERS:
            name, more_const = self.specifiers()
            const = const or more_const
        else:
            name = start.text
            self.advance()
        suffixes: list[tuple[str, int, int]] = []
        levels = 0  # pointers and array dimensions, checked as they come
        readonly = False
        while True:
            tok = self.tok
            if tok.kind == "ident" and tok.text in QUALIFIERS:
                const = const or tok.text == "const"
                self.advance()
            elif tok.text in ("*", "!") and tok.kind == "punct":
                self.advance()
                suffixes.append((tok.text, 0, tok.pos))
                if tok.text == "*":  # qualifiers after the star apply to the pointer itself
                    readonly, const = const, False
                    levels += 1
            elif tok.text == "[" and tok.kind == "punct":
                dims: list[tuple[str, int, int]] = []
                while self.tok.text == "[" and self.tok.kind == "punct" and \
                        levels + len(dims) <= MAX_INDIRECTIONS:
                    dims.append(self.array_dim())
                suffixes.extend(reversed(dims))
                levels += len(dims)
            else:
                break
            if levels > MAX_INDIRECTIONS:
                raise ParseError("Too many type indirections", self.text, suffixes[-1][2])
        if suffixes and suffixes[-1][0] == "[]":
            readonly = False
        elif name in CONST_STRINGS and not any(s[0] == "*" for s in suffixes):
            readonly = True
        return TypeExpr(name, start.pos, tuple(suffixes), self.text, readonly)

    def starts_declarator(self) -> bool:
        """Whether a function-pointer declarator (``(*name)(...)``) starts here."""
        if self.tok.text != "(" or self.tok.kind != "punct":
            return False
        nxt = self.peek(1)
        if nxt.kind == "ident" and nxt.text in CONVENTIONS:
            nxt = self.peek(2)
        return nxt.text == "*" and nxt.kind == "punct"

    def function_pointer(self, result: TypeExpr) -> tuple[TypeExpr, str | None]:
        """``(conv? * [name] [N]...)(params)`` after ``result``: a pointer (or array of
        pointers) to an anonymous prototype, and the declared name (if any)."""
        open_tok = self.tok
        if self.depth >= MAX_NESTING:
            raise self.fail("Too many nested function pointer types")
        self.advance()
        convention = None
        if self.tok.kind == "ident" and self.tok.text in CONVENTIONS:
            convention = self.tok.text
            self.advance()
        stars: list[tuple[str, int, int]] = []
        while self.tok.text == "*" and self.tok.kind == "punct":
            stars.append(("*", 0, self.tok.pos))
            if len(stars) > MAX_INDIRECTIONS:
                raise ParseError("Too many type indirections", self.text, stars[-1][2])
            self.advance()
            self.skip_qualifiers()
        name = None
        if self.tok.kind == "ident":  # in a type string (a member's) the name is ignored
            name = self.tok.text
            self.advance()
        dims: list[tuple[str, int, int]] = []
        while self.tok.text == "[" and self.tok.kind == "punct":
            dims.append(self.array_dim())
            if len(stars) + len(dims) > MAX_INDIRECTIONS:
                raise ParseError("Too many type indirections", self.text, dims[-1][2])
        if not self.accept(")"):
            raise self.fail(f"Unexpected token {quote(self.tok.text)}, expected ')' to close "
                            "the function pointer declarator" if self.tok.kind != "end" else
                            "Unexpected end of function pointer type, expected ')'")
        self.depth += 1
        try:
            params, variadic = self.parameters()
        finally:
            self.depth -= 1
        proto = Prototype(result, None, convention, params, variadic, self.text)
        expr = TypeExpr("", open_tok.pos, tuple(stars + list(reversed(dims))), self.text,
                        proto=proto)
        return expr, name

    def parameters(self) -> tuple[tuple[Param, ...], bool]:
        """``(params)`` of a prototype: the parameters and whether it is variadic."""
        if not self.accept("("):
            raise self.fail(f"Unexpected token {quote(self.tok.text)}, expected '('"
                            if self.tok.kind != "end"
                            else "Unexpected end of prototype, expected '('")
        params: list[Param] = []
        variadic = False
        if self.tok.text == "void" and self.peek(1).text == ")":
            self.advance()
        elif self.tok.text != ")":
            while True:
                if self.accept("..."):
                    variadic = True
                    break
                direction = "in"
                if self.tok.kind == "ident" and self.tok.text in DIRECTIONS:
                    direction = DIRECTIONS[self.tok.text]
                    self.advance()
                ptype = self.type_expr()
                pname = None
                if self.starts_declarator():
                    ptype, pname = self.function_pointer(ptype)
                elif self.tok.kind == "ident":
                    pname = self.tok.text
                    self.advance()
                if self.tok.text == "[":
                    raise self.fail("Array types decay to pointers in prototypes (C standard), "
                                    "use pointers")
                params.append(Param(ptype, pname, direction))
                if not self.accept(","):
                    break
                if len(params) >= MAX_PARSED_PARAMETERS:
                    raise self.fail(f"Too many parameters (more than {MAX_PARSED_PARAMETERS})")
        if not self.accept(")"):
            raise self.fail("Unexpected end of prototype, expected ')'"
                            if self.tok.kind == "end"
                            else f"Unexpected token {quote(self.tok.text)}, expected ')'")
        return tuple(params), variadic

    def array_dim(self) -> tuple[str, int, int]:
        open_tok = self.tok
        self.advance()
        tok = self.tok
        if tok.kind != "number":
            raise self.fail("Invalid array length")
        try:
            length = int(tok.text, 0)
        except ValueError:
            raise self.fail("Invalid array length") from None
        if length <= 0:
            raise self.fail("Array length must be positive and non-zero")
        self.advance()
        if not self.accept("]"):
            raise self.fail("Expected ']' after array length")
        return ("[]", length, open_tok.pos)

    def specifiers(self) -> tuple[str, bool]:
        """The primitive a run of specifiers names, and whether ``const`` was among them."""
        words: list[Token] = []
        const = False
        while self.tok.kind == "ident" and (self.tok.text in _SPECIFIERS
                                            or self.tok.text in QUALIFIERS):
            if self.tok.text in _SPECIFIERS:
                words.append(self.tok)
            const = const or self.tok.text == "const"
            self.advance()
        return _combine_specifiers(words, self.text), const


_SINGLE: Final = {"void": "void", "bool": "bool", "_Bool": "bool", "float": "float",
                  "double": "double", "char": "char", "int": "int", "short": "short",
                  "long": "long", "signed": "int", "unsigned": "unsigned int",
                  "__int128": "__int128"}


class _Invalid:
    """A ParseError made only when raised (specifier runs are parsed often)."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos

    def error(self) -> ParseError:
        return ParseError("Invalid combination of type specifiers", self.text, self.pos)


def _combine_specifiers(words: list[Token], text: str) -> str:
    """Canonical primitive name for a run of C specifier keywords (cffi-style counting)."""
    if len(words) == 1 and words[0].text in _SINGLE:
        return _SINGLE[words[0].text]
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
    bad = _Invalid(text, words[0].pos)
    if core in ("void", "bool", "float"):
        if sign or longs or shorts:
            raise bad.error()
        return core
    if core == "double":
        if sign or shorts or longs > 1:
            raise bad.error()
        return "long double" if longs else "double"
    if core == "char":
        if longs or shorts:
            raise bad.error()
        return {0: "char", 1: "int8_t", -1: "unsigned char"}[sign]
    if core == "__int128":
        if longs or shorts:
            raise bad.error()
        return "unsigned __int128" if sign < 0 else "__int128"
    if shorts and longs:
        raise bad.error()
    name = "short" if shorts else ("long long" if longs == 2 else "long" if longs else "int")
    return f"unsigned {name}" if sign < 0 else name


def parse_type(text: str) -> TypeExpr:
    """Parse a whole type string such as ``'const char *'``, ``'Point *[4]'`` or
    ``'int (*)(const void *, const void *)'``."""
    parser = _Parser(text)
    expr = parser.type_expr()
    if parser.starts_declarator():
        expr, _ = parser.function_pointer(expr)
    tok = parser.tok
    if tok.kind != "end":
        raise parser.fail(f"Unexpected token {quote(tok.text)} in type specifier")
    return expr


def parse_member(text: str) -> tuple[TypeExpr, str]:
    """Parse one function-pointer member declaration such as ``'void (*free_fn)(void *)'``:
    its type and name."""
    parser = _Parser(text)
    expr = parser.type_expr()
    if not parser.starts_declarator():
        raise parser.fail("Expected a function pointer declarator '(*name)(...)'")
    expr, name = parser.function_pointer(expr)
    if name is None:
        raise ParseError("Expected a member name in the function pointer declarator", text,
                         expr.name_pos)
    if parser.tok.kind != "end":
        raise parser.fail(f"Unexpected token {quote(parser.tok.text)} after the member")
    return expr, name


def parse_prototype(text: str) -> Prototype:
    """Parse ``'int abs(int x)'``-style prototypes (name optional, ``'...'`` for variadic)."""
    parser = _Parser(text)
    result = parser.type_expr()
    convention = None
    if parser.tok.kind == "ident" and parser.tok.text in CONVENTIONS:
        convention = parser.tok.text
        parser.advance()
    name = None
    if parser.tok.kind == "ident":
        name = parser.tok.text
        parser.advance()
    params, variadic = parser.parameters()
    parser.accept(";")
    if parser.tok.kind != "end":
        raise parser.fail(f"Unexpected token {quote(parser.tok.text)} after prototype")
    return Prototype(result, name, convention, params, variadic, text)
