"""Converters for records, unions and 128-bit integers by value: as the host ABI plan places
them (in calls), lowered to eightbytes on System V x86-64 and carried in the forms below
elsewhere; through a ctypes structure of the same layout (`RecordConverter`, callbacks).

ctypes hands libffi a record's members as if they were consecutive fields, so on System V
x86-64 it passes some unions, bitfield records and packed records in the wrong registers, and
crashes returning some of them. There the `abi` package classifies the signature with the
project's own layouts, and each record is replaced by values libffi classifies the same way:

- a record passed in registers travels as its eightbytes, each one a separate ``c_uint64``
  (INTEGER) or ``c_double`` (SSE) argument (valid because the whole record fits in the
  registers left, which is what the classification says);
- a record that the ABI puts on the stack travels as a structure of those eightbytes (it did
  not fit) or, for MEMORY records over 16 bytes, as a structure of ``c_uint64`` words that
  libffi also puts on the stack; MEMORY records of at most 16 bytes go as separate words
  after every register argument (`CarriedArgument`, ``stack_tail``);
- ``__int128``: two ``c_uint64`` arguments, or a 16-aligned 16-byte structure on the stack;
- a result in registers comes back as a structure of its eightbytes; a MEMORY result is
  written through an explicit hidden-pointer argument, as the ABI does.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from koffi_typed import marshal
from koffi_typed.abi import aarch64, arm32_hf, riscv64, sysv_x64
from koffi_typed.carriers import (
    CLASS_CTYPES,
    PIECE_CTYPES,
    Carrier,
    ctypes_record,
    fp_carrier,
    word_carrier,
    words_struct,
)
from koffi_typed.converters.base import Converter
from koffi_typed.flatgen import FlatRecord
from koffi_typed.marshal import flat_record
from koffi_typed.typesystem import Type, is_integer

__all__ = ["CarriedArgument", "CarriedResult", "Cursor", "LoweredArgument",
           "LoweredResult", "RecordConverter", "carried_argument", "carried_result",
           "encode_record", "lowering_applies", "record_memory", "same_record", "word_size"]


def lowering_applies(host: str, types: list[Type], variadic: bool) -> bool:
    """Whether calls with these parameter/result types follow the ABI plan on ``host``: the
    signature passes a record, union or 128-bit integer by value (and is not variadic)."""
    return not variadic and any(
        t.primitive in ("Record", "Union") or (is_integer(t) and t.size > 8) for t in types)


def encode_record(label: str, codec: Any, value: object, keep: list[object],
                  size: int) -> bytearray:
    """The C bytes of a record value in a buffer of ``size`` bytes; errors name ``label``."""
    data = bytearray(size)
    try:
        codec.encode(data, 0, value, keep)
    except (TypeError, ValueError, OverflowError) as exc:
        raise type(exc)(f"{label}: {exc}") from None
    return data


class LoweredArgument:
    """A record argument converted to the ctypes values its placement calls for."""

    writes_back = False
    raw_result = False

    def __init__(self, label: str, t: Type, placement: Any) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.placement = placement
        kind = placement.kind
        size = t.size
        if kind == "reg":
            self.pieces = [(off, PIECE_CTYPES[k]) for off, _, k in placement.pieces]
            self.splat = True
            self.padded = max(size, max(off for off, _ in self.pieces) + 8)
            self.ctype: Any = None
            # one unpack reads every eightbyte that goes in a register (padding-only ones,
            # NO_CLASS, take none and are skipped)
            layout, pos = "<", 0
            for off, ctype in self.pieces:
                layout += "x" * (off - pos) + ("Q" if ctype is ctypes.c_uint64 else "d")
                pos = off + 8
            self.unpack = struct.Struct(layout)
            self.wrappers = [ctype for _, ctype in self.pieces]
        elif kind == "stack" and placement.classes and "MEMORY" not in placement.classes:
            # registers ran out: the same eightbytes, which libffi also puts on the stack
            # (16-aligned records as a 16-byte x87 structure, which libffi aligns likewise)
            classes = [CLASS_CTYPES[c] for c in placement.classes]
            self.ctype = words_struct(f"lowered_{t.name}", classes,
                                       align16=t.alignment >= 16 and len(classes) == 2)
            self.splat = False
            self.padded = ctypes.sizeof(self.ctype)
        elif kind == "stack" and size > 16:
            words = (size + 7) // 8  # > 2 eightbytes: libffi puts it on the stack as well
            self.ctype = words_struct(f"lowered_{t.name}", [ctypes.c_uint64] * words,
                                       align16=t.alignment >= 16)
            self.splat = False
            self.padded = ctypes.sizeof(self.ctype)
        else:  # pragma: no cover - the plan carries these (`sysv_converters`)
            raise NotImplementedError(f"{label}: cannot pass {t.name} ({kind}) on this ABI")

    def emit(self, var: str, i: int, slow: str, env: dict[str, Any]) -> tuple[list[str],
                                                                                list[str]]:
        """Statements converting ``var`` inline (flat records and unions), with ``slow``
        (this converter's `convert`) for everything else; and the call arguments."""
        names = [f"c{i}_{j}" for j in range(len(self.pieces))] if self.splat else [f"c{i}"]
        fallback = f"{', '.join(names)}{',' if len(names) == 1 and self.splat else ''} = {slow}"
        t = self.type
        flat = flat_record(t)
        if flat is not None:
            env[f"_K{i}"] = flat.cls
            condition = f"type({var}) is _K{i} and {flat.check(var)}"
            direct = self._direct_pieces(flat, var, i, env) if self.splat else None
            if direct is not None:
                fast = [f"{n} = {e}" for n, e in zip(names, direct)]
            else:
                env[f"_P{i}"] = struct.Struct(flat.struct.format + "x" * (self.padded - t.size))
                fast = self._from_bytes(names, f"_P{i}.pack({flat.values(var)})", i, env)
        elif t.primitive == "Union" and t.python_class is not None:
            env[f"_K{i}"] = t.python_class
            condition = f"type({var}) is _K{i}"
            if self.splat and self.padded == t.size:
                # the eightbytes as ctypes views of the union's own bytes, made once per
                # instance (and again if its bytes object is replaced)
                env[f"_M{i}"] = self.union_views
                fast = [f"v{i} = {var}.__koffi_views__",
                        f"if v{i} is None or v{i}[0] is not {var}.__koffi_bytes__:",
                        f"    v{i} = _M{i}({var})",
                        *(f"{n} = v{i}[{j + 1}]" for j, n in enumerate(names))]
            else:
                data = f"{var}.__koffi_bytes__"
                if self.padded > t.size:
                    env[f"_Z{i}"] = bytes(self.padded - t.size)
                    data = f"({data} + _Z{i})"
                fast = self._from_bytes(names, data, i, env)
        else:
            return [fallback], names
        return [f"if {condition}:", *(f"    {line}" for line in fast), "else:",
                f"    {fallback}"], names

    def union_views(self, union: Any) -> tuple[object, ...]:
        """(bytes, one ctypes view per eightbyte) of a union instance, kept on it."""
        data = union.__koffi_bytes__
        views = (data, *(ctype.from_buffer(data, off) for off, ctype in self.pieces))
        union.__koffi_views__ = views
        return views

    def _direct_pieces(self, flat: FlatRecord, var: str, i: int,
                       env: dict[str, Any]) -> list[str] | None:
        """Each eightbyte straight from the one member it holds, or ``None``. An INTEGER
        eightbyte holding one int of at most 32 bits passes as a plain Python int (ctypes
        sign-extends it; the callee reads only the member's bytes)."""
        exprs = []
        for j, (off, _, kind) in enumerate(self.placement.pieces):
            inside = [m for m in flat.members if off <= m.offset < off + 8]
            if len(inside) != 1 or inside[0].offset != off:
                return None
            m = inside[0]
            value = f"{var}.{m.name}"
            if kind == "int" and m.kind in ("int", "bool") and m.size <= 4:
                exprs.append(value)
            elif kind == "int" and m.kind == "int":
                env[f"_I{i}_{j}"] = ctypes.c_int64 if m.lo < 0 else ctypes.c_uint64
                exprs.append(f"_I{i}_{j}({value})")
            elif kind == "double" and m.kind == "float" and m.size == 8:
                env["_D"] = ctypes.c_double
                exprs.append(f"_D({value})")
            elif kind == "float" and m.kind == "float" and m.size == 4:
                env["_F"] = ctypes.c_float
                exprs.append(f"_F({value})")
            else:
                return None
        return exprs

    def _from_bytes(self, names: list[str], data: str, i: int,
                    env: dict[str, Any]) -> list[str]:
        """Statements turning the padded C bytes ``data`` into the call arguments."""
        if not self.splat:
            env[f"_W{i}"] = self.ctype
            return [f"{names[0]} = _W{i}.from_buffer_copy({data})"]
        env[f"_E{i}"] = self.unpack
        lines = [f"e{i} = _E{i}.unpack_from({data})"]
        for j, (name, wrap) in enumerate(zip(names, self.wrappers)):
            env[f"_V{i}_{j}"] = wrap
            lines.append(f"{name} = _V{i}_{j}(e{i}[{j}])")
        return lines

    def convert(self, value: object, keep: list[object]) -> object:
        data = encode_record(self.label, self.codec, value, keep, self.padded)
        if not self.splat:
            return self.ctype.from_buffer(data)
        values = self.unpack.unpack_from(data)
        wrappers = self.wrappers
        if len(wrappers) == 2:
            return (wrappers[0](values[0]), wrappers[1](values[1]))
        return tuple(wrap(value) for wrap, value in zip(wrappers, values, strict=True))

    def write_back(self, value: object, converted: object) -> None:
        """Records by value are never written back."""

    def result(self, raw: Any) -> object:  # pragma: no cover - not a result converter
        raise TypeError("not a result converter")

    def callback_return(self, value: object, keep: list[object]) -> object:
        raise TypeError("not a callback converter")  # pragma: no cover


class _RawLongDouble(ctypes.c_longdouble):
    """A ``long double`` result kept as its bytes (ctypes converts only the base type)."""


class LoweredResult:
    """A record result: a structure of its eightbytes, or a hidden result pointer."""

    raw_result = False
    writes_back = False

    def __init__(self, label: str, t: Type, placement: Any) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.sret = placement.kind == "sret"
        if self.sret:
            self.ctype: Any = ctypes.c_void_p
        elif [k for _, _, k in placement.pieces] == ["ldouble"]:
            # x87 class: st0. libffi returns any structure of that class in memory, so the
            # result is a long double, of a subclass that ctypes hands back unconverted
            self.ctype = _RawLongDouble
        elif placement.kind == "reg":
            self.ctype = words_struct(f"lowered_{t.name}",
                                       [PIECE_CTYPES[k] for _, _, k in placement.pieces])
        else:
            raise NotImplementedError(f"{label}: cannot return {t.name} ({placement.kind})")
        # where each returned eightbyte goes in the record, when not simply in order from 0
        # (a padding-only eightbyte, NO_CLASS, comes back in no register)
        offsets = [off for off, _, _ in placement.pieces] if placement.kind == "reg" else []
        self.spread: list[int] | None = None
        if offsets and (offsets != list(range(0, 8 * len(offsets), 8))
                        or 8 * len(offsets) < t.size) and self.ctype is not _RawLongDouble:
            self.spread = offsets

    def buffer(self) -> Any:
        """A zeroed buffer for the callee to write a MEMORY result into."""
        return ctypes.create_string_buffer(max(self.type.size, 1))

    def emit_result(self, raw: str, env: dict[str, Any]) -> list[str]:
        """Statements returning the record held by ``raw`` (the structure of eightbytes, or
        the hidden-pointer buffer): a flat record is unpacked straight into a new instance."""
        flat = flat_record(self.type)
        if flat is None or self.spread is not None:
            return [f"return _r({raw})"]
        env.update(_RK=flat.cls, _RS=flat.struct, _new=object.__new__)
        return ["o = _new(_RK)", f"{flat.targets('o')}= _RS.unpack_from({raw})", "return o"]

    def result(self, raw: Any) -> object:
        data = bytes(raw)
        if self.spread is not None:
            size = self.type.size
            spread = bytearray(max(size, self.spread[-1] + 8))
            for j, off in enumerate(self.spread):
                spread[off:off + 8] = data[8 * j:8 * j + 8]
            data = bytes(spread)
        return self.codec.decode(data[: self.type.size], 0)


# ---------------------------------------------------------------------------- carried values
#
# Everywhere but the register pieces of System V x86-64, a value passed by value that ctypes
# cannot describe to libffi (records, unions, 128-bit integers) is carried as its placement in
# the host ABI plan says, in one of four forms:
#
# - ``struct``: one structure that libffi classifies as the plan does (an HFA of scalar float
#   fields; riscv64's floating-point fields; the eightbytes of a System V record);
# - ``words``: the value's bytes as separate integer arguments of the register width, which
#   libffi puts in the next integer registers, then on the stack, exactly as the ABI puts the
#   value's words (integer-class records and ``__int128`` on aarch64, arm32, riscv64);
# - ``pointer``: the address of a caller copy, where the ABI passes by reference (aarch64 and
#   riscv64 over 16 bytes, Windows x64 other than 1, 2, 4, 8 bytes) - never libffi's own copy;
# - ``none``: an empty record takes no register or stack slot.
#
# ``lead`` dummy words go first where the ABI skips registers (an even register pair), gives
# up the last registers (a value that does not fit goes on the stack whole) or aligns a
# stack slot beyond the word size. `Cursor` follows the registers and stack the plan has used
# before each argument, which libffi has used too as long as every value before went where
# its placement says.

_GPRS: dict[str, tuple[str, ...]] = {
    "aarch64": aarch64.XREGS, "aarch64_apple": aarch64.XREGS, "aarch64_win": aarch64.XREGS,
    "arm32_hf": arm32_hf.CORE,
    "riscv64_lp64d": riscv64.GPRS, "loongarch64": riscv64.GPRS, "sysv_x64": sysv_x64.GPRS,
}
_FP_CLASSES = frozenset({"HFA", "FP", "VFP", "SSE"})
_SRET_WORDS = {"aarch64": 3, "aarch64_apple": 3, "riscv64_lp64d": 3, "loongarch64": 3,
               "win64": 2, "aarch64_win": 3, "arm32_hf": 2}  # smallest libffi returns in memory


def word_size(host: str) -> int:
    """The integer register width of ``host``'s ruleset."""
    return 4 if host in ("arm32_hf", "x86_cdecl", "x86_win") else 8


class Cursor:
    """The integer argument registers and stack bytes used before each argument of a plan."""

    def __init__(self, host: str, plan: Any) -> None:
        self.gprs = _GPRS.get(host)
        self.word = word_size(host)
        result = plan.result
        self.used = 1 if (self.gprs and result.kind == "sret" and result.registers
                          and result.registers[0] in self.gprs) else 0
        self.stack_end = 0

    def lead(self, placement: Any) -> int:
        """Dummy words to pass before ``placement``'s own words (or pointer)."""
        if self.gprs is None:
            return 0
        regs = [r for r in placement.registers if r in self.gprs]
        if regs:
            return self.gprs.index(regs[0]) - self.used
        if placement.stack_offset is None:
            return 0
        gap: int = placement.stack_offset - self.stack_end
        assert gap >= 0 and gap % self.word == 0, (placement, self.stack_end)
        return len(self.gprs) - self.used + gap // self.word

    def scalar_lead(self, placement: Any) -> int:
        """Dummy words to pass before a scalar that libffi places itself. Only arm32: when
        the AAPCS gives up the last core registers (rule C.6: an argument that does not
        fit goes on the stack and NCRN becomes 4), libffi keeps them free once anything is
        on the stack, and would put a later small argument there."""
        if self.gprs is not arm32_hf.CORE or placement.stack_offset is None \
                or placement.kind != "stack" or set(placement.classes) <= _FP_CLASSES:
            return 0
        return len(self.gprs) - self.used

    def advance(self, placement: Any) -> None:
        """Account for ``placement``, the next argument."""
        if self.gprs is None:
            return
        regs = [r for r in placement.registers if r in self.gprs]
        if regs:
            self.used = self.gprs.index(regs[-1]) + 1
        if placement.stack_offset is not None:
            self.stack_end = max(self.stack_end, placement.stack_offset + placement.stack_size)
            if not set(placement.classes) <= _FP_CLASSES:
                self.used = len(self.gprs)


class CarriedArgument:
    """A record, union or 128-bit integer argument (or a floating-point one that the plan
    puts in integer registers) in one of the carried forms (above)."""

    writes_back = False
    raw_result = False

    def __init__(self, label: str, t: Type, form: str, *, carrier: Carrier | None = None,
                 word: int = 8, lead: int = 0, stack_tail: bool = False) -> None:
        self.label = label
        self.type = t
        self.form = form
        self.carrier = carrier
        self.word = word
        self.lead = lead
        #: System V x86-64: the words go after every register argument (see `Plan`).
        self.stack_tail = stack_tail
        record = t.primitive in ("Record", "Union")
        self.codec = marshal.codec_for(t) if record else marshal.build_codec(t, label)
        self.prefix = record  # scalar codecs already name the argument
        size = t.size
        if form == "struct":
            assert carrier is not None
            self.ctype: Any = carrier.ctype
            self.padded = carrier.size
        elif form == "words":
            self.count = -(-size // word)
            self.padded = self.count * word
            self.unpack = struct.Struct(f"<{self.count}{'i' if word == 4 else 'Q'}")
        else:
            self.padded = max(size, 1)
        self.dummy: object = 0 if word == 4 else ctypes.c_uint64(0)

    def call_names(self, i: int) -> list[str]:
        """The names of the call arguments this converter produces for argument ``i``."""
        if self.form == "words":
            return [f"c{i}_{j}" for j in range(self.count)]
        return [] if self.form == "none" else [f"c{i}"]

    def emit(self, var: str, i: int, slow: str, env: dict[str, Any]) -> tuple[list[str],
                                                                                list[str]]:
        """Statements converting ``var`` (always through ``slow``) and the call arguments."""
        names = self.call_names(i)
        env[f"_Z{i}"] = self.dummy
        lead = [f"_Z{i}"] * self.lead
        if self.form == "none":
            return [slow], []
        if self.form == "words":
            return [f"{', '.join(names)}, = {slow}"], lead + names
        return [f"{names[0]} = {slow}"], lead + names

    def _bytes(self, value: object, keep: list[object]) -> bytearray:
        if self.prefix:
            return encode_record(self.label, self.codec, value, keep, self.padded)
        data = bytearray(self.padded)
        self.codec.encode(data, 0, value, keep)
        return data

    def convert(self, value: object, keep: list[object]) -> object:
        data = self._bytes(value, keep)
        form = self.form
        if form == "struct":
            assert self.carrier is not None
            moves = self.carrier.moves
            if moves is not None:
                moved = bytearray(self.padded)
                for src, dst, width in moves:
                    moved[dst:dst + width] = data[src:src + width]
                data = moved
            return self.ctype.from_buffer(data)
        if form == "words":
            values = self.unpack.unpack_from(data)
            if self.word == 4:
                return values
            return tuple(ctypes.c_uint64(v) for v in values)
        if form == "pointer":
            return (ctypes.c_char * self.padded).from_buffer(data)
        return None

    def write_back(self, value: object, converted: object) -> None:
        """Values passed by value are never written back."""

    def result(self, raw: Any) -> object:  # pragma: no cover - not a result converter
        raise TypeError("not a result converter")


class CarriedResult:
    """A record, union or 128-bit integer result: the carrier structure libffi returns (in
    registers, or in memory through the hidden pointer libffi passes), or nothing for an
    empty record."""

    raw_result = False
    writes_back = False
    sret = False

    def __init__(self, label: str, t: Type, carrier: Carrier | None) -> None:
        self.label = label
        self.type = t
        self.codec = marshal.codec_for(t)
        self.carrier = carrier
        self.ctype: Any = carrier.ctype if carrier is not None else None

    def result(self, raw: Any) -> object:
        size = self.type.size
        if self.carrier is None:
            return self.codec.decode(bytes(size), 0)
        if isinstance(raw, int):  # a scalar restype, which ctypes converted
            return self.codec.decode(raw.to_bytes(ctypes.sizeof(self.ctype), "little"), 0)
        data = bytes(raw)
        moves = self.carrier.moves
        if moves is not None:
            out = bytearray(max(size, 1))
            for src, dst, width in moves:
                out[src:src + width] = data[dst:dst + width]
            data = bytes(out)
        elif len(data) < size:
            data += bytes(size - len(data))
        return self.codec.decode(data, 0)


def _x86_carrier(t: Type, fields: list[Any]) -> Carrier:
    structure = words_struct(f"carried_{t.name}", fields or [ctypes.c_uint8])
    return Carrier(structure, None, max(ctypes.sizeof(structure), t.size))


def carried_result(host: str, label: str, t: Type, placement: Any) -> CarriedResult:
    """The converter of a record, union or 128-bit integer result on ``host`` (not System V
    x86-64, see `LoweredResult`), or of a floating-point one in integer registers."""
    if placement.kind == "ignored":
        return CarriedResult(label, t, None)
    fp = fp_carrier(host, t, placement)
    if fp is not None:
        return CarriedResult(label, t, fp)
    word = word_size(host)
    if host.startswith("x86"):  # exactly the record's size: Windows returns 1, 2, 4, 8 in eax
        return CarriedResult(label, t, _x86_carrier(t, [ctypes.c_uint8] * t.size))
    if placement.kind == "sret":
        minimum = _SRET_WORDS.get(host, 3)
        return CarriedResult(label, t, word_carrier(f"carried_{t.name}", t.size, word,
                                                    minimum))
    if placement.kind == "reg" and t.primitive not in ("Record", "Union") and t.size <= 8:
        # a floating-point result in integer registers (arm32 variadic functions: r0, r0:r1)
        scalar = ctypes.c_uint32 if t.size <= 4 else ctypes.c_uint64
        return CarriedResult(label, t, Carrier(scalar, None, max(t.size, 4)))
    if placement.kind == "reg" and not set(placement.classes) & _FP_CLASSES:
        return CarriedResult(label, t, word_carrier(f"carried_{t.name}", t.size, word))
    raise NotImplementedError(f"{label}: returning {t.name} ({placement.reason}) cannot be "
                              "expressed through libffi")


def carried_argument(host: str, label: str, t: Type, placement: Any,
                     cursor: Cursor) -> CarriedArgument:
    """The converter of a record, union or 128-bit integer argument on ``host`` (not System
    V x86-64), or of a floating-point one in integer registers, as ``placement`` says;
    ``cursor`` is just before it."""
    kind = placement.kind
    word = word_size(host)
    if kind == "ignored":
        return CarriedArgument(label, t, "none", word=word)
    if kind == "ref":
        return CarriedArgument(label, t, "pointer", word=word, lead=cursor.lead(placement))
    fp = fp_carrier(host, t, placement)
    if fp is not None:
        return CarriedArgument(label, t, "struct", carrier=fp, word=word)
    if host.startswith("x86"):  # i386: the bytes on the stack, whatever the record holds
        words = [ctypes.c_uint32] * (t.size // 4) + [ctypes.c_uint8] * (t.size % 4)
        return CarriedArgument(label, t, "struct", word=word, carrier=_x86_carrier(t, words))
    if kind in ("reg", "stack", "split") and cursor.gprs is not None:
        return CarriedArgument(label, t, "words", word=word, lead=cursor.lead(placement))
    if kind in ("reg", "stack") and host == "win64" and t.size <= 8:
        return CarriedArgument(label, t, "words", word=word)  # one slot, as an integer
    raise NotImplementedError(f"{label}: passing {t.name} ({placement.reason}) cannot be "
                              "expressed through libffi")


def record_memory(elem: Any, value: object, keep: list[object], encode: bool) -> object:
    """Temporary C memory holding one record (zeroed for ``_Out_``), kept for the call."""
    data = bytearray(elem.size)
    if encode:
        elem.encode(data, 0, value, keep)
    keep.append(data)
    return (ctypes.c_char * elem.size).from_buffer(data)


def same_record(t: Type, value: object) -> Type | None:
    """The type of ``value`` if it is a record of another class declaring the same C record.

    C identifies records by name: two modules may both declare ``struct tm``. An instance of
    either class is accepted where the other is expected when name and layout agree.
    """
    other = getattr(type(value), "__koffi_type__", None)
    if not isinstance(other, Type) or other is t or t.python_class is None:
        return None
    if other.name != t.name or other.size != t.size or other.primitive != t.primitive:
        return None
    mine, theirs = t.members or {}, other.members or {}
    if [(m.name, m.offset, m.bits, m.type.size) for m in mine.values()] != \
            [(m.name, m.offset, m.bits, m.type.size) for m in theirs.values()]:
        return None
    return other


class RecordConverter(Converter):
    """Records by value through a ctypes structure with the same layout."""


    def __init__(self, label: str, t: Type) -> None:
        super().__init__(label, t)
        self.ctype = ctypes_record(t, label)
        self.codec = marshal.codec_for(t)

    def convert(self, value: object, keep: list[object]) -> object:
        return self.ctype.from_buffer(
            encode_record(self.label, self.codec, value, keep, self.type.size))

    def result(self, raw: Any) -> object:
        return self.codec.decode(bytes(raw), 0)
