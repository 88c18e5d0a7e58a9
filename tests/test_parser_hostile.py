"""Declarations under hostile input: the parser fails at the first bad character, in time
proportional to its position, and quotes a bounded excerpt around it (issue #11).

Inputs are generated: a valid-looking prefix (a prototype head and parameters, nested
function-pointer declarators, long identifiers, deep pointers) followed by a hostile tail
(a character no token starts with, punctuation runs, a megabyte of anything). What is
measured is the time to fail and the size of ``str(error)``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi

MAX_MESSAGE = 400  # characters of str(ParseError), whatever the input size
BIG = 1_000_000

HEADS = ["int f(", "void *g(const char *s, ", "struct_t h(int (*cb)(int, ", "double ",
         "unsigned long long *", "int (*)(", "char [4", "const int * const *", ""]
UNITS = ["int, ", "*", "(", ")", "[", "]", "(*)(", "a" * 7, " ", ",", "...", "[3]", "!",
         "int (*p)(", "const "]
BAD = ["@", "#", "{", "}", "$", "\x00", "\u2028", "'", "\"", "%", "+", "-", "=", "?", "~"]


def _fail_time(call: object, text: str) -> tuple[float, koffi.ParseError]:
    """The fastest of three failures, so a busy machine's pause is not counted."""
    best, error = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        try:
            call(text)  # type: ignore[operator]
        except koffi.ParseError as exc:
            best, error = min(best, time.perf_counter() - start), exc
        else:
            raise AssertionError(f"accepted a hostile declaration of {len(text)} characters")
    assert error is not None
    return best, error


def _check(exc: koffi.ParseError, text: str) -> None:
    message = str(exc)
    assert len(message) <= MAX_MESSAGE, message[:600]
    assert exc.pos is not None and 0 <= exc.pos <= len(text)
    lines = message.splitlines()
    assert lines[-1].strip() == "^", message
    # the caret sits under the character at exc.pos in the excerpt
    excerpt, caret = lines[-2], lines[-1].index("^")
    if exc.pos < len(text) and text[exc.pos].isprintable():
        assert excerpt[caret] == text[exc.pos], message


@settings(max_examples=60, deadline=None, derandomize=True)
@given(head=st.sampled_from(HEADS), units=st.lists(st.sampled_from(UNITS), max_size=12),
       bad=st.sampled_from(BAD), tail=st.sampled_from(UNITS + BAD), spec=st.booleans())
def test_hostile_declarations_fail_fast_with_a_bounded_message(
        head: str, units: list[str], bad: str, tail: str, spec: bool) -> None:
    """A short prefix, a bad character, then a megabyte of more input: failing takes no
    longer than reading the prefix, the message stays short and the caret points at the bad
    character (or before it)."""
    prefix = head + "".join(units)
    text = prefix + bad + tail * (BIG // len(tail))
    elapsed, exc = _fail_time(koffi.type if spec else koffi.proto, text)
    assert elapsed < 0.05, f"{elapsed:.3f} s to fail on {len(text)} characters"
    assert exc.pos is not None and exc.pos <= len(prefix)
    _check(exc, text)


@pytest.mark.parametrize("unit", ["int, ", "(", "*", "a", "int (*)(", "[1]", ") "])
def test_failing_late_takes_time_proportional_to_the_position(unit: str) -> None:
    """The bad character after N repetitions of a unit: the time grows with N, linearly."""
    times = []
    for n in (20_000, 80_000):
        text = "int f(" + unit * n + "@"
        elapsed, exc = _fail_time(koffi.proto, text)
        _check(exc, text)
        times.append((len(text), elapsed))
    (n1, t1), (n2, t2) = times
    assert t2 < 0.5, f"{t2:.2f} s to fail on {n2} characters"
    assert t2 < max(t1, 0.002) * (n2 / n1) * 3, times


@pytest.mark.parametrize("text", [
    "a" * BIG,                      # one huge unknown name
    "int " + "*" * BIG,             # deep pointers
    "int " + "[" * BIG,
    "int f(" + "int (*)(" * BIG,    # nested function-pointer declarators
    "(" * BIG,
    "int " + "9" * BIG,
    "int [" + "9" * BIG + "]",
])
def test_megabyte_declarations(text: str) -> None:
    for call in (koffi.type, koffi.proto):
        elapsed, exc = _fail_time(call, text)
        assert elapsed < 1.0, f"{elapsed:.2f} s"
        _check(exc, text)


def test_long_names_are_quoted_shortened() -> None:
    with pytest.raises(koffi.ParseError) as info:
        koffi.type("x" * 100_000 + " *")
    assert "characters)" in info.value.msg and len(info.value.msg) < 200


def test_short_declarations_keep_the_whole_text() -> None:
    with pytest.raises(koffi.ParseError) as info:
        koffi.type("int * @")
    assert str(info.value).splitlines()[1:] == ["    int * @", "          ^"]


NOT_C_SPACE = ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x1f", "\u00a0", "\u3000"]


@pytest.mark.parametrize("bad", BAD + NOT_C_SPACE)
@pytest.mark.parametrize("where", ["proto", "type"])
def test_every_bad_character_fails_where_it_is(bad: str, where: str) -> None:
    """Characters C does not separate tokens with (Python's other white space included) are
    refused at their position, not skipped."""
    if where == "proto":
        text = "int f(" + bad + "int a, int b)"
        at = 6
        call = koffi.proto
    else:
        text = "int " + bad + "*"
        at = 4
        call = koffi.type
    with pytest.raises(koffi.ParseError) as info:
        call(text)
    assert info.value.pos == at, (info.value.pos, str(info.value))
    _check(info.value, text)
