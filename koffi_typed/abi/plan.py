"""Call plans: where a function's result and each argument go under one ABI ruleset.

A `Placement` describes one value (registers by class, stack slot, reference to a caller
copy, hidden result pointer, split between registers and stack, or ignored), with the
reason in words. A `CallPlan` is the placement of the result and of every argument.

This module also holds what every ruleset module shares: the walk over a type's scalar
leaves (`leaves`), the member positions of a record (`record_fields`), homogeneous
floating-point aggregates (`homogeneous_float`) and the `Allocator` base class. Nothing
here imports the call layer; signatures are read through the `Signature` protocol, which
`koffi_typed.declarations.FunctionInfo` satisfies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from koffi_typed.datamodel import DataModel
from koffi_typed.layout import FieldSpec, place_fields
from koffi_typed.typesystem import FieldDecl, Type, relayout

__all__ = [
    "KINDS", "Allocator", "ArgumentLike", "CallPlan", "Leaf", "Piece", "Placement",
    "Signature", "homogeneous_float", "leaves", "record_fields", "scalar_kind",
]

#: Placement kinds.
KINDS: Final = ("reg", "stack", "ref", "sret", "split", "ignored")

#: ``(offset, size, kind)``: ``size`` bytes of the value at ``offset`` travel in one register
#: of class ``kind`` (``'int'``, ``'float'``, ``'double'`` or ``'ldouble'``).
Piece = tuple[int, int, str]


class ArgumentLike(Protocol):
    """What classification reads from one parameter."""

    @property
    def name(self) -> str | None: ...

    @property
    def type(self) -> Type: ...


class Signature(Protocol):
    """What classification reads from a function signature (``FunctionInfo`` has it)."""

    @property
    def name(self) -> str | None: ...

    @property
    def arguments(self) -> Sequence[ArgumentLike]: ...

    @property
    def result(self) -> Type: ...

    @property
    def variadic(self) -> bool: ...

    @property
    def convention(self) -> str | None: ...


@dataclass(frozen=True)
class Placement:
    """Where one value goes.

    ``kind``: ``'reg'`` (registers only), ``'stack'``, ``'ref'`` (the address of a caller
    copy travels in ``registers`` or at ``stack_offset``), ``'sret'`` (the result is written
    through a hidden pointer, passed in ``registers`` or at ``stack_offset``), ``'split'``
    (first bytes in ``registers``, the rest at ``stack_offset``) or ``'ignored'`` (an empty
    record takes nothing). ``classes`` has one ABI class per eightbyte or piece
    (``'INTEGER'``, ``'SSE'``, ``'HFA'``, ``'FP'``, ``'MEMORY'``...). ``pieces`` says how the
    bytes map to ``registers``, in register order (see `Piece`); the part of a split value
    that is not covered by pieces lies on the stack. ``stack_offset`` counts from the stack
    pointer at the call instruction (so on Windows x64 the fifth slot is at 32).
    """

    kind: str
    classes: tuple[str, ...] = ()
    registers: tuple[str, ...] = ()
    stack_offset: int | None = None
    pieces: tuple[Piece, ...] = ()
    reason: str = ""
    size: int = 0
    type_name: str = ""
    stack_size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown placement kind {self.kind!r}")

    @property
    def where(self) -> str:
        """Registers and stack slot in a few words (``'rdi, xmm0'``, ``'[sp+8]'``)."""
        parts = list(self.registers)
        if self.stack_offset is not None:
            parts.append(f"[sp+{self.stack_offset}]")
        if self.kind == "ignored":
            return "-"
        return ", ".join(parts) if parts else "-"


@dataclass(frozen=True)
class CallPlan:
    """How one function is called under ruleset ``abi``.

    ``arguments`` has one placement per declared argument, then one per variadic argument
    classified with it. ``stack_size`` is the size of the outgoing argument area and
    ``callee_pops`` how many bytes of it the callee removes (32-bit x86 only).
    """

    abi: str
    function: Signature
    result: Placement
    arguments: tuple[Placement, ...]
    variadic: bool
    notes: tuple[str, ...] = ()
    stack_size: int = 0
    callee_pops: int = 0
    names: tuple[str, ...] = field(default=())

    @property
    def hidden_result(self) -> bool:
        """Whether the result travels through a hidden pointer."""
        return self.result.kind == "sret"

    def __str__(self) -> str:
        name = self.function.name or "<anonymous>"
        header = f"{name} on {self.abi}"
        rows = [("", "type", "passed", "where", "classes", "why")]
        rows.append(("result", self.result.type_name, self.result.kind, self.result.where,
                     " ".join(self.result.classes), self.result.reason))
        labels = self.names or tuple(f"arg {i + 1}" for i in range(len(self.arguments)))
        for label, p in zip(labels, self.arguments, strict=True):
            rows.append((label, p.type_name, p.kind, p.where, " ".join(p.classes), p.reason))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [header]
        for r in rows:
            cells = [r[i].ljust(widths[i]) for i in range(5)]
            lines.append(("  " + "  ".join(cells) + "  " + r[5]).rstrip())
        if self.stack_size:
            lines.append(f"  stack: {self.stack_size} bytes of arguments"
                         + (f", callee pops {self.callee_pops}" if self.callee_pops else ""))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


# ---------------------------------------------------------------------------- type walks

_INT_KINDS: Final = {"Bool", "Enum"}


def scalar_kind(t: Type) -> str:
    """``'int'``, ``'int128'``, ``'ptr'``, ``'float'``, ``'double'``, ``'ldouble'`` or
    ``'aggregate'`` (records, unions, arrays) for a type laid out under its ruleset."""
    kind = t.primitive
    if kind in ("Record", "Union", "Array"):
        return "aggregate"
    if kind in ("Pointer", "Callback", "String", "String16", "String32"):
        return "ptr"
    if kind == "Float32":
        return "float"
    if kind == "Float64":
        return "double"
    if kind == "LongDouble":
        return "ldouble"
    if kind in _INT_KINDS or kind.startswith(("Int", "UInt")):
        return "int128" if t.size == 16 else "int"
    raise TypeError(f"Type {t.name} ({kind}) cannot be passed by value")


def record_fields(t: Type) -> list[tuple[FieldDecl, int]]:
    """Every declared member of record ``t`` (padding members included) with its bit
    position, under ``t``'s own data model."""
    decl = t._decl
    if decl is None:
        return []
    model = t._model
    specs = [FieldSpec(f.type.size, f.type.alignment, f.bits, f.align) for f in decl.fields]
    placed = place_fields(specs, union=decl.union, pack=decl.pack, msvc=model.msvc_layout,
                          zero_width_aligns=model.zero_width_aligns)
    return list(zip(decl.fields, placed.positions, strict=True))


@dataclass(frozen=True)
class Leaf:
    """A scalar inside an aggregate: byte ``offset`` from the outermost value, ``size``,
    ``kind`` (as `scalar_kind`, or ``'bits'``), bit range for bitfields, whether a union
    lies on the path to it, and whether it is a bitfield member of a union itself (GCC
    classifies those as an integer of their width's mode, which must be aligned)."""

    offset: int
    size: int
    kind: str
    bit_start: int
    bit_width: int
    in_union: bool = False
    union_bitfield: bool = False


def leaves(t: Type, base: int = 0, in_union: bool = False) -> list[Leaf]:
    """The scalar leaves of ``t`` in declaration order (zero-width bitfields left out)."""
    kind = scalar_kind(t)
    if kind != "aggregate":
        size = t.size
        return [Leaf(base, size, kind, base * 8, size * 8, in_union)]
    if t.primitive == "Array":
        assert t.ref is not None and t.length is not None
        out: list[Leaf] = []
        for i in range(t.length):
            out.extend(leaves(t.ref, base + i * t.ref.size, in_union))
        return out
    union = in_union or t.primitive == "Union"
    out = []
    for f, bitpos in record_fields(t):
        if f.bits is not None:
            if f.bits == 0:
                continue
            start = base * 8 + bitpos
            out.append(Leaf(start // 8, bitfield_unit(f.bits), "bits", start, f.bits, union,
                            t.primitive == "Union"))
            continue
        out.extend(leaves(f.type, base + bitpos // 8, union))
    return out


def bitfield_unit(bits: int) -> int:
    """Size of the smallest integer mode holding ``bits`` bits (GCC's bitfield mode)."""
    for size in (1, 2, 4, 8):
        if bits <= size * 8:
            return size
    return 16


def homogeneous_float(t: Type) -> tuple[str, int] | None:
    """``(element kind, count)`` when ``t`` is a homogeneous floating-point aggregate of
    1–4 elements in GCC's sense (AAPCS ``aapcs_vfp_sub_candidate``), else ``None``.

    Nested records and arrays are flattened; a union counts as its largest member and every
    member must have the same element kind; bitfields disqualify; there must be no padding.
    """
    found = _hfa_count(t)
    if found is None:
        return None
    elem, count = found
    if count < 1 or count > 4:
        return None
    return elem, count


_FLOAT_SIZES: Final = {"float": 4, "double": 8, "ldouble": 16}


def _hfa_count(t: Type) -> tuple[str, int] | None:
    kind = scalar_kind(t)
    if kind in ("float", "double", "ldouble"):
        return kind, 1
    if kind != "aggregate":
        return None
    if t.primitive == "Array":
        assert t.ref is not None and t.length is not None
        inner = _hfa_count(t.ref)
        if inner is None:
            return None
        elem, count = inner[0], inner[1] * t.length
    else:
        elem = ""
        count = 0
        union = t.primitive == "Union"
        for f, _ in record_fields(t):
            if f.bits is not None:
                if f.bits == 0:
                    continue
                return None
            inner = _hfa_count(f.type)
            if inner is None or (elem and inner[0] != elem):
                return None
            elem = inner[0]
            count = max(count, inner[1]) if union else count + inner[1]
        if not elem:
            return None
    if t.size != count * _FLOAT_SIZES[elem] or t.size == 0:
        return None
    return elem, count


def direct_alignment(t: Type) -> int:
    """The largest alignment among ``t``'s direct members, as GCC's ARM back ends see it
    (``DECL_ALIGN`` capped by packing; a bitfield counts with its declared type's
    alignment). For a scalar or an array: its type's alignment."""
    if t.primitive == "Array":
        assert t.ref is not None
        return direct_alignment(t.ref) if t.ref.primitive in ("Record", "Union") \
            else t.ref.alignment
    decl = t._decl
    if decl is None:
        return t.alignment
    best = 1
    for f in decl.fields:
        if f.bits is not None:
            best = max(best, f.type.alignment)
            continue
        align = f.align if f.align is not None else f.type.alignment
        if decl.pack:
            align = min(align, decl.pack)
        best = max(best, align)
    return best


# ---------------------------------------------------------------------------- allocation

class Allocator:
    """Register and stack bookkeeping for one call (one subclass per ruleset family).

    ``gprs`` / ``fprs`` are the argument registers still free, in order; ``stack`` is the
    next free stack offset. Subclasses add their own rules (back-filling, even pairs...).
    """

    def __init__(self, gprs: Sequence[str], fprs: Sequence[str], stack: int = 0) -> None:
        self.gprs = list(gprs)
        self.fprs = list(fprs)
        self.stack = stack

    def take_gprs(self, n: int) -> tuple[str, ...]:
        taken = tuple(self.gprs[:n])
        del self.gprs[:n]
        return taken

    def take_fprs(self, n: int) -> tuple[str, ...]:
        taken = tuple(self.fprs[:n])
        del self.fprs[:n]
        return taken

    def push(self, size: int, align: int, slot: int) -> int:
        """Reserve ``size`` bytes (rounded up to ``slot``) at ``align``; return the offset."""
        offset = -(-self.stack // align) * align
        self.stack = offset + -(-size // slot) * slot
        return offset


def int_pieces(size: int, word: int) -> tuple[Piece, ...]:
    """``size`` bytes as consecutive integer registers of ``word`` bytes."""
    return tuple((off, min(word, size - off), "int") for off in range(0, size, word))


def describe_type(t: Type) -> str:
    """A short C-ish description used in reasons (``'union U (8 bytes)'``)."""
    kind = {"Record": "struct", "Union": "union"}.get(t.primitive)
    if kind is None:
        return t.name
    return f"{kind} {t.name} ({t.size} bytes)"


@dataclass(frozen=True)
class Item:
    """One value to place: label, type laid out for the target, whether it is variadic."""

    label: str
    type: Type
    variadic: bool


def prepare(info: Signature, model: DataModel,
            variadic_types: Sequence[Type]) -> tuple[Type, list[Item]]:
    """The result type and the items to place, every type laid out for ``model``."""
    cache: dict[int, Type] = {}
    result = relayout(info.result, model, cache)
    items = [Item(a.name or f"arg {i + 1}", relayout(a.type, model, cache), False)
             for i, a in enumerate(info.arguments)]
    n = len(items)
    items += [Item(f"vararg {n + j + 1}", relayout(t, model, cache), True)
              for j, t in enumerate(variadic_types)]
    if model.pointer == 4:
        for item in [Item("result", result, False), *items]:
            if not is_void(item.type) and _has_int128(item.type):
                raise TypeError(f"{info.name or '<anonymous>'}(): {item.label}: {model.name} "
                                "has no 128-bit integers (GCC has no __int128 on 32-bit "
                                "targets)")
    return result, items


def _has_int128(t: Type) -> bool:
    kind = scalar_kind(t)
    if kind == "aggregate":
        return any(leaf.kind == "int128" for leaf in leaves(t))
    return kind == "int128"


def is_void(t: Type) -> bool:
    return t.primitive == "Void"


VOID: Final = Placement("ignored", reason="void", type_name="void")
