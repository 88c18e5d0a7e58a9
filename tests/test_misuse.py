"""Records, arrays and memory utilities misused: every wrong value, size or kind raises a
TypeError, ValueError or OverflowError naming the parameter or member, before C sees it.

Each test enumerates (or generates) a whole family: pointee types against buffer kinds,
sizes and placements (parameter, ``_Out_``, ``_Inout_``, record member). Cases that would
let C overrun memory run in a forked child, so one overrun is one failure. Calls go to
tests/c/misuse.c.
"""

from __future__ import annotations

import array
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed import c

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(scope="module")
def lib(c_library: Callable[[str], Path]) -> koffi.Library:
    return koffi.load(c_library("misuse"))


def _forked(fn: Callable[[], str]) -> str:
    """``fn()`` run in a forked child: what it returned, 'raised <type>: <message>', or
    'crash <status>'."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(rfd)
        try:
            out = fn()
        except BaseException as exc:
            out = f"raised {type(exc).__name__}: {exc}"
        with os.fdopen(wfd, "w") as w:
            w.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    return data if data else f"crash {status}"


# ------------------------------------------------------- buffers shorter than one pointee

koffi.struct("MPoint", {"x": "int32_t", "y": "double"})
koffi.pack("MPacked", {"tag": "uint8_t", "size": "uint32_t", "v": "int16_t [3]"})
koffi.union("MUnion", {"i": "int64_t", "d": "double"})

POINTEES = ["int16_t", "int32_t", "int64_t", "double", "float", "MPoint", "MPacked", "MUnion"]

WRITABLE: dict[str, Callable[[int], Any]] = {
    "bytearray": lambda n: bytearray(n),
    "memoryview(bytearray)": lambda n: memoryview(bytearray(n)),
    "array('B')": lambda n: array.array("B", bytes(n)),
    "memoryview(bytearray)[1:]": lambda n: memoryview(bytearray(n + 1))[1:],
}
READ_ONLY: dict[str, Callable[[int], Any]] = {
    "bytes": lambda n: bytes(n),
    "memoryview(bytes)": lambda n: memoryview(bytes(n)),
}
PLACEMENTS = ["const", "plain", "_Out_", "_Inout_", "member", "const member"]


def _nbytes(buf: Any) -> int:
    return memoryview(buf).nbytes


def _short_buffer_outcomes(lib: koffi.Library, pointee: str, placement: str) -> str:
    """For every buffer kind and every size below and at one pointee: 'refused' when the
    call (or conversion) raised a ValueError naming the parameter or member, 'passed <sum>'
    when C read or wrote the whole pointee; one line per case."""
    size = koffi.sizeof(pointee)
    kinds = dict(WRITABLE)
    if placement.startswith("const"):
        kinds.update(READ_ONLY)
    holder = koffi.struct(f"MHolder_{pointee}", {"n": "int32_t", "p": f"{pointee} *"})
    lines = []
    for kind, make in kinds.items():
        for n in (1, size - 1, size, size + 3):
            if n <= 0:
                continue
            buf = make(n)
            try:
                if placement == "const":
                    got = lib.func(f"long long SumBytes(const {pointee} *p, size_t size)")(
                        buf, size)
                elif placement == "member":
                    lib.func(f"void HolderFill(MHolder_{pointee} *h, size_t size)")(
                        holder(n=1, p=buf), size)
                    got = sum(bytes(memoryview(buf).cast("B"))[:size])
                elif placement == "const member":
                    got = lib.func(f"long long HolderSum(const MHolder_{pointee} *h, "
                                   "size_t size)")(holder(n=1, p=buf), size)
                else:
                    marker = "" if placement == "plain" else placement + " "
                    lib.func(f"void FillBytes({marker}{pointee} *p, size_t size)")(buf, size)
                    got = sum(bytes(memoryview(buf).cast("B"))[:size])
                outcome = f"passed {got}"
            except ValueError as exc:
                named = "argument 'p'" in str(exc) or "argument 'h'" in str(exc)
                outcome = "refused" if named and "p" in str(exc) else f"unnamed: {exc}"
            lines.append(f"{kind} {n}: {outcome}")
    return "\n".join(lines)


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("pointee", POINTEES)
def test_buffers_shorter_than_one_pointee_are_refused(lib: koffi.Library, pointee: str,
                                                      placement: str) -> None:
    size = koffi.sizeof(pointee)
    got = _forked(lambda: _short_buffer_outcomes(lib, pointee, placement))
    kinds = dict(WRITABLE)
    if placement.startswith("const"):
        kinds.update(READ_ONLY)
    expected = []
    full = 0 if placement.startswith("const") else 0x5A * size
    for kind in kinds:
        for n in (1, size - 1, size, size + 3):
            if n > 0:
                expected.append(f"{kind} {n}: " + ("refused" if n < size else f"passed {full}"))
    assert got.splitlines() == expected, got


# ------------------------------------------------------------------ Record.from_buffer

FbPoint = koffi.struct("FbPoint", {"x": "int32_t", "y": "double"})
FbPacked = koffi.pack("FbPacked", {"tag": "uint8_t", "v": "int16_t [3]", "b": c.bits("uint32_t", 5)})
FbUnion = koffi.union("FbUnion", {"i": "int64_t", "d": "double"})


class _LongBytes(bytes):
    """bytes that claim to be longer than they are."""

    def __len__(self) -> int:
        return 1000


# name → (make a buffer holding these bytes, whether from_buffer must accept it)
BUFFER_KINDS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "memoryview[1:]": lambda b: memoryview(b"\xee" + b)[1:],
    "array('B')": lambda b: array.array("B", b),
    "array('i')": lambda b: array.array("i", b + bytes(-len(b) % 4)),
    "array('d')": lambda b: array.array("d", b + bytes(-len(b) % 8)),
    "memoryview 2-D": lambda b: memoryview(b + bytes(-len(b) % 4)).cast(
        "B", (-(-len(b) // 4), 4)) if b else memoryview(b),
    "memoryview[::2]": lambda b: memoryview(bytes(x for c in b for x in (c, 0xEE)))[::2],
    "memoryview('i')": lambda b: memoryview(b + bytes(-len(b) % 4)).cast("i"),
    "_LongBytes": _LongBytes,
}


@pytest.mark.parametrize("kind", list(BUFFER_KINDS))
@pytest.mark.parametrize("record", [FbPoint, FbPacked, FbUnion], ids=lambda r: r.__name__)
def test_from_buffer_reads_the_bytes_of_every_buffer_kind(record: Any, kind: str) -> None:
    """Every buffer kind is measured in bytes (not items), at every offset: the record at
    ``offset`` is decoded when its bytes are all there, else ValueError; nothing else."""
    size = koffi.sizeof(record)
    raw = bytes(range(1, 3 * size + 1))
    for total in (0, 1, size - 1, size, size + 1, 2 * size + 3):
        buf = BUFFER_KINDS[kind](raw[:total])
        data = memoryview(buf).tobytes() if kind != "_LongBytes" else raw[:total]
        for offset in (0, 1, size - 1, size, size + 1, 2 * size):
            where = f"{kind} of {len(data)} bytes at offset {offset}"
            if offset + size <= len(data):
                expected = koffi.decode(data, record, None, offset)
                assert record.from_buffer(buf, offset) == expected, where
            else:
                with pytest.raises(ValueError, match=f"{size} bytes"):
                    record.from_buffer(buf, offset)


@pytest.mark.parametrize("offset", [True, False, 1.0, "1", None, b"\x01", [1]])
def test_from_buffer_offsets_must_be_ints(offset: Any) -> None:
    with pytest.raises(TypeError, match="offset"):
        FbPoint.from_buffer(bytes(64), offset)


@pytest.mark.parametrize("offset", [-1, -16, -(2**70)])
def test_from_buffer_offsets_must_not_be_negative(offset: int) -> None:
    with pytest.raises(ValueError, match="Offset must be >= 0"):
        FbPoint.from_buffer(bytes(64), offset)


@pytest.mark.parametrize("data", [None, 16, 1.5, "x" * 16, [0] * 16, {0: 0}, object()])
def test_from_buffer_of_a_non_buffer_names_what_it_got(data: Any) -> None:
    with pytest.raises(TypeError, match=f"buffer.*{type(data).__name__}"):
        FbPoint.from_buffer(data)


# ------------------------------------------------------- decode / encode / view arguments

_ACCESSES: dict[str, Callable[[Any, Any], object]] = {
    "decode": lambda ref, offset: koffi.decode(ref, "int", None, offset),
    "decode[2]": lambda ref, offset: koffi.decode(ref, "int", 2, offset),
    "decode[-1]": lambda ref, offset: koffi.decode(ref, "int", -1, offset),
    "encode": lambda ref, offset: koffi.encode(ref, "int", 1, None, offset),
    "encode[2]": lambda ref, offset: koffi.encode(ref, "int", [1, 2], 2, offset),
}
_REFS: dict[str, Callable[[], Any]] = {
    "bytearray": lambda: bytearray(32),
    "alloc": lambda: koffi.alloc("int", 8),
    "memoryview": lambda: memoryview(bytearray(32)),
}


@pytest.mark.parametrize("ref", list(_REFS))
@pytest.mark.parametrize("access", list(_ACCESSES))
def test_memory_offsets_are_typed_and_bounded(access: str, ref: str) -> None:
    run = _ACCESSES[access]
    for offset in (True, False, 1.0, "4", None, [4]):
        with pytest.raises(TypeError, match=f"offset must be an int, not {type(offset).__name__}"):
            run(_REFS[ref](), offset)
    for offset in (-1, -4, -(2**70)):
        with pytest.raises(ValueError, match="Offset must be >= 0"):
            run(_REFS[ref](), offset)
    for offset in (32, 2**40, 2**70):  # past the end; OverflowError: past the address space
        with pytest.raises((ValueError, OverflowError)):
            run(_REFS[ref](), offset)
    run(_REFS[ref](), 4)


@pytest.mark.parametrize("access", list(_ACCESSES))
@pytest.mark.parametrize("readonly", [False, True])
def test_non_contiguous_buffers_are_refused_as_memory(access: str, readonly: bool) -> None:
    data = bytes(64) if readonly else bytearray(64)
    with pytest.raises(TypeError, match="non-contiguous"):
        _ACCESSES[access](memoryview(data)[::2], 0)


# ------------------------------------------------- ints too large for float members

_FLOAT_HOLDERS = {
    "double": koffi.struct("FlD", {"a": "int8_t", "m": "double"}),
    "float": koffi.struct("FlF", {"a": "int8_t", "m": "float"}),
    "packed double": koffi.pack("FlPD", {"a": "int8_t", "m": "double"}),
    "union double": koffi.union("FlUD", {"i": "int64_t", "m": "double"}),
    "double [3]": koffi.struct("FlAD", {"a": "int8_t", "m": "double [3]"}),
    "long double": koffi.struct("FlLD", {"a": "int8_t", "m": "long double"}),
}


def _float_placements(lib: koffi.Library) -> dict[str, Callable[[Any, Any], object]]:
    return {
        "bytes": lambda cls, rec: bytes(rec),
        "encode": lambda cls, rec: koffi.encode(bytearray(koffi.sizeof(cls)), cls, rec),
        "by pointer": lambda cls, rec: lib.func(f"long long SumBytes(const {cls.__name__} *p, "
                                                "size_t size)")(rec, 1),
        "_Inout_": lambda cls, rec: lib.func(f"void FillBytes(_Inout_ {cls.__name__} *p, "
                                             "size_t size)")(rec, 1),
        "in a list": lambda cls, rec: lib.func(f"long long SumBytes(const {cls.__name__} *p, "
                                               "size_t size)")([cls(), rec], 1),
    }


@pytest.mark.parametrize("value", [2**1024, -(2**1024), 10**400])
@pytest.mark.parametrize("holder", list(_FLOAT_HOLDERS))
def test_ints_too_large_for_float_members_name_the_member(lib: koffi.Library, holder: str,
                                                          value: int) -> None:
    cls = _FLOAT_HOLDERS[holder]
    member = [value, 0.0, 1.0] if holder.endswith("[3]") else value
    for run in _float_placements(lib).values():
        with pytest.raises(OverflowError, match=rf"{cls.__name__}\.m"):
            run(cls, cls(m=member))


@pytest.mark.parametrize("value", [2**1024, -(2**1024)])
def test_ints_too_large_for_float_members_by_value_name_the_member(lib: koffi.Library,
                                                                   value: int) -> None:
    point = koffi.type("MPoint").python_class
    assert point is not None
    for decl in ("double PointSum(MPoint p)", "double PointPtrSum(const MPoint *p)"):
        f = lib.func(decl)
        for given in (point(x=1, y=value), {"x": 1, "y": value}):
            with pytest.raises(OverflowError, match=r"argument 'p': MPoint\.y"):
                f(given)
        assert f(point(x=1, y=2**60)) == 1 + 2.0**60


# ------------------------------------------------ text cut to fit a character array

_TEXT_ARRAYS = {  # element type → the array hint that makes it text
    "char": "String", "char16_t": "String", "char32_t": "String", "int8_t": "String",
    "int16_t": "String", "int32_t": "String",
}
_ALPHABET = ["a", "é", "€", "😀", "ß", "\udcff"]  # 1 to 4 UTF-8 bytes, a surrogate pair in
# UTF-16, and a byte that surrogateescape carries through UTF-8


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("elem", list(_TEXT_ARRAYS))
def test_text_cut_to_fit_an_array_keeps_whole_characters(elem: str, length: int) -> None:
    """A str longer than a ``T [length]`` member (or an `encode` of ``length`` elements) is
    cut to the longest prefix of whole characters that fits: never half of a UTF-8 sequence
    or of a UTF-16 surrogate pair, which C would read as a different (invalid) string."""
    unit = koffi.sizeof(elem)
    encoding = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[unit]
    errors = "surrogateescape" if unit == 1 else "strict"
    holder = koffi.struct(f"Txt_{elem}_{length}",
                          {"s": koffi.array(elem, length, _TEXT_ARRAYS[elem]), "end": "int8_t"})
    for first in _ALPHABET:
        for second in _ALPHABET:
            text = (first + second) * 4
            if unit > 1 and "\udcff" in text:
                continue  # not encodable in UTF-16/32: refused, tested elsewhere
            cases = [(length - 1, bytes(holder(s=text, end=1))[:length * unit])]  # NUL kept
            if elem.startswith("char"):  # koffi.encode takes text for character types
                cases.append((length, _encoded(elem, text, length)))
            for room, data in cases:
                kept = _longest_prefix(text, room * unit, encoding, errors)
                assert data == kept.encode(encoding, errors).ljust(length * unit, b"\0"), \
                    (text, room)
            assert holder.from_buffer(bytes(holder(s=text, end=1))).s == \
                _longest_prefix(text, (length - 1) * unit, encoding, errors)


def _encoded(elem: str, text: str, length: int) -> bytes:
    buf = bytearray(koffi.sizeof(elem) * length + 1)
    koffi.encode(buf, elem, text, length)
    return bytes(buf[:-1])


def _longest_prefix(text: str, room: int, encoding: str, errors: str) -> str:
    k = len(text)
    while len(text[:k].encode(encoding, errors)) > room:
        k -= 1
    return text[:k]


# ------------------------------------------------ counts too large to read or write at once

_AT_ONCE = 2**31 - 1  # the most bytes koffi.alloc, decode and encode handle at once


def _capped(fn: Callable[[], str]) -> Callable[[], str]:
    """``fn`` with the child's address space capped 1 GiB above what it maps now, so a
    runaway allocation fails (MemoryError) instead of exhausting the machine."""
    def run() -> str:
        import resource
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
        limit = vm * 1024 + 2**30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return fn()
    return run


def _huge_count_outcomes(elem: str, way: str, ref_kind: str) -> str:
    import ctypes

    size = koffi.sizeof(elem)
    storage = ctypes.create_string_buffer(b"hello", 64)
    refs: dict[str, Callable[[], Any]] = {
        "raw address": lambda: ctypes.addressof(storage),
        "alloc": lambda: koffi.alloc(elem, 4),
        "bytearray": lambda: bytearray(64),
    }
    lines = []
    for count in (_AT_ONCE // size + 1, 2**32 // size + 1, 2**33 // size, 2**40):
        try:
            if way == "decode":
                got = koffi.decode(refs[ref_kind](), elem, count)
                outcome = f"read {len(got)}"
            else:
                value: Any = "ab" if elem == "char" else [0]
                koffi.encode(refs[ref_kind](), elem, value, count)
                outcome = "wrote"
        except ValueError as exc:
            outcome = "refused" if ("at once" in str(exc) or "Expected buffer" in str(exc)
                                    or "outside" in str(exc)) else f"ValueError: {exc}"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        lines.append(f"{count}: {outcome}")
    return "\n".join(lines)


@pytest.mark.skipif(not sys.platform.startswith("linux") or sys.maxsize < 2**32,
                    reason="caps the child's memory through /proc and RLIMIT_AS (64-bit)")
@pytest.mark.parametrize("ref_kind", ["raw address", "alloc", "bytearray"])
@pytest.mark.parametrize("way", ["decode", "encode"])
@pytest.mark.parametrize("elem", ["char", "uint8_t", "int32_t", "double", "MPoint"])
def test_counts_beyond_what_fits_at_once_are_refused(elem: str, way: str,
                                                     ref_kind: str) -> None:
    """``decode``/``encode`` of more than 2**31 - 1 bytes raise ValueError (as ``alloc``
    does) before touching memory: no wrapped size (a short read passed off as the whole),
    struct.error, SystemError or an allocation of the whole count."""
    got = _forked(_capped(lambda: _huge_count_outcomes(elem, way, ref_kind)))
    assert all(line.endswith(": refused") for line in got.splitlines()), got


@pytest.mark.parametrize("count", [2**29 + 1, 2**30, 2**31 - 1])
def test_counted_members_beyond_what_fits_at_once_name_the_member(count: int) -> None:
    """A count (as C may leave it) too large to read at once raises ValueError naming the
    counted member, before reading anything."""
    holder = koffi.struct(f"Counted_{count}",
                          {"n": "int32_t", "p": koffi.pointer("int32_t", counted_by="n")})
    data = bytearray(bytes(holder(n=2, p=[1, 2])))
    data[:4] = count.to_bytes(4, sys.byteorder)
    with pytest.raises(ValueError, match=rf"Counted_{count}\.p: cannot read {count} elements"):
        koffi.decode(data, holder)


# ------------------------------------------- empty lists where C writes through the pointer

@pytest.mark.parametrize("marker", ["_Out_", "_Inout_"])
@pytest.mark.parametrize("pointee", [*POINTEES, "char", "uint8_t", "void *", "const char *"])
def test_empty_lists_are_refused_where_c_writes(lib: koffi.Library, pointee: str,
                                                marker: str) -> None:
    """An empty list for an ``_Out_``/``_Inout_`` pointer has no room for what C writes:
    an error naming the argument, not NULL handed to C (which would crash writing there).
    ``None`` still passes NULL on purpose, and an empty list for a read-only pointer too."""
    size = koffi.sizeof(pointee)

    def run() -> str:
        fill = lib.func(f"void FillBytes({marker} {pointee} *p, size_t size)")
        try:
            fill([], size)
        except (TypeError, ValueError) as exc:  # TypeError: char * takes ['text'] or a buffer
            return "refused" if "argument 'p'" in str(exc) else f"unnamed: {exc}"
        return "passed"

    assert _forked(run) == "refused"
    if pointee != "char":  # const char * is a string: str, bytes or None
        assert lib.func(f"long long SumBytes(const {pointee} *p, size_t size)")([], size) == -1
    assert lib.func(f"void FillBytes({marker} {pointee} *p, size_t size)")(None, size) is None


# ---------------------------------------------------- addresses beyond the address space

_ADDRESS_BITS = 8 * koffi.sizeof("void *")


@pytest.mark.parametrize("way", ["address", "offset", "pointer + n"])
@pytest.mark.parametrize("op", ["decode", "encode", "view", "deref", "index", "set"])
def test_addresses_beyond_the_address_space_never_wrap(op: str, way: str) -> None:
    """An address (or address + offset) of 2**64 or more never wraps around onto real
    memory: it raises OverflowError, and the memory it would wrap to is neither read nor
    written."""
    import ctypes

    def run() -> str:
        storage = ctypes.create_string_buffer(b"\x2a\0\0\0", 8)
        real = ctypes.addressof(storage)
        lines = []
        for beyond in (1 << _ADDRESS_BITS, 1 << (_ADDRESS_BITS + 6)):
            target = beyond + real
            try:
                if way == "address":
                    ref: Any = target
                    offset = 0
                elif way == "offset":
                    ref, offset = real, beyond
                else:
                    ref = koffi.decode(ctypes.addressof(ctypes.c_void_p(real)), "int32_t *")
                    ref, offset = ref + beyond // 4, 0
                if op == "decode":
                    got: object = koffi.decode(ref, "int32_t", None, offset)
                elif op == "encode":
                    koffi.encode(ref, "int32_t", 7, None, offset)
                    got = storage.raw[:4]
                elif op == "view":
                    got = bytes(koffi.view(ref if not offset else ref + offset, 4))
                else:
                    p = ref if isinstance(ref, koffi.Pointer) else \
                        koffi.Pointer(ref + offset, koffi.type("int32_t"))
                    if op == "deref":
                        got = p.deref()
                    elif op == "index":
                        got = p[0]
                    else:
                        p[0] = 7
                        got = storage.raw[:4]
                lines.append(f"{beyond:#x}: got {got!r}")
            except OverflowError:
                lines.append(f"{beyond:#x}: refused")
        return "\n".join(lines)

    got = _forked(run)
    assert all(line.endswith(": refused") for line in got.splitlines()), got


# ----------------------------------------------------------- pointer indexes and arithmetic

_BAD_INDEXES: list[Any] = [True, False, 1.0, "1", None, slice(0, 2), [0], b"\x00"]


@pytest.mark.parametrize("op", ["get", "set", "add", "sub"])
@pytest.mark.parametrize("pointee", ["int32_t", "double", "MPoint", "char"])
@pytest.mark.parametrize("owner", ["alloc", "raw"])
def test_pointer_indexes_must_be_ints(op: str, pointee: str, owner: str) -> None:
    """``p[i]``, ``p[i] = v``, ``p + n`` and ``p - n`` take ints, never bools, floats,
    strings or slices: TypeError naming the index's type."""
    import ctypes

    storage = ctypes.create_string_buffer(64)
    p = koffi.alloc(pointee, 2) if owner == "alloc" else \
        koffi.Pointer(ctypes.addressof(storage), koffi.type(pointee))
    value = p[0]
    for bad in _BAD_INDEXES:
        with pytest.raises(TypeError, match=type(bad).__name__):
            if op == "get":
                p[bad]
            elif op == "set":
                p[bad] = value
            elif op == "add":
                p + bad
            else:
                p - bad
    assert (p + 1) - 1 == p or int((p + 1) - 1) == int(p)
    p[1] = value
    assert p[1] == value


# ------------------------------------ what C writes behind pointer members given as dicts

koffi.struct("MPoints", {"count": "int32_t", "items": "MPoint *"})
koffi.struct("MUnions", {"count": "int32_t", "items": "MUnion *"})


@pytest.mark.parametrize("marker", ["_Inout_", ""])
@pytest.mark.parametrize("shape", ["dict", "list of dicts", "record", "list of records",
                                   "list of both"])
@pytest.mark.parametrize("kind", ["MPoint", "MUnion"])
def test_pointer_members_given_as_dicts_get_what_c_wrote(lib: koffi.Library, kind: str,
                                                         shape: str, marker: str) -> None:
    """A dict given for a pointer member (alone or in a list) is updated in place with what
    C wrote there, as a record would be, when the outer record is written back; nothing
    raises after the call."""
    cls = koffi.type(kind).python_class
    assert cls is not None
    key = "x" if kind == "MPoint" else "i"

    def one(v: int, as_dict: bool) -> Any:
        return {key: v} if as_dict else cls(**{key: v})

    items: Any = {
        "dict": one(1, True),
        "record": one(1, False),
        "list of dicts": [one(1, True), one(2, True)],
        "list of records": [one(1, False), one(2, False)],
        "list of both": [one(1, True), one(2, False)],
    }[shape]
    count = len(items) if isinstance(items, list) else 1
    holder = koffi.type(f"{kind}s").python_class
    assert holder is not None
    outer = holder(count=count, items=items)
    f = lib.func(f"void Bump{kind.removeprefix('M')}s({marker} {kind}s *h)")
    f(outer)
    got = items if isinstance(items, list) else [items]
    values = [g[key] if isinstance(g, dict) else getattr(g, key) for g in got]
    if marker:
        assert values == [11, 12][:count], (got, outer)
        if kind == "MPoint":
            assert [g["y"] if isinstance(g, dict) else g.y for g in got] == [0.5] * count
        assert outer.items is items
    else:
        assert values == [1, 2][:count]


# ------------------------------------------------ errors deep inside nested records

koffi.struct("NInner", {"a": "int8_t", "d": "double"})
koffi.union("NUnion", {"i": "int16_t", "inner": "NInner"})
koffi.struct("NMid", {"inner": "NInner", "u": "NUnion", "arr": "NInner [2]"})
koffi.struct("NOuter", {"tag": "int32_t", "mid": "NMid", "mids": "NMid [2]"})

# (where the bad value goes, as a path of members and indexes) for each misuse kind
_BAD_VALUES: dict[str, tuple[Any, type[Exception]]] = {
    "int out of range": (1000, OverflowError),
    "str for an int": ("x", TypeError),
    "int for a record": (5, TypeError),
}


def _paths() -> list[tuple[Any, ...]]:
    mid: list[tuple[Any, ...]] = [("inner",), ("inner", "a"), ("u", "inner", "a"), ("arr", 1), ("arr", 1, "a")]
    return [("mid", *p) for p in mid] + [("mids", 1, *p) for p in mid]


def _build(path: tuple[Any, ...], bad: Any, as_dict: bool) -> Any:
    """An NOuter (or its dict form) holding ``bad`` at ``path`` and zero values elsewhere."""
    def node(type_name: str, rest: tuple[Any, ...]) -> Any:
        t = koffi.type(type_name)
        if not rest:
            return bad
        head, tail = rest[0], rest[1:]
        assert t.members is not None
        member = t.members[head]
        if member.type.primitive == "Array":
            assert member.type.ref is not None
            items: list[Any] = [{}, {}]
            items[tail[0]] = node(member.type.ref.name, tail[1:])
            value: Any = items
        elif member.type.primitive in ("Record", "Union"):
            value = node(member.type.name, tail)
        else:
            value = bad
        if t.primitive == "Union" or as_dict:
            return {head: value}
        cls = t.python_class
        assert cls is not None
        return cls(**{head: value})
    return node("NOuter", path)


@pytest.mark.parametrize("as_dict", [False, True])
@pytest.mark.parametrize("misuse", list(_BAD_VALUES))
@pytest.mark.parametrize("path", _paths(), ids=lambda p: ".".join(map(str, p)))
def test_errors_inside_nested_records_name_the_whole_path(path: tuple[Any, ...], misuse: str,
                                                         as_dict: bool) -> None:
    """A wrong value deep inside nested records, unions and arrays of records is reported
    with its whole path from the outer record (``NOuter.mids[1].arr[1].a``)."""
    bad, error = _BAD_VALUES[misuse]
    if misuse == "int for a record" and isinstance(path[-1], str) and path[-1] == "a":
        bad, error = ("x", TypeError)
    if misuse != "int for a record" and (path[-1] == "inner" or isinstance(path[-1], int)):
        return  # a record slot: only the record misuse applies
    text = "NOuter" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    value = _build(path, bad, as_dict)
    outer = koffi.type("NOuter").python_class
    assert outer is not None
    for convert in (lambda: bytes(value if not as_dict else outer(**value)),
                    lambda: koffi.encode(bytearray(koffi.sizeof("NOuter")), "NOuter", value)):
        with pytest.raises(error, match=rf"^{re.escape(text)}: "):
            convert()


@pytest.mark.parametrize("index", [0, 2])
@pytest.mark.parametrize("bad", [5, "x", {"zz": 1}, {"x": 2**40}])
def test_errors_in_lists_for_pointer_members_name_the_item(index: int, bad: Any) -> None:
    holder = koffi.type("MPoints").python_class
    assert holder is not None
    items: list[Any] = [{}, {}, {}]
    items[index] = bad
    with pytest.raises((TypeError, OverflowError), match=rf"^MPoints\.items\[{index}\]"):
        bytes(holder(count=3, items=items))


# ------------------------------------------------------- record classes deriving from records

_DECORATORS: dict[str, Callable[..., Any]] = {
    "struct": koffi.struct, "union": koffi.union, "pack": koffi.struct(pack=1),
}


@pytest.mark.parametrize("derived", list(_DECORATORS))
@pytest.mark.parametrize("base_form", ["struct", "union", "pack", "dict"])
def test_records_cannot_derive_from_records(base_form: str, derived: str) -> None:
    """Deriving a record class from another record class raises TypeError naming both, at
    class creation: C has no inheritance, and the derived layout would silently drop the
    base's members (while type checkers, following dataclass rules, expect them)."""
    if base_form == "dict":
        base: Any = koffi.struct(f"DeriveBase_{derived}", {"a": "int8_t", "d": "double"})
    else:
        class Base:
            a: c.int8
            d: c.double
        Base.__name__ = Base.__qualname__ = f"DeriveBase_{base_form}_{derived}"
        base = _DECORATORS[base_form](Base)

    class Derived(base):  # type: ignore[misc]
        b: c.int32

    with pytest.raises(TypeError, match=rf"Derived.*{base.__name__}"):
        _DECORATORS[derived](Derived)


def test_plain_subclasses_of_records_stay_records_of_the_base() -> None:
    base = koffi.struct("PlainBase", {"a": "int8_t"})

    class Plain(base):  # type: ignore[misc, valid-type]
        def twice(self) -> int:
            return 2 * int(self.a)

    assert bytes(Plain(a=3)) == b"\x03" and Plain(a=3).twice() == 6


@pytest.mark.parametrize("ctype", ["int8_t", "uint64_t", "int"])
def test_index_objects_returning_non_ints_raise_type_error(ctype: str) -> None:
    class Bad:
        def __index__(self) -> Any:
            return "x"

    holder = koffi.struct(f"IndexHolder_{ctype.replace(' ', '_')}", {"a": ctype})
    with pytest.raises(TypeError, match="__index__"):
        bytes(holder(a=Bad()))
    with pytest.raises(TypeError, match="Bad"):
        koffi.alloc(ctype, 2)[Bad()]  # type: ignore[index]


# ------------------------------------------------------- values that refer back to themselves

_CycleNode = koffi.struct("CycleNode", {"v": "int32_t", "next": "CycleNode *"})
_CyclePair = koffi.struct("CyclePair", {"v": "int32_t", "items": "CyclePair *"})


def _cycles() -> dict[str, Callable[[], Any]]:
    node, pair = _CycleNode, _CyclePair

    def self_loop() -> Any:
        n = node(v=1)
        n.next = n
        return n

    def two_loop() -> Any:
        a, b = node(v=1), node(v=2)
        a.next, b.next = b, a
        return a

    def through_list() -> Any:
        p = pair(v=1)
        p.items = [pair(v=2), p]
        return p

    def through_dict() -> Any:
        d: dict[str, Any] = {"v": 1}
        d["next"] = d
        return node(v=0, next=d)

    return {"self": self_loop, "two": two_loop, "list": through_list, "dict": through_dict}


@pytest.mark.parametrize("way", ["bytes", "encode", "call"])
@pytest.mark.parametrize("shape", ["self", "two", "list", "dict"])
def test_values_referring_back_to_themselves_raise_value_error(lib: koffi.Library, shape: str,
                                                              way: str) -> None:
    value = _cycles()[shape]()
    t = koffi.type(type(value))
    with pytest.raises(ValueError, match=rf"{t.name}\.\w+.*refers back to itself"):
        if way == "bytes":
            bytes(value)
        elif way == "encode":
            koffi.encode(bytearray(t.size), t, value)
        else:
            lib.func(f"long long SumBytes(const {t.name} *p, size_t size)")(value, 1)


@pytest.mark.parametrize("depth", [1, 50, 99, 100, 101, 5000])
def test_chains_nest_up_to_a_bounded_depth(depth: int) -> None:
    """Records nested through pointer members are placed in memory up to 100 pointers deep
    (and read back whole); deeper chains raise ValueError instead of overflowing the stack
    (compiled codecs) or raising RecursionError."""
    head = _CycleNode(v=0)
    node = head
    for i in range(1, depth + 1):
        node.next = _CycleNode(v=i)
        node = node.next

    def run() -> str:
        try:
            data = bytes(head)
        except ValueError as exc:
            return "refused" if "nest more than 100" in str(exc) else f"unnamed: {exc}"
        seen, p = [], koffi.decode(data, _CycleNode)
        while p is not None:
            seen.append(p.v)
            p = p.next.deref() if p.next is not None else None
        return "ok" if seen == list(range(depth + 1)) else f"wrong: {seen}"

    assert _forked(run) == ("ok" if depth <= 100 else "refused")


# ------------------------------------------------ counts, lengths and addresses of utilities

_NOT_INTS: list[Any] = [True, False, 2.0, "2", None, [2]]


@pytest.mark.parametrize("bad", _NOT_INTS, ids=repr)
def test_utility_counts_that_are_not_ints_raise_type_error(bad: Any) -> None:
    """``alloc`` counts and ``view`` lengths of the wrong type raise TypeError (wrong values,
    such as 0 or -1, raise ValueError)."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        koffi.alloc("int", bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        koffi.view(bytearray(8), bad)
    for wrong in (0, -1):
        with pytest.raises(ValueError):
            koffi.alloc("int", wrong)
    with pytest.raises(ValueError):
        koffi.view(bytearray(8), -1)


@pytest.mark.parametrize("value", [-1, -(2**70), 2**64, 2**70])
def test_addresses_of_ints_beyond_the_address_space_raise(value: int) -> None:
    with pytest.raises(OverflowError, match="address"):
        koffi.address(value)
