"""The C heap: `koffi.alloc` blocks (tracked by address), `koffi.free`, disposal of results.

Every block `alloc` returns is registered by its address, so a `Pointer` (or any copy of its
address that C hands back) to freed memory is caught instead of corrupting the heap.
"""

from __future__ import annotations

import ctypes
from typing import Any

from koffi_typed.pointer import Pointer
from koffi_typed.typesystem import Type, resolve_type

__all__ = ["Block", "alloc", "dispose", "free", "live_allocations"]

_libc = ctypes.CDLL(None)
_calloc = _libc.calloc
_calloc.restype = ctypes.c_void_p
_calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_free = _libc.free
_free.restype = None
_free.argtypes = [ctypes.c_void_p]

_blocks: dict[int, Block] = {}
#: How many values of disposable types were freed after conversion (``stats()['disposed']``).
disposed_count = 0


class Block:
    """A block of memory from `koffi.alloc`, so misuse after `koffi.free` is caught."""

    __slots__ = ("address", "freed", "size")

    def __init__(self, address: int, size: int) -> None:
        self.address = address
        self.size = size
        self.freed = False

    @property
    def end(self) -> int:
        """One past the last byte of the block."""
        return self.address + self.size


def alloc(spec: object, count: int = 1) -> Pointer[Any]:
    """Zeroed C memory (``calloc``) for ``count`` values of ``spec``; free it with `free`."""
    t = resolve_type(spec)
    if t.size == 0:
        raise TypeError(f"Cannot allocate values of type {t.name} (size 0)")
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"Allocation count must be a positive int, not {count!r}")
    size = t.size * count
    if size > 2**31 - 1:
        raise ValueError(f"Cannot allocate {size} bytes at once (max = {2**31 - 1})")
    addr = _calloc(count, t.size)
    if not addr:
        raise MemoryError(f"calloc({count}, {t.size}) failed")
    block = Block(addr, size)
    _blocks[addr] = block
    return Pointer(addr, t, block)


def free(ptr: object) -> None:
    """Free memory from `alloc` (or from C's ``malloc``); ``None`` is ignored.

    Freeing a `koffi.alloc` block twice raises `ValueError` instead of corrupting the heap.
    """
    if ptr is None:
        return
    if isinstance(ptr, Pointer):
        block = ptr.block or _blocks.get(ptr.address)
        if block is not None:
            if block.freed:
                raise ValueError(f"Memory at {block.address:#x} was already freed")
            if ptr.address != block.address:
                raise ValueError(f"{ptr.address:#x} is inside the block allocated at "
                                 f"{block.address:#x}; free the block's own pointer")
            block.freed = True
            _blocks.pop(block.address, None)
        _free(ptr.address)
        return
    raise TypeError(f"free() expects a Pointer or None, not {type(ptr).__name__}")


def live_allocations() -> int:
    """How many `alloc` blocks are not freed yet."""
    return len(_blocks)


def dispose(t: Type, address: int) -> None:
    """Free what a disposable type returned, once it has been converted."""
    global disposed_count
    if not t.disposable or not address:
        return
    free_function = t._dispose
    if free_function is None:
        _free(address)
    else:
        free_function(Pointer(address, t.ref or resolve_type("void")))
    disposed_count += 1
