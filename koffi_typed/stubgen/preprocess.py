"""Step 1: the C compiler preprocesses the headers; which of them belong to the library.

``cc -E -dD`` runs with GNU extensions defined away (`CPP_FLAGS`); its output is split into
code (line markers and ``#pragma pack`` kept), the macros defined at the end, the files seen
and the top-level declarations, with the bodies of inline functions blanked (only
declarations matter). `library_files` picks the library's own headers (step 3 of
`koffi_typed.stubgen`).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from koffi_typed.stubgen.errors import StubgenError

__all__ = ["CPP_FLAGS", "Macro", "Preprocessed", "library_files", "preprocess",
           "run_command", "wrapper_source"]

#: Defines that let pycparser (C99/C11, no GNU extensions) read glibc and friends.
CPP_FLAGS: Final = [
    "-U__GNUC__", "-D__attribute__(x)=", "-D__extension__=", "-D__restrict=",
    "-D__restrict__=", "-D__inline=", "-D__inline__=", "-D__asm__(x)=", "-D__asm(x)=",
    "-D__builtin_va_list=void *", "-D__signed__=signed", "-D_Noreturn=", "-D__volatile__=",
    "-D__thread=", "-D__builtin_offsetof=offsetof", "-D__alignof__=_Alignof",
    "-D__declspec(x)=", "-D__forceinline=", "-D__cdecl=", "-D__stdcall="]


@dataclass
class Macro:
    """A ``#define``: ``params`` is None for object-like macros."""

    name: str
    params: str | None
    body: str
    file: str
    order: int


@dataclass
class Preprocessed:
    """What the preprocessor gave: code (with line markers), macros, files and their roles."""

    text: str
    origins: list[tuple[str, int]]  # per line of text: (header, line)
    macros: dict[str, Macro]
    mains: list[str]  # the headers themselves, as the preprocessor names them
    search: list[str]  # the include directories, in search order
    files: set[str]
    chunks: list[tuple[int, int]] = field(default_factory=list)  # top-level declarations


_MARKER: Final = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"((?: \d)*)\s*$')
_DEFINE: Final = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?\s?(.*)$")
_UNDEF: Final = re.compile(r"#\s*undef\s+([A-Za-z_]\w*)")


def run_command(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    """Run a C compiler command; a missing compiler or one that hangs is a `StubgenError`."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    except FileNotFoundError:
        raise StubgenError(f"cannot {what}: {cmd[0]!r} not found (choose a C compiler with "
                           "--cc or $CC)") from None
    except subprocess.TimeoutExpired:
        raise StubgenError(f"cannot {what}: {cmd[0]} did not finish in 600 s") from None


def wrapper_source(headers: Sequence[str]) -> str:
    """A C file including ``headers``: paths as files, other names as ``<system>`` headers."""
    lines = []
    for h in headers:
        if os.path.exists(h):
            lines.append(f'#include "{os.path.abspath(h)}"')
        else:
            lines.append(f"#include <{h}>")
    return "\n".join(lines) + "\n"


def preprocess(headers: Sequence[str], cc: str, flags: Sequence[str]) -> Preprocessed:
    """Run the preprocessor over ``headers`` and split its output."""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "koffi_stubgen.c")
        with open(wrapper, "w", encoding="utf-8") as f:
            f.write(wrapper_source(headers))
        cmd = [cc, "-E", "-dD", "-v", *CPP_FLAGS, *flags, wrapper]
        proc = run_command(cmd, "preprocess the headers")
    stderr = proc.stderr.splitlines()
    search = _search_dirs(stderr)
    if proc.returncode:
        tail = stderr[next((i + 1 for i, s in enumerate(stderr) if s.startswith(
            "End of search list")), 0):]
        shown = "\n".join(line for line in tail if line.strip()) or proc.stderr
        raise StubgenError(f"the C preprocessor failed on {', '.join(headers)}:\n{shown}")
    macros: dict[str, Macro] = {}
    code: list[str] = []
    origins: list[tuple[str, int]] = []
    mains: list[str] = []
    files: set[str] = set()
    current, line_no = "", 0
    for line in proc.stdout.splitlines():
        m = _MARKER.match(line)
        if m is not None:
            name = m[2].encode("latin-1", "backslashreplace").decode("unicode_escape") \
                if "\\" in m[2] else m[2]
            if "1" in m[3].split() and current == wrapper and name not in mains:
                mains.append(name)
            current, line_no = name, int(m[1]) - 1
            files.add(name)
            code.append(line)
            origins.append((current, line_no))
            continue
        line_no += 1
        origins.append((current, line_no))
        stripped = line.lstrip()
        if stripped.startswith("#"):
            d = _DEFINE.match(stripped)
            if d is not None:
                old = macros.get(d[1])
                macros[d[1]] = Macro(d[1], d[2], d[3].strip(), current,
                                     old.order if old is not None else len(macros))
            else:
                u = _UNDEF.match(stripped)
                if u is not None:
                    macros.pop(u[1], None)
                elif re.match(r"#\s*pragma\s+pack\b", stripped):
                    code.append(stripped)
                    continue
            code.append("")
            continue
        code.append(line)
    files.discard(wrapper)
    result = Preprocessed("\n".join(code), origins, macros, mains, search, files)
    result.text, result.chunks = _strip_bodies(result.text)
    return result


def _search_dirs(stderr: list[str]) -> list[str]:
    dirs: list[str] = []
    inside = False
    for line in stderr:
        if line.startswith("#include") and "search starts here" in line:
            inside = True
            continue
        if line.startswith("End of search list"):
            break
        if inside and line.startswith(" "):
            d = line.strip().removesuffix(" (framework directory)")
            dirs.append(os.path.normpath(d))
    return dirs


_SCAN: Final = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[{};]|^#[^\n]*',
                          re.MULTILINE)


def _strip_bodies(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Blank the bodies of function definitions (keeping ``{}`` and line breaks) and find the
    top-level declarations: ``(start, end)`` offsets, each ending at ``;`` or ``}``."""
    out = list(text)
    chunks: list[tuple[int, int]] = []
    depth = 0
    start = 0
    body_start = -1
    for m in _SCAN.finditer(text):
        tok = m[0]
        if tok[0] in "\"'#":
            if tok.startswith("#pragma") and depth:
                for i in range(m.start(), m.end()):
                    out[i] = " "
            continue
        pos = m.start()
        if tok == "{":
            if depth == 0:
                j = pos - 1
                while j >= 0 and text[j].isspace():
                    j -= 1
                body_start = pos if j >= 0 and text[j] == ")" else -1
            depth += 1
        elif tok == "}":
            depth = max(depth - 1, 0)
            if depth == 0 and body_start >= 0:
                for i in range(body_start + 1, pos):
                    if out[i] != "\n":
                        out[i] = " "
                body_start = -1
                chunks.append((start, pos + 1))
                start = pos + 1
        elif tok == ";" and depth == 0:
            chunks.append((start, pos + 1))
            start = pos + 1
    if start < len(text):
        chunks.append((start, len(text)))
    return "".join(out), chunks


def library_files(pre: Preprocessed, include_dirs: Sequence[str]) -> set[str]:
    """The headers whose declarations belong to the library (step 3 of `koffi_typed.stubgen`)."""
    roots = sorted({os.path.normpath(d) for d in pre.search}, key=len, reverse=True)
    keep_dirs = [os.path.normpath(os.path.abspath(d)) for d in include_dirs]
    rel_dirs: set[str] = set()
    stems: set[str] = set()
    for main in pre.mains:
        path = os.path.normpath(main)
        root = next((r for r in roots if path.startswith(r + os.sep)), None)
        if root is None:
            keep_dirs.append(os.path.dirname(os.path.abspath(path)))
            continue
        rel = os.path.relpath(path, root)
        head, _, _ = rel.partition(os.sep)
        if head != rel:
            rel_dirs.add(head)
        else:
            stems.add(os.path.splitext(rel)[0])
    out: set[str] = set()
    for f in pre.files:
        path = os.path.normpath(f)
        if any(path.startswith(d + os.sep) for d in keep_dirs):
            out.add(f)
            continue
        root = next((r for r in roots if path.startswith(r + os.sep)), None)
        if root is None:
            continue
        rel = os.path.relpath(path, root)
        if rel.partition(os.sep)[0] in rel_dirs or any(rel.startswith(s) for s in stems):
            out.add(f)
    out.update(pre.mains)
    return out
