"""The steps of stubgen in order (`generate`): preprocess, parse, build the C model, evaluate
the ``#define`` constants, prune, ask the C compiler, check layouts, write the module."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable, Sequence

from koffi_typed.stubgen.builder import Builder
from koffi_typed.stubgen.cmodel import Constant, prune
from koffi_typed.stubgen.compiler import (
    check_layouts,
    compiler_values,
    fill_values,
    layout_queries,
)
from koffi_typed.stubgen.emit import Emitter
from koffi_typed.stubgen.macros import macro_constants, macro_notes
from koffi_typed.stubgen.parse import deep_recursion, load_pycparser, parse
from koffi_typed.stubgen.preprocess import library_files, preprocess

__all__ = ["generate"]


def generate(headers: Sequence[str], *, lib: str, only: Sequence[str] = (), cc: str = "cc",
             flags: Sequence[str] = (), source: str | None = None,
             include_dirs: Sequence[str] = (), prefixes: Sequence[str] = (),
             warn: Callable[[str], None] | None = None, command: str | None = None) -> str:
    """The binding module (text) for ``headers``; raises `StubgenError`."""
    warn = warn or (lambda msg: print(f"stubgen: warning: {msg}", file=sys.stderr))
    pycparser = load_pycparser()
    pre = preprocess(headers, cc, flags)
    files = library_files(pre, include_dirs)

    def is_library(file: str, name: str | None) -> bool:
        if file in files:
            return True
        return name is not None and any(name.startswith(p) for p in prefixes)

    tree, skipped = parse(pre, pycparser)
    for s in skipped:
        warn(f"{s.file}:{s.line}: left out, pycparser cannot read it ({s.reason}): {s.text}")
    builder = Builder(pycparser, is_library)
    with deep_recursion():
        for node in tree.ext:
            builder.add(node)
    model = builder.model
    if only:
        model.functions = {n: f for n, f in model.functions.items()
                           if any(fnmatch.fnmatchcase(n, p) for p in only)}
    macros = macro_constants(pre, builder, is_library)
    prune(model, keep_library=not only)
    queries = layout_queries(model)
    pending = [e for e, v in model.exprs.items() if v is None]
    pending += [m for m, v in macros.items() if v is None]
    pending += [q for qs in queries.values() for q in qs.values()]
    computed = compiler_values(headers, pending, cc, flags, warn) if pending else {}
    for e in model.exprs:
        if e in computed:
            model.exprs[e] = computed[e]
    for m in macros:
        if macros[m] is None and m in computed:
            macros[m] = computed[m]
    fill_values(model)
    check_layouts(model, queries, computed)
    constants = [Constant(n, v) for n, v in macros.items() if v is not None]
    shown = source or ", ".join(headers)
    text = Emitter(model, lib, shown, command, macro_notes(pre, macros, is_library),
                   skipped).emit(constants)
    return text
