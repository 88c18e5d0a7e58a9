"""What every callback of one prototype shares: its converters, how C reaches it, and the
generated entry point (compiled once per prototype, bound per thunk).

Two ways in:

- **ctypes thunks** for signatures of scalars, pointers and strings: a ``CFUNCTYPE`` whose
  Python entry receives the arguments already converted by ctypes;
- **libffi closures** (`koffi_typed.libffi`) for signatures with a record or union by value
  (argument or result), which ctypes cannot give a callback a result of: libffi hands a
  generic ctypes handler the address of each argument and of the result, and the handler
  reads and writes the C bytes with the record codecs. Each record is described to libffi as
  the carrier that makes libffi place it where the host ABI does (`koffi.abi.classify`):
  its eightbytes on System V x86-64, the call path's structures elsewhere.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any, Final

from koffi_typed import abi, libffi, marshal
from koffi_typed.abi.plan import direct_alignment, homogeneous_float
from koffi_typed.carriers import (
    CLASS_CTYPES,
    PIECE_CTYPES,
    blob_ctype,
    ctypes_record,
    words_struct,
)
from koffi_typed.converters import make_converter
from koffi_typed.converters.records import encode_record
from koffi_typed.datamodel import host_name
from koffi_typed.declarations import FunctionInfo
from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, is_integer

__all__ = ["Shape", "explain_callback", "shape_of"]

_RECORDS = ("Record", "Union")


def by_value(t: Type) -> bool:
    """Whether a callback receives or returns ``t`` through a libffi closure, as its C bytes:
    records, unions and 128-bit integers (which ctypes has no type for)."""
    return t.primitive in _RECORDS or (is_integer(t) and t.size > 8)
_WORD = ctypes.sizeof(ctypes.c_void_p)
_FFI_ARG = {(True, 4): ctypes.c_int32, (False, 4): ctypes.c_uint32,
            (True, 8): ctypes.c_int64, (False, 8): ctypes.c_uint64}


def _zero(restype: Any) -> Any:
    if restype is None:
        return None
    if restype in (ctypes.c_float, ctypes.c_double, ctypes.c_longdouble):
        return 0.0
    if restype is ctypes.c_bool:
        return False
    if restype is ctypes.c_void_p:
        return None
    return 0


def _label(info: FunctionInfo) -> str:
    return info.name or "callback"


def refusal(info: FunctionInfo) -> str | None:
    """Why C cannot call back into Python through ``info`` (``None`` when it can)."""
    name = _label(info)
    if info.variadic:
        return (f"Cannot call back into Python through variadic prototype '{name}' (a "
                "callback cannot read a variadic tail portably); use a prototype with fixed "
                "parameters")
    records = [t for t in (info.result, *(a.type for a in info.arguments))
               if by_value(t)]
    x86 = host_name() in ("x86_cdecl", "x86_win")
    if x86 and info.convention not in (None, "__cdecl", "__stdcall"):
        return f"{name}: only cdecl and stdcall callbacks are supported, not {info.convention}"
    if x86 and info.convention == "__stdcall" and (records or not hasattr(ctypes,
                                                                          "WINFUNCTYPE")):
        return (f"{name}: stdcall callbacks are supported only on Windows, without records "
                "by value")
    if records and not libffi.available:
        return (f"{name}: callbacks that take or return records by value need libffi, which "
                f"is not reachable here ({libffi.reason}); pass pointers instead")
    return None


def _callback_argument(conv: Any, var: str, slow: str,
                       env: dict[str, Any]) -> tuple[list[str], str]:
    """Statements and an expression turning what ctypes hands a callback into the Python
    argument. Pointers are built inline, as `pointer.new_pointer` does without the call
    (the common ``const void *`` comparator case)."""
    if getattr(conv, "raw_result", False):
        return [], var
    ref = getattr(conv, "ref", None)
    if ref is not None and type(conv).__name__ == "PointerConverter" and \
            not conv.type.disposable:
        env[f"_ref_{var}"] = ref
        p = f"p_{var}"
        return [f"if {var}:",
                f"    {p} = _new(_Pointer)",
                f"    {p}.address = {var}",
                f"    {p}.type = _ref_{var}",
                f"    {p}.block = None",
                "else:",
                f"    {p} = None"], p
    return [], f"{slow}({var})"


def _callback_result(conv: Any, var: str) -> str:
    """Expression turning the Python result of a callback into what ctypes returns to C."""
    lo, hi = getattr(conv, "lo", None), getattr(conv, "hi", None)
    if lo is not None and not getattr(conv, "swap", True) and conv.raw_result:
        return f"{var} if type({var}) is int and {lo} <= {var} <= {hi} else _ret({var}, _t.keep)"
    if conv.ctype in (ctypes.c_double, ctypes.c_float):
        limit = getattr(conv, "limit", None)
        if limit is not None:  # a finite float beyond ``float`` raises instead of an inf
            return (f"{var} if type({var}) is float and {-limit!r} <= {var} <= {limit!r} "
                    f"else _ret({var}, _t.keep)")
        return f"{var} if type({var}) is float else _ret({var}, _t.keep)"
    if type(conv).__name__ == "StringConverter":
        # the same string returned again reuses the copy C already has
        return f"(_t.strings.get({var}) if type({var}) is str else None) or _t.string({var})"
    return f"_ret({var}, _t.keep)"


class _RecordSlot:
    """A record (or union) argument or result of a closure: its codec and libffi carrier.

    ``remap`` lists ``(carrier offset, record offset, width)`` where the carrier does not
    hold the record's bytes at their own offsets (a packed record whose float members ctypes
    must align in the carrier); ``None`` when the bytes are the same.
    """

    def __init__(self, label: str, t: Type, carrier: Any, remap: Any) -> None:
        self.label = label
        self.type = t
        self.size = t.size
        self.codec = marshal.codec_for(t)
        self.carrier = carrier
        self.remap: list[tuple[int, int, int]] | None = remap
        self.carrier_size = libffi.size_of(carrier) if carrier not in (None, _FOLD) else 0

    def gather(self, raw: bytes) -> bytearray:
        """The record's bytes from the carrier's bytes ``raw``."""
        out = bytearray(self.size)
        for c_off, r_off, width in self.remap or ():
            out[r_off:r_off + width] = raw[c_off:c_off + width]
        return out

    def scatter(self, data: bytes | bytearray) -> bytes:
        """The carrier's bytes for the record's bytes ``data``."""
        out = bytearray(self.carrier_size)
        for c_off, r_off, width in self.remap or ():
            out[c_off:c_off + width] = data[r_off:r_off + width]
        return bytes(out)


class Shape:
    """One prototype's callback machinery: converters, C entry, generated entry factory."""

    def __init__(self, proto_type: Type) -> None:
        info = proto_type.proto
        assert isinstance(info, FunctionInfo)
        self.proto_type = proto_type
        self.info = info
        why = refusal(info)
        if why is not None:
            raise NotImplementedError(why)
        name = _label(info)
        types = [info.result, *(a.type for a in info.arguments)]
        self.closure = any(by_value(t) for t in types)
        who = f"{name} callback" if info.name else "callback"  # not "callback callback"
        labels = [f"{who}: argument {repr(a.name) if a.name else i + 1}"
                  for i, a in enumerate(info.arguments)]
        result_label = f"{who}: return value"
        if self.closure:
            carriers = _carriers(info)
            self.args: list[Any] = [
                _RecordSlot(labels[i], a.type, *carriers[i]) if by_value(a.type)
                else make_converter(labels[i], a.type) for i, a in enumerate(info.arguments)]
            self.result: Any = _RecordSlot(result_label, info.result, *carriers[-1]) \
                if by_value(info.result) else make_converter(
                    result_label, info.result, const=info.result_const)
            ffi_types, self.where = _slots(info, carriers, self.args)
            self.n_ffi = len(ffi_types)
            self.cif = libffi.Cif(_ffi(self.result), ffi_types)
            self.zero = None
            self.factory = self._closure_factory()
        else:
            self.args = [make_converter(label, a.type) for label, a in
                         zip(labels, info.arguments)]
            self.result = make_converter(result_label, info.result, const=info.result_const)
            self.zero = _zero(self.result.ctype)
            factory: Any = ctypes.CFUNCTYPE
            if info.convention == "__stdcall" and host_name() == "x86_win":
                factory = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)  # callee pops
            self.cfunctype = factory(self.result.ctype, *(c.ctype for c in self.args))
            self.factory = self._ctypes_factory()

    def bind(self, thunk: Any) -> tuple[Any, int]:
        """A new C entry point for ``thunk``: (object to keep alive, its address)."""
        entry = self.factory(thunk)
        if self.closure:
            handler = libffi.handler(entry)
            return handler, libffi.closure(self.cif, handler)
        cfunc = self.cfunctype(entry)
        return cfunc, ctypes.cast(cfunc, ctypes.c_void_p).value or 0

    def _env(self) -> dict[str, Any]:
        env: dict[str, Any] = {"_new": object.__new__, "_Pointer": Pointer,
                               "_zero": self.zero}
        if not isinstance(self.result, _RecordSlot):
            env["_ret"] = self.result.callback_return
        return env

    def _compile(self, source: str, env: dict[str, Any]) -> Callable[[Any], Any]:
        scope: dict[str, Any] = {}
        exec(compile(source, f"<koffi_typed callback {_label(self.info)}>", "exec"), env,
             scope)
        factory: Callable[[Any], Any] = scope["make"]
        return factory

    def _ctypes_factory(self) -> Callable[[Any], Any]:
        """``make(thunk)`` returning the entry ctypes calls with converted arguments, which
        converts them further inline, calls the target, converts the result, and turns any
        exception into a zero value plus a queued error."""
        env = self._env()
        params = [f"a{i}" for i in range(len(self.args))]
        exprs = []
        prepare: list[str] = []
        for i, conv in enumerate(self.args):
            env[f"_r{i}"] = conv.result
            lines, expr = _callback_argument(conv, f"a{i}", f"_r{i}", env)
            prepare += lines
            exprs.append(expr)
        ret = _callback_result(self.result, "r")
        source = "\n".join([
            "def make(_t):",
            f"    def invoke({', '.join(params)}):",
            "        target = _t.target",
            "        if target is None:",
            "            return _t.stale()",
            "        try:",
            *(f"            {line}" for line in prepare),
            f"            r = target({', '.join(exprs)})",
            f"            return {ret}",
            "        except BaseException as exc:",
            "            _t.fail(exc)",
            "            return _zero",
            "    return invoke",
            "",
        ])
        return self._compile(source, env)

    def _closure_factory(self) -> Callable[[Any], Any]:
        """``make(thunk)`` returning the libffi handler: it reads each argument at its
        address, calls the target and writes the result bytes (zeroes on an exception)."""
        env = self._env()
        env.update(_at=ctypes.string_at, _memmove=ctypes.memmove, _memset=ctypes.memset)
        n = self.n_ffi
        lines: list[str] = []
        if n == 1:
            env["_VP"] = ctypes.c_void_p
            lines.append("p0 = _VP.from_address(args).value")
        elif n:
            env["_PA"] = struct.Struct(f"{n}{'Q' if _WORD == 8 else 'I'}")
            lines.append(f"{''.join(f'p{i}, ' for i in range(n))}= _PA.unpack(_at(args, "
                         f"{n * _WORD}))")
        exprs = []
        for i, slot in enumerate(self.args):
            index, delta = self.where[i]
            at = f"p{index} + {delta}" if delta else f"p{index}"
            if isinstance(slot, _RecordSlot):
                env[f"_D{i}"] = slot.codec.decode
                flat = marshal.flat_record(slot.type) if slot.remap is None else None
                if flat is not None:  # a new instance, members unpacked straight in
                    env[f"_K{i}"], env[f"_S{i}"] = flat.cls, flat.struct
                    lines += [f"o{i} = _new(_K{i})",
                              f"{flat.targets(f'o{i}')}= _S{i}.unpack(_at({at}, {slot.size}))"]
                    exprs.append(f"o{i}")
                elif slot.remap is None:
                    exprs.append(f"_D{i}(_at({at}, {slot.size}), 0)")
                else:
                    env[f"_G{i}"] = slot.gather
                    exprs.append(f"_D{i}(_G{i}(_at({at}, {slot.carrier_size})), 0)")
                continue
            env[f"_C{i}"] = slot.ctype
            env[f"_r{i}"] = slot.result
            lines.append(f"a{i} = _C{i}.from_address({at}).value")
            more, expr = _callback_argument(slot, f"a{i}", f"_r{i}", env)
            lines += more
            exprs.append(expr)
        lines.append(f"r = target({', '.join(exprs)})")
        result = self.result
        if isinstance(result, _RecordSlot):
            zero_size = result.size
            env.update(_RT=result.type, _RL=result.label, _RC=result.codec, _enc=encode_record)
            flat = marshal.flat_record(result.type)
            write = [f"_memmove(ret, bytes(_enc(_RL, _RC, r, _t.keep, {result.size})), "
                     f"{result.size})"]
            if result.remap is not None:
                env["_SC"] = result.scatter
                write = [f"_memmove(ret, _SC(_enc(_RL, _RC, r, _t.keep, {result.size})), "
                         f"{result.carrier_size})"]
                flat = None
            if flat is not None:
                env.update(_RK=flat.cls, _RS=flat.struct)
                write = [f"if type(r) is _RK and {flat.check('r')}:",
                         f"    _memmove(ret, _RS.pack({flat.values('r')}), {result.size})",
                         "else:", f"    {write[0]}"]
            lines += write
        elif result.ctype is not None:
            ctype = result.ctype
            if ctype in _FFI_ARG.values() or ctype in (ctypes.c_int8, ctypes.c_uint8,
                                                        ctypes.c_int16, ctypes.c_uint16,
                                                        ctypes.c_bool):
                signed = ctype in (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32,
                                   ctypes.c_int64)
                ctype = _FFI_ARG[(signed, max(_WORD, ctypes.sizeof(ctype)))]
            zero_size = max(ctypes.sizeof(ctype), _WORD)
            env["_W"] = ctype
            lines.append(f"_W.from_address(ret).value = {_callback_result(result, 'r')}")
        else:
            zero_size = 0
            lines.append("_ret(r, _t.keep)")
        zero = [f"_memset(ret, 0, {zero_size})"] if zero_size else []
        source = "\n".join([
            "def make(_t):",
            "    def handler(cif, ret, args, data):",
            "        target = _t.target",
            "        if target is None:",
            *(f"            {line}" for line in zero),
            "            _t.stale()",
            "            return",
            "        try:",
            *(f"            {line}" for line in lines),
            "        except BaseException as exc:",
            *(f"            {line}" for line in zero),
            "            _t.fail(exc)",
            "    return handler",
            "",
        ])
        return self._compile(source, env)


def _ffi(slot: Any) -> int:
    if isinstance(slot, _RecordSlot):
        assert slot.carrier is not _FOLD
        return libffi.ffi_type_of(slot.carrier)
    return libffi.ffi_type_of(slot.ctype)


def _remap(carrier: Any, placement: Any) -> list[tuple[int, int, int]] | None:
    """Where the carrier's value fields sit against the placement's pieces, when ctypes
    moved any of them (aligning a float member of a packed record); else ``None``."""
    fields = [f for f in getattr(carrier, "_fields_", ()) if f[0].startswith("f")]
    pieces = placement.pieces
    if not pieces or len(fields) != len(pieces):
        return None
    remap = [(getattr(carrier, name).offset, off, width)
             for (name, _), (off, width, _) in zip(fields, pieces)]
    return remap if any(c != r for c, r, _ in remap) else None


def _carriers(info: FunctionInfo) -> list[tuple[Any, Any]]:
    """The libffi carrier of each record argument, then of the result (``None`` for the
    others), chosen from the host's classification of ``info``, with its `_remap`."""
    host = host_name()
    plan = abi.classify(info)
    name = _label(info)
    types = [a.type for a in info.arguments] + [info.result]
    placements = [*plan.arguments, plan.result]
    found: list[tuple[Any, Any]] = []
    for i, (t, placement) in enumerate(zip(types, placements)):
        if not by_value(t):
            found.append((None, None))
            continue
        label = f"{name} callback: {'return value' if i == len(types) - 1 else t.name}"
        if placement.kind == "ignored" or t.size == 0:
            raise NotImplementedError(f"{label}: empty records cannot travel through libffi")
        if t.primitive not in _RECORDS:
            found.append((_int128_carrier(host, placement), None))
            continue
        if host == "sysv_x64":
            later = placements[i + 1:-1]
            found.append((_sysv_carrier(label, t, placement, i == len(types) - 1,
                                        any(p.stack_offset is not None for p in later)),
                          _sysv_remap(t, placement)))
            continue
        carrier = None
        if not host.startswith("riscv64"):
            try:
                carrier = ctypes_record(t, label)
            except NotImplementedError:
                carrier = None
        if carrier is not None:
            found.append((carrier, None))
            continue
        hfa = homogeneous_float(t) if host.startswith(("aarch64", "arm32")) else None
        if hfa is not None and placement.kind in ("reg", "stack"):
            # a union or packed HFA: libffi must see its float elements, in registers or
            # on the stack (as integer words it would take general registers)
            elem = {"float": ctypes.c_float, "double": ctypes.c_double}.get(
                hfa[0], ctypes.c_longdouble)
            found.append((type(f"carrier_{t.name}", (ctypes.Structure,), {"_fields_": [
                (f"f{j}", elem) for j in range(hfa[1])]}), None))
            continue
        try:
            carrier = blob_ctype(host, t, placement)
        except NotImplementedError:
            # ctypes cannot give the structure the argument alignment the ABI uses (a packed
            # ARM record keeps its members' 8-byte alignment, an aarch64 record of 16):
            # libffi gets the size and alignment directly
            wanted = direct_alignment(t)
            element = ctypes.c_uint64 if t.size % 8 == 0 else ctypes.c_uint32 \
                if t.size % 4 == 0 else ctypes.c_uint8
            found.append((libffi.Opaque(t.size, wanted, element), None))
            continue
        found.append((carrier, _remap(carrier, placement)))
    return found


def _int128_carrier(host: str, placement: Any) -> Any:
    """The libffi carrier of a 128-bit integer: what libffi places as the ABI places it."""
    if host == "sysv_x64":  # two INTEGER eightbytes, or a 16-aligned stack slot
        return words_struct("carrier_int128", [ctypes.c_uint64] * 2,
                            align16=placement.kind != "reg")
    # AAPCS64 (an even register pair, the skipped register taken by an unused argument: see
    # `_slots`) and RISC-V (a register pair, 16-aligned on the stack): a 16-byte structure
    # of integers with libffi's alignment set to 16 goes where the integer goes
    return libffi.Opaque(16, 16, ctypes.c_uint64)


def _sysv_remap(t: Type, placement: Any) -> list[tuple[int, int, int]] | None:
    """Where the register eightbytes sit in the record when they do not simply cover it in
    order: a padding-only eightbyte (NO_CLASS) travels in no register."""
    if placement.kind != "reg" or [k for _, _, k in placement.pieces] == ["ldouble"]:
        return None
    offsets = [off for off, _, _ in placement.pieces]
    if offsets == list(range(0, 8 * len(offsets), 8)) and 8 * len(offsets) >= t.size:
        return None
    return [(8 * j, off, min(8, t.size - off)) for j, off in enumerate(offsets)]


def _sysv_carrier(label: str, t: Type, placement: Any, is_result: bool,
                  stack_follows: bool) -> Any:
    """The eightbyte structure libffi classifies as System V places ``t``."""
    kind = placement.kind
    if kind == "reg":
        pieces = [PIECE_CTYPES[k] for _, _, k in placement.pieces]
        if pieces == [ctypes.c_longdouble]:
            return ctypes.c_longdouble  # x87 st0: libffi would put a structure in memory
        return words_struct(f"carrier_{t.name}", pieces)
    words = (t.size + 7) // 8
    if kind == "sret" or (is_result and kind != "reg"):
        # more than two eightbytes: libffi returns it through the hidden pointer, whose
        # buffer (the caller's) receives exactly the record's bytes
        return words_struct(f"carrier_{t.name}", [ctypes.c_uint64] * max(words, 3))
    if kind == "stack" and placement.classes and "MEMORY" not in placement.classes:
        return words_struct(f"carrier_{t.name}", [CLASS_CTYPES[c] for c in placement.classes])
    if kind == "stack" and t.alignment >= 16 and t.size % 16 == 0:
        # long doubles: x87 class, so libffi reads it from the stack, 16-aligned, exact size
        return type(f"carrier_{t.name}", (ctypes.Structure,),
                    {"_fields_": [(f"x{i}", ctypes.c_longdouble)
                                  for i in range(t.size // 16)]})
    if kind == "stack":
        if words <= 2:
            if stack_follows:
                return _FOLD
            words = 3
        return words_struct(f"carrier_{t.name}", [ctypes.c_uint64] * words,
                            align16=t.alignment >= 16 and words >= 2)
    raise NotImplementedError(f"{label}: cannot pass {t.name} ({kind}) to a callback")


#: Carrier marker: a MEMORY record of at most 16 bytes with stack arguments after it. libffi
#: would take such a record from registers, so it receives one structure of more than 16
#: bytes spanning the record's stack slot and every later stack argument (libffi hands a
#: closure the address of a stack argument in place), read at each one's offset.
_FOLD: Final = "fold"


def _slots(info: FunctionInfo, carriers: list[tuple[Any, Any]],
           args: list[Any]) -> tuple[list[int], list[tuple[int, int]]]:
    """libffi's argument types, and for each argument (its libffi slot, byte offset in it):
    one slot per argument, except the stack arguments a `_FOLD` structure spans."""
    opaque16 = any(isinstance(c, libffi.Opaque) and c.alignment >= 16 for c, _ in carriers)
    plan = abi.classify(info) if opaque16 or any(c is _FOLD for c, _ in carriers) else None
    ffi_types: list[int] = []
    where: list[tuple[int, int]] = []
    folded: dict[int, tuple[int, int]] = {}
    gprs = 0  # general registers libffi has given out so far (aarch64)
    for i, slot in enumerate(args):
        if i in folded:
            where.append(folded[i])
            continue
        if plan is not None and opaque16:
            # AAPCS64 starts a 16-aligned record at an even register; libffi does not, so
            # unused integer arguments take the register the ABI skips
            regs = [r for r in plan.arguments[i].registers if r[:1] in ("x", "w")]
            if regs and regs[0][1:].isdigit():
                while gprs < int(regs[0][1:]):
                    ffi_types.append(libffi.ffi_type_of(ctypes.c_uint64))
                    gprs += 1
            gprs += len(regs)
        index = len(ffi_types)
        where.append((index, 0))
        if carriers[i][0] is not _FOLD:
            ffi_types.append(_ffi(slot))
            continue
        assert plan is not None
        placements = plan.arguments
        base = placements[i].stack_offset or 0
        end = base + max(placements[i].stack_size, 8)
        for j in range(i + 1, len(args)):
            later = placements[j]
            if later.stack_offset is not None:
                folded[j] = (index, later.stack_offset - base)
                end = max(end, later.stack_offset + max(later.stack_size, 8))
        words = max(3, (end - base + 7) // 8)
        ffi_types.append(libffi.ffi_type_of(words_struct(f"fold_{slot.type.name}",
                                                         [ctypes.c_uint64] * words)))
    return ffi_types, where


_shapes: dict[int, Shape] = {}


def shape_of(proto_type: Type) -> Shape:
    """The shared `Shape` of ``proto_type`` (built on first use)."""
    shape = _shapes.get(id(proto_type))
    if shape is None or shape.proto_type is not proto_type:
        shape = Shape(proto_type)
        _shapes[id(proto_type)] = shape
    return shape


def explain_callback(proto_type: Type) -> str:
    """Where C puts a callback's arguments and result on this host, and how koffi_typed
    receives them."""
    info = proto_type.proto
    assert isinstance(info, FunctionInfo)
    text = str(abi.classify(info))
    why = refusal(info)
    if why is not None:
        return f"{text}\nAs a callback: refused. {why}"
    if any(by_value(t) for t in (info.result, *(a.type for a in info.arguments))):
        how = ("As a callback: a libffi closure (records, unions and 128-bit integers by value "
               "travel as their C bytes; the handler reads each argument at its address")
        result = abi.classify(info).result
        if by_value(info.result):
            where = "the caller's hidden result pointer" if result.kind == "sret" else \
                f"the result registers ({result.where})"
            how += f" and writes the {info.result.name} result into {where})."
        else:
            how += ")."
    else:
        how = "As a callback: a ctypes thunk (arguments and result converted by ctypes)."
    return f"{text}\n{how}"
