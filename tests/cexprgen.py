"""Random C constant expressions (hypothesis) and the C compiler as their oracle.

`expressions()` draws the text of integer constant expressions: literals in every base and
suffix, character constants, ``sizeof`` of scalar types, casts, unary, binary and conditional
operators, with or without parentheses (the compiler and the evaluator read the same text, so
precedence is part of what is compared). `compiler_values` asks the C compiler for the value of
each expression in an enumerator (an integer constant expression context), leaving out those
it rejects.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence

from hypothesis import strategies as st

INT_TYPES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
             "unsigned", "unsigned int", "long", "unsigned long", "long long",
             "unsigned long long", "_Bool"]
SIZEOF_TYPES = [*INT_TYPES, "float", "double", "void *", "char *"]
BINARY = ["*", "/", "%", "+", "-", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", "&", "^", "|",
          "&&", "||"]


@st.composite
def int_literal(draw: st.DrawFn) -> str:
    suffix = draw(st.sampled_from(["", "u", "U", "l", "L", "ul", "UL", "ll", "LL", "ull", "LLU"]))
    limit = 2**64 - 1 if "u" in suffix.lower() else 2**63 - 1
    value = draw(st.one_of(st.integers(0, 300), st.integers(0, 2**32 + 5),
                           st.integers(0, limit), st.sampled_from([0, 1, 2**31 - 1, 2**31,
                                                                   2**32 - 1, 2**63 - 1])))
    value = min(value, limit)
    base = draw(st.sampled_from(["dec", "hex", "oct"]))
    text = {"dec": str(value), "hex": hex(value), "oct": "0" + oct(value)[2:] if value else "0"}[
        base]
    return text + suffix


CHARS = st.sampled_from(["'a'", "'0'", "'\\n'", "'\\0'", "'\\x7f'", "'\\xff'", "'\\377'",
                         "'\\\\'", "'\\''", "' '"])


@st.composite
def _expression(draw: st.DrawFn, names: tuple[str, ...], depth: int) -> str:
    kind = draw(st.integers(0, 9)) if depth > 0 else 0
    if kind <= 2:  # a leaf
        leaf = draw(st.integers(0, 3 if names else 2))
        if leaf == 0:
            return draw(int_literal())
        if leaf == 1:
            return draw(CHARS)
        if leaf == 2:
            return f"sizeof({draw(st.sampled_from(SIZEOF_TYPES))})"
        return draw(st.sampled_from(names))

    def sub() -> str:
        inner = draw(_expression(names, depth - 1))
        return f"({inner})" if draw(st.booleans()) else inner

    if kind == 3:
        return f"{draw(st.sampled_from(['-', '+', '~', '!']))} {sub()}"
    if kind in (4, 5, 6):
        return f"{sub()} {draw(st.sampled_from(BINARY))} {sub()}"
    if kind == 7:
        return f"({sub()}) ? ({sub()}) : ({sub()})"
    if kind == 8:
        return f"({draw(st.sampled_from(INT_TYPES))})({sub()})"
    return f"({sub()})"


def expressions(names: Sequence[str] = (), depth: int = 4) -> st.SearchStrategy[str]:
    """Text of C integer constant expressions; ``names`` are macros they may use."""
    return _expression(tuple(names), depth)


def compiler_values(exprs: Sequence[str], *, prelude: str = "", cc: str = "cc"
                    ) -> dict[int, int]:
    """index → value of each expression the compiler accepts as an integer constant."""
    todo = list(range(len(exprs)))
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "oracle.c"), os.path.join(tmp, "oracle")
        for _ in range(4):
            lines = "\n".join(["#include <stdio.h>", prelude]).splitlines()
            first = len(lines) + 1
            for i in todo:
                lines.append(f"enum {{ oracle_v{i} = ({exprs[i]}), oracle_n{i} = (({exprs[i]}) "
                             "< 0) };")
            lines.append("int main(void) {")
            lines += [f'  printf("%lld %d\\n", (long long)oracle_v{i}, (int)oracle_n{i});'
                      for i in todo]
            lines += ["  return 0;", "}"]
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            proc = subprocess.run([cc, "-w", "-std=gnu11", src, "-o", exe], capture_output=True,
                                  text=True, check=False)
            if proc.returncode == 0:
                out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
                values: dict[int, int] = {}
                for i, line in zip(todo, out.splitlines()):
                    v, neg = (int(x) for x in line.split())
                    values[i] = v if neg or v >= 0 else v + 2**64
                return values
            bad = {int(m[1]) - first for m in re.finditer(r"oracle\.c:(\d+):\d+: error",
                                                          proc.stderr)}
            kept = [i for n, i in enumerate(todo) if n not in bad]
            assert len(kept) < len(todo), proc.stderr
            todo = kept
    raise AssertionError("the oracle program does not compile")
