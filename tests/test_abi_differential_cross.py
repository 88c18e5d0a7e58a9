"""The by-value differential test (``test_abi_differential.py``) on foreign architectures.

Each target runs Debian's CPython for that architecture (``.ci/install-foreign-pythons``
extracts it into ``$KOFFI_SYSROOTS/<arch>``, default ``/opt/koffi-sysroots``):

* ``i386``: natively, through the sysroot's loader under ``setarch i686`` (the kernel runs
  IA-32 code);
* ``aarch64``, ``armhf``, ``riscv64``: under ``qemu-<arch> -L <sysroot>``.

The host generates the cases (hypothesis with a fixed seed; generating under qemu is slow):
the records, four signatures per record, and per target the member of each union that carries
the checksum (from ``koffi.abi.layout`` for the target's ABI). It renders the C library and
builds it with the cross compiler (``cbuild.build_shared(..., target)``), then runs
``abi_cross_driver.py`` under the foreign Python with the cases as JSON. The driver imports
koffi_typed pure from this checkout and calls every signature through koffi_typed and plain
ctypes with the functions of ``test_abi_differential``, each call in a forked child; it needs
nothing but the foreign stdlib (hypothesis and pytest are stubbed there, see the driver).

koffi_typed must have no 'wrong' and no 'crash'; 'unsupported' (``NotImplementedError`` when
declaring the function) is allowed and counted. ctypes' own failures are only counted.
``KOFFI_ABI_CROSS_BATCHES`` changes the number of batches of 16 records (default 12: 768
signatures per target, about 75 s for all four targets on 2 cores; 3 batches found only one
of the armhf bugs). The targets run in parallel (``KOFFI_ABI_CROSS_JOBS``, default the
number of cores): the first test starts every target's run, each test waits for its own.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import abi_examples
import abigen
import cbuild
import layoutgen as lg
import pytest
import test_abi_differential as tad
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from layoutgen import Record

BATCH = 16
N_BATCHES = int(os.environ.get("KOFFI_ABI_CROSS_BATCHES", "12"))
N_FAMILY_BATCHES = int(os.environ.get("KOFFI_ABI_CROSS_FAMILY_BATCHES", "2"))
JOBS = max(1, int(os.environ.get("KOFFI_ABI_CROSS_JOBS", str(os.cpu_count() or 1))))
RUN_TIMEOUT = 900.0
DRIVER = Path(__file__).resolve().parent / "abi_cross_driver.py"
EXAMPLES_C = Path(__file__).resolve().parent / "c" / "abi_issue12.c"
MARKER = "ABI-CROSS-RESULT "
INSTALL_HINT = "run .ci/install-foreign-pythons (called by .ci/install-toolchains)"

# target -> (Debian architecture of the sysroot, qemu binary or None for a native run)
FOREIGN: dict[str, tuple[str, str | None]] = {
    "i386": ("i386", None),
    "aarch64": ("arm64", "qemu-aarch64"),
    "armhf": ("armhf", "qemu-arm"),
    "riscv64": ("riscv64", "qemu-riscv64"),
}
# Targets whose sysroot is best effort (riscv64 comes from sid): skipped when it is missing,
# instead of failing.
OPTIONAL = {"riscv64"}
CROSS_TARGETS = ["i386", "aarch64", "armhf", "riscv64"]
# Slowest first, so that the runs sharing the cores end at about the same time.
START_ORDER = ["riscv64", "armhf", "aarch64", "i386"]


def sysroots() -> Path:
    return Path(os.environ.get("KOFFI_SYSROOTS", "/opt/koffi-sysroots"))


def sysroot(target: str) -> Path | None:
    root = sysroots() / FOREIGN[target][0]
    return root if (root / ".koffi-sysroot-complete").is_file() else None


def foreign_python(target: str, root: Path) -> list[str]:
    """The command that starts the sysroot's Python for ``target``."""
    pythons = sorted((p for p in (root / "usr/bin").glob("python3.*") if p.name[8:].isdigit()),
                     key=lambda p: int(p.name[8:]))
    if not pythons:
        raise FileNotFoundError(f"no python3.X in {root}/usr/bin; {INSTALL_HINT}")
    python = str(pythons[-1])
    qemu = FOREIGN[target][1]
    if qemu is None:  # i386: the IA-32 loader of the sysroot, 32-bit personality
        libs = f"{root}/lib/i386-linux-gnu:{root}/usr/lib/i386-linux-gnu"
        return ["setarch", "i686", f"{root}/lib/ld-linux.so.2", "--library-path", libs, python]
    return [qemu, "-L", str(root), python]


# ---------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One batch: records, signatures (target independent) and the seed for the values."""

    batch: list[Record]
    signatures: list[abigen.Signature]
    seed: int
    families: bool = False


_CASES: list[Case] = []


def cases() -> list[Case]:
    """The batches, generated once per session with a fixed seed."""
    if not _CASES:
        @settings(max_examples=max(1, N_BATCHES), derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(batch=abigen.batches(BATCH), sig_seed=st.integers(0, 2**32 - 1),
               value_seed=st.integers(0, 2**32 - 1))
        def collect(batch: list[Record], sig_seed: int, value_seed: int) -> None:
            rnd = random.Random(sig_seed)
            sigs = [s for i, r in enumerate(batch) for s in abigen.signatures(r.name, i, rnd)]
            _CASES.append(Case(batch, sigs, value_seed))

        @settings(max_examples=max(1, N_FAMILY_BATCHES), derandomize=True, database=None,
                  deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(batch=abigen.family_batch(), sig_seed=st.integers(0, 2**32 - 1),
               value_seed=st.integers(0, 2**32 - 1))
        def collect_families(batch: list[Record], sig_seed: int, value_seed: int) -> None:
            sigs = abigen.family_signatures(batch, random.Random(sig_seed))
            _CASES.append(Case(batch, sigs, value_seed, families=True))

        if N_BATCHES:
            collect()
        if N_FAMILY_BATCHES:
            collect_families()
    return _CASES


def case_file(target: str, work: Path) -> Path:
    """Build the target's libraries and write the driver's JSON input."""
    import koffi_typed as koffi
    from koffi_typed import c

    abi = lg.ABI_OF_TARGET[target]
    wide = lg.POINTER_BITS[target] == 64  # __int128 exists
    batches: list[dict[str, Any]] = []
    for case in cases():
        classes = lg.declare(case.batch, koffi, c)
        chosen = {r.name: abigen.union_choice(r, koffi.abi.layout(classes[r.name], abi))
                  for r in case.batch if r.kind == "union"}
        sigs = [s for s in case.signatures if wide or not s.int128]
        library = tad.build(case.batch, sigs, chosen, target)
        batches.append({
            "records": json.loads(lg.batch_to_json(case.batch)),
            "signatures": [s.to_json() for s in sigs],
            "chosen": chosen,
            "seed": case.seed,
            "library": str(library),
            "families": case.families,
        })
    examples = cbuild.build_shared([EXAMPLES_C], target, flags=("-w",))
    path = work / f"{target}-cases.json"
    path.write_text(json.dumps({"repo": str(cbuild.REPO_ROOT), "batches": batches,
                                "char_signed": abigen.CHAR_SIGNED[target],
                                "examples": str(examples)}))
    return path


# ---------------------------------------------------------------------------- runs


@dataclass
class Run:
    target: str
    start: float = 0.0
    build_seconds: float = 0.0
    proc: subprocess.Popen[str] | None = None
    error: str | None = None
    skip: str | None = None
    finished: tuple[int, str, str] | None = field(default=None, repr=False)
    end: float = 0.0


_RUNS: dict[str, Run] = {}


def _prepare(target: str) -> Run:
    """Build the libraries and start the foreign Python (without waiting for it)."""
    run = Run(target, start=time.monotonic())
    root = sysroot(target)
    if root is None:
        message = f"no {FOREIGN[target][0]} Python in {sysroots()}; {INSTALL_HINT}"
        if target in OPTIONAL:
            run.skip = message + " (best effort: sid may have been unavailable)"
        else:
            run.error = message
        return run
    for tool in (cbuild.TARGETS[target].compiler, FOREIGN[target][1] or "setarch"):
        if shutil.which(tool) is None:
            run.error = f"{tool} is not installed; run .ci/install-toolchains"
            return run
    work = cbuild.cache_dir() / "abi-cross"
    work.mkdir(parents=True, exist_ok=True)
    cmd = foreign_python(target, root)
    python_name = Path(cmd[-1]).name
    flags = ["-I"]
    if python_name != f"python{sys.version_info[0]}.{sys.version_info[1]}":
        # Another minor version: keep its bytecode out of the checkout's __pycache__.
        flags += ["-X", f"pycache_prefix={work / ('pycache-' + target)}"]
    try:
        cases_path = case_file(target, work)
    except cbuild.BuildError as exc:
        run.error = str(exc)
        return run
    run.build_seconds = time.monotonic() - run.start
    run.proc = subprocess.Popen([*cmd, *flags, str(DRIVER), str(cases_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, cwd=str(work))
    return run


def _wait(run: Run) -> None:
    if run.proc is None or run.finished is not None:
        return
    try:
        out, err = run.proc.communicate(timeout=max(1.0, RUN_TIMEOUT -
                                                     (time.monotonic() - run.start)))
    except subprocess.TimeoutExpired:
        run.proc.kill()
        out, err = run.proc.communicate()
        err += f"\n(killed after {RUN_TIMEOUT:.0f} s)"
    run.finished = (run.proc.returncode, out, err)
    run.end = time.monotonic()


def start_runs(order: list[str]) -> None:
    """Start every target's run, at most :data:`JOBS` foreign Pythons at a time; the
    libraries of the next target are built while the others run."""
    for target in order:
        if target in _RUNS:
            continue
        active = [r for r in _RUNS.values() if r.proc is not None and r.finished is None]
        while len(active) >= JOBS:
            _wait_any(active)
            active = [r for r in active if r.finished is None]
        _RUNS[target] = _prepare(target)


def _wait_any(active: list[Run]) -> None:
    while True:
        for run in active:
            if run.proc is not None and run.proc.poll() is not None:
                _wait(run)
                return
        if any(time.monotonic() - r.start > RUN_TIMEOUT for r in active):
            for r in active:
                _wait(r)
            return
        time.sleep(0.05)


@pytest.fixture(scope="module", autouse=True)
def _stop_runs() -> Any:
    """Kill foreign runs still going when the module ends (an interrupted session)."""
    yield
    for run in _RUNS.values():
        if run.proc is not None and run.proc.poll() is None:
            run.proc.kill()
            run.proc.communicate()
    _RUNS.clear()


def summary_line(target: str, result: dict[str, Any], seconds: float) -> str:
    k, t = counts(result["koffi"]), counts(result["ctypes"])
    return (f"abi-diff {target}: {result['signatures']} signatures "
            f"({result['family_signatures']} of the families), koffi ok={k['ok']}, "
            f"unsupported={k['unsupported']}, wrong={k['wrong']}, crash={k['crash']}; "
            f"ctypes ok={t['ok']}, wrong={t['wrong']}, crash={t['crash']}, "
            f"layout-mismatch={t['layout']} "
            f"(python {result['python']} {result['machine']}, {seconds:.1f} s)")


def counts(d: dict[str, int]) -> dict[str, int]:
    """``d`` with every outcome present (0 when absent)."""
    return {key: 0 for key in ("ok", "unsupported", "wrong", "crash", "layout")} | d


_CROSS_TESTS = ("test_by_value_cross", "test_examples_cross")


def selected_targets(request: pytest.FixtureRequest) -> list[str]:
    """The targets of this test that the session will run, in order."""
    found = [item.callspec.params["target"] for item in request.session.items
             if getattr(item, "originalname", None) in _CROSS_TESTS
             and hasattr(item, "callspec")]
    return [t for t in CROSS_TARGETS if t in found]


def finished_run(target: str, request: pytest.FixtureRequest) -> tuple[Run, dict[str, Any]]:
    """The target's run (started with every selected target's), waited for, and its
    result; skips or fails the test when there is none."""
    start_runs([t for t in START_ORDER if t in selected_targets(request) or t == target])
    run = _RUNS[target]
    if run.skip:
        pytest.skip(run.skip)
    if run.error:
        pytest.fail(run.error, pytrace=False)
    _wait(run)
    assert run.finished is not None
    code, out, err = run.finished
    lines = [ln for ln in out.splitlines() if ln.startswith(MARKER)]
    if code != 0 or not lines:
        pytest.fail(f"the {target} driver exited with {code}\n--- stdout ---\n{out[-4000:]}"
                    f"\n--- stderr ---\n{err[-6000:]}", pytrace=False)
    return run, json.loads(lines[-1][len(MARKER):])


@pytest.mark.cross
@pytest.mark.parametrize("target", CROSS_TARGETS)
@pytest.mark.parametrize("name", list(abi_examples.EXAMPLES))
def test_examples_cross(target: str, name: str, request: pytest.FixtureRequest) -> None:
    """Each example of issue 12 (``abi_examples.py``) on each target."""
    _, result = finished_run(target, request)
    status, text = result["examples"][name]
    assert (status, text) == ("ok", "passed"), f"{name} on {target}: {status}: {text}"


@pytest.mark.cross
@pytest.mark.parametrize("target", CROSS_TARGETS)
def test_by_value_cross(target: str, request: pytest.FixtureRequest) -> None:
    run, result = finished_run(target, request)
    seconds = run.end - run.start
    line = summary_line(target, result, seconds)
    detail = (f"  {target}: build {run.build_seconds:.1f} s, foreign run "
              f"{run.end - run.start - run.build_seconds:.1f} s "
              f"(imports {result['import_seconds']:.1f} s)")
    unsupported = [f"  unsupported x{n}: {why}" for why, n in
                   list(result["unsupported"].items())[:5]]
    print(line, detail, *unsupported, sep="\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(line)
    (cbuild.cache_dir() / f"abi-diff-counts-{target}.json").write_text(json.dumps(
        {**result, "wall_seconds": round(seconds, 1)}))

    assert not result["setup_errors"], result["setup_errors"]
    assert result["signatures"] >= 150 or N_BATCHES * BATCH * 4 < 150, line
    assert result["family_signatures"] >= 80 * N_FAMILY_BATCHES, line
    failures = [f"{f['signature']}: {f['status']} on {target}; expected {f['expected']}, "
                f"got {f['got']}\n{f['c']}" for f in result["failures"]]
    k = counts(result["koffi"])
    assert not failures and k["wrong"] == 0 and k["crash"] == 0, \
        line + "\n\n" + "\n\n".join(failures[:10])
