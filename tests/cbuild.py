"""Compile (and run) C for the tests: the project's one place that calls a C compiler.

Targets
-------
``"host"``
    The machine's ``gcc`` (``$CC`` overrides it).
``"i386"``
    ``i686-linux-gnu-gcc -static``; the binary runs directly (the kernel runs IA-32 code).
``"aarch64"``, ``"armhf"``, ``"riscv64"``
    The Debian cross compiler with ``-static``; the binary runs under ``qemu-<arch>``.
``"win64"``, ``"win32"``
    ``x86_64-w64-mingw32-gcc`` / ``i686-w64-mingw32-gcc``: compile-only (there is no way to
    run Windows code here), so use :func:`compile_asm` and read the ``-S`` output.

``.ci/install-toolchains`` installs every cross toolchain.

Every output is cached under a hash of (source text, target, flags, compiler path) in
``$KOFFI_TEST_CACHE`` or else ``<repo>/.koffi-test-cache/``. Outputs are written under a
temporary name and moved into place with :func:`os.replace`, so concurrent test processes
(pytest-xdist) can share the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TARGETS",
    "BuildError",
    "CompileError",
    "RunError",
    "Target",
    "ToolchainMissing",
    "FOREIGN_TARGETS",
    "build_program",
    "build_shared",
    "cache_dir",
    "compile_asm",
    "run_program",
    "toolchain_available",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

# Default optimisation for programs and libraries: the ABI does not depend on -O, and -O0
# compiles about 2.6 times faster than -O1 on generated code.
DEFAULT_OPT = "-O0"

RUN_TIMEOUT = 120.0
COMPILE_TIMEOUT = 300.0


@dataclass(frozen=True)
class Target:
    """How to compile for one target and, if possible, run the result."""

    name: str
    compiler: str
    """Compiler executable (looked up on ``PATH``)."""
    flags: tuple[str, ...]
    """Flags for every compilation of this target (programs, assembly, libraries)."""
    link_flags: tuple[str, ...]
    """Extra flags used only when linking an executable."""
    runner: tuple[str, ...] | None
    """Command prefix that runs a built program (``()`` = run directly); ``None`` when the
    target is compile-only."""
    runner_tool: str | None = None
    """Executable that must exist for ``runner`` to work (``None``: nothing extra)."""
    pointer_bits: int = 64

    @property
    def can_run(self) -> bool:
        return self.runner is not None


def _host_compiler() -> str:
    return os.environ.get("CC", "gcc")


TARGETS: dict[str, Target] = {
    "host": Target("host", "gcc", (), (), (), None, 64),
    "i386": Target("i386", "i686-linux-gnu-gcc", (), ("-static",), (), None, 32),
    "aarch64": Target(
        "aarch64",
        "aarch64-linux-gnu-gcc",
        (),
        ("-static",),
        ("qemu-aarch64",),
        "qemu-aarch64",
        64,
    ),
    "armhf": Target(
        "armhf",
        "arm-linux-gnueabihf-gcc",
        (),
        ("-static",),
        ("qemu-arm",),
        "qemu-arm",
        32,
    ),
    "riscv64": Target(
        "riscv64",
        "riscv64-linux-gnu-gcc",
        (),
        ("-static",),
        ("qemu-riscv64",),
        "qemu-riscv64",
        64,
    ),
    "win64": Target("win64", "x86_64-w64-mingw32-gcc", (), (), None, None, 64),
    "win32": Target("win32", "i686-w64-mingw32-gcc", (), (), None, None, 32),
}

FOREIGN_TARGETS: tuple[str, ...] = ("i386", "aarch64", "armhf", "riscv64", "win64", "win32")


class BuildError(RuntimeError):
    """Base class of every failure raised by this module."""


class ToolchainMissing(BuildError):
    """The compiler (or emulator) for a target is not installed."""


class CompileError(BuildError):
    """The compiler rejected the source; the message carries its stderr."""


class RunError(BuildError):
    """A built program exited with a non-zero status or timed out."""


def cache_dir() -> Path:
    """The cache directory (created on first use)."""
    env = os.environ.get("KOFFI_TEST_CACHE")
    path = Path(env) if env else REPO_ROOT / ".koffi-test-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _target(target: str) -> Target:
    try:
        return TARGETS[target]
    except KeyError:
        raise ValueError(f"unknown target {target!r}; expected one of {sorted(TARGETS)}") from None


def _compiler_name(t: Target) -> str:
    return _host_compiler() if t.name == "host" else t.compiler


def _compiler_path(t: Target) -> str:
    name = _compiler_name(t)
    found = shutil.which(name)
    if found is None:
        raise ToolchainMissing(
            f"C compiler {name!r} for target {t.name!r} is not installed; "
            "run .ci/install-toolchains"
        )
    return os.path.realpath(found)


def toolchain_available(target: str) -> bool:
    """Whether the compiler for ``target`` (and its emulator, if it needs one) is installed."""
    t = _target(target)
    if shutil.which(_compiler_name(t)) is None:
        return False
    return t.runner_tool is None or shutil.which(t.runner_tool) is not None


def _key(parts: Sequence[str | bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:32]


def _tmp_name(final: Path, suffix: str = ".tmp") -> Path:
    """A unique sibling of ``final`` to write to before ``os.replace``."""
    fd, name = tempfile.mkstemp(prefix=final.name + ".", suffix=suffix, dir=final.parent)
    os.close(fd)
    return Path(name)


def _compile(
    t: Target,
    sources: Sequence[Path],
    output: Path,
    flags: Sequence[str],
) -> None:
    """Run the compiler and move its output to ``output`` atomically."""
    tmp = _tmp_name(output)
    cmd = [_compiler_path(t), *flags, *map(str, sources), "-o", str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
        if proc.returncode != 0:
            raise CompileError(
                f"compiling for {t.name} failed (exit {proc.returncode}):\n"
                f"$ {' '.join(cmd)}\n{proc.stderr}"
            )
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def _cached_single_source(
    source: str,
    target: str,
    flags: Sequence[str],
    suffix: str,
) -> Path:
    """Compile one source text with ``flags`` into a cached file ending in ``suffix``."""
    t = _target(target)
    compiler = _compiler_path(t)
    all_flags = [*t.flags, *flags]
    key = _key([source, target, "\0".join(all_flags), compiler])
    out_dir = cache_dir() / "c"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{target}-{key}{suffix}"
    if output.exists():
        return output
    # Compile from a private copy of the source (its name must end in .c), then keep it
    # next to the output for debugging.
    src_final = out_dir / f"{target}-{key}.c"
    src = _tmp_name(src_final, ".c")
    try:
        src.write_text(source)
        _compile(t, [src], output, all_flags)
        os.replace(src, src_final)
    finally:
        src.unlink(missing_ok=True)
    return output


def build_program(
    source: str, target: str, opt: str = DEFAULT_OPT, flags: Sequence[str] = ()
) -> Path:
    """Compile ``source`` (one C translation unit with a ``main``) into an executable for
    ``target`` and return its cached path. Raises :class:`CompileError` with the compiler's
    stderr on failure and :class:`ToolchainMissing` if the compiler is not installed."""
    t = _target(target)
    suffix = ".exe" if t.name.startswith("win") else ""
    return _cached_single_source(source, target, [opt, *flags, *t.link_flags], suffix or ".bin")


def run_program(source: str, target: str, opt: str = DEFAULT_OPT, flags: Sequence[str] = ()) -> str:
    """Compile ``source`` if needed, run it for ``target`` and return its stdout.

    Raises :class:`RunError` on a non-zero exit status (the message has stdout and stderr),
    :class:`CompileError` on a compile failure, and :class:`ToolchainMissing` when the
    compiler or emulator is missing or the target cannot run programs here."""
    t = _target(target)
    if t.runner is None:
        raise ToolchainMissing(
            f"target {target!r} is compile-only here; use compile_asm() and read the assembly"
        )
    if t.runner_tool is not None and shutil.which(t.runner_tool) is None:
        raise ToolchainMissing(
            f"emulator {t.runner_tool!r} for target {target!r} is not installed; "
            "run .ci/install-toolchains"
        )
    exe = build_program(source, target, opt, flags)
    cmd = [*t.runner, str(exe)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise RunError(f"{' '.join(cmd)} timed out after {RUN_TIMEOUT} s") from exc
    if proc.returncode != 0:
        how = (
            f"was killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exited with status {proc.returncode}"
        )
        raise RunError(
            f"{' '.join(cmd)} {how}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc.stdout


def compile_asm(source: str, target: str, opt: str = "-O2", flags: Sequence[str] = ()) -> str:
    """Compile ``source`` with ``-S`` for ``target`` and return the assembly text.

    This is how compile-only targets (``win64``, ``win32``) are inspected: put each quantity
    in a function returning a constant and read the immediate."""
    path = _cached_single_source(source, target, [opt, *flags, "-S"], ".s")
    return path.read_text()


def build_shared(
    sources: list[Path],
    target: str = "host",
    flags: Sequence[str] = (),
) -> Path:
    """Build ``sources`` into a ``-shared -fPIC`` library (for tests that load C with ctypes)
    and return its cached path. Each source's directory is on the include path, and the key
    covers the text of every source and of the ``*.h`` files next to them."""
    t = _target(target)
    compiler = _compiler_path(t)
    srcs = [Path(s).resolve() for s in sources]
    if not srcs:
        raise ValueError("build_shared() needs at least one source file")
    include_dirs = sorted({str(s.parent) for s in srcs})
    headers = sorted({h for d in include_dirs for h in Path(d).glob("*.h")})
    all_flags = [
        *t.flags,
        DEFAULT_OPT,
        "-g",
        "-shared",
        "-fPIC",
        *(f"-I{d}" for d in include_dirs),
        *flags,
    ]
    parts: list[str | bytes] = [target, "\0".join(all_flags), compiler]
    for path in [*srcs, *headers]:
        parts += [path.name, path.read_bytes()]
    key = _key(parts)
    suffix = ".dll" if t.name.startswith("win") else ".so"
    out_dir = cache_dir() / "lib"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{srcs[0].stem}-{target}-{key}{suffix}"
    if not output.exists():
        _compile(t, srcs, output, all_flags)
    return output
