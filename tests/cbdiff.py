"""Callback differential cases: C drivers call Python callbacks that take and return records
by value (``test_callback_differential.py``, natively and under qemu through
``callback_cross_driver.py``).

Records come from ``abigen.batches`` (structs, unions, packed, bitfields, nested, arrays) plus
:data:`FIXED`, one record per shape the ABIs treat specially (two register classes, HFAs, FP
pairs, small integer records, MEMORY results, packed, bitfield and union results). For each
record ``R`` the C library has four callback types and a driver for each:

- ``ret``: ``R cb(int64_t s, double x)``; the driver returns a checksum of the result;
- ``late``: ``R cb(6 x int64_t, 8 x double, R v, int64_t t)``: the record argument after the
  registers are used up, a stack argument after it, and a record result;
- ``mix``: a random mix of ``int64_t``/``double``/``R`` arguments and a record result;
- ``arg``: ``uint64_t cb(R v, double d)``: a record argument with a scalar result.

``ret`` and ``late`` also have ``*_thr`` drivers that make the call from a thread C creates.
Every callback checks what it received (C passes values derived from a seed) and returns a
value filled by ``abigen.Filler``; the driver returns ``abigen``'s checksum of every member of
the result, which Python computes too. Each case runs its modes (transient and registered
callbacks, calling thread and C thread); the cases of one record run in one forked child, so
a crash fails that record's cases only.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import abigen
import layoutgen as lg
from layoutgen import Member, Record

N_INT, N_FP = abigen.N_INT, abigen.N_FP
KINDS = ("ret", "late", "mix", "arg")
THREADED = ("ret", "late")


def _m(t: str, dims: tuple[int, ...] = ()) -> Member:
    return Member("prim", t, dims)


FIXED: list[Record] = [
    Record("Vec2", "struct", None, (_m("double"), _m("double"))),
    Record("DblLong", "struct", None, (_m("double"), _m("int64_t"))),
    Record("LongDbl", "struct", None, (_m("int64_t"), _m("double"))),
    Record("LongLong", "struct", None, (_m("int64_t"), _m("int64_t"))),
    Record("Hfa4f", "struct", None, (_m("float"), _m("float"), _m("float"), _m("float"))),
    Record("Hfa3d", "struct", None, (_m("double"), _m("double"), _m("double"))),
    Record("Hfa4d", "struct", None, (_m("double"),) * 4),
    Record("FltFlt", "struct", None, (_m("float"), _m("float"))),
    Record("IntFlt", "struct", None, (_m("int32_t"), _m("float"))),
    Record("DblInt", "struct", None, (_m("double"), _m("int32_t"))),
    Record("Bytes3", "struct", None, (_m("uint8_t", (3,)),)),
    Record("Short1", "struct", None, (_m("int16_t"),)),
    Record("Int3", "struct", None, (_m("int32_t"),) * 3),
    Record("Big", "struct", None, (_m("int64_t"), _m("int64_t"), _m("int64_t"))),
    Record("Bigger", "struct", None, (_m("double", (5,)), _m("int8_t"))),
    Record("Packed", "struct", 1, (_m("int8_t"), _m("int32_t"), _m("int16_t"))),
    Record("PackedDbl", "struct", 1, (_m("uint8_t"), _m("double"))),
    Record("UIntFlt", "union", None, (_m("int32_t"), _m("float"))),
    Record("UDblLong", "union", None, (_m("double"), _m("int64_t"))),
    Record("UBig", "union", None, (_m("int64_t", (3,)), _m("double"))),
    Record("Bits", "struct", None, (Member("bitfield", "uint32_t", bits=3),
                                    Member("bitfield", "uint32_t", bits=13),
                                    _m("int16_t"))),
    Record("LongDouble", "struct", None, (_m("long double"),)),
    Record("ULongDbl8", "union", None, (Member("prim", "long double", align=8),)),
    Record("PackedFltDbl", "struct", 1, (_m("float"), _m("double"))),
    # a union of long double with an integer is MEMORY by itself, and so is a union holding it
    # (GCC classifies members one by one), whatever the merged eightbytes say
    Record("ULdBits", "union", None, (Member("bitfield", "int16_t", bits=5),
                                      _m("long double"))),
    Record("UHoldsLd", "union", None, (_m("float"), _m("int64_t", (2,)),
                                       Member("record", "ULdBits"))),
    Record("Aligned16", "struct", None, (Member("prim", "int64_t", align=16), _m("int32_t"))),
    Record("Packed8x12", "struct", 1, (Member("prim", "int32_t", align=8), _m("int32_t"),
                                       _m("int32_t"))),
    # a union's bitfield is an integer of its width's mode to GCC: misaligned, MEMORY
    Record("PkU32", "union", 1, (Member("bitfield", "uint64_t", bits=32),)),
    Record("HoldsPkU", "struct", None, (Member("bitfield", "int32_t", bits=15),
                                        Member("record", "PkU32", align=2),
                                        Member("bitfield", "uint16_t", bits=6))),
    # over-aligned to 16: the second eightbyte is padding only (NO_CLASS, no register)
    Record("Short16", "union", None, (Member("record", "Short1", align=16),)),
    Record("Dbl16", "struct", None, (Member("prim", "double", align=16),)),
]


def mix_args(rnd: random.Random) -> str:
    args = "".join(rnd.choice("iidR") for _ in range(rnd.randint(1, 10)))
    return args if "R" in args else args + "R"


def kinds_of(args: str) -> list[str]:
    return ["int64_t" if k == "i" else "double" if k == "d" else "R" for k in args]


def late_args() -> str:
    return "i" * N_INT + "d" * N_FP + "Ri"


def arg_value(kind: str, j: int, seed: int) -> Any:
    """What the drivers pass as argument ``j`` (besides records): derived from ``seed``."""
    if kind == "i":
        return (seed * 31 + j * 1_000_003) % (2**63) - 2**62
    return j + 0.25 + (seed % 1000) / 8


def _c_value(kind: str, j: int) -> str:
    if kind == "i":
        return f"(int64_t)(((uint64_t)seed * 31u + {j}u * 1000003u) % 9223372036854775808u) " \
               f"- 4611686018427387904"
    return f"({j} + 0.25 + (double)(seed % 1000) / 8)"


C_THREAD = """\
#include <pthread.h>
typedef struct { uint64_t (*fn)(void *); void *ctx; uint64_t out; } job_t;
static void *job_main(void *arg) { job_t *j = arg; j->out = j->fn(j->ctx); return 0; }
static uint64_t in_thread(uint64_t (*fn)(void *), void *ctx) {
    job_t j = {fn, ctx, 0};
    pthread_t t;
    if (pthread_create(&t, 0, job_main, &j)) return 0;
    pthread_join(t, 0);
    return j.out;
}
"""


def render(batch: Sequence[Record], chosen: dict[str, int], mixes: dict[str, str]) -> str:
    """C source: records, checksums (``abigen``), callback types and their drivers."""
    lib = abigen.render_library(batch, [], chosen)
    out = [lib, "#include <stdint.h>", C_THREAD]
    for r in batch:
        n = r.name
        late = ", ".join(["int64_t"] * N_INT + ["double"] * N_FP + [n, "int64_t"])
        mix = ", ".join(n if k == "R" else k for k in kinds_of(mixes[n]))
        late_call = ", ".join([_c_value("i", j) for j in range(N_INT)]
                              + [_c_value("d", N_INT + j) for j in range(N_FP)]
                              + ["*src", "77"])
        mix_call = ", ".join("*src" if k == "R" else _c_value(k, j)
                             for j, k in enumerate(mixes[n]))
        seed = f"{abigen.SEED:#x}ULL"
        out += [
            f"typedef {n} cb_ret_{n}(int64_t s, double x);",
            f"typedef {n} cb_late_{n}({late});",
            f"typedef {n} cb_mix_{n}({mix});",
            f"typedef uint64_t cb_arg_{n}({n} v, double d);",
            f"uint64_t drv_ret_{n}(cb_ret_{n} *cb, int64_t seed) {{",
            f"    {n} r = cb(seed, {_c_value('d', 1)});",
            f"    return ck_{n}({seed}, &r);",
            "}",
            f"uint64_t drv_late_{n}(cb_late_{n} *cb, const {n} *src, int64_t seed) {{",
            f"    {n} r = cb({late_call});",
            f"    return ck_{n}({seed}, &r);",
            "}",
            f"uint64_t drv_mix_{n}(cb_mix_{n} *cb, const {n} *src, int64_t seed) {{",
            f"    {n} r = cb({mix_call});",
            f"    return ck_{n}({seed}, &r);",
            "}",
            f"uint64_t drv_arg_{n}(cb_arg_{n} *cb, const {n} *src, int64_t seed) {{",
            f"    return cb(*src, {_c_value('d', 3)}) ^ 1u;",
            "}",
        ]
        for kind in THREADED:
            out += [
                f"typedef struct {{ cb_{kind}_{n} *cb; const {n} *src; int64_t seed; }} "
                f"ctx_{kind}_{n};",
                f"static uint64_t run_{kind}_{n}(void *p) {{",
                f"    ctx_{kind}_{n} *c = p;",
                f"    return drv_{kind}_{n}(c->cb{', c->src' if kind != 'ret' else ''}, "
                "c->seed);",
                "}",
                f"uint64_t drv_{kind}_thr_{n}(cb_{kind}_{n} *cb, const {n} *src, "
                "int64_t seed) {",
                f"    ctx_{kind}_{n} c = {{cb, src, seed}};",
                f"    return in_thread(run_{kind}_{n}, &c);",
                "}",
            ]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- Python side


def _expected_args(kinds: str, seed: int, src_ck: int, filler: abigen.Filler,
                   name: str) -> Any:
    """A checker of the arguments a callback receives (raises AssertionError)."""
    def check(args: Sequence[Any]) -> None:
        assert len(args) == len(kinds), (len(args), kinds)
        for j, (k, a) in enumerate(zip(kinds, args)):
            if k == "R":
                got = filler.checksum(name, a)
                assert got == src_ck, f"record argument {j}: checksum {got} != {src_ck}"
            elif k == "t":
                assert a == 77, f"argument {j}: {a!r} != 77"
            else:
                want = arg_value(k, j, seed)
                assert a == want, f"argument {j}: {a!r} != {want!r}"
    return check


def run_case(koffi: Any, lib: Any, filler: abigen.Filler, ktypes: dict[str, Any],
             name: str, kind: str, mixes: dict[str, str], seed: int) -> str:
    """Run every mode of one (record, kind) case; ``'mode=checksum,...'`` (the checksums
    the drivers returned, or the first exception) to compare with :func:`expected`."""
    kname = ktypes[name].name
    rnd = random.Random(seed)
    src = filler.value(name, rnd)
    result = filler.value(name, rnd)
    src_ck = filler.checksum(name, src)
    proto_name = f"{kname}_{kind}"
    late = ", ".join(["int64_t"] * N_INT + ["double"] * N_FP + [kname, "int64_t"])
    params = {
        "ret": "int64_t s, double x",
        "late": late,
        "mix": ", ".join(kname if k == "R" else k for k in kinds_of(mixes[name])),
        "arg": f"{kname} v, double d",
    }[kind]
    result_type = "uint64_t" if kind == "arg" else kname
    proto = koffi.proto(f"{result_type} {proto_name}({params})")
    del proto
    checked = {"ret": "id", "late": late_args()[:-1] + "t", "mix": mixes[name],
               "arg": "R" + "d" * 1}[kind]
    offsets = {"ret": 1, "arg": 3}
    check = _expected_args(checked, seed, src_ck, filler, name)

    def callback(*args: Any) -> Any:
        if kind in offsets:  # these drivers pass one double at a fixed index
            fixed = list(args)
            if kind == "ret":
                assert fixed[0] == seed, (fixed[0], seed)
                want = arg_value("d", 1, seed)
                assert fixed[1] == want, (fixed[1], want)
            else:
                assert filler.checksum(name, fixed[0]) == src_ck, "record argument"
                want = arg_value("d", 3, seed)
                assert fixed[1] == want, (fixed[1], want)
            return src_ck if kind == "arg" else result
        check(args)
        return result

    out = []
    modes = [("transient", False), ("registered", False)]
    if kind in THREADED:
        modes += [("transient-thread", True), ("registered-thread", True)]
    for mode, threaded in modes:
        driver = f"drv_{kind}{'_thr' if threaded else ''}_{name}"
        if kind == "ret":
            fn = lib.func(f"uint64_t {driver}({proto_name} *cb, int64_t seed)") if not threaded \
                else lib.func(f"uint64_t {driver}({proto_name} *cb, {kname} *src, "
                              "int64_t seed)")
        else:
            fn = lib.func(f"uint64_t {driver}({proto_name} *cb, {kname} *src, int64_t seed)")
        extra = [src] if (kind != "ret" or threaded) else []
        if mode.startswith("registered"):
            pointer = koffi.register(callback, f"{proto_name} *")
            try:
                got = fn(pointer, *extra, seed)
            finally:
                koffi.unregister(pointer)
        else:
            got = fn(callback, *extra, seed)
        out.append(f"{mode}={got}")
    return ",".join(out)


def expected(filler: abigen.Filler, name: str, kind: str, seed: int) -> str:
    rnd = random.Random(seed)
    src = filler.value(name, rnd)
    result = filler.value(name, rnd)
    value = (filler.checksum(name, src) ^ 1) if kind == "arg" else \
        filler.checksum(name, result)
    modes = ["transient", "registered"]
    if kind in THREADED:
        modes += ["transient-thread", "registered-thread"]
    return ",".join(f"{m}={value}" for m in modes)


def run_batch(koffi: Any, c: Any, batch: Sequence[Record], library: str,
              mixes: dict[str, str], seed: int, run_forked: Any,
              counts: Counter[str], failures: list[str], unsupported: Counter[str]) -> None:
    """Every case of one batch, each in a forked child, counted by outcome."""
    classes = lg.declare(batch, koffi, c)
    ktypes = {n: koffi.type(cls) for n, cls in classes.items()}
    filler = abigen.Filler(batch, classes, koffi)
    lib = koffi.load(library)
    for i, r in enumerate(batch):
        seeds = {kind: seed * 7919 + i * 31 + KINDS.index(kind) for kind in KINDS}

        def one(name: str = r.name, seeds: dict[str, int] = seeds) -> str:
            out = []
            for kind in KINDS:  # every kind of one record in one child
                try:
                    out.append("R" + run_case(koffi, lib, filler, ktypes, name, kind, mixes,
                                              seeds[kind]))
                except NotImplementedError as exc:
                    out.append("N" + str(exc).replace("\n", " "))
                except Exception as exc:
                    out.append("E" + f"{type(exc).__name__}: {exc}".replace("\n", " "))
            return "\n".join(out)

        status, text = run_forked(one)
        results = text.split("\n") if status == "ok" else [text] * len(KINDS)
        for kind, got in zip(KINDS, results):
            want = expected(filler, r.name, kind, seeds[kind])
            outcome = status
            if status == "ok":
                outcome = {"R": "ok", "N": "unsupported", "E": "wrong"}[got[:1]]
                got = got[1:]
                if outcome == "ok" and got != want:
                    outcome = "wrong"
            elif status == "error":
                outcome = "wrong"
            counts[outcome] += 1
            if outcome == "unsupported":
                unsupported[got[:120]] += 1
            if outcome in ("wrong", "crash") and len(failures) < 8:
                failures.append(f"{kind} callback of {r.name}: {outcome}: {got[:300]}\n"
                                f"expected {want}\n"
                                f"{lg.render_with_dependencies(batch, r.name)}")
