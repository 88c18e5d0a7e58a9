"""Process-wide settings, read and changed through `koffi.config()`."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULTS", "get", "max_type_size", "update"]

DEFAULTS: Final[dict[str, int]] = {
    "max_type_size": 64 * 1024 * 1024,
    "max_async_calls": 256,
}
_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "max_type_size": (32, 512 * 1024 * 1024),
    "max_async_calls": (1, 4096),
}
_current: dict[str, int] = dict(DEFAULTS)


def get() -> dict[str, int]:
    """A copy of the current settings."""
    return dict(_current)


def update(values: dict[str, int]) -> dict[str, int]:
    """Change some settings (unknown keys and out-of-range values raise) and return all."""
    for key, value in values.items():
        if key not in _LIMITS:
            raise ValueError(f"Unknown configuration key {key!r}")
        lo, hi = _LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"Setting {key!r} must be an integer between {lo} and {hi}")
    _current.update(values)
    return get()


def max_type_size() -> int:
    """Largest size in bytes allowed for a record or array type."""
    return _current["max_type_size"]
