"""Annotation aliases for record members and typed declarations.

``c.int32`` is ``Annotated[int, <Type int32_t>]``: type checkers see ``int``, koffi_typed reads
the C type from the metadata. Every identifier-like primitive name of `koffi.types` has an
alias here (a test checks it). `bits` and `align` make bitfield and aligned-member metadata::

    flags: Annotated[int, c.bits(c.uint32, 3)]
    wide: Annotated[int, c.int16, c.align(8)]
"""

from __future__ import annotations

import builtins as _b
from typing import Annotated, TypeAlias

from koffi_typed.markers import Align, BitField
from koffi_typed.typesystem import Type, resolve_type

__all__ = ["align", "bits"]


def _t(name: _b.str) -> Type:
    return resolve_type(name)


def bits(spec: object, width: _b.int) -> BitField:
    """Bitfield metadata: ``width`` bits of the integer type ``spec`` (``c.uint32``, 'int')."""
    if isinstance(width, _b.bool) or not isinstance(width, _b.int) or width < 0:
        raise ValueError(f"Bitfield width must be a non-negative int, not {width!r}")
    return BitField(spec, width)


def align(value: _b.int) -> Align:
    """Explicit member alignment metadata (1, 2, 4, 8 or 16 bytes)."""
    if value not in (1, 2, 4, 8, 16):
        raise ValueError(f"Alignment must be 1, 2, 4, 8 or 16, not {value!r}")
    return Align(value)


void: TypeAlias = Annotated[None, _t("void")]
bool: TypeAlias = Annotated[_b.bool, _t("bool")]
int8_t: TypeAlias = Annotated[_b.int, _t("int8_t")]
int8: TypeAlias = Annotated[_b.int, _t("int8")]
uint8_t: TypeAlias = Annotated[_b.int, _t("uint8_t")]
uint8: TypeAlias = Annotated[_b.int, _t("uint8")]
char: TypeAlias = Annotated[_b.int, _t("char")]
uchar: TypeAlias = Annotated[_b.int, _t("uchar")]
char16_t: TypeAlias = Annotated[_b.int, _t("char16_t")]
char16: TypeAlias = Annotated[_b.int, _t("char16")]
char32_t: TypeAlias = Annotated[_b.int, _t("char32_t")]
char32: TypeAlias = Annotated[_b.int, _t("char32")]
wchar_t: TypeAlias = Annotated[_b.int, _t("wchar_t")]
wchar: TypeAlias = Annotated[_b.int, _t("wchar")]
int16_t: TypeAlias = Annotated[_b.int, _t("int16_t")]
int16: TypeAlias = Annotated[_b.int, _t("int16")]
uint16_t: TypeAlias = Annotated[_b.int, _t("uint16_t")]
uint16: TypeAlias = Annotated[_b.int, _t("uint16")]
short: TypeAlias = Annotated[_b.int, _t("short")]
ushort: TypeAlias = Annotated[_b.int, _t("ushort")]
int32_t: TypeAlias = Annotated[_b.int, _t("int32_t")]
int32: TypeAlias = Annotated[_b.int, _t("int32")]
uint32_t: TypeAlias = Annotated[_b.int, _t("uint32_t")]
uint32: TypeAlias = Annotated[_b.int, _t("uint32")]
int: TypeAlias = Annotated[_b.int, _t("int")]
uint: TypeAlias = Annotated[_b.int, _t("uint")]
int64_t: TypeAlias = Annotated[_b.int, _t("int64_t")]
int64: TypeAlias = Annotated[_b.int, _t("int64")]
uint64_t: TypeAlias = Annotated[_b.int, _t("uint64_t")]
uint64: TypeAlias = Annotated[_b.int, _t("uint64")]
longlong: TypeAlias = Annotated[_b.int, _t("longlong")]
ulonglong: TypeAlias = Annotated[_b.int, _t("ulonglong")]
long: TypeAlias = Annotated[_b.int, _t("long")]
ulong: TypeAlias = Annotated[_b.int, _t("ulong")]
intptr_t: TypeAlias = Annotated[_b.int, _t("intptr_t")]
intptr: TypeAlias = Annotated[_b.int, _t("intptr")]
uintptr_t: TypeAlias = Annotated[_b.int, _t("uintptr_t")]
uintptr: TypeAlias = Annotated[_b.int, _t("uintptr")]
size_t: TypeAlias = Annotated[_b.int, _t("size_t")]
float: TypeAlias = Annotated[_b.float, _t("float")]
float32: TypeAlias = Annotated[_b.float, _t("float32")]
double: TypeAlias = Annotated[_b.float, _t("double")]
float64: TypeAlias = Annotated[_b.float, _t("float64")]
longdouble: TypeAlias = Annotated[_b.float, _t("longdouble")]
int128: TypeAlias = Annotated[_b.int, _t("int128")]
uint128: TypeAlias = Annotated[_b.int, _t("uint128")]
int16_le_t: TypeAlias = Annotated[_b.int, _t("int16_le_t")]
int16_le: TypeAlias = Annotated[_b.int, _t("int16_le")]
int16_be_t: TypeAlias = Annotated[_b.int, _t("int16_be_t")]
int16_be: TypeAlias = Annotated[_b.int, _t("int16_be")]
uint16_le_t: TypeAlias = Annotated[_b.int, _t("uint16_le_t")]
uint16_le: TypeAlias = Annotated[_b.int, _t("uint16_le")]
uint16_be_t: TypeAlias = Annotated[_b.int, _t("uint16_be_t")]
uint16_be: TypeAlias = Annotated[_b.int, _t("uint16_be")]
int32_le_t: TypeAlias = Annotated[_b.int, _t("int32_le_t")]
int32_le: TypeAlias = Annotated[_b.int, _t("int32_le")]
int32_be_t: TypeAlias = Annotated[_b.int, _t("int32_be_t")]
int32_be: TypeAlias = Annotated[_b.int, _t("int32_be")]
uint32_le_t: TypeAlias = Annotated[_b.int, _t("uint32_le_t")]
uint32_le: TypeAlias = Annotated[_b.int, _t("uint32_le")]
uint32_be_t: TypeAlias = Annotated[_b.int, _t("uint32_be_t")]
uint32_be: TypeAlias = Annotated[_b.int, _t("uint32_be")]
int64_le_t: TypeAlias = Annotated[_b.int, _t("int64_le_t")]
int64_le: TypeAlias = Annotated[_b.int, _t("int64_le")]
int64_be_t: TypeAlias = Annotated[_b.int, _t("int64_be_t")]
int64_be: TypeAlias = Annotated[_b.int, _t("int64_be")]
uint64_le_t: TypeAlias = Annotated[_b.int, _t("uint64_le_t")]
uint64_le: TypeAlias = Annotated[_b.int, _t("uint64_le")]
uint64_be_t: TypeAlias = Annotated[_b.int, _t("uint64_be_t")]
uint64_be: TypeAlias = Annotated[_b.int, _t("uint64_be")]
str: TypeAlias = Annotated[_b.str | None, "const char *"]
string: TypeAlias = Annotated[_b.str | None, "const char *"]
str16: TypeAlias = Annotated[_b.str | None, "const char16_t *"]
string16: TypeAlias = Annotated[_b.str | None, "const char16_t *"]
str32: TypeAlias = Annotated[_b.str | None, "const char32_t *"]
string32: TypeAlias = Annotated[_b.str | None, "const char32_t *"]
wstring: TypeAlias = Annotated[_b.str | None, "const wchar_t *"]

__all__ += ["void", "bool", "int8_t", "int8", "uint8_t", "uint8", "char", "uchar", "char16_t", "char16", "char32_t", "char32", "wchar_t", "wchar", "int16_t", "int16", "uint16_t", "uint16", "short", "ushort", "int32_t", "int32", "uint32_t", "uint32", "int", "uint", "int64_t", "int64", "uint64_t", "uint64", "longlong", "ulonglong", "long", "ulong", "intptr_t", "intptr", "uintptr_t", "uintptr", "size_t", "float", "float32", "double", "float64", "longdouble", "int128", "uint128", "int16_le_t", "int16_le", "int16_be_t", "int16_be", "uint16_le_t", "uint16_le", "uint16_be_t", "uint16_be", "int32_le_t", "int32_le", "int32_be_t", "int32_be", "uint32_le_t", "uint32_le", "uint32_be_t", "uint32_be", "int64_le_t", "int64_le", "int64_be_t", "int64_be", "uint64_le_t", "uint64_le", "uint64_be_t", "uint64_be", "str", "string", "str16", "string16", "str32", "string32", "wstring"]
