"""What the C compiler computes: the constants cexpr cannot decide, and record layouts.

`compiler_values` compiles and runs one small program printing every value asked for (array
lengths, bitfield widths, enum values and ``#define`` bodies left undecided, and each record's
``sizeof``, ``_Alignof`` and member offsets); `fill_values` puts them into the model;
`check_layouts` compares each record's layout as koffi_typed computes it with the compiler's.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence

from koffi_typed.datamodel import host_model
from koffi_typed.layout import FieldSpec, place_fields
from koffi_typed.stubgen.cmodel import PRIMS, CType, Model, Record
from koffi_typed.stubgen.preprocess import run_command, wrapper_source

__all__ = ["check_layouts", "compiler_values", "fill_values", "layout_queries"]


def compiler_values(headers: Sequence[str], exprs: Sequence[str], cc: str,
                    flags: Sequence[str], warn: Callable[[str], None]
                    ) -> dict[str, int | float]:
    """Values of C constant expressions (in the context of ``headers``) computed by the C
    compiler; expressions it rejects are left out.

    One program evaluates them all. When it does not compile, the entries its error messages
    point at (directly or through "in expansion of macro" notes) are dropped and it is tried
    again; errors that point nowhere are narrowed down by halving the batch.
    """
    todo = list(dict.fromkeys(exprs))
    with tempfile.TemporaryDirectory() as tmp:
        runner = _ValuesRunner(headers, cc, flags, tmp)
        values = runner.evaluate(todo, depth=0)
        if runner.problem:
            warn(runner.problem)
        return values


class _ValuesRunner:
    """Compiles and runs the constant-expression program for `compiler_values`."""

    def __init__(self, headers: Sequence[str], cc: str, flags: Sequence[str],
                 tmp: str) -> None:
        self.headers, self.cc, self.flags, self.tmp = headers, cc, flags, tmp
        self.problem = ""
        self.headers_ok: bool | None = None

    def evaluate(self, todo: list[str], depth: int) -> dict[str, int | float]:
        for _attempt in range(3):
            if not todo:
                return {}
            ok, result, bad = self.attempt(todo)
            if ok:
                return result
            if self.problem:
                return {}
            keep = [e for i, e in enumerate(todo) if i not in bad]
            if len(keep) == len(todo):
                break
            todo = keep
        if len(todo) <= 1 or depth > 24:
            return {}
        if self.headers_ok is None:
            self.headers_ok = self.attempt([])[0]
            if not self.headers_ok:
                self.problem = "the headers do not compile with the C compiler; constants " \
                               "it would compute are left out"
                return {}
        half = len(todo) // 2
        return {**self.evaluate(todo[:half], depth + 1), **self.evaluate(todo[half:], depth + 1)}

    def attempt(self, todo: list[str]) -> tuple[bool, dict[str, int | float], set[int]]:
        """(compiled and ran, values, indices of the entries the errors point at)."""
        source, first = _values_program(self.headers, todo)
        path = os.path.join(self.tmp, "koffi_values.c")
        exe = os.path.join(self.tmp, "koffi_values")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        proc = run_command([self.cc, "-std=gnu11", "-w", *self.flags, path, "-o", exe],
                           "compile the constant expressions")
        if proc.returncode:
            lines = {int(m[1]) for m in re.finditer(r"koffi_values\.c:(\d+):", proc.stderr)}
            return False, {}, {(line - first) // 3 for line in lines if line >= first}
        run = run_command([exe], "run the constant-expression program")
        if run.returncode:
            self.problem = (f"the constant-expression program failed ({run.returncode}); "
                            "constants the compiler computes are left out")
            return False, {}, set()
        values: dict[str, int | float] = {}
        for expr, line in zip(todo, run.stdout.splitlines()):
            kind, ivalue, fvalue = line.split(" ", 2)
            if kind == "2":
                values[expr] = float(fvalue)
            else:
                v = int(ivalue)
                values[expr] = v if kind == "1" or v >= 0 else v + (1 << 64)
        return True, values, set()


def _values_program(headers: Sequence[str], exprs: Sequence[str]) -> tuple[str, int]:
    head = [wrapper_source(headers)]
    lines = "\n".join(head).splitlines()
    first = len(lines) + 1
    body: list[str] = []
    # Integers go through enumerators, which take integer constant expressions only (no
    # addresses); floating values through static initializers.
    for i, e in enumerate(exprs):
        f = "float: 0, double: 0, long double: 0"
        body += [
            f"enum {{ koffi_k{i}_ = _Generic(({e}), float: 2, double: 2, long double: 2, "
            f"default: (({e}) < 0)) }};",
            f"enum {{ koffi_v{i}_ = _Generic(({e}), {f}, default: ({e})) }};",
            f"static const double koffi_d{i}_ = _Generic(({e}), float: ({e}), double: ({e}), "
            f"long double: ({e}), default: 0.0);"]
    main = ["int main(void) {"]
    main += [f'    __builtin_printf("%d %lld %.17g\\n", (int)koffi_k{i}_, (long long)koffi_v{i}_, '
             f"koffi_d{i}_);" for i in range(len(exprs))]
    main += ["    return 0;", "}", ""]
    return "\n".join([*lines, *body, *main]), first


def fill_values(model: Model) -> None:
    """Put the compiler's values into enums, array lengths and bitfield widths."""
    for en in model.enums.values():
        if any(v is None for _, v in en.values):
            en.values = [(n, v if v is not None else _int_or_none(model.exprs.get(n)))
                         for n, v in en.values]
            for n, v in en.values:
                model.enumerators[n] = v

    def fix(t: CType | None) -> None:
        while t is not None:
            if t.kind == "array" and t.length is None:
                t.length = _int_or_none(model.exprs.get(t.expr)) if t.expr else None
            t = t.ref

    for rec in model.records.values():
        for m in rec.members or []:
            fix(m.type)
            if m.bits is None and m.bits_expr:
                m.bits = _int_or_none(model.exprs.get(m.bits_expr))
    for td in model.typedefs.values():
        fix(td)
    for p in [*model.protos.values(), *(f.proto for f in model.functions.values() if f.proto)]:
        fix(p.result)
        for _, pt in p.params:
            fix(pt)


def _spelling(rec: Record) -> str | None:
    """The C spelling of a record for sizeof/offsetof, if C code can name it."""
    if rec.tag is not None:
        return f"{'union' if rec.union else 'struct'} {rec.tag}"
    return rec.name if rec.direct else None


def layout_queries(model: Model) -> dict[str, dict[str, str]]:
    """For each record C can name: '#size', '#align' and member names → C expressions."""
    out: dict[str, dict[str, str]] = {}
    for key, rec in model.records.items():
        spell = _spelling(rec)
        if rec.members is None or spell is None:
            continue
        q = {"#size": f"sizeof({spell})", "#align": f"_Alignof({spell})"}
        for m in rec.members:
            if m.name and m.bits is None and not m.bits_expr:
                q[m.name] = f"__builtin_offsetof({spell}, {m.name})"
        out[key] = q
    return out


class _Layout:
    """Sizes and alignments of model types, as koffi_typed will lay them out (same engine)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.memo: dict[str, tuple[int, int, list[int]] | None] = {}
        self.host = host_model()

    def resolve(self, t: CType) -> CType:
        seen = 0
        while t.kind == "typedef" and seen < 64:
            target = self.model.typedefs.get(t.name)
            if target is None:
                return CType("unsupported")
            t, seen = target, seen + 1
        return t

    def of(self, t: CType) -> tuple[int, int] | None:
        r = self.resolve(t)
        if r.kind == "prim":
            prim = PRIMS.get(r.name)
            return self.host.scalar(prim.size_key) if prim is not None else None
        if r.kind == "pointer":
            return self.host.pointer, self.host.pointer
        if r.kind == "enum":
            en = self.model.enums.get(r.name)
            values = [v for _, v in en.values] if en is not None else []
            if not values or any(v is None for v in values):
                return None
            ints = [v for v in values if v is not None]
            lo, hi = min(ints), max(ints)
            fits = lo >= -(1 << 31) and hi < (1 << 31) if lo < 0 else hi < (1 << 32)
            return (4, 4) if fits or self.host.msvc_layout else (8, self.host.int64_align)
        if r.kind == "array" and r.ref is not None and r.length:
            inner = self.of(r.ref)
            return (inner[0] * r.length, inner[1]) if inner is not None else None
        if r.kind == "record":
            found = self.record(r.name)
            return (found[0], found[1]) if found is not None else None
        return None

    def record(self, key: str) -> tuple[int, int, list[int]] | None:
        """(size, alignment, byte offset of each member) of a record, or None if unknown."""
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None  # a record cannot contain itself
        rec = self.model.records[key]
        if rec.members is None or rec.why:
            return None
        fields: list[FieldSpec] = []
        for i, m in enumerate(rec.members):
            sa = self.of(m.type)
            if sa is None or (m.bits is None and m.bits_expr):
                return None
            user_align = rec.align if i == 0 and rec.align else None
            if user_align is not None:
                user_align = max(user_align, sa[1])
            fields.append(FieldSpec(sa[0], sa[1], m.bits, user_align))
        if not fields:
            return None
        placed = place_fields(fields, union=rec.union, pack=rec.pack, msvc=self.host.msvc_layout,
                              zero_width_aligns=self.host.zero_width_aligns)
        found = (placed.size, placed.alignment, [p // 8 for p in placed.positions])
        self.memo[key] = found
        return found


def check_layouts(model: Model, queries: dict[str, dict[str, str]],
                  computed: Mapping[str, int | float]) -> None:
    """Compare each record's layout with the compiler's; a record GCC packs by attribute
    (invisible to pycparser) gets ``pack=1``; any other difference makes it opaque."""
    layout = _Layout(model)
    for rec in model.records.values():  # flexible arrays raise the alignment
        if rec.flexible_type is not None and rec.members:
            sa = layout.of(rec.flexible_type)
            if sa is not None:
                rec.align = sa[1]

    def expected(key: str) -> dict[str, int] | None:
        q = queries.get(key)
        if q is None or q["#size"] not in computed or q["#align"] not in computed:
            return None
        return {k: int(computed[e]) for k, e in q.items() if e in computed}

    def matches(key: str, want: dict[str, int]) -> bool:
        got = layout.record(key)
        if got is None:
            return True  # not computable here (unsupported member): left as it is
        size, align, offsets = got
        if (size, align) != (want["#size"], want["#align"]):
            return False
        rec = model.records[key]
        members = rec.members or []
        return all(want.get(m.name, off) == off for m, off in zip(members, offsets) if m.name)

    changed = True
    while changed:
        changed = False
        for key, rec in model.records.items():
            want = expected(key)
            if want is None or rec.why or matches(key, want):
                continue
            got = layout.record(key)
            if rec.pack is None:
                rec.pack = 1
                layout.memo.clear()
                if matches(key, want):
                    changed = True
                    continue
                rec.pack = None
            layout.memo.clear()
            rec.why = (f"its layout differs from the C compiler's (size {got[0] if got else '?'}"
                       f", alignment {got[1] if got else '?'}; the compiler says "
                       f"{want['#size']}, {want['#align']})")
            changed = True


def _int_or_none(v: int | float | None) -> int | None:
    return v if isinstance(v, int) else None
