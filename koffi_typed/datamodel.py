"""C data models: what each ABI ruleset says about the size and alignment of C types.

This module is the only one that inspects the running interpreter's platform (`host_name`).
Everything else asks for a `DataModel` by ruleset name, so layouts for foreign targets can be
computed on any host.
"""

from __future__ import annotations

import platform
import struct
import sys
from dataclasses import dataclass
from typing import Final

__all__ = ["MODELS", "DataModel", "host_model", "host_name"]


@dataclass(frozen=True)
class DataModel:
    """Sizes and alignments of the C scalar types, and the record layout rules, of one ABI."""

    name: str
    pointer: int
    long: int
    wchar: int
    long_double: tuple[int, int]
    int64_align: int
    double_align: int
    int128: bool
    msvc_layout: bool
    zero_width_aligns: bool = False  # a ``T :0`` bitfield raises the record's alignment (ARM)
    big_endian: bool = False
    char_signed: bool = True  # plain ``char`` is signed (x86, Windows, Apple) or unsigned

    def scalar(self, key: str) -> tuple[int, int]:
        """Size and alignment of a scalar given by its size key (see `types.PRIMITIVES`)."""
        if key == "ptr":
            return self.pointer, self.pointer
        if key == "long":
            return self.long, min(self.long, self.int64_align)
        if key == "wchar":
            return self.wchar, self.wchar
        if key == "ldouble":
            return self.long_double
        if key == "i128":
            return 16, 16
        if key == "f64":
            return 8, self.double_align
        size = int(key)
        return size, (self.int64_align if size == 8 else size)


def _model(name: str, *, ptr: int = 8, long: int = 8, wchar: int = 4,
           ldouble: tuple[int, int] = (16, 16), i64: int = 8, f64: int = 8,
           i128: bool = True, msvc: bool = False, zero_aligns: bool = False,
           char_signed: bool = True) -> DataModel:
    return DataModel(name, ptr, long, wchar, ldouble, i64, f64, i128, msvc, zero_aligns,
                     char_signed=char_signed)


MODELS: Final[dict[str, DataModel]] = {
    m.name: m
    for m in (
        _model("sysv_x64"),
        _model("win64", long=4, wchar=2, ldouble=(8, 8), i128=False, msvc=True),
        # plain char is unsigned on Linux aarch64, arm32 and riscv64 (their psABIs)
        _model("aarch64", zero_aligns=True, char_signed=False),
        _model("aarch64_apple", ldouble=(8, 8)),
        _model("aarch64_win", long=4, wchar=2, ldouble=(8, 8), i128=False, msvc=True),
        _model("x86_cdecl", ptr=4, long=4, ldouble=(12, 4), i64=4, f64=4, i128=False),
        _model("x86_win", ptr=4, long=4, wchar=2, ldouble=(8, 8), i128=False, msvc=True),
        _model("arm32_hf", ptr=4, long=4, ldouble=(8, 8), i128=False, zero_aligns=True,
               char_signed=False),
        _model("riscv64_lp64d", char_signed=False),
        _model("loongarch64"),
    )
}


def host_name() -> str:
    """The ruleset name of the running process (`'sysv_x64'`, `'aarch64'`, `'win64'`, ...)."""
    machine = platform.machine().lower()
    bits64 = struct.calcsize("P") == 8
    windows = sys.platform == "win32"
    if machine in ("x86_64", "amd64", "i386", "i686", "x86"):
        if not bits64:
            return "x86_win" if windows else "x86_cdecl"
        return "win64" if windows else "sysv_x64"
    if machine in ("aarch64", "arm64", "armv8l") and bits64:
        if sys.platform == "darwin":
            return "aarch64_apple"
        return "aarch64_win" if windows else "aarch64"
    if machine.startswith("arm") or machine == "aarch64":
        return "arm32_hf"
    if machine.startswith("riscv64"):
        return "riscv64_lp64d"
    if machine.startswith("loongarch64"):
        return "loongarch64"
    raise RuntimeError(f"koffi_typed does not know the ABI of this machine ({machine!r})")


def host_model() -> DataModel:
    """The data model of the running process."""
    return MODELS[host_name()]
