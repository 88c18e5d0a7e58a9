"""Differential layout test: koffi_typed's layout engine against the C compiler.

Hypothesis generates batches of random C records (``tests/layoutgen.py``): structs and
unions, ``#pragma pack``, nested records, 1-D and 2-D arrays, bitfields and explicit member
alignment. Each batch is compiled once for the target. Runnable targets (host, i386, and
aarch64/armhf/riscv64 under qemu) print sizeof, _Alignof, offsetof and bitfield positions.
For the compile-only targets (win64, win32) the numbers are read back from ``-O2 -S`` output:
each sizeof/_Alignof/offsetof is a function that GCC folds into one immediate, and each bitfield
position comes from a constant object's initialiser bytes. The same records are declared with
koffi_typed, and every size, alignment, offset and bit position must match.

The host test always runs. The foreign targets are marked ``cross`` and run only with
``--cross`` (toolchains: ``.ci/install-toolchains``). ``KOFFI_LAYOUT_EXAMPLES=<n>`` raises the
number of generated records per target (default 200, checked nested records included). The
seed is fixed (``derandomize=True``), so runs are reproducible. ``KOFFI_LAYOUT_SHRINK=1``
turns on hypothesis shrinking of a failing batch (slow: one compile per shrink step).

Every run prints ``layout-diff <abi>: N records compared`` (shown with ``-s``) and stores
the counts in ``<cache>/layout-counts.json``.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import cbuild
import layoutgen as lg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from layoutgen import Layout, Member, Record

BATCH_SIZE = 20
DEFAULT_RECORDS = 200
FOREIGN_TARGETS = cbuild.FOREIGN_TARGETS
MAX_REPORTED = 3


def wanted_records() -> int:
    return int(os.environ.get("KOFFI_LAYOUT_EXAMPLES", DEFAULT_RECORDS))


def import_koffi() -> tuple[Any, Any]:
    import koffi_typed as koffi
    from koffi_typed import c

    return koffi, c


# --------------------------------------------------------------------------------------
# The two sides


def c_layouts(batch: Sequence[Record], target: str) -> dict[str, Layout]:
    """What the C compiler says, for every record of the batch."""
    flags = lg.TARGET_CFLAGS.get(target, ())
    if cbuild.TARGETS[target].can_run:
        out = cbuild.run_program(lg.probe_program(batch), target, flags=flags)
        layouts = lg.parse_probe_output(out)
    else:
        probe = lg.probe_asm_source(batch)
        asm = cbuild.compile_asm(probe.source, target, "-O2", flags=("-w", *flags))
        layouts = lg.parse_probe_asm(probe, asm)
    missing = [r.name for r in batch if r.name not in layouts]
    assert not missing, f"the C probe reported nothing for {missing}"
    return layouts


def koffi_layouts(batch: Sequence[Record], target: str) -> dict[str, Layout | str]:
    """What koffi_typed says; a string instead of a Layout when it raised."""
    koffi, c = import_koffi()
    abi = lg.ABI_OF_TARGET[target]
    classes = lg.declare(batch, koffi, c)
    out: dict[str, Layout | str] = {}
    for r in batch:
        try:
            out[r.name] = lg.koffi_layout(koffi, classes[r.name], r, abi)
        except Exception as exc:  # reported as a mismatch, with the C text
            out[r.name] = f"{type(exc).__name__}: {exc}"
    return out


def check_batch(batch: Sequence[Record], target: str) -> int:
    """Compare one batch; return the number of records checked, fail on any mismatch."""
    expected = c_layouts(batch, target)
    got = koffi_layouts(batch, target)
    failures = {r.name for r in batch if got[r.name] != expected[r.name]}
    if failures:
        # Report root causes first: failing records that contain no failing record.
        ordered = sorted(
            (r for r in batch if r.name in failures),
            key=lambda r: any(d.name in failures for d in lg.closure(batch, r.name)[:-1]),
        )
        parts = []
        for r in ordered[:MAX_REPORTED]:
            g = got[r.name]
            if isinstance(g, str):
                parts.append(
                    f"koffi_typed raised for {r.name} on {target}: {g}\n"
                    f"{lg.render_with_dependencies(batch, r.name)}\n"
                    f"C says: {expected[r.name]}"
                )
            else:
                parts.append(lg.describe_mismatch(batch, r, target, expected[r.name], g))
        more = len(failures) - len(parts)
        raise AssertionError(
            f"{len(failures)} of {len(batch)} records differ on {target}"
            + (f" ({more} more not shown)" if more > 0 else "")
            + ":\n\n"
            + "\n\n".join(parts)
        )
    return len(lg.checked_records(batch, failures))


def record_count(target: str, count: int, seconds: float) -> None:
    abi = lg.ABI_OF_TARGET[target] or f"host ({_host_abi()})"
    print(f"\nlayout-diff {abi}: {count} records compared ({seconds:.1f} s)")
    path = cbuild.cache_dir() / "layout-counts.json"
    with open(cbuild.cache_dir() / "layout-counts.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            data = {}
        data[lg.ABI_OF_TARGET[target] or "host"] = {
            "target": target,
            "abi": abi,
            "records": count,
            "seconds": round(seconds, 2),
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)


def _host_abi() -> str:
    try:
        koffi, _ = import_koffi()
        return str(koffi.abi.host())
    except Exception:
        return "?"


def run_differential(target: str) -> None:
    wanted = wanted_records()
    examples = math.ceil(wanted / BATCH_SIZE) + 1
    phases = [Phase.explicit, Phase.generate]
    if os.environ.get("KOFFI_LAYOUT_SHRINK"):
        phases.append(Phase.shrink)
    count = 0
    start = time.monotonic()

    @settings(
        derandomize=True,
        database=None,
        max_examples=examples,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=lg.batches(target, BATCH_SIZE))
    def check(batch: list[Record]) -> None:
        nonlocal count
        count += check_batch(batch, target)

    check()
    record_count(target, count, time.monotonic() - start)
    assert count >= wanted, f"only {count} records compared on {target}, wanted {wanted}"


# --------------------------------------------------------------------------------------
# Property tests


def test_layout_differential_host() -> None:
    run_differential("host")


@pytest.mark.cross
@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_layout_differential_cross(target: str) -> None:
    run_differential(target)


# --------------------------------------------------------------------------------------
# Hand-written cases known to be tricky


def _p(t: str, *dims: int, align: int | None = None) -> Member:
    return Member("prim", t, tuple(dims), align=align)


def _b(t: str, bits: int) -> Member:
    return Member("bitfield", t, bits=bits)


TRICKY: dict[str, list[Record]] = {
    # int bitfield after a char shares the char's int unit (GCC); MS starts a new unit.
    "char_bits4_char": [Record("T", "struct", None, (_p("char"), _b("int", 4), _p("char")))],
    "packed_char_int": [Record("T", "struct", 1, (_p("char"), _p("int")))],
    "union_char5_int": [Record("T", "union", None, (_p("char", 5), _p("int")))],
    # i386 SysV: long long is 4-aligned in structs, which moves the bitfield's unit.
    "char_llbits40_char": [
        Record("T", "struct", None, (_p("char"), _b("long long", 40), _p("char")))
    ],
    "char_double": [Record("T", "struct", None, (_p("char"), _p("double")))],
    "short_long_double": [Record("T", "struct", None, (_p("short"), _p("long double")))],
    "pack2_char_bits20_char": [Record("T", "struct", 2, (_p("char"), _b("int", 20), _p("char")))],
    "straddling_bits": [
        Record("T", "struct", None, (_b("uint8_t", 3), _b("uint16_t", 10), _b("uint32_t", 30)))
    ],
    "bool_bit_then_u64_63": [
        Record("T", "struct", None, (_p("char"), _b("_Bool", 1), _b("uint64_t", 63)))
    ],
    "aligned_members": [
        Record("T", "struct", None, (_p("char"), _p("int", align=2), _p("short", align=8)))
    ],
    "pack2_with_aligned_member": [
        Record("T", "struct", 2, (_p("char"), _p("int", align=8), _p("char")))
    ],
    "nested_packed": [
        Record("I", "struct", 1, (_p("char"), _p("double"))),
        Record("T", "struct", None, (_p("char"), Member("record", "I", (2,)), _p("short"))),
    ],
}

# What the C compiler itself must say (size, alignment) - a check of the oracle.
KNOWN_C: dict[tuple[str, str], tuple[int, int]] = {
    ("char_double", "host"): (16, 8),
    ("char_double", "i386"): (12, 4),
    ("char_double", "win32"): (16, 8),
    ("short_long_double", "host"): (32, 16),
    ("short_long_double", "i386"): (16, 4),
    ("short_long_double", "armhf"): (16, 8),
    ("short_long_double", "win64"): (16, 8),
    ("char_bits4_char", "host"): (4, 4),
    ("char_bits4_char", "win64"): (12, 4),
    ("packed_char_int", "host"): (5, 1),
    ("union_char5_int", "host"): (8, 4),
}

ALL_TARGETS = [
    "host",
    *(pytest.param(t, marks=pytest.mark.cross) for t in FOREIGN_TARGETS),
]


@pytest.mark.parametrize("target", ALL_TARGETS)
@pytest.mark.parametrize("case", sorted(TRICKY))
def test_layout_tricky(case: str, target: str) -> None:
    batch = TRICKY[case]
    expected = c_layouts(batch, target)
    known = KNOWN_C.get((case, target))
    if known is not None:
        e = expected[batch[-1].name]
        assert (e.size, e.align) == known, f"C oracle for {case} on {target}: {e}"
    check_batch(batch, target)
