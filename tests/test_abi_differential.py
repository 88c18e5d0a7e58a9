"""By-value differential test: records passed and returned by value, C against koffi_typed.

Hypothesis generates batches of records (``tests/abigen.py``, built on ``layoutgen``); each
record gets four signatures (alone; after 6 integer and 8 double arguments, with one more
argument on the stack; a random mix of ``int64_t``/``double``/record arguments; the same mix
returning the record by value). The C functions return a checksum of every argument and
every member value. Each call runs in a forked child, so a crash fails one case only, and
ends as 'ok', 'wrong', 'crash' or 'unsupported' (the call path refused the declaration with
``NotImplementedError``). The same cases also go through plain ctypes (``Structure``/``Union``
with ``_pack_``, when ctypes' layout matches the C one) to count ctypes' own failures.

The seed is fixed (``derandomize=True``). ``KOFFI_ABI_BATCHES`` changes the number of
batches (default 3 of 16 records, 4 signatures each: 192 signatures). The summary line
``abi-diff host: ...`` is printed (``-s``) and stored in ``<cache>/abi-diff-counts.json``.
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import abigen
import cbuild
import layoutgen as lg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from layoutgen import Record

BATCH = 16
N_BATCHES = int(os.environ.get("KOFFI_ABI_BATCHES", "3"))
N_FAMILY_BATCHES = int(os.environ.get("KOFFI_ABI_FAMILY_BATCHES", "2"))
COUNTS: dict[str, Counter[str]] = {"koffi": Counter(), "ctypes": Counter()}
FAILURES: list[str] = []
UNSUPPORTED: Counter[str] = Counter()
SIGNATURES = [0]
START = [0.0]


def run_forked(fn: Callable[[], str], timeout: float = 20.0,
               crash_expected: bool = False) -> tuple[str, str]:
    """Run ``fn`` in a child process: ('ok', its output), ('crash', signal) or
    ('error', traceback text). With ``crash_expected`` (plain ctypes, which crashes on some
    signatures by design) a crash is counted without printing its traceback."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        if crash_expected:
            faulthandler.disable()
        try:
            out = "R" + fn()
        except NotImplementedError as exc:
            out = "N" + str(exc)
        except BaseException as exc:
            out = "E" + f"{type(exc).__name__}: {exc}"
        with os.fdopen(wfd, "w") as w:
            w.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "crash", signal.Signals(os.WTERMSIG(status)).name
    if not data:
        return "crash", f"exit status {status}"
    tag, text = data[0], data[1:]
    return {"R": "ok", "N": "unsupported", "E": "error"}[tag], text


# ---------------------------------------------------------------------------- ctypes side

_CT_PRIMS: dict[str, Any] = {
    "int8_t": ctypes.c_int8, "uint8_t": ctypes.c_uint8, "int16_t": ctypes.c_int16,
    "uint16_t": ctypes.c_uint16, "int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64, "short": ctypes.c_short,
    "unsigned short": ctypes.c_ushort, "int": ctypes.c_int, "unsigned int": ctypes.c_uint,
    "long": ctypes.c_long, "unsigned long": ctypes.c_ulong, "long long": ctypes.c_longlong,
    "unsigned long long": ctypes.c_ulonglong, "float": ctypes.c_float,
    "double": ctypes.c_double, "_Bool": ctypes.c_bool, "long double": ctypes.c_longdouble,
    "char": ctypes.c_char,
}  # fmt: skip


def ctypes_types(batch: Sequence[Record], ktypes: dict[str, Any]) -> dict[str, Any]:
    """ctypes classes for the records whose ctypes layout equals koffi_typed's (= GCC's,
    checked by the layout differential test); others map to None."""
    out: dict[str, Any] = {}
    for r in batch:
        fields: list[tuple[Any, ...]] = []
        ok = True
        for i, m in enumerate(r.members):
            if m.align is not None or (m.kind == "record" and out.get(m.type) is None):
                ok = False
                break
            base = out[m.type] if m.kind == "record" else _CT_PRIMS[m.type]
            if m.kind == "bitfield":
                base = ctypes.c_byte if m.type == "char" else base
                fields.append((f"f{i}", base, m.bits))
                continue
            for d in reversed(m.dims):
                base = base * d
            fields.append((f"f{i}", base))
        if not ok:
            out[r.name] = None
            continue
        ns: dict[str, Any] = {"_fields_": fields}
        if r.pack is not None:
            ns["_pack_"] = r.pack
        try:
            cls = type(f"ct_{r.name}",
                       (ctypes.Union if r.kind == "union" else ctypes.Structure,), ns)
        except (TypeError, ValueError):
            out[r.name] = None
            continue
        out[r.name] = cls if _same_layout(cls, r, ktypes[r.name]) else None
    return out


def _same_layout(cls: Any, r: Record, kt: Any) -> bool:
    if ctypes.sizeof(cls) != kt.size or ctypes.alignment(cls) != kt.alignment:
        return False
    for i, m in enumerate(r.members):
        desc = getattr(cls, f"f{i}")
        km = kt.members[f"f{i}"]
        if m.kind == "bitfield":
            bitofs, bits = desc.size & 0xFFFF, desc.size >> 16
            if bits != m.bits or desc.offset * 8 + bitofs != km.offset * 8 + km.bit_offset:
                return False
        elif desc.offset != km.offset:
            return False
    return True


# ---------------------------------------------------------------------------- one batch


def build(batch: Sequence[Record], sigs: Sequence[abigen.Signature], chosen: dict[str, int],
          target: str = "host") -> Path:
    source = abigen.render_library(batch, sigs, chosen)
    digest = abs(hash(source)) % 10**12
    path = Path(tempfile.gettempdir()) / f"koffi-abi-diff-{os.getuid()}-{digest}.c"
    path.write_text(source)
    return cbuild.build_shared([path], target, flags=("-w",))


def run_batch(batch: Sequence[Record], rnd: random.Random, families: bool = False) -> None:
    import koffi_typed as koffi
    from koffi_typed import c

    classes = lg.declare(batch, koffi, c)
    ktypes = {name: koffi.type(cls) for name, cls in classes.items()}
    filler = abigen.Filler(batch, classes, koffi, abigen.CHAR_SIGNED["host"])
    chosen = {r.name: abigen.union_choice(r, ktypes[r.name]) for r in batch if r.kind == "union"}
    if families:
        sigs = abigen.family_signatures(batch, rnd)
    else:
        sigs = [s for i, r in enumerate(batch) for s in abigen.signatures(r.name, i, rnd)]
    lib_path = build(batch, sigs, chosen)
    lib = koffi.load(str(lib_path))
    cdll = ctypes.CDLL(str(lib_path))
    cts = ctypes_types(batch, ktypes)
    SIGNATURES[0] += len(sigs)
    for sig in sigs:
        run_signature(sig, rnd, batch, ktypes, filler, lib, cdll, cts)


def run_signature(sig: abigen.Signature, rnd: random.Random, batch: Sequence[Record],
                  ktypes: dict[str, Any], filler: abigen.Filler, lib: Any, cdll: Any,
                  cts: dict[str, Any]) -> None:
    from koffi_typed import marshal

    kt = ktypes[sig.record] if sig.record else None
    args: list[Any] = [filler.value(sig.record, rnd) if k == "R" else filler.arg(k, rnd)
                       for k in sig.args]
    src = filler.value(sig.record, rnd) if sig.give else None
    expected = filler.checksum(sig.record, src) if sig.give \
        else filler.expected(sig, abigen.args_checksum(sig, args, filler))
    kname = kt.name if kt is not None else ""

    def via_koffi() -> str:
        fn = lib.func(sig.koffi_decl(kname))
        if sig.give:
            out = fn(*args, src)
            return str(filler.checksum(sig.record, out))
        return str(fn(*sig.koffi_args(args, kname)))

    record(sig, "koffi", expected, run_forked(via_koffi), batch)

    if kt is None or set(sig.args + sig.result) - set("idRh") or sig.variadic:
        COUNTS["ctypes"]["n/a"] += 1  # plain ctypes has no __int128 (and char is bytes)
        return
    ct = cts[sig.record]
    if ct is None:
        COUNTS["ctypes"]["layout"] += 1
        return
    codec = marshal.codec_for(kt)

    def to_ct(value: Any) -> Any:
        data = bytearray(kt.size)
        codec.encode(data, 0, value, [])
        return ct.from_buffer_copy(bytes(data))

    def via_ctypes() -> str:
        fn = getattr(cdll, sig.name)
        types = {"i": ctypes.c_int64, "d": ctypes.c_double, "R": ct}
        fn.argtypes = [types[k] for k in sig.args] + ([ctypes.c_void_p] if sig.give else [])
        fn.restype = ct if sig.give else ctypes.c_uint64
        cargs = [to_ct(a) if k == "R" else a for k, a in zip(sig.args, args, strict=True)]
        if sig.give:
            keep = to_ct(src)
            out = fn(*cargs, ctypes.addressof(keep))
            return str(filler.checksum(sig.record, codec.decode(bytes(out), 0)))
        return str(fn(*cargs))

    record(sig, "ctypes", expected, run_forked(via_ctypes, crash_expected=True), batch)


def record(sig: abigen.Signature, mode: str, expected: int, outcome: tuple[str, str],
           batch: Sequence[Record]) -> None:
    status, text = outcome
    if status == "ok" and text != str(expected):
        status = "wrong"
    if status == "error":
        status = "wrong"
    COUNTS[mode][status] += 1
    if mode == "koffi" and status == "unsupported":
        UNSUPPORTED[text.split(": ", 1)[-1][:90]] += 1
    if mode == "koffi" and status in ("wrong", "crash") and len(FAILURES) < 5:
        FAILURES.append(f"{sig.koffi_decl(sig.record)}: {status} ({text[:200]}); expected "
                        f"{expected}\n{describe(batch, sig)}")


def describe(batch: Sequence[Record], sig: abigen.Signature) -> str:
    """The C text of a signature's record (with the records it holds), if any."""
    return lg.render_with_dependencies(batch, sig.record) if sig.record else "(no record)"


# ---------------------------------------------------------------------------- tests


@settings(max_examples=N_BATCHES, derandomize=True, database=None, deadline=None,
          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
@given(batch=abigen.batches(BATCH), seed=st.integers(0, 2**32 - 1))
def test_by_value_host(batch: list[Record], seed: int) -> None:
    # a plain Random, as for the families: values drawn from hypothesis' own stream can
    # overrun it, and hypothesis then drops the example silently halfway through its calls
    if not START[0]:
        START[0] = time.monotonic()
    run_batch(batch, random.Random(seed))


@settings(max_examples=N_FAMILY_BATCHES, derandomize=True, database=None, deadline=None,
          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
@given(batch=abigen.family_batch(), seed=st.integers(0, 2**32 - 1))
def test_families_host(batch: list[Record], seed: int) -> None:
    # a plain Random: values drawn from hypothesis' stream would overrun it (and the
    # example would silently run again)
    if not START[0]:
        START[0] = time.monotonic()
    run_batch(batch, random.Random(seed), families=True)


def test_summary() -> None:
    k, t = COUNTS["koffi"], COUNTS["ctypes"]
    n = SIGNATURES[0]
    line = (f"abi-diff host: {n} signatures, koffi ok={k['ok']}, unsupported={k['unsupported']}"
            f", wrong={k['wrong']}, crash={k['crash']}; ctypes ok={t['ok']}, wrong={t['wrong']}"
            f", crash={t['crash']}, layout-mismatch={t['layout']}"
            f" ({time.monotonic() - START[0]:.1f} s)")
    print(line)
    for why, count in UNSUPPORTED.most_common(5):
        print(f"  unsupported x{count}: {why}")
    (cbuild.cache_dir() / "abi-diff-counts.json").write_text(json.dumps(
        {"koffi": dict(k), "ctypes": dict(t), "signatures": n}))
    assert n >= 150 or N_BATCHES * BATCH * 4 < 150
    assert sum(k.values()) == n, f"{n - sum(k.values())} signatures never ran: {line}"
    assert not FAILURES, "\n\n".join(FAILURES)
    assert k["wrong"] == 0 and k["crash"] == 0, line


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s", "-p", "no:cacheprovider"])
