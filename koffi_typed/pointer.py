"""Pointer values: `Pointer` (a C address and the type it points to) and `Cast` (`as_`).

Reading or writing through a pointer (``p[0]``, ``p.deref()``) needs the value codecs,
which sit above this module (they convert `Pointer` values themselves); `koffi_typed.marshal`
installs them here with `install_access` when it is imported.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from koffi_typed import probe
from koffi_typed.cparser import parse_type
from koffi_typed.typesystem import Type, resolve_type

if TYPE_CHECKING:
    from koffi_typed.heap import Block

__all__ = ["Cast", "Pointer", "Ptr", "as_", "compatible", "install_access", "new_pointer"]

T = TypeVar("T")

#: The largest address, and the end of the first page: no C object lives below it, so an
#: access there is a NULL pointer plus an offset (a member of a NULL record pointer).
ADDRESS_MAX: Final = 2 ** (8 * struct.calcsize("P")) - 1
NULL_PAGE: Final = 4096

_read_at: list[Callable[[int, Type], Any]] = []
_write_at: list[Callable[[int, Type, object], None]] = []

#: Blocks `koffi.free` released and `koffi_typed.heap` keeps in quarantine, by address,
#: and their sorted addresses: a read through any address inside one raises.
FREED: dict[int, Any] = {}
FREED_STARTS: list[int] = []


def freed_block(address: int, size: int = 1) -> Any:
    """The quarantined block (freed by `koffi.free`) that the ``size`` bytes at ``address``
    overlap, or ``None`` (cheap when nothing is quarantined)."""
    if not FREED:
        return None
    try:  # no lock: another thread may evict a block meanwhile (then it is gone)
        at = bisect.bisect_right(FREED_STARTS, address + max(size, 1) - 1) - 1
        block = FREED.get(FREED_STARTS[at]) if at >= 0 else None
    except IndexError:
        return None
    return block if block is not None and address < block.address + block.size else None

# ``p[i]`` of a pointer to a plain number reads it straight from memory (no codec, no
# intermediate Pointer): native byte order, nothing to range-check when reading.
_SCALAR_CODES: Final = {"Int8": "b", "UInt8": "B", "Int16": "h", "UInt16": "H",
                        "Int32": "i", "UInt32": "I", "Int64": "q", "UInt64": "Q",
                        "Float32": "f", "Float64": "d", "Bool": "?"}
_readers: dict[Type, Any] = {}


def _reader(t: Type) -> Any:
    """The bound ``unpack_from`` reading one ``t`` (False if ``t`` is not a plain number)."""
    code = _SCALAR_CODES.get(t.primitive) if t.python_class is None else None
    found = struct.Struct("@" + code).unpack_from if code is not None and \
        probe.SPACE is not None else False
    _readers[t] = found
    return found


def install_access(read: Callable[[int, Type], Any],
                   write: Callable[[int, Type, object], None]) -> None:
    """Set how a value of a type is read and written at an address (by `marshal`)."""
    _read_at[:] = [read]
    _write_at[:] = [write]


class Pointer(Generic[T]):
    """An address in C memory and the `Type` of what it points to.

    ``int(p)`` is the address, ``bool(p)`` is false for NULL, ``p.deref()`` and ``p[i]``
    read the pointee (or element ``i``), ``p.cast(spec)`` changes the pointee type, and
    ``p + n`` moves by ``n`` elements. As an annotation, ``koffi.Ptr["Node"]`` declares a
    typed pointer member (forward references allowed).
    """

    __slots__ = ("address", "block", "type")

    address: int
    type: Type
    block: Block | None

    def __init__(self, address: int, type: Type | str, block: Block | None = None) -> None:
        if not isinstance(type, Type):
            type = resolve_type(type)
        if isinstance(address, bool) or not isinstance(address, int) or address < 0:
            raise TypeError(f"Pointer address must be a non-negative int, not {address!r}")
        if address > ADDRESS_MAX:
            raise OverflowError(f"Pointer address {address:#x} is out of range for an "
                                f"address [0, {ADDRESS_MAX:#x}]")
        self.address = address
        self.type = type
        self.block = block

    def check_access(self, size: int) -> None:
        """Raise if ``size`` bytes at this address are NULL, freed or outside `koffi.alloc`'s block."""
        if not self.address:
            raise ValueError(f"Cannot access memory through a NULL pointer to {self.type.name}")
        if self.address < NULL_PAGE:
            raise ValueError(f"Cannot access memory at {self.address:#x}: a NULL pointer to "
                             f"{self.type.name} plus {self.address} bytes")
        if self.address + size - 1 > ADDRESS_MAX:
            raise ValueError(f"Access of {size} bytes at {self.address:#x} goes past the end "
                             "of the address space")
        block = self.block
        if block is not None:
            if block.freed:
                raise ValueError(f"Memory at {block.address:#x} was already freed")
            if not block.address <= self.address <= self.address + size <= block.end:
                raise ValueError(f"Access of {size} bytes at {self.address:#x} is outside the "
                                 f"{block.size}-byte block allocated at {block.address:#x}")

    def __int__(self) -> int:
        return self.address

    def __index__(self) -> int:
        return self.address

    def __bool__(self) -> bool:
        return self.address != 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pointer):
            return self.address == other.address
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.address)

    def __repr__(self) -> str:
        return f"<Pointer {self.type.name} * at {self.address:#x}>"

    def __add__(self, count: int) -> Pointer[T]:
        if isinstance(count, bool) or not isinstance(count, int):
            return NotImplemented  # floats, bools: Python's TypeError
        return Pointer(self.address + count * self._stride(), self.type, self.block)

    def __sub__(self, count: int) -> Pointer[T]:
        if isinstance(count, bool) or not isinstance(count, int):
            return NotImplemented
        return Pointer(self.address - count * self._stride(), self.type, self.block)

    def _stride(self) -> int:
        if self.type.size == 0:
            raise TypeError(f"Cannot do arithmetic on a pointer to {self.type.name}")
        return self.type.size

    def _element(self, index: int) -> Pointer[T]:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"Pointer indices must be int, not {type(index).__name__}")
        if self.type.size == 0:
            raise TypeError(f"Cannot access a value through a pointer to {self.type.name} "
                            "(incomplete type; use cast())")
        address = self.address + index * self.type.size
        # any copy of an address inside a freed block (from C, or made by hand) is known
        block = self.block if self.block is not None else freed_block(address, self.type.size)
        target: Pointer[T] = Pointer(address, self.type, block)
        target.check_access(self.type.size)
        return target

    def deref(self) -> Any:
        """Read the value pointed to."""
        return self[0]

    def __getitem__(self, index: int) -> Any:
        t = self.type
        read = _readers.get(t)
        if read is None:
            read = _reader(t)
        if read is not False and self.block is None and type(index) is int:
            address = self.address + index * t.size
            if NULL_PAGE <= address < probe.SPACE_END and not (
                    FREED and freed_block(address, t.size)):
                return read(probe.SPACE, address)[0]
        return _read_at[0](self._element(index).address, t)

    def __setitem__(self, index: int, value: object) -> None:
        _write_at[0](self._element(index).address, self.type, value)

    def cast(self, spec: object) -> Pointer[Any]:
        """The same address seen as another pointer type (``'int *'``) or pointee (``'int'``)."""
        t = resolve_type(spec)
        if t.primitive == "Pointer" and t.ref is not None:
            t = t.ref
        return Pointer(self.address, t, self.block)


def new_pointer(address: int, t: Type) -> Pointer[Any]:
    """A `Pointer` without argument checks, for trusted addresses coming from C."""
    p: Pointer[Any] = object.__new__(Pointer)
    p.address = address
    p.type = t
    p.block = None
    return p


Ptr = Pointer


def compatible(target: Type, actual: Type) -> bool:
    """Whether a pointer to ``actual`` may be passed where a pointer to ``target`` is wanted."""
    if target is actual or target.size == 0 or actual.size == 0:
        return True
    if target.primitive == actual.primitive and target.primitive not in (
            "Record", "Union", "Array", "Pointer", "Enum"):
        return target.size == actual.size
    return False


class Cast:
    """A value with an explicit pointer type, made by `as_` (Koffi's ``koffi.as``);
    ``const`` when the type points to const data (``'const char *'``)."""

    __slots__ = ("const", "type", "value")

    def __init__(self, value: object, t: Type, const: bool = False) -> None:
        self.value = value
        self.type = t
        self.const = const

    def __repr__(self) -> str:
        return f"as_({self.value!r}, {('const ' if self.const else '') + self.type.name!r})"


def as_(value: object, spec: object) -> Cast:
    """Tell koffi_typed which pointer type ``value`` is, e.g. for a ``void *`` parameter."""
    t = resolve_type(spec)
    if t.primitive not in ("Pointer", "String", "String16", "String32", "Callback"):
        raise TypeError("Only pointer or string types can be used for casting")
    return Cast(value, t, isinstance(spec, str) and parse_type(spec).readonly)
