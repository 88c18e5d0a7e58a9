"""Generated code is inert: whatever the C names are (Python keywords, builtins, ``self``,
leading underscores, the generator's own variable names, unicode look-alikes that Python's
NFKC normalisation folds onto them), declared functions and records behave the same and
never raise SyntaxError. C side: tests/c/safety.c (it reads records by layout)."""

from __future__ import annotations

import keyword
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import koffi_typed as koffi

HOSTILE = sorted({
    *keyword.kwlist, "self", "other", "cls", "type", "len", "int", "str", "print", "object",
    "getattr", "setattr", "NotImplemented", "super", "bytes", "list", "dict", "from_buffer",
    "zip", "bytearray", "TypeError", "ValueError", "memoryview", "tuple", "isinstance",
    # names the generators use themselves
    "keep", "r", "rb", "o", "c0", "c1", "a0", "a1", "k0", "e0", "v0", "_f", "_r", "_watch",
    "_raise", "_c0", "_T", "_K0", "_B0", "_S0", "_byref", "_char_at", "_vcache", "_variadic",
    "_rt", "_MISSING", "_k", "_kself", "_km0", "_kd0", "_kf0", "_kn0", "_kget", "_kset",
    "_kkw", "_kodd", "_kargs", "_d_a", "_f_a", "_new", "_K", "_S", "_gc_enabled",
    # NFKC look-alikes of the above (Python reads 'ｋｅｅｐ' as 'keep')
    "ｋｅｅｐ", "ｒ", "ｓｅｌｆ", "ｉｎ", "ｃ０", "ａ０", "ｏｔｈｅｒ", "_ｆ", "ﬁx", "ℌ", "ｋ０",
    "_ｋｓｅｌｆ", "_ｋｍ０",
})
# ``_`` and ``_<digits>`` are Koffi's padding members, not names
names3 = st.lists(st.sampled_from(HOSTILE) | st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,6}\Z")
                  .filter(lambda n: n != "_" and not (n[:1] == "_" and n[1:].isdigit())),
                  min_size=3, max_size=3, unique=True)
FAST = settings(max_examples=80, deadline=None, derandomize=True)
#: C keywords and type specifiers cannot name a C parameter (record members are declared
#: with the dict form, where any name goes).
C_RESERVED = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
              "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
              "register", "restrict", "return", "short", "signed", "sizeof", "static",
              "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
              "bool", "_Bool", "__int128", "__restrict", "_In_", "_Out_", "_Inout_"}
c_names3 = names3.filter(lambda names: not C_RESERVED & set(names))


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("safety"))


@FAST
@given(names=c_names3)
@example(names=["ｋｅｅｐ", "keep", "ｒ"])
@example(names=["ｃ０", "c0", "a0"])
@example(names=["_f", "ｓｅｌｆ", "r"])
def test_parameter_names_never_change_a_call(lib: koffi.Library, names: list[str]) -> None:
    a, b, c = names
    f = lib.func(f"int Sum3(int {a}, int {b}, int {c})")
    assert f(1, 2, 3) == 123
    assert [arg.name for arg in f.info.arguments] == names
    with pytest.raises(OverflowError, match=r"Sum3\(\): argument"):
        f(1, 2**40, 3)
    g = lib.func(f"void *Identity(void *{a})")
    assert g(None) is None
    h = lib.func(f"size_t Length8(const char *{b})")
    assert h("héllo") == 6


_counter = [0]


def _record(names: list[str], union: bool = False) -> Any:
    _counter[0] += 1
    make = koffi.union if union else koffi.struct
    return make(f"Hostile{_counter[0]}", {n: "int" for n in names})


@FAST
@given(names=names3)
@example(names=["ｓｅｌｆ", "self", "ｉｎ"])
@example(names=["_kself", "_ｋｓｅｌｆ", "from_buffer"])
@example(names=["in", "_km0", "_ｋｍ０"])
@example(names=["__a", "__y1Ldb", "__b_"])  # type() mangles such slot names: _Hostile1__a
def test_member_names_never_change_a_record(lib: koffi.Library, names: list[str]) -> None:
    T = _record(names)
    koffi.alias(f"HT{_counter[0]}", T)
    by_value = lib.func(f"int SumThree({T.__koffi_type__.name} t)")
    by_pointer = lib.func(f"int SumThreePtr(const {T.__koffi_type__.name} *t)")
    fill = lib.func(f"void FillThree(_Out_ {T.__koffi_type__.name} *t)")
    positional = T(1, 2, 3)
    keywords = T(**dict(zip(names, (1, 2, 3))))
    assert [getattr(positional, n) for n in names] == [1, 2, 3]
    assert positional == keywords
    assert by_value(positional) == 123 and by_pointer(keywords) == 123
    assert by_value(dict(zip(names, (4, 5, 6)))) == 456
    out = T()
    fill(out)
    assert [getattr(out, n) for n in names] == [7, 8, 9]
    assert T.__koffi_type__ is koffi.type(T)
    assert bytes(T.__koffi_type__.python_class(7, 8, 9)) == bytes(out)
    shown = repr(out)
    assert all(f"{n}=" in shown for n in names)
    setattr(out, names[1], 2**40)
    with pytest.raises(OverflowError, match=names[1]):
        by_value(out)
    with pytest.raises(TypeError, match="unexpected keyword"):
        T(**{"not a member": 1})


@FAST
@given(names=names3)
@example(names=["ｓｅｌｆ", "self", "ｉｎ"])
@example(names=["_kMISSING", "is", "_kkw"])
def test_member_names_never_change_a_union(names: list[str]) -> None:
    U = _record(names, union=True)
    u = U(**{names[2]: 5})
    assert getattr(u, names[0]) == 5 and getattr(u, names[1]) == 5
    setattr(u, names[1], 9)
    assert getattr(u, names[2]) == 9
    assert U(**{names[0]: 9}) == u


def test_a_member_named_self() -> None:
    T = koffi.struct("HasSelf", {"self": "int", "other": "double"})
    t = T(self=3, other=1.5)
    assert t.self == 3 and t.other == 1.5 and repr(t) == "HasSelf(self=3, other=1.5)"
    assert T.from_buffer(bytes(t)) == t


# ------------------------------------------------------------------------------ type names

_DECLARE_FORMS: dict[str, Callable[[str], object]] = {
    "struct": lambda n: koffi.struct(n, {"a": "int"}),
    "union": lambda n: koffi.union(n, {"a": "int", "b": "double"}),
    "opaque": lambda n: koffi.opaque(n),
    "alias": lambda n: koffi.alias(n, "int"),
    "proto": lambda n: koffi.proto(f"int {n}(int)"),
}
_COUNTER = [0]


def _fresh(name: str) -> str:
    """``name`` made unique per example (type names are process-wide)."""
    _COUNTER[0] += 1
    return f"{name}_{_COUNTER[0]}" if name.isidentifier() else name


@settings(max_examples=60, deadline=None)
@given(word=st.sampled_from(sorted(C_RESERVED - {"char", "int", "long", "short", "float",
                                                 "double", "void", "bool"})),
       form=st.sampled_from(sorted(_DECLARE_FORMS)))
def test_c_keywords_cannot_name_a_type(word: str, form: str) -> None:
    """A type string could never name such a type: refused when declared, in every form
    (in ``int const(int)`` or ``int signed(int)`` the word is part of the result type,
    and the prototype is anonymous)."""
    try:
        declared = _DECLARE_FORMS[form](word)
    except (koffi.Error, ValueError):
        return
    assert form == "proto", (word, form)  # read as part of the result type
    assert str(koffi.type(declared).name).startswith("<anonymous")


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(HOSTILE) | st.from_regex(r"\A[^\W\d]\w{0,12}\Z")
       .filter(str.isidentifier),
       form=st.sampled_from(["struct", "union", "opaque", "alias"]))
def test_any_other_identifier_names_a_type_that_type_strings_find(name: str, form: str) -> None:
    unique = _fresh(name)
    declared = _DECLARE_FORMS[form](unique)
    t = koffi.type(declared if not isinstance(declared, str) else unique)
    assert koffi.type(unique) is t
    assert koffi.type(f"{unique} *").ref is t
    assert koffi.type(f"const {unique} **").ref.ref is t  # type: ignore[union-attr]
