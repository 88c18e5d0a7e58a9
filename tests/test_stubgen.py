"""stubgen: regenerating the committed bindings in stubs/, and calling them for real."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pycparser")

from koffi_typed import stubgen

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "stubs"
LIBC_FUNCTIONS = (
    "strlen,strcmp,strncmp,strchr,strrchr,strstr,strcpy,strncpy,strcat,memcpy,memset,memcmp,"
    "memchr,strdup,strerror,strtol,strtoul,strtod,atoi,atol,atof,abs,labs,div,qsort,bsearch,"
    "malloc,calloc,realloc,free,getenv,rand,srand,time,difftime,mktime,gmtime_r,localtime_r,"
    "strftime,asctime_r,clock")
#: module -> stubgen arguments (the same as in stubs/README.md)
BINDINGS = {
    "kt_zlib": ["zlib.h", "--lib", "libz.so.1"],
    "kt_sqlite3": ["sqlite3.h", "--lib", "libsqlite3.so.0"],
    "kt_libc": ["string.h", "stdlib.h", "time.h", "--lib", "libc.so.6", "--only",
                LIBC_FUNCTIONS],
}


def _binding(name: str) -> Any:
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))
    return importlib.import_module(name)


@pytest.mark.parametrize("module", sorted(BINDINGS))
def test_committed_bindings_are_current(module: str, tmp_path: Path) -> None:
    out = tmp_path / f"{module}.py"
    assert stubgen.main([*BINDINGS[module], "-o", str(out)]) == 0
    assert out.read_text() == (STUBS / f"{module}.py").read_text(), (
        f"stubs/{module}.py is stale: regenerate it with "
        f"python -m koffi_typed.stubgen {' '.join(BINDINGS[module])} -o stubs/{module}.py")


def test_unsupported_constructs_become_comments(tmp_path: Path) -> None:
    header = tmp_path / "decls.h"
    header.write_text(
        "typedef struct { int a; union { int b; float f; }; } anon_t;\n"
        "struct pt { int x; double y; unsigned flags : 3; };\n"
        "enum color { RED, GREEN = 5, BLUE };\n"
        "typedef int (*cmp_fn)(const void *, const void *);\n"
        "int use_anon(anon_t *p);\n"
        "double length(struct pt p, cmp_fn cmp);\n"
        "extern int counter;\n"
        "#define ANSWER (40 + 2)\n#define NAME \"x\"\n#define TWICE(x) ((x) * 2)\n")
    text = stubgen.generate([str(header)], lib="libc.so.6")
    assert "anon_t = _opaque('anon_t')  # opaque: anonymous nested struct/union members" \
        in text
    assert "class pt:" in text and 'flags: Annotated[int, c.bits("unsigned int", 3)] = 0' in text
    assert "class color(IntEnum):" in text and "GREEN = 5" in text and "BLUE = 6" in text
    assert "cmp_fn = _proto('cmp_fn', 'int cmp_fn(const void *, const void *)')" in text
    assert "# counter: not translated (exported variable (use lib.symbol))" in text
    assert "ANSWER = 42" in text
    assert "# not translated, string values: NAME" in text
    assert "# not translated, function-like macros: TWICE" in text
    assert "# length: not translated (not exported by libc.so.6)" in text


def test_zlib_round_trip() -> None:
    z = _binding("kt_zlib")
    data = b"koffi_typed " * 200
    bound = z.compressBound(len(data))
    dest = bytearray(bound)
    size = [bound]
    assert z.compress2(dest, size, data, len(data), 9) == z.Z_OK
    packed = bytes(dest[:size[0]])
    assert zlib.decompress(packed) == data
    theirs = zlib.compress(data)
    out = bytearray(len(data))
    n = [len(out)]
    assert z.uncompress(out, n, theirs, len(theirs)) == z.Z_OK
    assert bytes(out[:n[0]]) == data
    assert z.crc32(0, data, len(data)) == zlib.crc32(data)
    assert z.adler32(1, data, len(data)) == zlib.adler32(data)
    assert z.zlibVersion() == zlib.ZLIB_RUNTIME_VERSION


def test_sqlite3_against_python_sqlite3(tmp_path: Path) -> None:
    s = _binding("kt_sqlite3")
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as con:
        con.execute("create table t (id integer primary key, name text, score real)")
        con.executemany("insert into t (name, score) values (?, ?)",
                        [("ada", 1.5), ("grace", 2.5)])
    con.close()
    db: list[Any] = [None]
    assert s.sqlite3_open(str(path), db) == s.SQLITE_OK
    handle = db[0]
    assert handle
    err: list[str | None] = [None]
    assert s.sqlite3_exec(handle, "insert into t (name, score) values ('alan', 3.5)", None,
                          None, err) == s.SQLITE_OK, err
    stmt: list[Any] = [None]
    assert s.sqlite3_prepare_v2(handle, "select id, name, score from t order by id", -1,
                                stmt, None) == s.SQLITE_OK
    rows = []
    while s.sqlite3_step(stmt[0]) == s.SQLITE_ROW:
        text = s.sqlite3_column_text(stmt[0], 1)
        name = text.cast("char").deref() if text is not None and not isinstance(text, str) \
            else text
        rows.append((s.sqlite3_column_int(stmt[0], 0), name,
                     s.sqlite3_column_double(stmt[0], 2)))
    assert s.sqlite3_finalize(stmt[0]) == s.SQLITE_OK
    assert s.sqlite3_close(handle) == s.SQLITE_OK
    with sqlite3.connect(path) as con:
        expected = con.execute("select id, name, score from t order by id").fetchall()
    con.close()
    assert [r[0] for r in rows] == [e[0] for e in expected]
    assert [r[2] for r in rows] == [e[2] for e in expected]
    assert len(rows) == 3


def test_libc_subset() -> None:
    libc = _binding("kt_libc")
    assert libc.strlen("hello") == 5
    assert libc.abs(-7) == 7
    assert libc.strtol("ff", None, 16) == 255
    t = libc.tm()
    now = libc.time(None)
    assert libc.gmtime_r([now], t)
    assert t.tm_year > 100
    buf = bytearray(64)
    n = libc.strftime(buf, len(buf), "%Y", t)
    assert buf[:n].decode() == str(1900 + t.tm_year)
