"""By-value calls for the ABI differential test (``test_abi_differential.py``).

Records come from ``layoutgen``'s member strategy (with primitives every call path can fill:
no pointers, no ``char`` arrays, which koffi_typed reads as strings). For each record a few
*signatures* mix it with ``int64_t`` and ``double`` arguments (enough to use up the
registers) and C functions take and return it by value. Every function returns a checksum
(an FNV-style mix) of every argument and of every member value of the record — never of
padding; a union contributes its largest member — so a wrongly passed byte shows up as a
wrong checksum. :func:`checksum` computes the same mix in Python from the values sent.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import layoutgen as lg
from hypothesis import strategies as st
from layoutgen import Member, Record

PRIMS: tuple[str, ...] = (
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
    "short", "unsigned short", "int", "unsigned int", "long", "unsigned long", "long long",
    "unsigned long long", "float", "double", "_Bool", "long double",
)  # fmt: skip
FLOATS = ("float", "double", "long double")
MASK = (1 << 64) - 1
SEED = 0xCBF29CE484222325
PRIME = 0x100000001B3
N_INT, N_FP = 6, 8  # argument registers to use up before the record (x86-64 sizes)


@st.composite
def batches(draw: st.DrawFn, size: int = 20) -> list[Record]:
    """Like ``layoutgen.batches`` with :data:`PRIMS`; at most 4 members per record."""
    records: list[Record] = []
    depth: dict[str, int] = {}
    for i in range(size):
        nestable = [r.name for r in records if depth[r.name] < 2]
        kind = draw(st.sampled_from(["struct", "struct", "union"]))
        pack = draw(st.sampled_from(lg.PACKS))
        run = draw(st.integers(0, 3)) == 3
        members = tuple(draw(st.lists(lg._member(PRIMS, nestable, run), min_size=1,
                                      max_size=4)))
        name = f"R{i}"
        depth[name] = 1 + max((depth[m.type] for m in members if m.kind == "record"),
                              default=0)
        records.append(Record(name, kind, pack, members))
    return records


@dataclass(frozen=True)
class Signature:
    """``uint64_t name(args)`` (``give`` False) or ``R name(args, const R *src)``; ``args`` is
    a string of ``'i'`` (int64_t), ``'d'`` (double) and ``'R'`` (the record by value)."""

    name: str
    record: str
    args: str
    give: bool = False

    def c_params(self) -> list[str]:
        types = {"i": "int64_t", "d": "double", "R": self.record}
        params = [f"{types[k]} a{j}" for j, k in enumerate(self.args)]
        if self.give:
            params.append(f"const {self.record} *src")
        return params or ["void"]

    def koffi_decl(self, kname: str) -> str:
        types = {"i": "int64_t", "d": "double", "R": kname}
        params = [f"{types[k]} a{j}" for j, k in enumerate(self.args)]
        if self.give:
            params.append(f"{kname} *src")
        result = kname if self.give else "uint64_t"
        return f"{result} {self.name}({', '.join(params)})"


def signatures(record: str, index: int, rnd: random.Random) -> list[Signature]:
    """Four signatures per record: alone, after the registers are used up (plus a stack
    argument after it), a random mix, and the same mix returning the record by value."""
    late = "i" * N_INT + "d" * N_FP + "R" + "i"
    mixed = "".join(rnd.choice("iidR") for _ in range(rnd.randint(1, 12)))
    if "R" not in mixed:
        mixed += "R"
    return [
        Signature(f"take_{index}", record, "R"),
        Signature(f"late_{index}", record, late),
        Signature(f"mix_{index}", record, mixed + rnd.choice(["", "i", "d"])),
        Signature(f"give_{index}", record, mixed, give=True),
    ]


# ---------------------------------------------------------------------------- records


def _member_type_size(koffi: Any, kt: Any, i: int) -> int:
    m = kt.members[f"f{i}"]
    return int(m.type.size)


def union_choice(record: Record, kt: Any) -> int:
    """The member of a union that carries the checksum: the largest non-bitfield one."""
    best, best_size = 0, -1
    for i, m in enumerate(record.members):
        if m.kind == "bitfield":
            continue
        size = int(kt.members[f"f{i}"].type.size)
        if size > best_size:
            best, best_size = i, size
    return best


def _int_range(ctype: str, bits: int | None, sizes: dict[str, int]) -> tuple[int, int]:
    if ctype == "_Bool":
        return 0, 1
    width = bits if bits is not None else sizes[ctype] * 8
    if ctype.startswith(("uint", "unsigned")) or ctype == "char":
        # char: signedness differs per target, so stay in the common range.
        width_u = width - 1 if ctype == "char" else width
        return 0, (1 << width_u) - 1
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


class Filler:
    """Random member values for the records of one batch, and their checksums."""

    def __init__(self, batch: Sequence[Record], classes: dict[str, Any], koffi: Any) -> None:
        self.records = {r.name: r for r in batch}
        self.classes = classes
        self.koffi = koffi
        self.sizes = {p: int(koffi.sizeof(p)) for p in PRIMS}
        self.sizes.update({"char": 1})

    def kt(self, name: str) -> Any:
        return self.koffi.type(self.classes[name])

    def value(self, name: str, rnd: random.Random) -> Any:
        r = self.records[name]
        kt = self.kt(name)
        chosen = range(len(r.members)) if r.kind == "struct" else [union_choice(r, kt)]
        kwargs = {f"f{i}": self._member(r.members[i], rnd) for i in chosen}
        return self.classes[name](**kwargs)

    def _member(self, m: Member, rnd: random.Random) -> Any:
        def one() -> Any:
            if m.kind == "record":
                return self.value(m.type, rnd)
            if m.type in FLOATS:
                return rnd.randint(-4000, 4000) / 4
            if m.type == "_Bool":
                return rnd.random() < 0.5
            lo, hi = _int_range(m.type, m.bits, self.sizes)
            return rnd.randint(lo, hi)

        return _array(m.dims, one)

    def checksum(self, name: str, value: Any, h: int = SEED) -> int:
        r = self.records[name]
        kt = self.kt(name)
        chosen = range(len(r.members)) if r.kind == "struct" else [union_choice(r, kt)]
        for i in chosen:
            m = r.members[i]
            for leaf in _flat(getattr(value, f"f{i}"), len(m.dims)):
                if m.kind == "record":
                    h = self.checksum(m.type, leaf, h)
                else:
                    h = mix(h, leaf_bits(m.type, leaf))
        return h


def _array(dims: tuple[int, ...], one: Any) -> Any:
    if not dims:
        return one()
    return [_array(dims[1:], one) for _ in range(dims[0])]


def _flat(value: Any, depth: int) -> list[Any]:
    if depth == 0:
        return [value]
    return [leaf for item in value for leaf in _flat(item, depth - 1)]


def mix(h: int, v: int) -> int:
    return ((h ^ (v & MASK)) * PRIME) & MASK


def leaf_bits(ctype: str, value: Any) -> int:
    if ctype == "float":
        return int(struct.unpack("<I", struct.pack("<f", value))[0])
    if ctype in ("double", "long double"):
        return int(struct.unpack("<Q", struct.pack("<d", value))[0])
    return int(value) & MASK


def args_checksum(sig: Signature, args: Sequence[Any], filler: Filler) -> int:
    h = SEED
    for kind, a in zip(sig.args, args, strict=True):
        if kind == "R":
            h = filler.checksum(sig.record, a, h)
        elif kind == "d":
            h = mix(h, leaf_bits("double", a))
        else:
            h = mix(h, a)
    return h


# ---------------------------------------------------------------------------- C


def _c_leaf(ctype: str, expr: str) -> str:
    if ctype == "float":
        return f"fbits({expr})"
    if ctype in ("double", "long double"):
        return f"dbits((double)({expr}))"
    return f"(uint64_t)(int64_t)({expr})"


def _c_walk(m: Member, expr: str, depth: int = 0) -> list[str]:
    if depth < len(m.dims):
        var = f"i{depth}"
        inner = _c_walk(m, f"{expr}[{var}]", depth + 1)
        return [f"for (int {var} = 0; {var} < {m.dims[depth]}; {var}++) {{", *inner, "}"]
    if m.kind == "record":
        # Through an aligned copy: in a packed record the member may be misaligned, and
        # ck_* reads it through a normally aligned pointer (armhf's VFP loads fault).
        return [f"{{ {m.type} t_; memcpy(&t_, &{expr}, sizeof t_); h = ck_{m.type}(h, &t_); }}"]
    return [f"h = mix(h, {_c_leaf(m.type, expr)});"]


C_PRELUDE = """\
static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }
static uint64_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
"""


def render_library(batch: Sequence[Record], sigs: Sequence[Signature],
                   chosen: dict[str, int]) -> str:
    """C source: the records, a checksum function per record and every signature."""
    out = [lg.render_c(batch), "#include <string.h>", C_PRELUDE]
    for r in batch:
        out.append(f"static uint64_t ck_{r.name}(uint64_t h, const {r.name} *p) {{")
        members = range(len(r.members)) if r.kind == "struct" else [chosen[r.name]]
        for i in members:
            out.extend("    " + line for line in _c_walk(r.members[i], f"p->f{i}"))
        out.append("    return h;")
        out.append("}")
    for s in sigs:
        result = s.record if s.give else "uint64_t"
        out.append(f"{result} {s.name}({', '.join(s.c_params())}) {{")
        if s.give:
            out.append("    return *src;")
        else:
            out.append(f"    uint64_t h = {SEED:#x}ULL;")
            for j, k in enumerate(s.args):
                if k == "R":
                    out.append(f"    h = ck_{s.record}(h, &a{j});")
                elif k == "d":
                    out.append(f"    h = mix(h, dbits(a{j}));")
                else:
                    out.append(f"    h = mix(h, (uint64_t)a{j});")
            out.append("    return h;")
        out.append("}")
    return "\n".join(out) + "\n"
