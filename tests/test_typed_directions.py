"""Direction qualifiers in typed declarations: ``Annotated[T, "_Out_ int *"]`` (as a prototype
writes it) and ``Annotated[T, koffi.out("int *")]`` declare what the prototype string
declares. Generated stubs over pointer types x qualifiers x spellings are compared with the
prototype form by their ``info``; real libc calls check the values come back."""

from __future__ import annotations

import textwrap
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi
from koffi_typed import c

LIBC = koffi.load("libc.so.6")
LIBM = koffi.load("libm.so.6")


@koffi.struct(name="DirTm")
class DirTm:
    tm_sec: c.int
    tm_min: c.int
    tm_hour: c.int
    tm_mday: c.int
    tm_mon: c.int
    tm_year: c.int
    tm_wday: c.int
    tm_yday: c.int
    tm_isdst: c.int
    tm_gmtoff: c.long
    tm_zone: Annotated[str | None, "const char *"]


POINTERS = ["int *", "double *", "DirTm *", "char **", "void *", "uint8_t *", "const DirTm *"]
QUALIFIERS = ["", "_In_", "_Out_", "_Inout_"]
SPELLINGS = ["string", "function", "spaced"]


def _annotation(qualifier: str, spec: str, spelling: str) -> str:
    if not qualifier:
        return f"Annotated[Any, {spec!r}]"
    if spelling == "function" and qualifier != "_In_":
        fn = "koffi.out" if qualifier == "_Out_" else "koffi.inout"
        return f"Annotated[Any, {fn}({spec!r})]"
    if spelling == "spaced":
        return f"Annotated[Any, {'  ' + qualifier + '   ' + spec + ' '!r}]"
    return f"Annotated[Any, {qualifier + ' ' + spec!r}]"


def _declare(params: list[tuple[str, str, str]]) -> Any:
    args = ", ".join(f"p{i}: {_annotation(q, s, sp)}" for i, (q, s, sp) in enumerate(params))
    source = textwrap.dedent(f"""\
        def abs({args}) -> c.int: ...
        """)
    namespace: dict[str, Any] = {"Annotated": Annotated, "Any": Any, "koffi": koffi, "c": c}
    exec(compile(source, "stub.py", "exec", dont_inherit=True), namespace)
    return LIBC.function(namespace["abs"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(QUALIFIERS), st.sampled_from(POINTERS),
                          st.sampled_from(SPELLINGS)), min_size=1, max_size=6))
def test_typed_directions_declare_what_the_prototype_declares(
        params: list[tuple[str, str, str]]) -> None:
    typed = _declare(params)
    proto = LIBC.func("int abs(" + ", ".join(f"{q} {s} p{i}".strip()
                                             for i, (q, s, _) in enumerate(params)) + ")")
    got = [(a.name, a.type, a.direction) for a in typed.info.arguments]
    want = [(a.name, a.type, a.direction) for a in proto.info.arguments]
    assert got == want


def test_out_values_come_back_through_typed_declarations() -> None:
    @LIBM.function
    def frexp(x: c.double, exp: Annotated[list[int], "_Out_ int *"]) -> c.double: ...

    e = [0]
    assert frexp(8.0, e) == 0.5 and e == [4]

    @LIBC.function
    def strtol(s: c.str, end: Annotated[list[str | None], "_Out_ char **"],
               base: c.int) -> c.long: ...

    end: list[str | None] = [None]
    assert strtol("123xyz", end, 10) == 123 and end == ["xyz"]

    @LIBC.function
    def gmtime_r(t: Annotated[list[int], "const int64_t *"],
                 out: Annotated[DirTm, "_Out_ DirTm *"]) -> Annotated[Any, "DirTm *"]: ...

    tm = DirTm()
    assert gmtime_r([86400 * 365], tm) is not None
    assert (tm.tm_year, tm.tm_yday) == (71, 0)


@pytest.mark.parametrize("meta", ["_Out_", "  _Inout_  "])
def test_a_qualifier_without_a_type_names_the_parameter(meta: str) -> None:
    def abs(x: Any) -> Any: ...

    abs.__annotations__ = {"x": Annotated[Any, meta], "return": c.int}
    stub = abs
    with pytest.raises(TypeError, match=r"abs\(\): parameter 'x': _(Out|Inout)_ needs a type"):
        LIBC.function(stub)
