"""Callbacks returning (and taking) records by value, C against koffi_typed (``cbdiff``).

The host test runs the fixed shapes (``cbdiff.FIXED``) and ``KOFFI_CB_BATCHES`` random
batches (default 2 of 16 records) natively; the cross test runs the same cases on i386
(natively) and under qemu for aarch64, armhf and riscv64 through ``callback_cross_driver.py``
with Debian's CPython for each (see ``test_abi_differential_cross.py``), one process per
target. Each case is one callback kind for one record in every mode (transient and
registered, from the calling thread and from a C thread), in a forked child; koffi_typed must
have no 'wrong' and no 'crash'. 'unsupported' (``NotImplementedError`` naming why) is
counted, and none is allowed for the fixed shapes on the host.

``cbwide`` adds callbacks taking and returning 128-bit integers among other scalars, on the
64-bit targets (host, aarch64, riscv64), where none may be unsupported.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import abigen
import cbdiff
import cbuild
import cbwide
import layoutgen as lg
import pytest
import test_abi_differential as tad
import test_abi_differential_cross as tac
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from layoutgen import Record

BATCH = 16
N_BATCHES = int(os.environ.get("KOFFI_CB_BATCHES", "2"))
DRIVER = Path(__file__).resolve().parent / "callback_cross_driver.py"
MARKER = "CB-CROSS-RESULT "
RUN_TIMEOUT = 900.0
WIDE_SEED = 1287
N_WIDE = int(os.environ.get("KOFFI_CB_WIDE", "24"))
WIDE_TARGETS = ("aarch64", "riscv64")


@dataclass
class Case:
    batch: list[Record]
    mixes: dict[str, str]
    seed: int


_CASES: list[Case] = []


def cases() -> list[Case]:
    """The fixed shapes, then the random batches (fixed seed), generated once."""
    if not _CASES:
        rnd = random.Random(1301)
        _CASES.append(Case(list(cbdiff.FIXED), {r.name: cbdiff.mix_args(rnd)
                                                 for r in cbdiff.FIXED}, 13))

        @settings(max_examples=max(N_BATCHES, 1), derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(batch=abigen.batches(BATCH), seed=st.integers(1, 2**20))
        def collect(batch: list[Record], seed: int) -> None:
            r = random.Random(seed)
            _CASES.append(Case(batch, {rec.name: cbdiff.mix_args(r) for rec in batch}, seed))

        if N_BATCHES:
            collect()
    return _CASES


def build(case: Case, target: str, chosen: dict[str, int]) -> Path:
    source = cbdiff.render(case.batch, chosen, case.mixes)
    digest = abs(hash(source)) % 10**12
    path = Path(tempfile.gettempdir()) / f"koffi-cb-diff-{os.getuid()}-{digest}.c"
    path.write_text(source)
    return cbuild.build_shared([path], target, flags=("-w", "-pthread"))


def build_wide(target: str) -> Path:
    source = cbwide.render(cbwide.signatures(WIDE_SEED, N_WIDE))
    digest = abs(hash(source)) % 10**12
    path = Path(tempfile.gettempdir()) / f"koffi-cb-wide-{os.getuid()}-{digest}.c"
    path.write_text(source)
    return cbuild.build_shared([path], target, flags=("-w", "-pthread"))


def test_callback_wide_ints_host() -> None:
    import platform

    import koffi_typed as koffi

    if platform.architecture()[0] != "64bit":
        pytest.skip("__int128 exists on 64-bit targets only")
    counts: Counter[str] = Counter()
    failures: list[str] = []
    unsupported: Counter[str] = Counter()
    sigs = cbwide.signatures(WIDE_SEED, N_WIDE)
    cbwide.run_all(koffi, sigs, str(build_wide("host")), tad.run_forked, counts, failures,
                   unsupported)
    line = (f"cb-wide host: {sum(counts.values())} cases, ok={counts['ok']}, "
            f"unsupported={counts['unsupported']}, wrong={counts['wrong']}, "
            f"crash={counts['crash']}")
    print(line)
    assert counts["ok"] == len(sigs), line + "\n" + "\n\n".join(
        failures + [f"unsupported: {why}" for why in unsupported])


def test_callback_records_host() -> None:
    import koffi_typed as koffi
    from koffi_typed import c

    start = time.monotonic()
    counts: Counter[str] = Counter()
    failures: list[str] = []
    unsupported: Counter[str] = Counter()
    fixed_unsupported = 0
    for n, case in enumerate(cases()):
        classes = lg.declare(case.batch, koffi, c)
        chosen = {r.name: abigen.union_choice(r, koffi.type(classes[r.name]))
                  for r in case.batch if r.kind == "union"}
        library = build(case, "host", chosen)
        cbdiff.run_batch(koffi, c, case.batch, str(library), case.mixes, case.seed,
                         tad.run_forked, counts, failures, unsupported)
        if n == 0:
            fixed_unsupported = counts["unsupported"]
    line = (f"cb-diff host: {sum(counts.values())} cases, ok={counts['ok']}, "
            f"unsupported={counts['unsupported']}, wrong={counts['wrong']}, "
            f"crash={counts['crash']} ({time.monotonic() - start:.1f} s)")
    print(line)
    for why, k in unsupported.most_common(5):
        print(f"  unsupported x{k}: {why}")
    assert not failures and not counts["wrong"] and not counts["crash"], \
        line + "\n\n" + "\n\n".join(failures)
    assert fixed_unsupported == 0, (line, unsupported)


# ---------------------------------------------------------------------------- cross

_RUNS: dict[str, Any] = {}


def _start(target: str) -> Any:
    import koffi_typed as koffi
    from koffi_typed import c

    root = tac.sysroot(target)
    if root is None:
        message = f"no {tac.FOREIGN[target][0]} Python in {tac.sysroots()}; {tac.INSTALL_HINT}"
        return ("skip" if target in tac.OPTIONAL else "error", message)
    abi = lg.ABI_OF_TARGET[target]
    batches = []
    for case in cases():
        classes = lg.declare(case.batch, koffi, c)
        chosen = {r.name: abigen.union_choice(r, koffi.abi.layout(classes[r.name], abi))
                  for r in case.batch if r.kind == "union"}
        try:
            library = build(case, target, chosen)
        except cbuild.BuildError as exc:
            return ("error", str(exc))
        batches.append({"records": json.loads(lg.batch_to_json(case.batch)),
                        "mixes": case.mixes, "seed": case.seed, "chosen": chosen,
                        "library": str(library)})
    wide: dict[str, Any] | None = None
    if target in WIDE_TARGETS:
        try:
            library = build_wide(target)
        except cbuild.BuildError as exc:
            return ("error", str(exc))
        wide = {"signatures": cbwide.to_json(cbwide.signatures(WIDE_SEED, N_WIDE)),
                "library": str(library)}
    work = cbuild.cache_dir() / "cb-cross"
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{target}-cases.json"
    path.write_text(json.dumps({"repo": str(cbuild.REPO_ROOT), "batches": batches,
                                "wide": wide}))
    cmd = tac.foreign_python(target, root)
    flags = ["-I"]
    if Path(cmd[-1]).name != f"python{sys.version_info[0]}.{sys.version_info[1]}":
        flags += ["-X", f"pycache_prefix={work / ('pycache-' + target)}"]
    proc = subprocess.Popen([*cmd, *flags, str(DRIVER), str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            cwd=str(work))
    return ("run", proc, time.monotonic())


@pytest.fixture(scope="module", autouse=True)
def _stop_runs() -> Any:
    yield
    for run in _RUNS.values():
        if run[0] == "run" and run[1].poll() is None:
            run[1].kill()
            run[1].communicate()
    _RUNS.clear()


@pytest.mark.cross
@pytest.mark.parametrize("target", tac.CROSS_TARGETS)
def test_callback_records_cross(target: str, request: pytest.FixtureRequest) -> None:
    wanted = [t for t in tac.START_ORDER
              if t in tac.selected_targets(request) or t == target]
    for t in wanted:  # start every selected target at once: they run while we wait
        if t not in _RUNS:
            _RUNS[t] = _start(t)
    run = _RUNS[target]
    if run[0] == "skip":
        pytest.skip(run[1])
    if run[0] == "error":
        pytest.fail(run[1], pytrace=False)
    proc, started = run[1], run[2]
    try:
        out, err = proc.communicate(timeout=max(1.0, RUN_TIMEOUT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    lines = [ln for ln in out.splitlines() if ln.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"the {target} driver exited with {proc.returncode}\n--- stdout ---\n"
                    f"{out[-4000:]}\n--- stderr ---\n{err[-6000:]}", pytrace=False)
    result = json.loads(lines[-1][len(MARKER):])
    counts = Counter(result["counts"])
    line = (f"cb-diff {target}: {sum(counts.values())} cases, ok={counts['ok']}, "
            f"unsupported={counts['unsupported']}, wrong={counts['wrong']}, "
            f"crash={counts['crash']} (python {result['python']} {result['machine']}, "
            f"{time.monotonic() - started:.1f} s)")
    print(line)
    for why, k in list(result["unsupported"].items())[:5]:
        print(f"  unsupported x{k}: {why}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(line)
    assert not result["setup_errors"], result["setup_errors"]
    if target in WIDE_TARGETS:  # 128-bit integers: every case must run, none unsupported
        wide = Counter(result["wide_counts"])
        wide_line = (f"cb-wide {target}: {sum(wide.values())} cases, ok={wide['ok']}, "
                     f"unsupported={wide['unsupported']}, wrong={wide['wrong']}, "
                     f"crash={wide['crash']}")
        print(wide_line)
        assert wide["ok"] == N_WIDE, wide_line + "\n" + "\n\n".join(
            result["wide_failures"] + list(result["wide_unsupported"]))
    assert not result["failures"] and not counts["wrong"] and not counts["crash"], \
        line + "\n\n" + "\n\n".join(result["failures"])
