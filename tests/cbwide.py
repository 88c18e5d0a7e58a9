"""Callback differential cases with 128-bit integers: C drivers call Python callbacks that take
and return ``__int128`` / ``unsigned __int128`` among other scalars (``test_callback_differential``,
natively and under qemu through ``callback_cross_driver.py``; 64-bit targets only).

Each signature mixes 1-12 arguments drawn from :data:`SCALARS`, so the 128-bit values land in
register pairs, in the last register (split on riscv64, skipped to the stack elsewhere), at the
odd register AAPCS64 skips, and on the stack at both 8 (mod 16) and 0 (mod 16) offsets. The
result is a 128-bit integer or a plain ``int64_t``. The driver calls the callback with constants
written into the C source, and returns the result folded to 64 bits; the callback checks every
argument it received. Each case runs transient, registered and from a thread C creates.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SCALARS = ("__int128", "unsigned __int128", "int64_t", "double", "int32_t", "uint16_t",
           "int8_t", "float")
WIDE = ("__int128", "unsigned __int128")
RESULTS = (*WIDE, "int64_t")
MODES = ("transient", "registered", "thread")

_EDGES = {
    "__int128": [-(2**127), 2**127 - 1, -1, 0, 2**64, -(2**64), 2**63, 1],
    "unsigned __int128": [2**128 - 1, 2**127, 2**64 - 1, 2**64, 0, 1],
}
_RANGES = {"int64_t": (-(2**63), 2**63 - 1), "int32_t": (-(2**31), 2**31 - 1),
           "uint16_t": (0, 2**16 - 1), "int8_t": (-128, 127),
           "__int128": (-(2**127), 2**127 - 1), "unsigned __int128": (0, 2**128 - 1)}


@dataclass
class Signature:
    name: str
    result: str
    args: list[str]
    values: list[Any]
    returned: int


def _value(rnd: random.Random, t: str, j: int) -> Any:
    if t == "double":
        return j + 0.25 + rnd.randint(0, 999) / 8
    if t == "float":
        return j + 0.5 + rnd.randint(0, 99) / 4  # exact in a float
    if t in _EDGES and rnd.random() < 0.4:
        return rnd.choice(_EDGES[t])
    lo, hi = _RANGES[t]
    return rnd.randint(lo, hi)


def signatures(seed: int, count: int) -> list[Signature]:
    """``count`` random signatures, each with at least one 128-bit argument or result."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        n = rnd.randint(1, 12)
        args = [rnd.choice(SCALARS) for _ in range(n)]
        result = rnd.choice(RESULTS)
        if result not in WIDE and not any(a in WIDE for a in args):
            args[rnd.randrange(n)] = rnd.choice(WIDE)
        values = [_value(rnd, t, j) for j, t in enumerate(args)]
        out.append(Signature(f"w{seed}_{i}", result, args, values,
                             _value(rnd, result, 99)))
    return out


def fold(value: int, t: str) -> int:
    """What the drivers return for a result of type ``t``: a 128-bit one's low and high 64
    bits xor-ed (two's complement), as a ``uint64_t``."""
    if t not in WIDE:
        return value % 2**64
    v = value % 2**128
    return (v ^ (v >> 64)) % 2**64


def _c_literal(t: str, v: Any) -> str:
    if t in ("double", "float"):
        return f"({t}){float(v)!r}"
    if t in WIDE:
        u = v % 2**128
        whole = f"(((unsigned __int128){u >> 64:#x}ULL << 64) | {u % 2**64:#x}ULL)"
        return f"(({t}){whole})"
    if t == "int64_t" and v == -(2**63):
        return "(int64_t)(-9223372036854775807LL - 1)"
    return f"({t}){v}{'LL' if t == 'int64_t' else ''}"


_THREAD = """\
#include <pthread.h>
#include <stdint.h>
typedef struct { uint64_t (*fn)(void *); uint64_t out; } wjob_t;
static void *wjob_main(void *arg) { wjob_t *j = arg; j->out = j->fn(0); return 0; }
static uint64_t w_in_thread(uint64_t (*fn)(void *)) {
    wjob_t j = {fn, 0};
    pthread_t t;
    if (pthread_create(&t, 0, wjob_main, &j)) return 0;
    pthread_join(t, 0);
    return j.out;
}
"""


def render(sigs: Sequence[Signature]) -> str:
    """C source: one callback type, one driver and one threaded driver per signature."""
    out = [_THREAD]
    for s in sigs:
        params = ", ".join(s.args)
        call = ", ".join(_c_literal(t, v) for t, v in zip(s.args, s.values))
        fold_r = "(uint64_t)r ^ (uint64_t)((unsigned __int128)r >> 64)" if s.result in WIDE \
            else "(uint64_t)r"
        out += [
            f"typedef {s.result} {s.name}_cb({params});",
            f"static {s.name}_cb *{s.name}_cur;",
            f"uint64_t {s.name}_drv({s.name}_cb *cb) {{",
            f"    {s.result} r = cb({call});",
            f"    return {fold_r};",
            "}",
            f"static uint64_t {s.name}_run(void *unused) {{ (void)unused; "
            f"return {s.name}_drv({s.name}_cur); }}",
            f"uint64_t {s.name}_thr({s.name}_cb *cb) {{",
            f"    {s.name}_cur = cb;",
            f"    return w_in_thread({s.name}_run);",
            "}",
        ]
    return "\n".join(out) + "\n"


def _proto(s: Signature) -> str:
    params = ", ".join(f"{t} a{j}" for j, t in enumerate(s.args))
    return f"{s.result} {s.name}_cb({params})"


def run_case(koffi: Any, lib: Any, s: Signature) -> str:
    """Every mode of one signature: ``'mode=folded result,...'`` or the first mismatch."""
    koffi.proto(_proto(s))
    drv = lib.func(f"uint64_t {s.name}_drv({s.name}_cb *cb)")
    thr = lib.func(f"uint64_t {s.name}_thr({s.name}_cb *cb)")
    seen: list[str] = []

    def callback(*args: Any) -> Any:
        for j, (t, got, want) in enumerate(zip(s.args, args, s.values)):
            if got != want or type(got) is not type(want):
                seen.append(f"argument {j} ({t}): {got!r} != {want!r}")
        if len(args) != len(s.args):
            seen.append(f"{len(args)} arguments, not {len(s.args)}")
        return s.returned

    out = []
    for mode in MODES:
        if mode == "registered":
            pointer = koffi.register(callback, f"{s.name}_cb *")
            try:
                got = drv(pointer)
            finally:
                koffi.unregister(pointer)
        else:
            got = (thr if mode == "thread" else drv)(callback)
        out.append(f"{mode}={got}")
    if seen:
        return "E" + "; ".join(seen[:3])
    return "R" + ",".join(out)


def expected(s: Signature) -> str:
    return "R" + ",".join(f"{m}={fold(s.returned, s.result)}" for m in MODES)


def run_all(koffi: Any, sigs: Sequence[Signature], library: str,
            run_forked: Callable[..., tuple[str, str]], counts: Counter[str],
            failures: list[str], unsupported: Counter[str]) -> None:
    """Each signature in a forked child, counted by outcome as ``cbdiff.run_batch`` does."""
    lib = koffi.load(library)
    for s in sigs:
        def one(s: Signature = s) -> str:
            try:
                return run_case(koffi, lib, s)
            except NotImplementedError as exc:
                return "N" + str(exc).replace("\n", " ")
            except Exception as exc:
                return "E" + f"{type(exc).__name__}: {exc}".replace("\n", " ")

        status, got = run_forked(one)
        want = expected(s)
        if status == "ok":
            outcome = {"R": "ok", "N": "unsupported", "E": "wrong"}[got[:1]]
            if outcome == "ok" and got != want:
                outcome = "wrong"
        else:
            outcome = "wrong" if status == "error" else status
        counts[outcome] += 1
        if outcome == "unsupported":
            unsupported[got[1:121]] += 1
        if outcome in ("wrong", "crash") and len(failures) < 8:
            failures.append(f"callback {_proto(s)}: {outcome}: {got[:400]}\n"
                            f"expected {want}\nvalues {s.values!r}, returns {s.returned!r}")


def to_json(sigs: Sequence[Signature]) -> list[dict[str, Any]]:
    return [{"name": s.name, "result": s.result, "args": s.args, "values": s.values,
             "returned": s.returned} for s in sigs]


def from_json(items: Sequence[dict[str, Any]]) -> list[Signature]:
    return [Signature(**item) for item in items]
