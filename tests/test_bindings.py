"""The bindings shipped in koffi_typed.bindings: current with the headers, and calling C.

The tests import the installed package (CI installs it and runs pytest outside the checkout).
"""

from __future__ import annotations

import importlib.resources
import sqlite3 as py_sqlite3
import zlib as py_zlib
from pathlib import Path
from typing import Any

import pytest

import koffi_typed as koffi
from koffi_typed.bindings import BINDINGS


@pytest.mark.parametrize("name", sorted(BINDINGS))
def test_shipped_bindings_are_current(name: str, tmp_path: Path) -> None:
    pytest.importorskip("pycparser")
    from koffi_typed import stubgen

    out = tmp_path / f"{name}.py"
    command = f"python -m koffi_typed.bindings {name}"
    assert stubgen.main([*BINDINGS[name], "-o", str(out), "--command", command]) == 0
    shipped = importlib.resources.files("koffi_typed.bindings").joinpath(f"{name}.py")
    assert out.read_text() == shipped.read_text(), (
        f"koffi_typed/bindings/{name}.py is stale: regenerate it with {command}")


def test_zlib_round_trip() -> None:
    from koffi_typed.bindings import zlib as z

    data = b"koffi_typed " * 200
    bound = z.compressBound(len(data))
    dest = bytearray(bound)
    size = [bound]
    assert z.compress2(dest, size, data, len(data), z.Z_BEST_COMPRESSION) == z.Z_OK
    assert py_zlib.decompress(bytes(dest[:size[0]])) == data
    theirs = py_zlib.compress(data)
    out = bytearray(len(data))
    n = [len(out)]
    assert z.uncompress(out, n, theirs, len(theirs)) == z.Z_OK
    assert bytes(out[:n[0]]) == data
    assert z.crc32(0, data, len(data)) == py_zlib.crc32(data)
    assert z.zlibVersion() == py_zlib.ZLIB_RUNTIME_VERSION == z.ZLIB_VERSION


def test_sqlite3_against_python_sqlite3(tmp_path: Path) -> None:
    from koffi_typed.bindings import sqlite3 as s

    path = tmp_path / "t.db"
    with py_sqlite3.connect(path) as con:
        con.execute("create table t (id integer primary key, name text, score real)")
        con.executemany("insert into t (name, score) values (?, ?)",
                        [("ada", 1.5), ("grâce", 2.5)])
    con.close()
    db: list[Any] = [None]
    assert s.sqlite3_open(str(path), db) == s.SQLITE_OK
    err: list[str | None] = [None]
    assert s.sqlite3_exec(db[0], "insert into t (name, score) values ('alan', 3.5)", None,
                          None, err) == s.SQLITE_OK, err
    stmt: list[Any] = [None]
    assert s.sqlite3_prepare_v2(db[0], "select id, name, score from t order by id", -1,
                                stmt, None) == s.SQLITE_OK
    rows = []
    while s.sqlite3_step(stmt[0]) == s.SQLITE_ROW:
        text = s.sqlite3_column_text(stmt[0], 1)  # const unsigned char *: UTF-8 bytes
        assert text is not None
        name = koffi.decode(text, "char", s.sqlite3_column_bytes(stmt[0], 1))
        rows.append((s.sqlite3_column_int(stmt[0], 0), name,
                     s.sqlite3_column_double(stmt[0], 2)))
    assert s.sqlite3_finalize(stmt[0]) == s.SQLITE_OK
    assert s.sqlite3_close(db[0]) == s.SQLITE_OK
    assert rows == [(1, "ada", 1.5), (2, "grâce", 2.5), (3, "alan", 3.5)]
    assert s.sqlite3_libversion() == py_sqlite3.sqlite_version == s.SQLITE_VERSION


def test_libc_subset() -> None:
    from koffi_typed.bindings import libc

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
    assert libc.div(7, 2) == libc.div_t(3, 1)
