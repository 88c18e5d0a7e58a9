"""Resident memory growth over many calls: ``python bench/memory.py``.

Runs 1,000,000 calls of each scalar case and 100,000 of each record case (the same cases as
bench/run.py) and prints how much the process's resident set grew during each; the target is
under 5 MiB per case.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

SCALAR = ("abs(int)", "sum6(6 ints)", "cos(double)", "strlen(str)", "snprintf variadic")
RECORD = ("{int;double} by value in+out", "48-byte record _Out_", "union by value")


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def main() -> int:
    cases = run.koffi_cases(run.build_library())
    worst = 0
    for names, count in ((SCALAR, 1_000_000), (RECORD, 100_000)):
        for name in names:
            fn = cases[name]
            for _ in range(1000):  # warm caches and allocator pools first
                fn()
            gc.collect()
            before = rss_kib()
            for _ in range(count):
                fn()
            gc.collect()
            grown = rss_kib() - before
            worst = max(worst, grown)
            print(f"{name:32s} {count:>9,} calls: resident memory +{grown / 1024:.2f} MiB")
    print(f"worst growth {worst / 1024:.2f} MiB (target < 5 MiB)")
    return 0 if worst < 5 * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
