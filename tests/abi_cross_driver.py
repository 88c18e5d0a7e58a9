"""Run by-value differential cases under a foreign Python (``test_abi_differential_cross.py``).

Usage: ``python3 abi_cross_driver.py CASES.json`` with the interpreter of the target
architecture (i386 natively, the others under qemu-user). The host generated the records and
signatures, chose each union's checksum member with the target's layout and built the C
library with the cross compiler; this script declares the same records with koffi_typed
(imported pure from the repository), fills values and calls every signature through
koffi_typed and through plain ctypes, each call in a forked child, with the very functions
of ``test_abi_differential`` (``run_signature``, ``record``, ``ctypes_types``).

``CASES.json``::

    {"repo": "<repo root>",
     "batches": [{"records": [<layoutgen.Record as dict>...],
                  "signatures": [[name, record, args, give]...],
                  "chosen": {"<union>": <member index>}, "seed": <int>, "library": "<path>"}]}

Prints one line ``ABI-CROSS-RESULT <json>`` with the counts, every koffi_typed failure
(wrong or crash, with the C text) and the interpreter it ran on.

Only the foreign interpreter's stdlib and this checkout are imported: ``hypothesis`` and
``pytest``, which the shared test modules import but which nothing here runs, are replaced by
inert stand-ins (:func:`stub_test_frameworks`). The host's copies cannot be borrowed, since
recent hypothesis releases ship a compiled extension for the host's architecture only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from collections import Counter
from typing import Any

MARKER = "ABI-CROSS-RESULT "


class _Inert:
    """Any attribute, call, decoration or iteration of it gives nothing usable, quietly."""

    def __getattr__(self, name: str) -> _Inert:
        return _Inert()

    def __call__(self, *args: object, **kwargs: object) -> _Inert:
        return _Inert()

    def __iter__(self) -> Any:
        return iter(())


def stub_test_frameworks() -> None:
    """Register inert ``hypothesis``, ``hypothesis.strategies`` and ``pytest`` modules: the
    shared test modules use them only to define strategies and host tests at import."""
    for name in ("hypothesis", "hypothesis.strategies", "pytest"):
        module = types.ModuleType(name)
        module.__getattr__ = lambda attr: _Inert()  # type: ignore[method-assign]
        sys.modules[name] = module


def main(argv: list[str]) -> int:
    start = time.monotonic()
    with open(argv[1]) as f:
        spec = json.load(f)
    # -I keeps PYTHONPATH and the script directory out: the repository (pure koffi_typed)
    # and tests come first, then the foreign stdlib.
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [spec["repo"], tests_dir]
    stub_test_frameworks()

    import ctypes
    import platform
    import random

    import abigen
    import layoutgen as lg
    import test_abi_differential as tad

    import koffi_typed as koffi
    from koffi_typed import c

    if os.path.dirname(os.path.abspath(koffi.__file__)) != os.path.join(spec["repo"], "koffi_typed"):
        raise RuntimeError(f"imported koffi_typed from {koffi.__file__}, not from the repo")
    imported = time.monotonic()

    failures: list[dict[str, Any]] = []
    setup_errors: list[str] = []
    original_record = tad.record

    def record(sig: Any, mode: str, expected: int, outcome: tuple[str, str],
               batch: Any) -> None:
        before = Counter(tad.COUNTS[mode])
        original_record(sig, mode, expected, outcome, batch)
        status = next(iter(tad.COUNTS[mode] - before), "?")
        if mode == "koffi" and status in ("wrong", "crash"):
            failures.append({
                "signature": sig.koffi_decl(sig.record),
                "status": status,
                "expected": str(expected),
                "got": outcome[1][:500],
                "c": tad.describe(batch, sig),
            })

    tad.record = record
    family_signatures = 0
    for b in spec["batches"]:
        batch = lg.batch_from_json(json.dumps(b["records"]))
        classes = lg.declare(batch, koffi, c)
        ktypes = {name: koffi.type(cls) for name, cls in classes.items()}
        filler = abigen.Filler(batch, classes, koffi, spec["char_signed"])
        chosen = {r.name: abigen.union_choice(r, ktypes[r.name])
                  for r in batch if r.kind == "union"}
        if chosen != b["chosen"]:
            # The library's checksums follow the host's choice (from koffi.abi.layout for
            # this target); a different choice here means the two layouts disagree.
            setup_errors.append(f"union members chosen here {chosen} != host {b['chosen']}")
        sigs = [abigen.Signature.from_json(data) for data in b["signatures"]]
        if b["families"]:
            family_signatures += len(sigs)
        lib = koffi.load(b["library"])
        cdll = ctypes.CDLL(b["library"])
        cts = tad.ctypes_types(batch, ktypes)
        tad.SIGNATURES[0] += len(sigs)
        rnd = random.Random(b["seed"])
        for sig in sigs:
            tad.run_signature(sig, rnd, batch, ktypes, filler, lib, cdll, cts)

    import abi_examples

    examples: dict[str, tuple[str, str]] = {}
    for name, check in abi_examples.EXAMPLES.items():
        def run_example(check: Any = check) -> str:
            check(koffi.load(spec["examples"]), koffi, spec["char_signed"])
            return "passed"

        examples[name] = tad.run_forked(run_example)

    result = {
        "examples": examples,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "pointer_bits": ctypes.sizeof(ctypes.c_void_p) * 8,
        "signatures": tad.SIGNATURES[0],
        "family_signatures": family_signatures,
        "koffi": dict(tad.COUNTS["koffi"]),
        "ctypes": dict(tad.COUNTS["ctypes"]),
        "unsupported": dict(tad.UNSUPPORTED.most_common()),
        "failures": failures,
        "setup_errors": setup_errors,
        "import_seconds": round(imported - start, 2),
        "seconds": round(time.monotonic() - start, 2),
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
