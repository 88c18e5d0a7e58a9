"""``koffi.types``: the primitive C types by Koffi name and alias.

``koffi.types.int32``, ``koffi.types.str``, ``koffi.types.uint64_be_t``, ... are `Type`
objects sized for the host (``long`` is 8 bytes on LP64, 4 on Windows and 32-bit). Only
primitive types live here; `koffi.type` resolves every other C type string.
"""

from __future__ import annotations

from koffi_typed import typesystem as _typesystem


def __getattr__(name: str) -> _typesystem.Type:
    found = _typesystem.primitive(name)
    if found is None:
        raise AttributeError(f"koffi_typed.types has no primitive type {name!r}")
    return found


def __dir__() -> list[str]:
    return _typesystem.primitive_names()
