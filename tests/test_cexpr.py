"""koffi_typed.stubgen.cexpr: C constant expressions evaluated as the C compiler does."""

from __future__ import annotations

import ctypes

import pytest
from cexprgen import compiler_values, expressions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koffi_typed.stubgen import cexpr

SIZES = {"char": 1, "signed char": 1, "unsigned char": 1, "short": 2, "unsigned short": 2,
         "int": 4, "unsigned int": 4, "long": ctypes.sizeof(ctypes.c_long),
         "unsigned long": ctypes.sizeof(ctypes.c_ulong), "long long": 8,
         "unsigned long long": 8, "bool": 1, "float": 4, "double": 8,
         "void *": ctypes.sizeof(ctypes.c_void_p), "char *": ctypes.sizeof(ctypes.c_void_p)}
FAMILY = {"char": "int", "signed char": "int", "unsigned char": "uint", "short": "int",
          "unsigned short": "uint", "int": "int", "unsigned int": "uint", "long": "int",
          "unsigned long": "uint", "long long": "int", "unsigned long long": "uint",
          "bool": "bool", "float": "float", "double": "float", "int8_t": "int"}


def env(**macros: str) -> cexpr.Env:
    def scalar(name: str) -> tuple[int, str] | None:
        name = {"signed char": "int8_t", "_Bool": "bool"}.get(name, name)
        if name == "int8_t":
            return 1, "int"
        return (SIZES[name], FAMILY[name]) if name in FAMILY else None

    return cexpr.Env(macros={k: cexpr.tokenize(v) for k, v in macros.items()},
                     scalar=scalar, sizeof=lambda n: SIZES.get(n),
                     long_bits=SIZES["long"] * 8, char_signed=True)


@pytest.mark.parametrize(("text", "value"), [
    ("1 + 2 * 3", 7), ("-1U", 2**32 - 1), ("0xFFFFFFFF + 1", 0), ("(unsigned char)300", 44),
    ("1 << 31", -2**31), ("10 / -3", -3), ("-10 % 3", -1), ("0 ? 1 : 2 ? 3 : 4", 3),
    ("'a'", 97), ("'\\xff'", -1), ("-1 < 1U", 0), ("~0UL", 2**64 - 1), ("sizeof(int) * 2", 8),
    ("(1 ? -1 : 0U) > 0", 1), ("!!5 + !0", 2), ("0x10 | 010 | 0b1", 25), ("1.5f + 1", 2.5),
    ("(int)3.9", 3), ("(_Bool)256", 1),
])
def test_examples(text: str, value: int | float) -> None:
    assert cexpr.evaluate(text, env()).value == value


@pytest.mark.parametrize("text", ["1 / 0", "2147483647 + 1", "1 << 64", "f(1)", "x", "1 ,2",
                                  "\"s\" + 1", "(", "1 +", "1 ? 2", "(int *)0"])
def test_unknown(text: str) -> None:
    with pytest.raises(cexpr.Unknown):
        cexpr.evaluate(text, env())


def test_macros_expand_as_text_not_as_values() -> None:
    e = env(A="1 + 1", B="A * 2", SELF="SELF + 1", T="unsigned char")
    assert cexpr.evaluate("B", e).value == 3  # 1 + 1 * 2, as the preprocessor does
    assert cexpr.evaluate("(T)257", e).value == 1
    with pytest.raises(cexpr.Unknown, match="unknown name SELF"):
        cexpr.evaluate("SELF", e)


def test_thousand_terms_and_nesting_use_no_recursion() -> None:
    terms = " + ".join(str(i) for i in range(1000))
    assert cexpr.evaluate(terms, env()).value == sum(range(1000))
    assert cexpr.evaluate("(" * 1000 + "7" + ")" * 1000, env()).value == 7
    assert cexpr.evaluate("- " * 1001 + "1", env()).value == -1
    assert cexpr.evaluate(" ? ".join(["1"] * 500) + " : 0" * 499, env()).value == 1
    chain = {f"M{i}": f"(M{i - 1} + 1)" for i in range(1, 1000)}
    assert cexpr.evaluate("M999", env(M0="0", **chain)).value == 999


def test_string_values() -> None:
    assert cexpr.string_value(cexpr.tokenize('"ab" "c\\n" u8"\\xc3\\xa9"')) == "abc\né"
    assert cexpr.string_value(cexpr.tokenize('"\\xff"')) == b"\xff"
    assert cexpr.string_value(cexpr.tokenize('L"wide"')) is None
    assert cexpr.string_value(cexpr.tokenize('"a" 1')) is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(expressions(), min_size=1, max_size=20))
def test_agrees_with_the_compiler(exprs: list[str]) -> None:
    truth = compiler_values(exprs)
    for i, text in enumerate(exprs):
        try:
            got = cexpr.evaluate(text, env()).value
        except cexpr.Unknown:
            continue  # the compiler decides these (stubgen asks it)
        assert i in truth, f"{text!r}: evaluated to {got} but the compiler rejects it"
        assert got == truth[i], text
