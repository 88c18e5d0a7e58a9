"""By-value calls for the ABI differential test (``test_abi_differential.py``).

Records come from ``layoutgen``'s member strategy (with primitives every call path can fill:
no pointers, no ``char`` arrays, which koffi_typed reads as strings). For each record a few
*signatures* mix it with ``int64_t`` and ``double`` arguments (enough to use up the
registers) and C functions take and return it by value. Every function returns a checksum
(an FNV-style mix) of every argument and of every member value of the record — never of
padding; a union contributes its largest member — so a wrongly passed byte shows up as a
wrong checksum. :func:`checksum` computes the same mix in Python from the values sent.

Targeted *families* (:func:`family_batch`, :func:`family_signatures`) add the shapes that
the general records rarely produce and that ABIs treat specially: all-float records with
array members (nested, packed, unions; 4–64 bytes) in registers and as the 9th+ float
argument; packed records of 9–16 bytes with misaligned members followed by integer
arguments; 9–16 records of 17–64 bytes in one call; records at the edges of GCC's System V
rules (:func:`edge_records`); plain ``char`` arguments and results over the target's whole
range; ``__int128`` arguments and results among other integers.
Signature results are a checksum, the record itself (``give``), or a ``char`` /
``__int128`` derived from the checksum.
"""

from __future__ import annotations

import platform
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


#: Argument and result kinds: C type of each one-letter code (``R``: the signature's record).
ARG_TYPES = {"i": "int64_t", "d": "double", "c": "char", "q": "__int128",
             "u": "unsigned __int128"}
RESULT_TYPES = {"h": "uint64_t", "c": "char", "q": "__int128", "u": "unsigned __int128"}
INT128_KINDS = frozenset("qu")


@dataclass(frozen=True)
class Signature:
    """``result name(args)``: ``args`` is a string of kinds (:data:`ARG_TYPES`, ``'R'`` for
    the record by value); ``result`` is ``'h'`` (the ``uint64_t`` checksum of the
    arguments), ``'R'`` (the record, copied from a trailing ``const R *src``: *give*), or
    ``'c'``, ``'q'``, ``'u'`` (a ``char`` / ``__int128`` derived from the checksum).
    ``record`` is ``""`` when the signature has no record. With ``fixed`` >= 1 the function
    is variadic and the arguments from that index on are its variadic ones."""

    name: str
    record: str
    args: str
    result: str = "h"
    fixed: int = -1

    @property
    def give(self) -> bool:
        return self.result == "R"

    @property
    def int128(self) -> bool:
        """Whether the signature needs a target with ``__int128``."""
        return bool(INT128_KINDS & set(self.args + self.result))

    @property
    def variadic(self) -> bool:
        return self.fixed >= 0

    def c_params(self) -> list[str]:
        types = {**ARG_TYPES, "R": self.record}
        params = [f"{types[k]} a{j}" for j, k in enumerate(self.args)]
        if self.variadic:
            return [*params[:self.fixed], "..."]
        if self.give:
            params.append(f"const {self.record} *src")
        return params or ["void"]

    def c_variadic_reads(self) -> list[str]:
        """Statements reading the variadic arguments into ``a<j>`` (C's promotions)."""
        if not self.variadic:
            return []
        types = {**ARG_TYPES, "R": self.record}
        lines = ["va_list ap;", f"va_start(ap, a{self.fixed - 1});"]
        for j in range(self.fixed, len(self.args)):
            k = self.args[j]
            read = "(char)va_arg(ap, int)" if k == "c" else f"va_arg(ap, {types[k]})"
            lines.append(f"{types[k]} a{j} = {read};")
        return [*lines, "va_end(ap);"]

    def c_result(self) -> str:
        return self.record if self.give else RESULT_TYPES[self.result]

    def koffi_decl(self, kname: str) -> str:
        types = {**ARG_TYPES, "R": kname}
        params = [f"{types[k]} a{j}" for j, k in enumerate(self.args)]
        if self.variadic:
            params = [*params[:self.fixed], "..."]
        if self.give:
            params.append(f"{kname} *src")
        result = kname if self.give else RESULT_TYPES[self.result]
        return f"{result} {self.name}({', '.join(params)})"

    def koffi_args(self, args: Sequence[Any], kname: str) -> list[Any]:
        """The call's arguments: variadic ones as (type, value) pairs."""
        if not self.variadic:
            return list(args)
        types = {**ARG_TYPES, "R": kname}
        pairs = [x for k, a in zip(self.args[self.fixed:], args[self.fixed:])
                 for x in (types[k], a)]
        return [*args[:self.fixed], *pairs]

    def to_json(self) -> list[Any]:
        return [self.name, self.record, self.args, self.result, self.fixed]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Signature:
        return cls(*data)


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
        Signature(f"give_{index}", record, mixed, "R"),
    ]


# ---------------------------------------------------------------------------- families


def natural_size(record: Record, batch: Sequence[Record]) -> tuple[int, int]:
    """(size, alignment) of a record of :data:`FAMILY_PRIMS` members without bitfields or
    member alignment, as LP64 targets lay it out (enough to aim the families' sizes)."""
    by_name = {r.name: r for r in batch}

    def measure(r: Record) -> tuple[int, int]:
        pos, align, biggest = 0, 1, 0
        for m in r.members:
            size, a = measure(by_name[m.type]) if m.kind == "record" else FAMILY_PRIMS[m.type]
            for d in m.dims:
                size *= d
            a = min(a, r.pack) if r.pack else a
            align = max(align, a)
            if r.kind == "union":
                biggest = max(biggest, size)
            else:
                pos = -(-pos // a) * a + size
        end = biggest if r.kind == "union" else pos
        return -(-end // align) * align, align

    return measure(record)


FAMILY_PRIMS: dict[str, tuple[int, int]] = {
    "float": (4, 4), "double": (8, 8), "long double": (16, 16), "int8_t": (1, 1),
    "uint8_t": (1, 1), "char": (1, 1), "int16_t": (2, 2), "uint16_t": (2, 2),
    "int32_t": (4, 4), "uint32_t": (4, 4), "int64_t": (8, 8), "uint64_t": (8, 8),
}  # fmt: skip


@st.composite
def float_records(draw: st.DrawFn, prefix: str, count: int) -> list[Record]:
    """All-float records (``float``/``double``, now and then ``long double``) with array
    members of 1–4 elements, nested records and arrays of them, some packed, some unions;
    4–64 bytes. Most are homogeneous (one float type), some mix float and double."""
    records: list[Record] = []
    while len(records) < count:
        elem = draw(st.sampled_from(["float", "double", "double", "long double"]))
        mixed = draw(st.integers(0, 4)) == 4
        inner = [r for r in records if mixed or float_leaves(r, records) == {elem}]
        members: list[Member] = []
        for _ in range(draw(st.integers(1, 3))):
            t = draw(st.sampled_from(["float", "double"])) if mixed else elem
            shape = draw(st.sampled_from(["scalar", "array", "array", "record"]))
            if shape == "record" and inner:
                dims = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
                members.append(Member("record", draw(st.sampled_from(inner)).name, dims))
            elif shape == "array":
                members.append(Member("prim", t, (draw(st.integers(1, 4)),)))
            else:
                members.append(Member("prim", t))
        kind = "union" if draw(st.integers(0, 5)) == 5 else "struct"
        pack = draw(st.sampled_from([None, None, None, 1, 2, 4]))
        record = Record(f"{prefix}{len(records)}", kind, pack, tuple(members))
        size, _ = natural_size(record, [*records, record])
        if 4 <= size <= 64:
            records.append(record)
    return records


def float_leaves(record: Record, batch: Sequence[Record]) -> set[str]:
    """The primitive types a record is made of, nested records included."""
    by_name = {r.name: r for r in batch}
    return {t for m in record.members
            for t in (float_leaves(by_name[m.type], batch) if m.kind == "record" else {m.type})}


@st.composite
def packed_records(draw: st.DrawFn, prefix: str, count: int) -> list[Record]:
    """``#pragma pack(1|2|4)`` records of 9–16 bytes with at least one misaligned member
    (so System V x86-64 passes them in memory)."""
    prims = [p for p in FAMILY_PRIMS if p != "long double"]
    records: list[Record] = []
    while len(records) < count:
        pack = draw(st.sampled_from([1, 1, 2, 4]))
        members = tuple(Member("prim", draw(st.sampled_from(prims)))
                        for _ in range(draw(st.integers(2, 5))))
        record = Record(f"{prefix}{len(records)}", "struct", pack, members)
        size, _ = natural_size(record, [record])
        if 9 <= size <= 16 and _misaligned(members, pack):
            records.append(record)
    return records


def _misaligned(members: Sequence[Member], pack: int) -> bool:
    pos = 0
    for m in members:
        size, align = FAMILY_PRIMS[m.type]
        pos = -(-pos // min(align, pack)) * min(align, pack)
        if pos % align:
            return True
        pos += size
    return False


@st.composite
def big_records(draw: st.DrawFn, prefix: str, count: int) -> list[Record]:
    """Records of 17–64 bytes (arrays of bytes, integers, doubles, mixes)."""
    prims = ["uint8_t", "int16_t", "int32_t", "int64_t", "double", "float", "uint64_t"]
    records: list[Record] = []
    while len(records) < count:
        members = tuple(Member("prim", draw(st.sampled_from(prims)),
                               (draw(st.integers(1, 8)),) if draw(st.booleans()) else ())
                        for _ in range(draw(st.integers(1, 4))))
        record = Record(f"{prefix}{len(records)}", "struct", None, members)
        size, _ = natural_size(record, [record])
        if 17 <= size <= 64:
            records.append(record)
    return records


@st.composite
def edge_records(draw: st.DrawFn, prefix: str, count: int) -> list[Record]:
    """Records at the edges of GCC's System V classification, with what they hold:

    - a union with a bitfield member, placed in a struct at an offset (an explicit member
      alignment of 1, 2 or 4 under ``#pragma pack``) that may misalign the bitfield's
      integer mode: GCC classifies such a struct MEMORY;
    - a small record over-aligned to 16 (an explicit member alignment), whose second
      eightbyte is padding only (NO_CLASS: it takes no register).
    """
    ints = ["int8_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t"]
    records: list[Record] = []
    while len(records) < count:
        n = len(records)
        if draw(st.booleans()):
            itype = draw(st.sampled_from(ints))
            width = draw(st.integers(1, {"int8_t": 8, "uint16_t": 16, "int32_t": 32,
                                         "uint32_t": 32}.get(itype, 64)))
            union = Record(f"{prefix}{n}u", "union", draw(st.sampled_from([None, 1, 2])),
                           (Member("bitfield", itype, bits=width),
                            *([Member("prim", draw(st.sampled_from(ints)))]
                              if draw(st.booleans()) else [])))
            head = Member("bitfield", draw(st.sampled_from(["int32_t", "uint16_t"])),
                          bits=draw(st.integers(1, 15)))
            placed = Member("record", union.name, align=draw(st.sampled_from([1, 2, 4, 8])))
            tail = [Member("bitfield", "uint16_t", bits=draw(st.integers(1, 16)))] \
                if draw(st.booleans()) else []
            records += [union, Record(f"{prefix}{n}", "struct", None, (head, placed, *tail))]
        else:
            inner = Record(f"{prefix}{n}i", draw(st.sampled_from(["struct", "union"])), None,
                           tuple(draw(st.lists(st.sampled_from(
                               [Member("prim", t) for t in ("int8_t", "int32_t", "float",
                                                            "double", "int64_t")]
                               + [Member("bitfield", "int8_t", bits=5)]),
                               min_size=1, max_size=2))))
            records += [inner, Record(f"{prefix}{n}", draw(st.sampled_from(["struct", "union"])),
                                      None, (Member("record", inner.name, align=16),))]
    return records


@st.composite
def family_batch(draw: st.DrawFn) -> list[Record]:
    """The records of the targeted families, one batch."""
    return (draw(float_records("F", 10)) + draw(packed_records("P", 6))
            + draw(big_records("B", 4)) + draw(edge_records("G", 6)))


def family_signatures(batch: Sequence[Record], rnd: random.Random) -> list[Signature]:
    """Signatures aimed at each family's special placements (see the module docstring)."""
    sigs: list[Signature] = []

    def add(record: str, args: str, result: str = "h", fixed: int = -1) -> None:
        sigs.append(Signature(f"fam_{len(sigs)}", record, args, result, fixed))

    for r in batch:
        n = r.name
        if n.startswith("F"):
            add(n, "R")
            add(n, "d" * 8 + "R" + "d" + "i")          # 9th float argument: on the stack
            add(n, "d" * rnd.randint(5, 7) + "R" + "d" + "R")  # does not fit any more
            add(n, "i" * 8 + "d" * 8 + "RRi")
            add(n, "d" * rnd.randint(0, 8), "R")
            add(n, "idRd" + "d" * rnd.randint(0, 8) + "R", fixed=1)  # variadic
        elif n.startswith("P"):
            add(n, "R" + "i" * rnd.randint(6, 8))      # MEMORY class, then stack integers
            add(n, "i" * rnd.randint(1, 5) + "R" + "i" * rnd.randint(6, 8))
            add(n, "R" + "d" * 9 + "i" * 7 + "c")
            add(n, "i" * 7 + "R" + "i", "R")
            add(n, "R" + "i" * rnd.randint(0, 7) + "Rd", fixed=1)
        elif n.startswith("G"):
            add(n, "R")
            add(n, "R", "R")
            add(n, "i" * rnd.randint(4, 6) + "d" * rnd.randint(6, 8) + "RiR", "R")
            add(n, "i" * 8 + "d" * 8 + "RRi")
        else:
            add(n, "R" * rnd.randint(9, 16))           # many large records by value
            add(n, "i" + "R" * rnd.randint(9, 16) + "d")
            add(n, "R" * 9, "R")
    for _ in range(8):  # char arguments and results, over the whole range
        add("", "".join(rnd.choice("cci") for _ in range(rnd.randint(1, 10))),
            rnd.choice("ch"))
    for _ in range(6):  # scalars only, past the registers (arm32: C.6, core registers
        # given up once an 8-byte integer does not fit)
        add("", "d" * rnd.randint(0, 9) + "".join(rnd.choice("iicd") for _ in range(
            rnd.randint(4, 12))), rnd.choice("hc"))
    for _ in range(14):  # __int128 among other integers (odd registers, the stack)
        args = "".join(rnd.choice("iiqu") for _ in range(rnd.randint(1, 11)))
        if not INT128_KINDS & set(args):
            args += rnd.choice("qu")
        add("", args, rnd.choice("hqu"))
    for _ in range(8):  # variadic: floating-point values in integer registers (arm32,
        # riscv64), promoted chars, even register pairs
        fixed = rnd.randint(1, 4)
        kinds = "idcdd" + ("q" if rnd.random() < 0.5 else "")
        add("", "".join(rnd.choice(kinds) for _ in range(fixed + rnd.randint(1, 10))),
            rnd.choice("hc"), fixed)
    add("", "i" * 7 + "q" + "i", "q")
    add("", "iq" * 4 + "i", "u")
    add("", "c" * 9 + "uc", "c")
    return sigs


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


def _int_range(ctype: str, bits: int | None, sizes: dict[str, int],
               char_signed: bool = True) -> tuple[int, int]:
    if ctype == "_Bool":
        return 0, 1
    width = bits if bits is not None else sizes[ctype] * 8
    if ctype.startswith(("uint", "unsigned")) or (ctype == "char" and not char_signed):
        return 0, (1 << width) - 1
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


#: Whether plain ``char`` is signed, per ``cbuild`` target (what GCC does there; the tests'
#: own truth, not koffi_typed's).
CHAR_SIGNED = {"host": True, "i386": True, "aarch64": False, "armhf": False,
               "riscv64": False}


def char_signed_here() -> bool:
    """Whether plain ``char`` is signed on the machine running this (:data:`CHAR_SIGNED`
    by ``platform.machine()``)."""
    if platform.system() in ("Darwin", "Windows"):
        return True
    return not platform.machine().lower().startswith(("aarch64", "arm", "riscv"))


class Filler:
    """Random member values for the records of one batch, and their checksums.

    ``char_signed`` is the target's plain ``char`` (:data:`CHAR_SIGNED`; by default the
    running machine's)."""

    def __init__(self, batch: Sequence[Record], classes: dict[str, Any], koffi: Any,
                 char_signed: bool | None = None) -> None:
        self.records = {r.name: r for r in batch}
        self.classes = classes
        self.koffi = koffi
        self.char_signed = char_signed_here() if char_signed is None else char_signed
        self.sizes = {p: int(koffi.sizeof(p)) for p in PRIMS}
        self.sizes.update({"char": 1, "__int128": 16, "unsigned __int128": 16})

    def arg(self, kind: str, rnd: random.Random) -> Any:
        """A random argument of kind ``kind`` (not ``'R'``); ranges' ends come often."""
        if kind == "d":
            return rnd.randint(-10**6, 10**6) / 8
        lo, hi = _int_range(ARG_TYPES[kind], None, self.sizes, self.char_signed)
        pick = rnd.randint(0, 9)
        return lo if pick == 0 else hi if pick == 1 else rnd.randint(lo, hi)

    def expected(self, sig: Signature, h: int) -> int:
        """What ``sig`` returns for the argument checksum ``h`` (see `render_library`)."""
        if sig.result == "h":
            return h
        if sig.result == "c":
            v = (h >> 7) & 0xFF
            return v - 256 if self.char_signed and v >= 128 else v
        v = (h << 64) | ((h * PRIME) & MASK)
        return v - (1 << 128) if sig.result == "q" and v >= 1 << 127 else v

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
            lo, hi = _int_range(m.type, m.bits, self.sizes, self.char_signed)
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
        elif kind in INT128_KINDS:
            h = mix(mix(h, a), a >> 64)
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


_C_RESULTS = {
    "h": "h",
    "c": "(char)(h >> 7)",
    "q": "(__int128)(((unsigned __int128)h << 64) | (uint64_t)(h * 0x100000001b3ULL))",
    "u": "((unsigned __int128)h << 64) | (uint64_t)(h * 0x100000001b3ULL)",
}


def render_library(batch: Sequence[Record], sigs: Sequence[Signature],
                   chosen: dict[str, int]) -> str:
    """C source: the records, a checksum function per record and every signature."""
    out = [lg.render_c(batch), "#include <string.h>", "#include <stdarg.h>", C_PRELUDE]
    for r in batch:
        out.append(f"static uint64_t ck_{r.name}(uint64_t h, const {r.name} *p) {{")
        members = range(len(r.members)) if r.kind == "struct" else [chosen[r.name]]
        for i in members:
            out.extend("    " + line for line in _c_walk(r.members[i], f"p->f{i}"))
        out.append("    return h;")
        out.append("}")
    for s in sigs:
        out.append(f"{s.c_result()} {s.name}({', '.join(s.c_params())}) {{")
        if s.give:
            out.append("    return *src;")
        else:
            out.extend(f"    {line}" for line in s.c_variadic_reads())
            out.append(f"    uint64_t h = {SEED:#x}ULL;")
            for j, k in enumerate(s.args):
                if k == "R":
                    out.append(f"    h = ck_{s.record}(h, &a{j});")
                elif k == "d":
                    out.append(f"    h = mix(h, dbits(a{j}));")
                elif k in INT128_KINDS:
                    out.append(f"    h = mix(mix(h, (uint64_t)a{j}), (uint64_t)(a{j} >> 64));")
                else:
                    out.append(f"    h = mix(h, (uint64_t)(int64_t)a{j});")
            out.append(f"    return {_C_RESULTS[s.result]};")
        out.append("}")
    return "\n".join(out) + "\n"
