"""Process-wide settings, read and changed through `koffi.config()`.

The keys and defaults are Koffi's. Koffi runs every call on stacks and heaps it allocates
itself; koffi_typed calls through ctypes, on the calling thread's own stack, and takes the
temporary memory of a call (strings, records and arrays behind pointers) from Python's
allocator as it needs it. So the four stack and heap sizes are accepted, range-checked and
reported for compatibility but change nothing (`MEANINGLESS`); the other keys act.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULTS", "DESCRIPTIONS", "MEANINGLESS", "get", "max_type_size", "update"]

_KIB: Final = 1024
_MIB: Final = 1024 * 1024

DEFAULTS: Final[dict[str, int]] = {
    "sync_stack_size": 2 * _MIB,
    "sync_heap_size": 1 * _MIB,
    "async_stack_size": 128 * _KIB,
    "async_heap_size": 128 * _KIB,
    "resident_async_pools": 8,
    "max_async_calls": 256,
    "max_type_size": 64 * _MIB,
}
_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "sync_stack_size": (1 * _KIB, 16 * _MIB),
    "sync_heap_size": (1 * _KIB, 16 * _MIB),
    "async_stack_size": (1 * _KIB, 16 * _MIB),
    "async_heap_size": (1 * _KIB, 16 * _MIB),
    "resident_async_pools": (0, 32),
    "max_async_calls": (1, 4096),
    "max_type_size": (32, 512 * _MIB),
}

#: What each setting does here (shown by ``help(koffi.config)``).
DESCRIPTIONS: Final[dict[str, str]] = {
    "sync_stack_size": "Koffi's stack for synchronous calls. No meaning over ctypes: a call "
                       "runs on the calling thread's own stack.",
    "sync_heap_size": "Koffi's arena for the temporary memory of a synchronous call. No "
                      "meaning over ctypes: temporary memory comes from Python's allocator, "
                      "as much as the call needs, and is released when the call returns.",
    "async_stack_size": "Koffi's stack for asynchronous calls. No meaning over ctypes: an "
                        "asynchronous call runs on a worker thread's own stack.",
    "async_heap_size": "Koffi's arena for the temporary memory of an asynchronous call. No "
                       "meaning over ctypes (see sync_heap_size).",
    "resident_async_pools": "Worker threads kept alive for asynchronous calls; workers "
                            "started beyond these (up to max_async_calls) exit once idle.",
    "max_async_calls": "Asynchronous calls running at once; more wait their turn. At least "
                       "resident_async_pools.",
    "max_type_size": "Largest size in bytes of a record or array type.",
}

#: Settings accepted for compatibility with Koffi that change nothing over ctypes.
MEANINGLESS: Final = frozenset({"sync_stack_size", "sync_heap_size", "async_stack_size",
                                "async_heap_size"})

_current: dict[str, int] = dict(DEFAULTS)


def get() -> dict[str, int]:
    """A copy of the current settings."""
    return dict(_current)


def update(values: dict[str, int]) -> dict[str, int]:
    """Change some settings (unknown keys and out-of-range values raise) and return all.

    Nothing changes unless every value is valid. ``max_async_calls`` given alone below
    ``resident_async_pools`` lowers the resident count to it; both given, they must agree.
    """
    for key, value in values.items():
        if key not in _LIMITS:
            raise ValueError(f"Unexpected config member {key!r} (known: {', '.join(DEFAULTS)})")
        lo, hi = _LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Setting {key!r} must be an int, not {type(value).__name__}")
        if not lo <= value <= hi:
            raise ValueError(f"Setting {key!r} must be between {lo} and {hi}, not {value}")
    merged = {**_current, **values}
    if "resident_async_pools" not in values:
        # Lowering max_async_calls alone lowers the resident workers with it.
        merged["resident_async_pools"] = min(merged["resident_async_pools"],
                                             merged["max_async_calls"])
    if merged["max_async_calls"] < merged["resident_async_pools"]:
        raise ValueError("Setting 'max_async_calls' must be >= 'resident_async_pools' "
                         f"({merged['max_async_calls']} < {merged['resident_async_pools']})")
    _current.update(merged)
    return get()


def max_type_size() -> int:
    """Largest size in bytes allowed for a record or array type."""
    return _current["max_type_size"]
