"""C constant expressions (``#define`` bodies, enum values, array lengths), evaluated as C does.

`evaluate` expands object-like macros, parses the tokens with a shunting-yard parser and
evaluates the postfix form with C's rules on the host data model: literal types, integer
promotions, the usual arithmetic conversions, wrapping of unsigned values, truncating division,
casts to integer types. Nothing here recurses on the expression, so a thousand nested
parentheses or a thousand-term sum cost a loop, never the Python stack.

What C leaves undefined or what needs the compiler (function-like macros, ``sizeof`` of a
record, a signed overflow, a division by zero, pointers) raises `Unknown`; `koffi_typed.stubgen`
then asks the C compiler itself.
"""

from __future__ import annotations

import math
import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from koffi_typed.cparser import parse_type
from koffi_typed.errors import ParseError

__all__ = ["CValue", "Env", "Op", "Token", "Unknown", "atomic", "evaluate", "evaluate_postfix",
           "expand", "string_value", "to_postfix", "tokenize"]

MAX_TOKENS: Final = 200_000  # macro expansion stops here (exponential macro towers)


class Unknown(Exception):
    """The expression cannot be evaluated here (the message says why)."""


@dataclass(frozen=True)
class Token:
    """``kind`` is ``'num'``, ``'char'``, ``'str'``, ``'id'``, ``'op'``, or ``'value'`` for a
    macro already evaluated (``value`` holds its `CValue`)."""

    kind: str
    text: str
    value: CValue | None = None


@dataclass(frozen=True)
class CType:
    """An arithmetic type: integer (``bits``, ``signed``, ``rank``) or floating (``bits``)."""

    name: str
    bits: int
    signed: bool
    rank: int  # integers: 1 int, 2 long, 3 long long; floating: 0
    floating: bool = False


@dataclass(frozen=True)
class CValue:
    """A value and its C type."""

    value: int | float
    type: CType


@dataclass
class Env:
    """What an expression may refer to.

    ``constants``: enumerators and already evaluated names; ``macros``: object-like macro
    bodies (tokens); ``function_macros``: names of function-like macros (they make the
    expression `Unknown`); ``scalar``: C type name (``'unsigned long'``, a typedef) → ``(size
    in bytes, family)`` with family ``'int'``, ``'uint'``, ``'float'`` or ``'bool'``, or None
    when unknown (records, pointers...); ``sizeof``: size of any type name, or None.
    """

    constants: Mapping[str, int | float] = field(default_factory=dict)
    macros: Mapping[str, list[Token]] = field(default_factory=dict)
    #: Values of macros whose expansion is one operand (a literal or a parenthesized
    #: expression), with the macros they expand: substituting the value is then exactly the
    #: textual expansion, and a chain of macros costs linear time.
    memo: dict[str, tuple[CValue, frozenset[str]]] = field(default_factory=dict)
    function_macros: Iterable[str] = ()
    scalar: Callable[[str], tuple[int, str] | None] = lambda name: None
    sizeof: Callable[[str], int | None] = lambda name: None
    long_bits: int = 64
    char_signed: bool = True

    def __post_init__(self) -> None:
        self.function_macros = frozenset(self.function_macros)
        self.types = {
            "int": CType("int", 32, True, 1),
            "unsigned int": CType("unsigned int", 32, False, 1),
            "long": CType("long", self.long_bits, True, 2),
            "unsigned long": CType("unsigned long", self.long_bits, False, 2),
            "long long": CType("long long", 64, True, 3),
            "unsigned long long": CType("unsigned long long", 64, False, 3),
            "float": CType("float", 32, True, 0, True),
            "double": CType("double", 64, True, 0, True),
        }


# ---------------------------------------------------------------------------- tokens

_TOKEN_RE: Final = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[0-9A-Za-z_.'])*)
  | (?P<char>(?:u8|[LuU])?'(?:[^'\\\n]|\\.)*')
  | (?P<str>(?:u8|[LuU])?"(?:[^"\\\n]|\\.)*")
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>\#\#|<<=|>>=|\.\.\.|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>?:,()\[\]{}.;=\#])
""", re.VERBOSE)


def tokenize(text: str) -> list[Token]:
    """C tokens of ``text`` (a macro body); `Unknown` on a character C does not have."""
    out: list[Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise Unknown(f"unexpected character {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            out.append(Token(kind, m[kind]))
    return out


# ---------------------------------------------------------------------------- macro expansion


def expand(tokens: list[Token], env: Env, used: set[str] | None = None) -> list[Token]:
    """Expand object-like macros (iteratively; a macro is not expanded inside itself); the
    names of the macros expanded are added to ``used``."""
    work: deque[tuple[Token, frozenset[str]]] = deque((t, frozenset()) for t in tokens)
    out: list[Token] = []
    produced = 0
    while work:
        tok, hidden = work.popleft()
        if tok.kind == "id" and tok.text not in hidden:
            if tok.text in env.function_macros and tok.text not in env.macros:
                raise Unknown(f"uses the function-like macro {tok.text}")
            known = env.memo.get(tok.text)
            if known is not None and known[1].isdisjoint(hidden):
                out.append(Token("value", tok.text, known[0]))
                if used is not None:
                    used.update(known[1])
                continue
            body = env.macros.get(tok.text)
            if body is not None:
                if used is not None:
                    used.add(tok.text)
                produced += len(body)
                if produced > MAX_TOKENS:
                    raise Unknown("macro expansion is too large")
                inner = hidden | {tok.text}
                work.extendleft((t, inner) for t in reversed(body))
                continue
        out.append(tok)
    return out


def atomic(tokens: list[Token]) -> bool:
    """Whether ``tokens`` form one operand: a single literal, or ``( ... )`` as a whole."""
    if len(tokens) == 1:
        return tokens[0].kind in ("num", "char", "value")
    if not tokens or tokens[0].text != "(" or tokens[-1].text != ")":
        return False
    depth = 0
    for i, t in enumerate(tokens):
        if t.kind != "op":
            continue
        depth += t.text == "("
        depth -= t.text == ")"
        if depth == 0 and i != len(tokens) - 1:
            return False
    return depth == 0


# ---------------------------------------------------------------------------- parsing

_BINARY: Final = {
    "*": 10, "/": 10, "%": 10, "+": 9, "-": 9, "<<": 8, ">>": 8, "<": 7, ">": 7, "<=": 7,
    ">=": 7, "==": 6, "!=": 6, "&": 5, "^": 4, "|": 3, "&&": 2, "||": 1,
}
_TERNARY_PREC: Final = 0
_UNARY_PREC: Final = 11
_TYPE_WORDS: Final = frozenset({
    "unsigned", "signed", "int", "long", "short", "char", "_Bool", "bool", "float", "double",
    "void", "const", "volatile", "struct", "union", "enum", "__int128"})


@dataclass(frozen=True)
class Op:
    """An operator in the postfix form: ``arity`` operands, ``text`` its C spelling; casts carry
    their type name."""

    text: str
    arity: int
    prec: int
    right: bool = False
    type_name: str = ""


def _type_name(tokens: list[Token], i: int, env: Env) -> tuple[str, int] | None:
    """If ``tokens[i:]`` starts with a type name followed by ``)``: (its text, index of ``)``)."""
    words: list[str] = []
    j = i
    while j < len(tokens) and tokens[j].kind == "id":
        text = tokens[j].text
        typedef = not [w for w in words if w not in ("const", "volatile")] and (
            env.scalar(text) is not None or env.sizeof(text) is not None
            or text in _KNOWN_TYPEDEFS)
        tag = bool(words) and words[-1] in ("struct", "union", "enum")
        if not (text in _TYPE_WORDS or typedef or tag):
            return None
        words.append(text)
        j += 1
    if not words:
        return None
    while j < len(tokens) and tokens[j].text == "*":
        words.append("*")
        j += 1
    if j < len(tokens) and tokens[j].text == ")":
        return " ".join(words), j
    return None


#: Standard typedefs a cast may name before the headers told us about them.
_KNOWN_TYPEDEFS: Final = frozenset({
    "size_t", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
    "uint64_t", "intptr_t", "uintptr_t"})


def to_postfix(tokens: list[Token], env: Env) -> list[Token | Op]:
    """Shunting-yard: C expression tokens to postfix (operands are tokens, operators `Op`)."""
    out: list[Token | Op] = []
    ops: list[Op | str] = []  # '(' and '?' are markers
    expect_operand = True
    i = 0
    n = len(tokens)

    def pop_while(prec: int, right: bool) -> None:
        while ops:
            top = ops[-1]
            if not isinstance(top, Op):
                return
            if top.prec > prec or (top.prec == prec and not right):
                ops.pop()
                out.append(top)
            else:
                return

    while i < n:
        tok = tokens[i]
        text = tok.text
        if expect_operand:
            if tok.kind in ("num", "char", "id", "value") and text != "sizeof":
                out.append(tok)
                expect_operand = False
            elif text == "sizeof":
                if i + 1 < n and tokens[i + 1].text == "(":
                    found = _type_name(tokens, i + 2, env)
                    if found is not None:
                        out.append(Token("sizeof", found[0]))
                        i = found[1] + 1
                        expect_operand = False
                        continue
                raise Unknown("sizeof of an expression")
            elif text == "(":
                found = _type_name(tokens, i + 1, env)
                if found is not None:
                    ops.append(Op("cast", 1, _UNARY_PREC, True, found[0]))
                    i = found[1] + 1
                    continue
                ops.append("(")
            elif text in ("+", "-", "!", "~"):
                ops.append(Op("u" + text, 1, _UNARY_PREC, True))
            elif tok.kind == "str":
                raise Unknown("string literal in an arithmetic expression")
            else:
                raise Unknown(f"unexpected {text!r}")
        else:
            if text in _BINARY:
                prec = _BINARY[text]
                pop_while(prec, False)
                ops.append(Op(text, 2, prec))
                expect_operand = True
            elif text == "?":
                pop_while(_TERNARY_PREC, True)
                ops.append("?")
                expect_operand = True
            elif text == ":":
                while ops and ops[-1] not in ("?", "("):
                    top = ops.pop()
                    assert isinstance(top, Op)
                    out.append(top)
                if not ops or ops[-1] != "?":
                    raise Unknown("':' without '?'")
                ops.pop()
                ops.append(Op("?:", 3, _TERNARY_PREC, True))
                expect_operand = True
            elif text == ")":
                while ops and ops[-1] != "(":
                    top = ops.pop()
                    if not isinstance(top, Op):
                        raise Unknown("'?' without ':'")
                    out.append(top)
                if not ops:
                    raise Unknown("unbalanced ')'")
                ops.pop()
            else:
                raise Unknown(f"unexpected {text!r}")
        i += 1
    if expect_operand:
        raise Unknown("incomplete expression")
    while ops:
        top = ops.pop()
        if not isinstance(top, Op):
            raise Unknown("unbalanced '(' or '?'")
        out.append(top)
    return out


# ---------------------------------------------------------------------------- evaluation


def _int_type(env: Env, name: str) -> CType | None:
    """The arithmetic type a cast to ``name`` gives (after the integer promotions)."""
    if "*" in name or name.split()[0] in ("struct", "union", "enum", "void"):
        return None
    try:
        canon = parse_type(name).name
    except ParseError:
        canon = name
    if canon in env.types:
        return env.types[canon]
    info = env.scalar(canon)
    if info is None:
        return None
    size, family = info
    if family == "float":
        return env.types["float"] if size == 4 else env.types["double"] if size == 8 else None
    if family == "bool":
        return CType("_Bool", 1, False, 0)
    if family not in ("int", "uint"):
        return None
    return CType(canon, size * 8, family == "int", 0)


def _literal(tok: Token, env: Env) -> CValue:
    if tok.value is not None:
        return tok.value
    text = tok.text
    if tok.kind == "char":
        return _char_literal(text, env)
    if tok.kind == "id":
        if text in env.constants:
            v = env.constants[text]
            if isinstance(v, float):
                return CValue(v, env.types["double"])
            return _fit(v, env) if v >= 0 else CValue(v, _smallest_signed(v, env))
        raise Unknown(f"unknown name {text}")
    if tok.kind == "sizeof":
        size = env.sizeof(text)
        if size is None:
            info = env.scalar(text)
            if info is None:
                t = _int_type(env, text)
                if t is None:
                    raise Unknown(f"sizeof({text})")
                size = t.bits // 8
            else:
                size = info[0]
        return CValue(size, env.types["unsigned long"])
    return _number(text, env)


def _smallest_signed(v: int, env: Env) -> CType:
    for name in ("int", "long", "long long"):
        t = env.types[name]
        if -(1 << (t.bits - 1)) <= v:
            return t
    raise Unknown("value out of range")


def _fit(v: int, env: Env) -> CValue:
    for name in ("int", "unsigned int", "long", "unsigned long", "long long",
                 "unsigned long long"):
        t = env.types[name]
        if v < (1 << (t.bits - (1 if t.signed else 0))):
            return CValue(v, t)
    raise Unknown("value out of range")


_INT_RE: Final = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)"
                            r"([uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?")
_FLOAT_RE: Final = re.compile(r"((?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][+-]?[0-9]+)?"
                              r"|0[xX](?:[0-9a-fA-F]*\.[0-9a-fA-F]+|[0-9a-fA-F]+\.?)"
                              r"[pP][+-]?[0-9]+)([fFlL]?)")


def _number(text: str, env: Env) -> CValue:
    m = _INT_RE.fullmatch(text)
    if m is not None:
        digits, suffix = m[1], (m[2] or "").lower()
        value = int(digits, 8) if digits[0] == "0" and len(digits) > 1 and digits[1] not in \
            "xXbB" else int(digits, 0)
        decimal = digits[0] != "0" or digits == "0"
        unsigned = "u" in suffix
        longs = suffix.count("l")
        names = [["int", "long", "long long"], ["long", "long long"], ["long long"]][longs]
        candidates: list[str] = []
        for name in names:
            if unsigned:
                candidates.append("unsigned " + name)
            elif decimal:
                candidates.append(name)
            else:
                candidates += [name, "unsigned " + name]
        for name in candidates:
            t = env.types[name]
            if value < (1 << (t.bits - (1 if t.signed else 0))):
                return CValue(value, t)
        raise Unknown(f"integer literal {text} is too large")
    m = _FLOAT_RE.fullmatch(text)
    if m is not None:
        body, suffix = m[1], m[2].lower()
        if suffix == "l":
            raise Unknown("long double literal")
        fvalue = float.fromhex(body) if body[:2].lower() == "0x" else float(body)
        if suffix == "f":
            return CValue(_to_float32(fvalue), env.types["float"])
        return CValue(fvalue, env.types["double"])
    raise Unknown(f"not a number: {text}")


def _to_float32(value: float) -> float:
    try:
        result: float = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        raise Unknown("float constant out of range") from None
    return result


_ESCAPES: Final = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8,
                   "f": 12, "v": 11, "?": 63, "e": 27}


def _unescape(body: str) -> list[int]:
    """Code units of a C character or string literal body (bytes for narrow literals)."""
    out: list[int] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.extend(ch.encode("utf-8"))
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8))
            i = j
        elif nxt == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 2:
                raise Unknown("bad \\x escape")
            out.append(int(body[i + 2:j], 16))
            i = j
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise Unknown(f"unknown escape \\{nxt}")
    return out


def _char_literal(text: str, env: Env) -> CValue:
    if text[0] != "'":
        raise Unknown("wide character literal")
    units = _unescape(text[1:-1])
    if len(units) != 1 or units[0] > 0xFF:
        raise Unknown("multi-character literal")
    value = units[0]
    if env.char_signed and value >= 0x80:
        value -= 0x100
    return CValue(value, env.types["int"])


def string_value(tokens: list[Token]) -> str | bytes | None:
    """The value of a run of adjacent narrow string literals (``str`` if it is UTF-8)."""
    if not tokens or any(t.kind != "str" or t.text[0] not in '"u' for t in tokens):
        return None
    data = bytearray()
    for t in tokens:
        text = t.text[2:] if t.text.startswith("u8") else t.text
        if text[0] != '"':
            return None
        try:
            data.extend(_unescape(text[1:-1]))
        except Unknown:
            return None
        if any(u > 0xFF for u in data):
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)


def _wrap(value: int, t: CType) -> int:
    mask = (1 << t.bits) - 1
    value &= mask
    if t.signed and value >> (t.bits - 1):
        value -= 1 << t.bits
    return value


def _checked(value: int, t: CType) -> CValue:
    """A signed result must fit (overflow is undefined); unsigned results wrap."""
    if t.signed:
        if not -(1 << (t.bits - 1)) <= value < (1 << (t.bits - 1)):
            raise Unknown("signed overflow")
        return CValue(value, t)
    return CValue(value & ((1 << t.bits) - 1), t)


def _promote(v: CValue, env: Env) -> CValue:
    t = v.type
    if t.floating or t.rank >= 1:
        return v
    # bool, char, short and sized typedefs: promoted to int if int holds them
    if t.bits < 32 or (t.bits == 32 and t.signed):
        return CValue(v.value, env.types["int"])
    for name in ("unsigned int", "long", "unsigned long", "long long", "unsigned long long"):
        cand = env.types[name]
        if cand.bits == t.bits and cand.signed == t.signed:
            return CValue(v.value, cand)
    raise Unknown(f"no promotion for {t.name}")


def _common(a: CValue, b: CValue, env: Env) -> CType:
    """The usual arithmetic conversions of two promoted integer values."""
    ta, tb = a.type, b.type
    if ta == tb:
        return ta
    if ta.signed == tb.signed:
        return ta if ta.rank >= tb.rank else tb
    s, u = (ta, tb) if ta.signed else (tb, ta)
    if u.rank >= s.rank:
        return u
    if s.bits > u.bits:
        return s
    return next(t for t in env.types.values() if not t.floating and t.rank == s.rank
                and not t.signed)


def _float_common(a: CValue, b: CValue) -> CType:
    """The usual arithmetic conversions when one value is floating."""
    fa, fb = a.type.floating, b.type.floating
    if fa and fb:
        return a.type if a.type.bits >= b.type.bits else b.type
    return a.type if fa else b.type


def _convert(v: CValue, t: CType) -> CValue:
    if t.floating:
        value = float(v.value)
        return CValue(_to_float32(value) if t.bits == 32 else value, t)
    if v.type.floating:
        fv = float(v.value)
        if not math.isfinite(fv):
            raise Unknown("non-finite value converted to an integer")
        iv = int(fv)
        low, high = (-(1 << (t.bits - 1)), 1 << (t.bits - 1)) if t.signed else (0, 1 << t.bits)
        if not low <= iv < high:
            raise Unknown("floating value out of range of the integer type")
        return CValue(iv, t)
    if t.name == "_Bool":
        return CValue(int(v.value != 0), t)
    return CValue(_wrap(int(v.value), t), t)


def _truth(v: CValue) -> bool:
    return v.value != 0


def _apply(op: Op, args: list[CValue], env: Env) -> CValue:
    int_t = env.types["int"]
    if op.text == "cast":
        t = _int_type(env, op.type_name)
        if t is None:
            raise Unknown(f"cast to {op.type_name}")
        return _promote(_convert(args[0], t), env)
    if op.arity == 1:
        (a,) = args
        a = _promote(a, env)
        if op.text == "u!":
            return CValue(int(not _truth(a)), int_t)
        if op.text == "u+":
            return a
        if op.text == "u-":
            if a.type.floating:
                return CValue(-a.value, a.type)
            return _checked(-int(a.value), a.type)
        if a.type.floating:
            raise Unknown("~ of a floating value")
        return CValue(_wrap(~int(a.value), a.type), a.type)
    if op.arity == 3:
        cond, yes, no = args[0], _promote(args[1], env), _promote(args[2], env)
        t = _float_common(yes, no) if yes.type.floating or no.type.floating else \
            _common(yes, no, env)
        return _convert(yes if _truth(cond) else no, t)
    a, b = _promote(args[0], env), _promote(args[1], env)
    text = op.text
    if text == "&&":
        return CValue(int(_truth(a) and _truth(b)), int_t)
    if text == "||":
        return CValue(int(_truth(a) or _truth(b)), int_t)
    if text in ("<<", ">>"):
        if a.type.floating or b.type.floating:
            raise Unknown("shift of a floating value")
        count = int(b.value)
        if count < 0 or count >= a.type.bits:
            raise Unknown("shift count out of range")
        if text == ">>":
            return CValue(int(a.value) >> count, a.type)
        # GCC defines signed '<<' as the two's complement shift (no undefined behaviour)
        return CValue(_wrap(int(a.value) << count, a.type), a.type)
    if a.type.floating or b.type.floating:
        t = _float_common(a, b)
        fx, fy = float(_convert(a, t).value), float(_convert(b, t).value)
        if text in ("%", "&", "|", "^"):
            raise Unknown(f"{text} of a floating value")
        if text in ("<", ">", "<=", ">=", "==", "!="):
            return CValue(int(_compare(text, fx, fy)), int_t)
        if text == "/":
            if fy == 0:
                raise Unknown("floating division by zero")
            fr = fx / fy
        else:
            fr = fx + fy if text == "+" else fx - fy if text == "-" else fx * fy
        if not math.isfinite(fr):
            raise Unknown("floating overflow")
        return CValue(_to_float32(fr) if t.bits == 32 else fr, t)
    t = _common(a, b, env)
    x, y = _wrap(int(a.value), t), _wrap(int(b.value), t)
    if text in ("<", ">", "<=", ">=", "==", "!="):
        return CValue(int(_compare(text, x, y)), int_t)
    if text in ("/", "%"):
        if y == 0:
            raise Unknown("division by zero")
        q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        return _checked(q if text == "/" else x - q * y, t)
    r = {"+": x + y, "-": x - y, "*": x * y, "&": x & y, "|": x | y, "^": x ^ y}[text]
    return _checked(r, t) if text in ("+", "-", "*") else CValue(_wrap(r, t), t)


def _compare(text: str, x: float, y: float) -> bool:
    if text == "<":
        return x < y
    if text == ">":
        return x > y
    if text == "<=":
        return x <= y
    if text == ">=":
        return x >= y
    return x == y if text == "==" else x != y


def evaluate_postfix(items: list[Token | Op], env: Env) -> CValue:
    """Evaluate a postfix expression."""
    stack: list[CValue] = []
    for item in items:
        if isinstance(item, Token):
            stack.append(_literal(item, env))
            continue
        if len(stack) < item.arity:
            raise Unknown("malformed expression")
        args = stack[-item.arity:]
        del stack[-item.arity:]
        stack.append(_apply(item, args, env))
    if len(stack) != 1:
        raise Unknown("malformed expression")
    return stack[0]


def evaluate(text: str | list[Token], env: Env) -> CValue:
    """Evaluate a C constant expression (text or tokens) after macro expansion."""
    tokens = tokenize(text) if isinstance(text, str) else text
    tokens = expand(tokens, env)
    if not tokens:
        raise Unknown("empty expression")
    return evaluate_postfix(to_postfix(tokens, env), env)
