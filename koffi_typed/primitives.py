"""The primitive table: every Koffi primitive type name and alias, once.

`koffi_typed.typesystem` builds the `Type` objects from it (sized by a `DataModel`), the mypy
plugin and stubgen read the names from it, so no list of primitives can miss one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["PRIMITIVES", "Prim"]


@dataclass(frozen=True)
class Prim:
    """One row of the primitive table.

    ``family`` is ``'int'``, ``'uint'``, ``'float'``, ``'bool'``, ``'void'`` or a string kind
    (``'String'``...); ``size_key`` is resolved by a `DataModel` (``'4'``, ``'long'``,
    ``'ptr'``...); ``swap`` marks byte order (``'le'``/``'be'``) for endian-specific integers.
    """

    name: str
    aliases: tuple[str, ...]
    family: str
    size_key: str
    swap: str = ""
    pointee: str = ""
    plain_char: bool = False


def _endian_prims() -> list[Prim]:
    rows = []
    for bits in (16, 32, 64):
        for sign in ("int", "uint"):
            for order in ("le", "be"):
                base = f"{sign}{bits}_{order}"
                rows.append(Prim(f"{base}_t", (base,), sign, str(bits // 8), order))
    return rows


PRIMITIVES: Final[tuple[Prim, ...]] = (
    Prim("void", (), "void", "0"),
    Prim("bool", ("_Bool",), "bool", "1"),
    Prim("int8_t", ("int8",), "int", "1"),
    Prim("uint8_t", ("uint8",), "uint", "1"),
    Prim("char", (), "int", "1", plain_char=True),
    Prim("unsigned char", ("uchar",), "uint", "1"),
    Prim("char16_t", ("char16",), "int", "2"),
    Prim("char32_t", ("char32",), "int", "4"),
    Prim("wchar_t", ("wchar",), "int", "wchar"),
    Prim("int16_t", ("int16",), "int", "2"),
    Prim("uint16_t", ("uint16",), "uint", "2"),
    Prim("short", (), "int", "2"),
    Prim("unsigned short", ("ushort",), "uint", "2"),
    Prim("int32_t", ("int32",), "int", "4"),
    Prim("uint32_t", ("uint32",), "uint", "4"),
    Prim("int", (), "int", "4"),
    Prim("unsigned int", ("uint",), "uint", "4"),
    Prim("int64_t", ("int64",), "int", "8"),
    Prim("uint64_t", ("uint64",), "uint", "8"),
    Prim("long long", ("longlong",), "int", "8"),
    Prim("unsigned long long", ("ulonglong",), "uint", "8"),
    Prim("long", (), "int", "long"),
    Prim("unsigned long", ("ulong",), "uint", "long"),
    Prim("intptr_t", ("intptr",), "int", "ptr"),
    Prim("uintptr_t", ("uintptr",), "uint", "ptr"),
    Prim("size_t", (), "uint", "ptr"),
    Prim("float", ("float32",), "float", "4"),
    Prim("double", ("float64",), "float", "f64"),
    Prim("long double", ("longdouble",), "float", "ldouble"),
    Prim("__int128", ("int128",), "int", "i128"),
    Prim("unsigned __int128", ("uint128",), "uint", "i128"),
    *_endian_prims(),
    Prim("char *", ("str", "string"), "String", "ptr", pointee="char"),
    Prim("char16_t *", ("char16 *", "str16", "string16"), "String16", "ptr", pointee="char16_t"),
    Prim("char32_t *", ("char32 *", "str32", "string32"), "String32", "ptr", pointee="char32_t"),
    Prim("wchar_t *", ("wchar *", "wstring"), "WideString", "ptr", pointee="wchar_t"),
)
