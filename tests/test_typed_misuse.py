"""Typed declarations (``@lib.function``) built from generated ``def`` stubs: every malformed
stub raises `TypeError` naming the function (and the parameter) at declaration time; a
well-formed one calls C. The stubs are generated as source text, compiled and declared."""

from __future__ import annotations

import ctypes.util
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c

LIBC = koffi.load(ctypes.util.find_library("c"))

GOOD = "c.int"
# (annotation text, what is wrong with it) — None when the annotation is fine
ANNOTATIONS = [
    (GOOD, None), ("c.int32", None), ("'c.int'", None),
    ("", "needs a C type annotation"), ("int", "not a C type"), ("list[c.int]", "not a C type"),
    ("'no_such_type_t'", "cannot evaluate"), ("'c.int +'", "cannot evaluate"),
    ("c.int | c.double", "not a C type"), ("str", "not a C type"),
]
KINDS = ["positional", "positional-only", "keyword-only", "*args", "**kwargs", "default"]
RESULTS = [("-> c.int", None), ("-> None", None), ("", "needs a return annotation"),
           ("-> int", "result"), ("-> 'nope_t'", "cannot evaluate")]


def _param(name: str, annotation: str, kind: str) -> str:
    ann = f": {annotation}" if annotation else ""
    if kind == "*args":
        return f"*{name}{ann}"
    if kind == "**kwargs":
        return f"**{name}{ann}"
    if kind == "default":
        return f"{name}{ann} = 0"
    return f"{name}{ann}"


def _stub(params: list[tuple[str, str]], result: str) -> str:
    """``def labs(...)`` with ``params`` as (annotation, kind) pairs."""
    parts: list[str] = []
    for i, (annotation, kind) in enumerate(params):
        part = _param(f"p{i}", annotation, kind)
        if kind == "keyword-only" and not any(k in ("*args", "keyword-only") for _, k in
                                                params[:i]):
            parts.append("*")
        parts.append(part)
        if kind == "positional-only":
            parts.append("/")
    return f"def labs({', '.join(parts)}) {result}: ...\n"


def _declare(source: str) -> Any:
    namespace: dict[str, Any] = {"c": c, "koffi": koffi}
    exec(compile(textwrap.dedent(source), "<stub>", "exec"), namespace)
    return LIBC.function(namespace["labs"])


@settings(max_examples=150, deadline=None)
@given(params=st.lists(st.tuples(st.sampled_from(ANNOTATIONS), st.sampled_from(KINDS)),
                       min_size=1, max_size=3),
       result=st.sampled_from(RESULTS))
def test_malformed_typed_declarations_raise_naming_the_function(
        params: list[tuple[tuple[str, str | None], str]], result: tuple[str, str | None]
        ) -> None:
    flat = [(annotation, kind) for (annotation, _), kind in params]
    try:
        source = _stub(flat, result[0])
        compile(source, "<stub>", "exec")
    except SyntaxError:
        return  # not a Python function at all (e.g. '/' after '*')
    problems = [why for (_, why), kind in params if why] + \
        ["must be positional" for _, kind in params if kind in ("keyword-only", "*args",
                                                                "**kwargs")] + \
        ["default value" for _, kind in params if kind == "default"] + \
        ([result[1]] if result[1] else [])
    if not problems:
        f = _declare(source)
        args = [-5] * len(params)
        assert f(*args) == (None if result[0] == "-> None" else 5) or len(params) > 1
        return
    with pytest.raises(TypeError, match=r"^labs\(\): ") as raised:
        _declare(source)
    assert any(p in str(raised.value) for p in problems), (source, problems, raised.value)


def test_a_well_formed_stub_calls_c() -> None:
    f = _declare("def labs(x: c.long, /) -> c.long: ...")
    assert f(-7) == 7


@pytest.mark.parametrize("thing", [5, 2.5, None.__class__, [1], b"labs"])
def test_declaring_something_that_is_not_a_function_raises(thing: object) -> None:
    with pytest.raises(TypeError):
        LIBC.function(thing)  # type: ignore[call-overload]
