"""``python -m koffi_typed layout 'struct {...}' --abi aarch64``: layout and passing of a record.

The declaration is C: ``struct [Name] { T m; T m[N]; T m : bits; struct Other m; ... }``,
``union`` likewise; several declarations may be given, separated by ``;``, and later ones
may use earlier ones by name (``struct A {...}; struct B { struct A a[2]; }``); the last
one is shown. Inline nested ``struct { ... } m;`` members work too. Member types are any
C type string koffi_typed resolves (``unsigned long long``, ``char *``, ``float [4]``).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from koffi_typed.abi import RULESETS, get, host
from koffi_typed.abi.plan import Placement
from koffi_typed.cparser import CONVENTIONS, Token, parse_member, parse_type
from koffi_typed.errors import ParseError
from koffi_typed.typesystem import (
    FieldDecl,
    Type,
    define_record,
    lookup,
    make_array,
    make_pointer,
    resolve_expr,
)

__all__ = ["main", "parse_records"]

_TOKEN_RE: Final = re.compile(r"\s*(?:([A-Za-z_]\w*)|(\d\w*)|(\.\.\.|[{}:;*\[\]()!,]))")
_anonymous = itertools.count()


def tokenize(text: str) -> list[Token]:
    """`cparser.Token` s for a record declaration (adds ``{``, ``}`` and ``:``)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ParseError(f"Unexpected character {text[bad]!r} in declaration", text, bad)
        kind = "ident" if m.group(1) else "number" if m.group(2) else "punct"
        start = m.start(m.lastindex or 0)
        tokens.append(Token(kind, m.group(m.lastindex or 0), start))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _RecordParser:
    def __init__(self, text: str, pack: int | None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.pack = pack
        self.records: dict[str, Type] = {}

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, msg: str) -> ParseError:
        return ParseError(msg, self.text, self.tok.pos)

    def expect(self, text: str) -> Token:
        tok = self.tok
        if tok.text != text or tok.kind == "end":
            raise self.fail(f"Expected {text!r}" + (f", got {tok.text!r}" if tok.text else ""))
        self.i += 1
        return tok

    def declarations(self) -> Type:
        last: Type | None = None
        while self.tok.kind != "end":
            if self.tok.text == ";":
                self.i += 1
                continue
            last = self.record()
        if last is None:
            raise self.fail("Expected a struct or union declaration")
        return last

    def record(self) -> Type:
        if self.tok.text in ("typedef",):
            self.i += 1
        keyword = self.tok.text
        if keyword not in ("struct", "union"):
            raise self.fail("Expected 'struct' or 'union'")
        self.i += 1
        name = None
        if self.tok.kind == "ident":
            name = self.tok.text
            self.i += 1
        self.expect("{")
        fields: list[FieldDecl] = []
        while self.tok.text != "}":
            if self.tok.kind == "end":
                raise self.fail("Expected '}'")
            fields.extend(self.member())
        self.i += 1
        if self.tok.kind == "ident" and self.tok.text not in ("struct", "union", "typedef"):
            name = name or self.tok.text  # typedef struct {...} Name;
            self.i += 1
        label = name or f"anonymous_{next(_anonymous)}"
        t = define_record(label, fields, union=keyword == "union", pack=self.pack)
        if name:
            self.records[name] = t
        return t

    def member(self) -> list[FieldDecl]:
        if (self.tok.text in ("struct", "union") and self.tokens[self.i + 1].text == "{") or (
                self.tok.text in ("struct", "union") and self.tokens[self.i + 2].text == "{"):
            base = self.record()
            start = None
        else:
            start = self.tok.pos
            base = None
            inline = self._function_pointer_member(start)
            if inline is not None:
                return [inline]
        # Find the member name: the last identifier before '[', ':', ',' or ';'.
        j = self.i
        while self.tokens[j].text not in ("[", ":", ";", ",") and self.tokens[j].kind != "end":
            j += 1
        if self.tokens[j].kind == "end" or j == self.i or self.tokens[j - 1].kind != "ident":
            raise self.fail("Expected a member declaration 'type name;'")
        name_tok = self.tokens[j - 1]
        if base is None:
            assert start is not None
            type_text = self.text[start:name_tok.pos]
            if self.tokens[j].text == ":" and self._is_type(self.text[start:self.tokens[j].pos]):
                type_text = self.text[start:self.tokens[j].pos]  # unnamed bitfield
                name_tok = Token("ident", "_", name_tok.pos)
            t = self.resolve(type_text)
        else:
            t = base
            for k in range(self.i, j - 1):
                if self.tokens[k].text == "*":
                    t = make_pointer(t)
        self.i = j
        fields = [self.declarator(name_tok.text, t)]
        while self.tok.text == ",":
            self.i += 1
            t_more = base if base is not None else self.resolve(self.text[start:name_tok.pos]
                                                                .rstrip(" *"))
            while self.tok.text == "*":
                t_more = make_pointer(t_more)
                self.i += 1
            name = "_"
            if self.tok.kind == "ident":
                name = self.tok.text
                self.i += 1
            elif self.tok.text != ":":
                raise self.fail("Expected a member name")
            fields.append(self.declarator(name, t_more))
        self.expect(";")
        return fields

    def _function_pointer_member(self, start: int) -> FieldDecl | None:
        """``void (*free_fn)(void *);``: a member of an inline function-pointer type."""
        j = self.i
        while self.tokens[j].text not in ("(", ";", "{", "}") and self.tokens[j].kind != "end":
            j += 1
        if self.tokens[j].text != "(" or self.tokens[j + 1].text not in ("*", *CONVENTIONS):
            return None
        depth = 0
        while self.tokens[j].kind != "end" and not (depth == 0 and self.tokens[j].text == ";"):
            depth += {"(": 1, ")": -1}.get(self.tokens[j].text, 0)
            j += 1
        if self.tokens[j].kind == "end":
            raise self.fail("Expected ';' after the function pointer member")
        text = self.text[start:self.tokens[j].pos]
        try:
            expr, name = parse_member(text)
            t = resolve_expr(expr)
        except ParseError as exc:
            raise ParseError(exc.msg, self.text, start + (exc.pos or 0)) from None
        self.i = j + 1
        return FieldDecl(name, t)

    def declarator(self, name: str, t: Type) -> FieldDecl:
        dims: list[int] = []
        while self.tok.text == "[":
            self.i += 1
            if self.tok.kind != "number":
                raise self.fail("Expected an array length")
            dims.append(int(self.tok.text, 0))
            self.i += 1
            self.expect("]")
        for n in reversed(dims):
            t = make_array(t, n)
        bits = None
        if self.tok.text == ":":
            self.i += 1
            if self.tok.kind != "number":
                raise self.fail("Expected a bitfield width")
            bits = int(self.tok.text, 0)
            self.i += 1
        if name == "_" and bits is None:
            raise self.fail("Expected a member name")
        return FieldDecl("_" if bits == 0 else name, t, bits)

    def _is_type(self, text: str) -> bool:
        try:
            self.resolve(text)
        except (ParseError, TypeError, ValueError):
            return False
        return True

    def resolve(self, text: str) -> Type:
        words = text.split()
        stripped = " ".join(w for w in words if w not in ("struct", "union", "const"))
        expr = parse_type(stripped)
        base = self.records.get(expr.name) or lookup(expr.name)
        if base is None:
            raise ParseError(f"Unknown type name {expr.name!r}", self.text,
                             self.text.find(expr.name))
        t = base
        for kind, length, _ in expr.suffixes:
            t = make_pointer(t) if kind == "*" else make_array(t, length) if kind == "[]" else t
        return t


def parse_records(text: str, pack: int | None = None) -> Type:
    """The last record declared in ``text`` (host layout)."""
    return _RecordParser(text, pack).declarations()


@dataclass(frozen=True)
class _Arg:
    name: str | None
    type: Type


@dataclass(frozen=True)
class _Sig:
    name: str | None
    arguments: tuple[_Arg, ...]
    result: Type
    variadic: bool = False
    convention: str | None = None


def _placement(p: Placement) -> str:
    classes = f" [{' '.join(p.classes)}]" if p.classes else ""
    return f"{p.kind:<7} {p.where:<14}{classes}  {p.reason}"


def describe(t: Type, abi: str) -> str:
    """Layout of ``t`` on ``abi`` and how it is passed and returned by value."""
    rs = get(abi)
    from koffi_typed.typesystem import relayout
    target = relayout(t, rs.model)
    kind = "union" if target.primitive == "Union" else "struct"
    lines = [f"{kind} {t.name} on {abi}: size {target.size}, alignment {target.alignment}",
             "  offset  size  bits      member"]
    for m in (target.members or {}).values():
        bits = f"{m.bit_offset}+{m.bits}" if m.bits is not None else ""
        lines.append(f"  {m.offset:<7} {m.type.size:<5} {bits:<9} {m.type.name} {m.name}")
    void = lookup("void")
    assert void is not None
    passed = rs.classify(_Sig("f", (_Arg("v", t),), void)).arguments[0]
    returned = rs.classify(_Sig("f", (), t)).result
    lines.append(f"  passed:   {_placement(passed)}")
    lines.append(f"  returned: {_placement(returned)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``layout`` sub-command."""
    parser = argparse.ArgumentParser(prog="python -m koffi_typed layout",
                                     description="Layout and passing of a C record per ABI.")
    parser.add_argument("declaration", help="C record declaration, e.g. 'struct { int a; }'")
    parser.add_argument("--abi", default=None,
                        help=f"ruleset name or 'all' (default: the host, {host()}); known: "
                             f"{', '.join(RULESETS)}")
    parser.add_argument("--pack", type=int, default=None, help="#pragma pack(N) for every "
                        "record of the declaration")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        t = parse_records(args.declaration, args.pack)
        abis = list(RULESETS) if args.abi == "all" else [args.abi or host()]
        print("\n\n".join(describe(t, abi) for abi in abis))
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
