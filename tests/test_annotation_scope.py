"""String annotations naming a record the declaring frame cannot see.

With ``from __future__ import annotations`` (as in this file) a record member or a typed
parameter annotated ``Vec`` is the string ``'Vec'``. koffi_typed evaluates it in the module's
globals and the caller's frame locals; a Nuitka-compiled caller exposes no frame locals, and
a record declared in another function is not in the caller's scope at all. Such a name
resolves to the record registered under that C name (C type names are global); module
globals and builtins still come first. The C side is the Nuitka example's library.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbuild
import pytest

import koffi_typed as koffi
from koffi_typed import c

SHAPES = Path(__file__).resolve().parent.parent / "examples" / "nuitka_app" / "shapes.c"

ScopeShadow = int  # a module global wins over a record registered under the same name
koffi.alias("ScopeAliasOnly", "int")  # a registered type that is no record


@pytest.fixture(scope="module")
def shapes() -> koffi.Library:
    return koffi.load(cbuild.build_shared([SHAPES], "host"))


def hidden_in_enclosing(declare: Callable[[], Any]) -> Any:
    """Declare ``Vec``/``Num`` here and call ``declare`` from a nested function whose frame
    has no cell for them (string annotations do not create closures)."""

    @koffi.struct(name="Vec")
    class Vec:
        x: c.int32
        y: c.double

    @koffi.union(name="Num")
    class Num:
        i: c.int64 = 0
        d: c.double = 0.0

    def inner() -> Any:
        return declare()

    return Vec, Num, inner()


def _declare_vec_num() -> tuple[type, type]:
    @koffi.struct(name="Vec")
    class Vec:
        x: c.int32
        y: c.double

    @koffi.union(name="Num")
    class Num:
        i: c.int64 = 0
        d: c.double = 0.0

    return Vec, Num


def hidden_in_other_function(declare: Callable[[], Any]) -> Any:
    """Declare ``Vec``/``Num`` in another function; keep them only in a tuple."""
    records = _declare_vec_num()
    return (*records, declare())


SCOPES = [hidden_in_enclosing, hidden_in_other_function]


@pytest.mark.parametrize("scope", SCOPES)
def test_record_member_names_a_hidden_record(shapes: koffi.Library, scope: Any) -> None:
    def declare() -> type:
        @koffi.struct
        class Segment:
            a: Vec  # type: ignore[name-defined]  # noqa: F821
            b: Vec  # type: ignore[name-defined]  # noqa: F821
            first: koffi.Ptr[Vec] | None  # type: ignore[name-defined]  # noqa: F821

        return Segment

    vec, _, segment = scope(declare)
    assert koffi.type(segment).members["a"].type is koffi.type(vec)
    assert koffi.type(segment).members["first"].type.ref is koffi.type(vec)
    segment_dx = shapes.func("double segment_dx(Segment s)")
    assert segment_dx(segment(vec(1, 0.5), vec(4, 2.0))) == 4.5


@pytest.mark.parametrize("scope", SCOPES)
def test_typed_declaration_names_hidden_records(shapes: koffi.Library, scope: Any) -> None:
    def declare() -> tuple[Any, Any]:
        @shapes.function
        def vec_scale(v: Vec, k: c.int32) -> Vec: ...  # type: ignore[name-defined]  # noqa: F821

        @shapes.function
        def num_bits(n: Num) -> c.int64: ...  # type: ignore[name-defined]  # noqa: F821

        return vec_scale, num_bits

    vec, num, (vec_scale, num_bits) = scope(declare)
    assert vec_scale(vec(3, 1.5), 4) == vec(12, 6.0)
    assert num_bits(num(d=1.0)) == 0x3FF0000000000000


@pytest.mark.parametrize("scope", SCOPES)
def test_union_member_names_a_hidden_record(scope: Any) -> None:
    def declare() -> type:
        @koffi.union
        class VecOrNum:
            v: Vec  # type: ignore[name-defined]  # noqa: F821
            n: Num  # type: ignore[name-defined]  # noqa: F821

        return VecOrNum

    vec, num, either = scope(declare)
    assert koffi.type(either).members["v"].type is koffi.type(vec)
    assert koffi.type(either).members["n"].type is koffi.type(num)
    assert either(v=vec(1, 2.0)).v == vec(1, 2.0)


def test_module_globals_come_before_registered_records() -> None:
    @koffi.struct(name="ScopeShadow")
    class Shadowed:
        x: c.int32

    with pytest.raises(TypeError, match="annotation int is not a C type"):
        @koffi.struct
        class UsesShadow:
            s: ScopeShadow


@pytest.mark.parametrize("name", ["ScopeNowhere", "ScopeAliasOnly", "double"])
def test_names_that_are_no_record_still_fail_clearly(name: str) -> None:
    with pytest.raises(TypeError, match=f"cannot resolve annotation '{name}'"):
        koffi.struct(type(f"Uses{name}", (), {"__annotations__": {"m": name},
                                               "__module__": __name__}))
