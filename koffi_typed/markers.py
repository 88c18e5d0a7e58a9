"""Annotation markers for record members: `bits` (bitfields) and `align` (explicit alignment)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Align", "BitField"]


@dataclass(frozen=True)
class BitField:
    """Marks a member as a bitfield of ``width`` bits of the integer type ``spec``."""

    spec: object
    width: int

    def __repr__(self) -> str:
        name = getattr(self.spec, "name", None) or self.spec
        return f"bits({name!s}, {self.width})"


@dataclass(frozen=True)
class Align:
    """Gives a member an explicit alignment (Koffi's ``[align, type]`` member form)."""

    value: int

    def __repr__(self) -> str:
        return f"align({self.value})"
