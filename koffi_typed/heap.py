"""The C heap: `koffi.alloc` blocks (tracked by address), `koffi.free`, disposal of results.

Every block `alloc` returns is registered by its address, so a `Pointer` to it, or any copy of
that address C hands back, is checked. `free` does not give a block back to the C heap at
once: it keeps it in a bounded quarantine (the most recent blocks, up to `QUARANTINE_BLOCKS`
blocks and `QUARANTINE_BYTES` bytes) where its address cannot be reused, so a second `free`,
a read, a write or a call through any copy of the pointer raises instead of touching memory
that someone else may own. A block with live `koffi.view` s stays allocated until they die.
"""

from __future__ import annotations

import bisect
import ctypes
import threading
from typing import Any

from koffi_typed.pointer import FREED, FREED_STARTS, Pointer
from koffi_typed.typesystem import Type, resolve_type

__all__ = ["Block", "alloc", "dispose", "free", "live_allocations"]

_libc = ctypes.CDLL(None)
_calloc = _libc.calloc
_calloc.restype = ctypes.c_void_p
_calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_free = _libc.free
_free.restype = None
_free.argtypes = [ctypes.c_void_p]

#: Blocks quarantined by `free` (oldest first) before they go back to the C heap.
QUARANTINE_BLOCKS = 256
QUARANTINE_BYTES = 16 << 20

_blocks: dict[int, Block] = {}
#: Blocks `free` released that have not gone back to the C heap yet, by address.
quarantine: dict[int, Block] = FREED  # (Pointer reads consult it too)
quarantined_bytes = 0
_starts: list[int] = []  # sorted addresses of every block above, for `block_containing`
#: Guards the tables above: threads allocate, free and evict at once.
_lock = threading.RLock()
#: How many values of disposable types were freed after conversion (``stats()['disposed']``).
disposed_count = 0


class Block:
    """A block of memory whose bounds and lifetime koffi_typed knows: from `koffi.alloc`
    (misuse after `koffi.free` is caught), or a temporary made for one call that C returned
    a pointer into (``owner`` keeps it alive as long as the `Pointer` does)."""

    __slots__ = ("address", "freed", "owner", "pins", "size")

    def __init__(self, address: int, size: int, owner: object = None) -> None:
        self.address = address
        self.size = size
        self.owner = owner
        self.freed = False
        self.pins = 0  # live views of the block: it stays allocated while they exist

    def __repr__(self) -> str:
        state = "freed" if self.freed else "live"
        return f"<Block {self.size} bytes at {self.address:#x} {state}>"

    def pin(self) -> None:
        """Keep the memory allocated (a view of it exists), even across `free`."""
        with _lock:
            self.pins += 1

    def unpin(self) -> None:
        """Drop one pin; a freed block may go back to the C heap now."""
        with _lock:
            self.pins -= 1
            if not self.pins and self.freed:
                _evict()

    @property
    def end(self) -> int:
        """One past the last byte of the block."""
        return self.address + self.size


def alloc(spec: object, count: int = 1) -> Pointer[Any]:
    """Zeroed C memory (``calloc``) for ``count`` values of ``spec``; free it with `free`."""
    t = resolve_type(spec)
    if t.size == 0:
        raise TypeError(f"Cannot allocate values of type {t.name} (size 0)")
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"Allocation count must be a positive int, not "
                        f"{type(count).__name__}")
    if count <= 0:
        raise ValueError(f"Allocation count must be a positive int, not {count!r}")
    size = t.size * count
    if size > 2**31 - 1:
        raise ValueError(f"Cannot allocate {size} bytes at once (max = {2**31 - 1})")
    addr = _calloc(count, t.size)
    if not addr:
        raise MemoryError(f"calloc({count}, {t.size}) failed")
    block = Block(addr, size)
    with _lock:
        _blocks[addr] = block
        bisect.insort(_starts, addr)
    return Pointer(addr, t, block)


def free(ptr: object) -> None:
    """Free memory from `alloc` (or from C's ``malloc``); ``None`` is ignored.

    Freeing a `koffi.alloc` block twice raises `ValueError` instead of corrupting the heap.
    """
    global quarantined_bytes
    if ptr is None:
        return
    if not isinstance(ptr, Pointer):
        raise TypeError(f"free() expects a Pointer or None, not {type(ptr).__name__}")
    with _lock:
        block = ptr.block if ptr.block is not None else block_containing(ptr.address)
        if block is None:
            if ptr.address:
                _free(ptr.address)  # memory from C's malloc
            return
        if block.owner is not None:
            raise ValueError(f"{ptr.address:#x} points into memory koffi_typed made for a "
                             "call (it lives as long as this Pointer); only koffi.alloc "
                             "memory and memory from C's malloc can be freed")
        if block.freed:
            raise ValueError(f"Memory at {block.address:#x} was already freed")
        if ptr.address != block.address:
            raise ValueError(f"{ptr.address:#x} is inside the block allocated at "
                             f"{block.address:#x}; free the block's own pointer")
        block.freed = True
        del _blocks[block.address]
        quarantine[block.address] = block
        bisect.insort(FREED_STARTS, block.address)
        quarantined_bytes += block.size
        _evict()


def _evict() -> None:
    """Give quarantined blocks back to the C heap, oldest first, beyond the bounds (a block
    still viewed stays). Called with `_lock` held."""
    global quarantined_bytes
    while len(quarantine) > QUARANTINE_BLOCKS or quarantined_bytes > QUARANTINE_BYTES:
        block = next((b for b in quarantine.values() if not b.pins), None)
        if block is None:
            return
        del quarantine[block.address]
        del FREED_STARTS[bisect.bisect_left(FREED_STARTS, block.address)]
        quarantined_bytes -= block.size
        del _starts[bisect.bisect_left(_starts, block.address)]
        _free(block.address)


def block_at(address: int) -> Block | None:
    """The `alloc` block starting at ``address``, live or quarantined after `free`."""
    return _blocks.get(address) or quarantine.get(address)


def block_containing(address: int) -> Block | None:
    """The `alloc` block (live or quarantined) holding the byte at ``address``, if any."""
    with _lock:
        at = bisect.bisect_right(_starts, address) - 1
        if at < 0:
            return None
        block = block_at(_starts[at])
        return block if block is not None and address < block.end else None


def quarantined(address: int) -> bool:
    """Whether ``address`` starts a block that `free` released (cheap when none is)."""
    return bool(quarantine) and address in quarantine


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
