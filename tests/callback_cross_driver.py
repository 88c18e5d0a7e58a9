"""Run callback differential cases under a foreign Python (``test_callback_differential``).

Usage: ``python3 callback_cross_driver.py CASES.json`` with the interpreter of the target
architecture. The host generated the cases and built the C library with the cross compiler;
this script imports koffi_typed pure from the checkout and runs ``cbdiff.run_batch`` (each
case in a forked child) and, on 64-bit targets, ``cbwide.run_all``, then prints ``CB-CROSS-RESULT <json>``. As in
``abi_cross_driver.py``, hypothesis and pytest are replaced by inert stand-ins.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

MARKER = "CB-CROSS-RESULT "


def main(argv: list[str]) -> int:
    with open(argv[1]) as f:
        spec = json.load(f)
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [spec["repo"], tests_dir]
    from abi_cross_driver import stub_test_frameworks

    stub_test_frameworks()
    import platform

    import abigen
    import cbdiff
    import cbwide
    import layoutgen as lg
    import test_abi_differential as tad

    import koffi_typed as koffi
    from koffi_typed import c

    counts: Counter[str] = Counter()
    failures: list[str] = []
    unsupported: Counter[str] = Counter()
    setup_errors: list[str] = []
    for b in spec["batches"]:
        batch = lg.batch_from_json(json.dumps(b["records"]))
        classes = lg.declare(batch, koffi, c)
        chosen = {r.name: abigen.union_choice(r, koffi.type(classes[r.name]))
                  for r in batch if r.kind == "union"}
        if chosen != b["chosen"]:
            setup_errors.append(f"union members chosen here {chosen} != host {b['chosen']}")
        cbdiff.run_batch(koffi, c, batch, b["library"], b["mixes"], b["seed"],
                         tad.run_forked, counts, failures, unsupported)
    wide_counts: Counter[str] = Counter()
    wide_failures: list[str] = []
    wide_unsupported: Counter[str] = Counter()
    if spec.get("wide"):
        cbwide.run_all(koffi, cbwide.from_json(spec["wide"]["signatures"]),
                       spec["wide"]["library"], tad.run_forked, wide_counts, wide_failures,
                       wide_unsupported)
    result: dict[str, Any] = {
        "python": sys.version.split()[0], "machine": platform.machine(),
        "counts": dict(counts), "failures": failures,
        "unsupported": dict(unsupported.most_common()), "setup_errors": setup_errors,
        "wide_counts": dict(wide_counts), "wide_failures": wide_failures,
        "wide_unsupported": dict(wide_unsupported),
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
