"""Random C record types for the differential layout test (``test_layout_differential.py``).

A *batch* is a list of :class:`Record` s in definition order: a record may contain (by name)
only records defined before it, so a batch is one C translation unit and the same records
can be declared in ``koffi_typed`` in the same order. Records and members are plain frozen
dataclasses that convert to JSON (:func:`batch_to_json`), so a failing case can be replayed.

Three renderings of a batch:

* :func:`render_c` - the C definitions (``#pragma pack`` and ``__attribute__`` included);
* :func:`probe_program` - a C program printing one line per record (for targets that run);
* :func:`probe_asm_source` - functions returning each quantity as a constant plus, for
  bitfields, initialised objects, for compile-only targets (read back with
  :func:`parse_probe_asm`);
* :func:`declare` - the same records declared with ``koffi_typed``.

Layouts on both sides are :class:`Layout` values: ``size``, ``align`` and per member a token,
``"o:<offset>"`` for an ordinary member or ``"b:<first bit>:<width>"`` for a bitfield, where
bit ``k`` of byte ``b`` is bit position ``8*b + k``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# --------------------------------------------------------------------------------------
# Types

PRIMITIVES: tuple[str, ...] = (
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
    "char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long",
    "float", "double", "_Bool", "void *", "char *", "size_t", "intptr_t",
    "wchar_t", "char16_t", "char32_t", "long double",
)  # fmt: skip
INT128: tuple[str, ...] = ("__int128", "unsigned __int128")

# Bitfield base types and their width in bits (the same on every target we test).
BITFIELD_TYPES: dict[str, int] = {
    "int8_t": 8, "uint8_t": 8, "int16_t": 16, "uint16_t": 16,
    "int32_t": 32, "uint32_t": 32, "int64_t": 64, "uint64_t": 64,
    "char": 8, "unsigned int": 32, "_Bool": 1,
}  # fmt: skip

ALIGNMENTS: tuple[int, ...] = (1, 2, 4, 8, 16)
PACKS: tuple[int | None, ...] = (None, None, None, 1, 2, 4, 8)
MAX_MEMBERS = 5
MAX_DEPTH = 3  # a record holding a record holding a record

# cbuild target -> koffi_typed ruleset (None: the host, i.e. koffi.type()).
ABI_OF_TARGET: dict[str, str | None] = {
    "host": None,
    "i386": "x86_cdecl",
    "aarch64": "aarch64",
    "armhf": "arm32_hf",
    "riscv64": "riscv64_lp64d",
    "win64": "win64",
    "win32": "x86_win",
}
POINTER_BITS: dict[str, int] = {
    "host": 64, "i386": 32, "aarch64": 64, "armhf": 32, "riscv64": 64, "win64": 64, "win32": 32,
}  # fmt: skip

# Extra compiler flags per target. MinGW-GCC makes `long double` the 80-bit x87 type, while
# the Windows ABI (MSVC, which Koffi's Windows builds use) makes it `double`;
# -mlong-double-64 gives MinGW the MSVC meaning.
TARGET_CFLAGS: dict[str, tuple[str, ...]] = {
    "win64": ("-mlong-double-64",),
    "win32": ("-mlong-double-64",),
}

C_HEADER = """\
#include <stdint.h>
#include <stddef.h>
#include <uchar.h>
#include <wchar.h>
#include <stdbool.h>
"""


@dataclass(frozen=True)
class Member:
    """One member. ``kind`` is ``"prim"`` (``type`` is a C primitive), ``"record"`` (``type``
    names an earlier record of the batch) or ``"bitfield"`` (``type`` is an integer type,
    ``bits`` the width). ``dims`` makes it an array (``(2, 3)`` is ``[2][3]``); ``align`` is
    an explicit member alignment (Koffi's ``[align, type]``)."""

    kind: str
    type: str
    dims: tuple[int, ...] = ()
    bits: int | None = None
    align: int | None = None


@dataclass(frozen=True)
class Record:
    name: str
    kind: str  # "struct" | "union"
    pack: int | None
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Layout:
    size: int
    align: int
    members: tuple[str, ...]  # "o:<offset>" or "b:<first bit>:<width>"


# --------------------------------------------------------------------------------------
# JSON


def batch_to_json(batch: Sequence[Record]) -> str:
    return json.dumps([dataclasses.asdict(r) for r in batch])


def batch_from_json(text: str) -> list[Record]:
    out = []
    for r in json.loads(text):
        members = tuple(
            Member(m["kind"], m["type"], tuple(m["dims"]), m["bits"], m["align"])
            for m in r["members"]
        )
        out.append(Record(r["name"], r["kind"], r["pack"], members))
    return out


# --------------------------------------------------------------------------------------
# Generation


def _primitives(target: str) -> tuple[str, ...]:
    return PRIMITIVES + (INT128 if POINTER_BITS[target] == 64 else ())


@st.composite
def _member(
    draw: st.DrawFn, prims: tuple[str, ...], nestable: Sequence[str], bitfield_run: bool
) -> Member:
    kinds = ["prim", "array", "bitfield", "aligned"]
    if nestable:
        kinds += ["record", "record_array"]
    if bitfield_run:
        kinds += ["bitfield"] * (2 * len(kinds))
    kind = draw(st.sampled_from(kinds))
    element = st.sampled_from(prims).map(lambda t: ("prim", t))
    if nestable:
        element = element | st.sampled_from(list(nestable)).map(lambda t: ("record", t))
    if kind == "prim":
        return Member("prim", draw(st.sampled_from(prims)))
    if kind == "record":
        return Member("record", draw(st.sampled_from(list(nestable))))
    if kind == "bitfield":
        base = draw(st.sampled_from(list(BITFIELD_TYPES)))
        return Member("bitfield", base, bits=draw(st.integers(1, BITFIELD_TYPES[base])))
    if kind == "array":
        # Mostly 1-D; 2-D arrays (of primitives) now and then.
        t = draw(st.sampled_from(prims))
        two_d = draw(st.integers(0, 3)) == 3
        dims: tuple[int, ...] = (draw(st.integers(1, 3)),)
        if two_d:
            dims += (draw(st.integers(1, 3)),)
        return Member("prim", t, dims)
    if kind == "record_array":
        return Member("record", draw(st.sampled_from(list(nestable))), (draw(st.integers(1, 3)),))
    # aligned: a primitive or record member, occasionally an array of one
    elem_kind, t = draw(element)
    adims: tuple[int, ...] = (draw(st.integers(1, 3)),) if draw(st.integers(0, 3)) == 3 else ()
    return Member(elem_kind, t, adims, align=draw(st.sampled_from(ALIGNMENTS)))


@st.composite
def batches(draw: st.DrawFn, target: str = "host", size: int = 20) -> list[Record]:
    """A batch of ``size`` records named ``R0``, ``R1``, ...; records nest up to
    :data:`MAX_DEPTH` levels and only refer to earlier records."""
    prims = _primitives(target)
    records: list[Record] = []
    depth: dict[str, int] = {}
    for i in range(size):
        nestable = [r.name for r in records if depth[r.name] < MAX_DEPTH]
        kind = draw(st.sampled_from(["struct", "struct", "union"]))
        pack = draw(st.sampled_from(PACKS))
        # One record in four is mostly bitfields, to exercise runs of adjacent bitfields
        # (unit sharing, straddling, the MSVC type-change rule).
        bitfield_run = draw(st.integers(0, 3)) == 3
        members = tuple(
            draw(st.lists(_member(prims, nestable, bitfield_run), min_size=1, max_size=MAX_MEMBERS))
        )
        name = f"R{i}"
        depth[name] = 1 + max((depth[m.type] for m in members if m.kind == "record"), default=0)
        records.append(Record(name, kind, pack, members))
    return records


def nested_names(record: Record) -> list[str]:
    return [m.type for m in record.members if m.kind == "record"]


# --------------------------------------------------------------------------------------
# C rendering


def _dims(dims: Sequence[int]) -> str:
    return "".join(f"[{d}]" for d in dims)


def render_member(index: int, m: Member) -> str:
    name = f"f{index}"
    if m.kind == "bitfield":
        return f"{m.type} {name} : {m.bits};"
    text = f"{m.type} {name}{_dims(m.dims)}"
    if m.align is not None:
        # packed drops the natural alignment, aligned(N) then sets it: exactly N (Koffi's
        # meaning of [align, type]), whether N is below or above the natural alignment.
        text += f" __attribute__((packed, aligned({m.align})))"
    return text + ";"


def render_record(r: Record) -> str:
    lines = []
    if r.pack is not None:
        lines.append(f"#pragma pack(push, {r.pack})")
    lines.append(f"typedef {r.kind} {r.name} {{")
    lines += [f"    {render_member(i, m)}" for i, m in enumerate(r.members)]
    lines.append(f"}} {r.name};")
    if r.pack is not None:
        lines.append("#pragma pack(pop)")
    return "\n".join(lines)


def render_c(batch: Sequence[Record]) -> str:
    return C_HEADER + "\n" + "\n\n".join(render_record(r) for r in batch) + "\n"


def closure(batch: Sequence[Record], name: str) -> list[Record]:
    """``name`` and every record it contains, in definition order."""
    by_name = {r.name: r for r in batch}
    wanted: set[str] = set()
    stack = [name]
    while stack:
        n = stack.pop()
        if n not in wanted:
            wanted.add(n)
            stack.extend(nested_names(by_name[n]))
    return [r for r in batch if r.name in wanted]


def render_with_dependencies(batch: Sequence[Record], name: str) -> str:
    return "\n\n".join(render_record(r) for r in closure(batch, name))


def _bitfield_value(m: Member) -> str:
    return "1" if m.type in ("_Bool", "bool") else "-1"


def probe_program(batch: Sequence[Record]) -> str:
    """A C program printing, per record, ``name size align`` then a token per member."""
    out = [
        render_c(batch),
        "#include <stdio.h>",
        "#include <string.h>",
        "",
        "static void print_bits(const unsigned char *p, size_t n) {",
        "    long long first = -1, count = 0;",
        "    for (size_t i = 0; i < n * 8; i++) {",
        "        if ((p[i / 8] >> (i % 8)) & 1) {",
        "            if (first < 0) first = (long long)i;",
        "            count++;",
        "        }",
        "    }",
        '    printf(" b:%lld:%lld", first, count);',
        "}",
        "",
    ]
    for r in batch:
        out.append(f"static {r.name} v_{r.name};")
    out.append("")
    out.append("int main(void) {")
    for r in batch:
        n = r.name
        out.append(
            f'    printf("{n} %lld %lld", (long long)sizeof({n}), (long long)_Alignof({n}));'
        )
        for i, m in enumerate(r.members):
            if m.kind == "bitfield":
                out.append(f"    memset(&v_{n}, 0, sizeof v_{n});")
                out.append(f"    v_{n}.f{i} = {_bitfield_value(m)};")
                out.append(f"    print_bits((const unsigned char *)&v_{n}, sizeof v_{n});")
            else:
                out.append(f'    printf(" o:%lld", (long long)offsetof({n}, f{i}));')
        out.append('    printf("\\n");')
    out.append("    return 0;")
    out.append("}")
    return "\n".join(out) + "\n"


def parse_probe_output(text: str) -> dict[str, Layout]:
    layouts = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, size, align, *members = line.split()
        layouts[name] = Layout(int(size), int(align), tuple(members))
    return layouts


# --------------------------------------------------------------------------------------
# Compile-only targets: read the numbers from `-O2 -S` output.


@dataclass(frozen=True)
class AsmProbe:
    source: str
    # per record: list of (quantity kind, symbol index); kinds: "size", "align", "o", "b"
    plan: dict[str, list[tuple[str, int]]]


def probe_asm_source(batch: Sequence[Record]) -> AsmProbe:
    """Functions ``int q_N(void)`` returning sizeof, _Alignof and offsetof as constants
    (GCC turns each into one ``movl $imm, %eax``), and for every bitfield a constant object
    ``p_N``: the record with that bitfield set to all ones, overlaid on a byte array. Its
    initialiser appears as data directives in the assembly."""
    out = [render_c(batch), ""]
    plan: dict[str, list[tuple[str, int]]] = {}
    counter = itertools.count()
    for r in batch:
        n = r.name
        items: list[tuple[str, int]] = []
        k = next(counter)
        out.append(f"int q_{k}(void) {{ return (int)sizeof({n}); }}")
        items.append(("size", k))
        k = next(counter)
        out.append(f"int q_{k}(void) {{ return (int)_Alignof({n}); }}")
        items.append(("align", k))
        for i, m in enumerate(r.members):
            k = next(counter)
            if m.kind == "bitfield":
                out.append(
                    f"const union {{ {n} r; unsigned char b[sizeof({n})]; }} p_{k} = "
                    f"{{ .r = {{ .f{i} = {_bitfield_value(m)} }} }};"
                )
                items.append(("b", k))
            else:
                out.append(f"int q_{k}(void) {{ return (int)offsetof({n}, f{i}); }}")
                items.append(("o", k))
        plan[n] = items
    return AsmProbe("\n".join(out) + "\n", plan)


_INT_RE = r"(-?(?:0x[0-9a-fA-F]+|\d+))"
_DATA_SIZES = {
    ".byte": 1, ".value": 2, ".word": 2, ".short": 2, ".2byte": 2, ".hword": 2,
    ".long": 4, ".int": 4, ".4byte": 4, ".quad": 8, ".8byte": 8, ".dword": 8, ".octa": 16,
}  # fmt: skip


def _function_bodies(asm: str) -> dict[str, list[str]]:
    """Label -> instructions up to its ``ret`` (directives and local labels dropped)."""
    bodies: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in asm.splitlines():
        line = raw.strip()
        m = re.fullmatch(r"_?(q_\d+):", line)
        if m:
            current = bodies.setdefault(m.group(1), [])
            continue
        if current is None or not line or line.startswith(".") or line.endswith(":"):
            continue
        current.append(line)
        if line.split()[0] in ("ret", "retl", "retq"):
            current = None
    return bodies


def _immediate(body: list[str]) -> int | None:
    """The constant a function body returns, if it is one instruction plus ``ret``."""
    if len(body) != 2:
        return None
    insn = body[0]
    m = re.fullmatch(r"mov[lq]?\s+\$" + _INT_RE + r",\s*%[er]ax", insn)
    if m:
        return int(m.group(1), 0)
    if re.fullmatch(r"xor[lq]?\s+%([er]ax),\s*%\1", insn):
        return 0
    return None


def _c_string_bytes(text: str) -> bytes:
    """Decode the body of an assembler string literal (octal and simple escapes)."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "b": 8, "f": 12, '"': 34, "\\": 92}
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            if nxt in "01234567":
                j = i + 1
                while j < len(text) and j < i + 4 and text[j] in "01234567":
                    j += 1
                out.append(int(text[i + 1 : j], 8) & 0xFF)
                i = j
                continue
            if nxt == "x":
                j = i + 2
                while j < len(text) and text[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(int(text[i + 2 : j], 16) & 0xFF)
                i = j
                continue
            out.append(simple.get(nxt, ord(nxt)))
            i += 2
            continue
        out.append(ord(ch))
        i += 1
    return bytes(out)


def _data_objects(asm: str) -> dict[str, bytes]:
    """Label ``p_N`` -> the bytes of its initialiser (little-endian targets only)."""
    objects: dict[str, bytes] = {}
    current: bytearray | None = None
    name = ""
    for raw in asm.splitlines():
        line = raw.strip()
        m = re.fullmatch(r"_?(p_\d+):", line)
        if m:
            if current is not None:
                objects[name] = bytes(current)
            name, current = m.group(1), bytearray()
            continue
        if current is None or not line:
            continue
        parts = line.split(None, 1)
        directive = parts[0]
        rest = parts[1].strip() if len(parts) > 1 else ""
        if directive in _DATA_SIZES:
            width = _DATA_SIZES[directive]
            for value in rest.split(","):
                current += (int(value.strip(), 0) % (1 << (8 * width))).to_bytes(width, "little")
        elif directive in (".zero", ".space", ".skip"):
            args = [a.strip() for a in rest.split(",")]
            fill = int(args[1], 0) & 0xFF if len(args) > 1 else 0
            current += bytes([fill]) * int(args[0], 0)
        elif directive in (".ascii", ".string", ".asciz"):
            for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', rest):
                current += _c_string_bytes(lit)
                if directive != ".ascii":
                    current.append(0)
        else:
            objects[name] = bytes(current)
            current = None
    if current is not None:
        objects[name] = bytes(current)
    return objects


class AsmParseError(RuntimeError):
    pass


def parse_probe_asm(probe: AsmProbe, asm: str) -> dict[str, Layout]:
    bodies = _function_bodies(asm)
    objects = _data_objects(asm)
    layouts = {}
    for name, items in probe.plan.items():
        values: dict[str, int] = {}
        tokens: list[str] = []
        for kind, k in items:
            if kind == "b":
                data = objects.get(f"p_{k}")
                if data is None:
                    raise AsmParseError(f"no data object p_{k} for {name} in the assembly")
                if len(data) != values["size"]:
                    raise AsmParseError(
                        f"p_{k} has {len(data)} bytes but sizeof({name}) = {values['size']}"
                    )
                bits = int.from_bytes(data, "little")
                first = (bits & -bits).bit_length() - 1 if bits else -1
                tokens.append(f"b:{first}:{bin(bits).count('1')}")
                continue
            body = bodies.get(f"q_{k}")
            value = None if body is None else _immediate(body)
            if value is None:
                raise AsmParseError(
                    f"q_{k} ({kind} of {name}) did not fold to one immediate: {body!r}"
                )
            if kind in ("size", "align"):
                values[kind] = value
            else:
                tokens.append(f"o:{value}")
        layouts[name] = Layout(values["size"], values["align"], tuple(tokens))
    return layouts


# --------------------------------------------------------------------------------------
# koffi_typed side

_unique = itertools.count()


def koffi_spec(m: Member, names: Mapping[str, str], c: Any) -> Any:
    """The koffi_typed member spec of ``m``; ``names`` maps batch names to koffi names."""
    if m.kind == "bitfield":
        return c.bits(m.type, m.bits)
    base = names[m.type] if m.kind == "record" else m.type
    spec: Any = f"{base} {_dims(m.dims)}" if m.dims else base
    if m.align is not None:
        spec = (m.align, spec)
    return spec


def declare(batch: Sequence[Record], koffi: Any, c: Any) -> dict[str, Any]:
    """Declare the batch with ``koffi_typed``; returns batch name -> record class. Names get
    a process-wide unique prefix, since a record name can be defined only once."""
    prefix = f"LG{next(_unique)}_"
    names: dict[str, str] = {}
    classes: dict[str, Any] = {}
    for r in batch:
        kname = prefix + r.name
        members = {f"f{i}": koffi_spec(m, names, c) for i, m in enumerate(r.members)}
        make = koffi.struct if r.kind == "struct" else koffi.union
        try:
            if r.pack is None:
                cls = make(kname, members)
            else:
                cls = make(kname, members, pack=r.pack)
        except Exception as exc:
            exc.add_note(f"while declaring {r.name} = {members!r}\n{render_record(r)}")
            raise
        names[r.name] = kname
        classes[r.name] = cls
    return classes


def koffi_layout(koffi: Any, cls: Any, record: Record, abi: str | None) -> Layout:
    t = koffi.type(cls) if abi is None else koffi.abi.layout(cls, abi)
    tokens = []
    for i in range(len(record.members)):
        km = t.members[f"f{i}"]
        if km.bits is None:
            tokens.append(f"o:{km.offset}")
        else:
            tokens.append(f"b:{km.offset * 8 + km.bit_offset}:{km.bits}")
    return Layout(t.size, t.alignment, tuple(tokens))


def describe_mismatch(
    batch: Sequence[Record], record: Record, target: str, expected: Layout, got: Layout
) -> str:
    """C text of the record (with what it contains) and both layouts side by side."""
    rows = [("", "C (" + target + ")", "koffi_typed"), ("sizeof", expected.size, got.size)]
    rows.append(("alignof", expected.align, got.align))
    for i, m in enumerate(record.members):
        e = expected.members[i] if i < len(expected.members) else "-"
        g = got.members[i] if i < len(got.members) else "-"
        rows.append((f"f{i} ({render_member(i, m)[:-1]})", e, g))
    width0 = max(len(str(r[0])) for r in rows)
    width1 = max(len(str(r[1])) for r in rows)
    table = "\n".join(
        f"  {a!s:<{width0}}  {b!s:<{width1}}  {c}{'' if b == c else '   <-- differs'}"
        for a, b, c in rows
    )
    return (
        f"layout of {record.name} differs on {target} "
        f"(abi {ABI_OF_TARGET[target] or 'host'}):\n"
        f"{render_with_dependencies(batch, record.name)}\n\n{table}\n"
        f"(tokens: o:<byte offset>, b:<first bit>:<width>)\n"
        f"replay: {batch_to_json(closure(batch, record.name))}"
    )


def checked_records(batch: Iterable[Record], failures: set[str]) -> list[str]:
    """Records that count as checked: not failing and containing no failing record."""
    bad: set[str] = set()
    ok = []
    for r in batch:
        if r.name in failures or any(n in bad for n in nested_names(r)):
            bad.add(r.name)
        else:
            ok.append(r.name)
    return ok
