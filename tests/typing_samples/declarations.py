"""Typed declarations and records: precise types with no plugin (mypy and pyright)."""

from typing import Annotated, reveal_type

import koffi_typed as koffi
from koffi_typed import c

lib = koffi.load(None)


@lib.function
def cos(x: c.double) -> c.double: ...


@lib.function("labs")
def c_labs(x: c.long) -> c.long: ...


@koffi.struct
class Point:
    x: c.int32 = 0
    y: c.double = 0.0


@koffi.union
class Value:
    i: c.int64 = 0
    d: c.double = 0.0


reveal_type(cos(1.0))  # N: Revealed type is "float"  # P: float
reveal_type(c_labs)  # N: Revealed type is "koffi_typed.functions.Function[[x: int], int]"  # P: Function[(x: int), int]
reveal_type(Point().x)  # N: Revealed type is "int"  # P: int
reveal_type(Point(1, 2.0).y)  # N: Revealed type is "float"  # P: float
reveal_type(Value(d=1.0).i)  # N: Revealed type is "int"  # P: int
name: Annotated[str, "char [16]"] = ""
