"""Records that point to themselves, declared however a user writes it, against
tests/c/contract.c's linked list (``struct Node { int32_t value; struct Node *next; }``).

Under ``from __future__ import annotations`` every annotation is a string, so
``next: koffi.Ptr[Node]`` names the class while the decorator is still building it. Each
variant is declared in a fresh module (with and without the future import, at module level
and inside a function, under the class name or another C name, as a struct or through
``Optional``) and must give a ``Node *`` member that C walks: the class's name, quoted or not, is the record
being defined, as it is to a type checker.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi

ANNOTATIONS = [
    'koffi.Ptr["{cls}"]',
    "koffi.Ptr[{cls}]",
    '"koffi.Ptr[{cls}]"',
    "Optional[koffi.Pointer[{cls}]]",
    "koffi.Pointer[{cls}] | None",
]
FUTURE = [True, False]
PLACES = ["module", "function"]
NAMED = ["class", "other", "keyword"]  # the C name: the class name, another, a Python keyword

_counter = itertools.count()


def _source(annotation: str, future: bool, place: str, named: str) -> tuple[str, str, str]:
    """Module source, class name and C name of one variant."""
    n = next(_counter)
    cls = f"SelfNode{n}"
    c_name = {"class": cls, "other": f"self_node_{n}", "keyword": "lambda"}[named]
    decorator = f'@koffi.struct(name="{c_name}")' if named != "class" else "@koffi.struct"
    body = textwrap.dedent(f"""\
        {decorator}
        class {cls}:
            value: c.int32
            next: {annotation.format(cls=cls)}
        """)
    if place == "function":
        body = "def declare():\n" + textwrap.indent(body, "    ") + f"    return {cls}\n\n" \
            f"{cls} = declare()\n"
    head = "from __future__ import annotations\n" if future else ""
    head += "from typing import Optional\nimport koffi_typed as koffi\nfrom koffi_typed import c\n"
    return head + body, cls, c_name


def _runs_at_all(annotation: str, future: bool) -> bool:
    # without the future import, an unquoted name of the class being defined is a NameError
    # in Python itself, before koffi_typed sees anything
    return future or annotation.startswith(('koffi.Ptr["', '"'))



@pytest.fixture(scope="module")
def chain_lib(c_library: Callable[[str], Path]) -> Any:
    return koffi.load(c_library("contract"))


@pytest.mark.parametrize("annotation", ANNOTATIONS)
@pytest.mark.parametrize("future", FUTURE)
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("named", NAMED)
def test_self_referencing_record(chain_lib: Any, tmp_path: Path, annotation: str,
                                 future: bool, place: str, named: str) -> None:
    source, cls_name, c_name = _source(annotation, future, place, named)
    namespace: dict[str, Any] = {"__name__": f"selfref_{cls_name}"}
    code = compile(source, str(tmp_path / f"{cls_name}.py"), "exec", dont_inherit=True)
    if not _runs_at_all(annotation, future):
        with pytest.raises(NameError):
            exec(code, namespace)
        return
    exec(code, namespace)
    node = namespace[cls_name]
    t = koffi.type(node)
    assert t.name == c_name
    assert t.members["next"].type.ref is t, t.members["next"].type
    total = chain_lib.func(f"int32_t SumChain(const {c_name} *node)")
    chain = node(1, node(2, node(39, None)))
    assert total(chain) == 42
    length = chain_lib.func(f"int32_t ChainLength(const {c_name} *node)")
    assert length(None) == 0 and length(node(5, None)) == 1


@pytest.mark.parametrize("future", FUTURE)
def test_a_record_cannot_contain_itself_by_value(future: bool) -> None:
    n = next(_counter)
    head = "from __future__ import annotations\n" if future else ""
    source = head + textwrap.dedent(f"""\
        import koffi_typed as koffi
        from koffi_typed import c

        @koffi.struct
        class Loop{n}:
            value: c.int32
            inner: "Loop{n}"
        """)
    with pytest.raises(TypeError, match=rf"Loop{n}\.inner: a record cannot contain itself by "
                                        rf"value \(use koffi\.Ptr\[Loop{n}\]|Type Loop{n} "
                                        rf"cannot be used as a member \(maybe try Loop{n} \*\)"):
        exec(compile(source, f"loop{n}.py", "exec", dont_inherit=True), {"__name__": f"loop{n}"})
    with pytest.raises(koffi.ParseError):  # nothing half-defined is left under that name
        koffi.type(f"Loop{n}")
