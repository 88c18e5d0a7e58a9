"""Reading memory at untrusted addresses without crashing the process.

An address decoded from memory (a ``char *`` member, a string `koffi.decode` reads through a
pointer) may be garbage. On Linux ``process_vm_readv`` on our own process copies memory and
fails with ``EFAULT`` on an unmapped page instead of raising SIGSEGV; elsewhere the read is
unchecked (as ctypes' ``string_at`` is).
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["SPACE", "SPACE_END", "read", "readable_string"]

_PAGE = 4096

#: A memoryview spanning the address space (64-bit hosts), for unchecked scalar reads from
#: C memory: ``struct.Struct("@i").unpack_from(SPACE, address)`` costs half of ctypes'
#: ``c_int.from_address(address).value``. As unchecked as ``from_address``: only for
#: addresses koffi_typed trusts (non-NULL, not freed).
SPACE_END = sys.maxsize // 2
SPACE: memoryview | None = memoryview(
    (ctypes.c_char * SPACE_END).from_address(0)).cast("B") if sys.maxsize > 2**32 else None


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


_readv = None
if sys.platform.startswith("linux"):
    try:
        _readv = ctypes.CDLL(None, use_errno=True).process_vm_readv
        _readv.restype = ctypes.c_ssize_t
        _readv.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                           ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
    except AttributeError:
        _readv = None


def read(address: int, size: int) -> bytes | None:
    """``size`` bytes at ``address``, or ``None`` if some of them are not readable."""
    if size <= 0:
        return b""
    if not address:
        return None
    if _readv is None:
        return ctypes.string_at(address, size)
    buf = ctypes.create_string_buffer(size)
    local = _IoVec(ctypes.addressof(buf), size)
    remote = _IoVec(address, size)
    done = _readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if done != size:
        if done < 0 and ctypes.get_errno() not in (14,):  # EFAULT: unmapped
            # process_vm_readv refused (e.g. a seccomp policy): read unchecked
            return ctypes.string_at(address, size)
        return None
    return buf.raw


def readable_string(address: int, unit: int, limit: int | None = None) -> bytes | None:
    """The ``unit``-byte characters at ``address`` up to their NUL terminator (excluded),
    reading no further than ``limit`` (an end address) when it is known; ``None`` when the
    terminator is not found in readable memory (or before ``limit``)."""
    data = b""
    pos = address
    zero = bytes(unit)
    while True:
        end = pos + (_PAGE - pos % _PAGE)
        if limit is not None:
            end = min(end, limit)
        if end <= pos:
            return None
        chunk = read(pos, end - pos)
        if chunk is None:
            return None
        start = len(data) - len(data) % unit
        data += chunk
        pos = end
        at = data.find(zero, start)
        while at >= 0 and at % unit:
            at = data.find(zero, at + 1)
        if at >= 0:
            return data[:at]
