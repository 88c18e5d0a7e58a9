"""stubgen on seven real libraries, as a user runs it (no hand edits): each module imports,
its records have the C compiler's layouts, 3–5 real functions work through it, and it passes
``mypy --strict`` (with and without the plugin) and ``pyright --strict``.

The -dev packages come from ``.ci/install-toolchains``; a missing header or library fails
(it is never skipped). Modules are generated once per session.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import zlib as py_zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("pycparser")

from typecheck import clean_verdict_cached, mypy_errors, pyright_command, pyright_errors

import koffi_typed as koffi
from koffi_typed import stubgen

#: name → (headers, library)
LIBRARIES: dict[str, tuple[list[str], str]] = {
    "zlib": (["zlib.h"], "libz.so.1"),
    "sqlite3": (["sqlite3.h"], "libsqlite3.so.0"),
    "png": (["png.h"], "libpng16.so.16"),
    "curl": (["curl/curl.h"], "libcurl.so.4"),
    "uv": (["uv.h"], "libuv.so.1"),
    "sdl2": (["SDL2/SDL.h"], "libSDL2-2.0.so.0"),
    "openssl": (["openssl/ssl.h"], "libssl.so.3"),
}


@pytest.fixture(scope="session")
def binding(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ModuleType]:
    """``binding(name)``: the generated module of a library (generated and imported once)."""
    out = tmp_path_factory.mktemp("bindings")
    modules: dict[str, ModuleType] = {}

    def get(name: str) -> ModuleType:
        if name not in modules:
            headers, lib = LIBRARIES[name]
            path = out / f"kt_{name}.py"
            path.write_text(stubgen.generate(headers, lib=lib))
            spec = importlib.util.spec_from_file_location(f"kt_{name}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            modules[name] = module
        return modules[name]

    return get


def _records(module: ModuleType) -> list[tuple[str, type]]:
    """(C spelling, class) of the records C code can name."""
    found = []
    for value in {id(v): v for v in vars(module).values()}.values():
        if isinstance(value, type) and issubclass(value, koffi.Record) and \
                value.__module__ == module.__name__:
            m = re.search(r"C type ``(.+?)``", value.__doc__ or "")
            if m and not m[1].startswith("anonymous"):
                found.append((m[1], value))
    return found


@pytest.mark.parametrize("name", list(LIBRARIES))
def test_layouts_equal_the_compilers(name: str, binding: Callable[[str], ModuleType],
                                     tmp_path: Path) -> None:
    module = binding(name)
    records = _records(module)
    assert records
    lines = [f"#include <{h}>" for h in LIBRARIES[name][0]]
    lines += ["int main(void) {"]
    lines += [f'  __builtin_printf("%zu %zu\\n", sizeof({c}), _Alignof({c}));'
              for c, _ in records]
    lines += ["  return 0;", "}"]
    (tmp_path / "sizes.c").write_text("\n".join(lines) + "\n")
    subprocess.run(["cc", "-w", str(tmp_path / "sizes.c"), "-o", str(tmp_path / "sizes")],
                   check=True)
    out = subprocess.run([str(tmp_path / "sizes")], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    got = [f"{koffi.sizeof(cls)} {koffi.alignof(cls)}" for _, cls in records]
    assert dict(zip([c for c, _ in records], got)) == dict(zip([c for c, _ in records], out))


def test_zlib(binding: Callable[[str], ModuleType]) -> None:
    z = binding("zlib")
    data = b"koffi " * 300
    dest = bytearray(z.compressBound(len(data)))
    n = [len(dest)]
    assert z.compress2(dest, n, data, len(data), 9) == z.Z_OK
    out = bytearray(len(data))
    m = [len(out)]
    assert z.uncompress(out, m, bytes(dest[:n[0]]), n[0]) == z.Z_OK and out == data
    assert z.crc32(0, data, len(data)) == py_zlib.crc32(data)
    assert z.zlibVersion() == z.ZLIB_VERSION


def test_sqlite3(binding: Callable[[str], ModuleType]) -> None:
    s = binding("sqlite3")
    db: list[Any] = [None]
    assert s.sqlite3_open(":memory:", db) == s.SQLITE_OK
    err: list[Any] = [None]
    assert s.sqlite3_exec(db[0], "create table t (name text); insert into t values ('héllo')",
                          None, None, err) == s.SQLITE_OK, err
    stmt: list[Any] = [None]
    assert s.sqlite3_prepare_v2(db[0], "select name from t", -1, stmt, None) == s.SQLITE_OK
    assert s.sqlite3_step(stmt[0]) == s.SQLITE_ROW
    text = s.sqlite3_column_text(stmt[0], 0)
    assert koffi.decode(text, "char", s.sqlite3_column_bytes(stmt[0], 0)) == "héllo"
    assert s.sqlite3_step(stmt[0]) == s.SQLITE_DONE
    assert s.sqlite3_finalize(stmt[0]) == s.SQLITE_OK
    assert s.sqlite3_close(db[0]) == s.SQLITE_OK


def test_png(binding: Callable[[str], ModuleType], tmp_path: Path) -> None:
    png = binding("png")
    assert png.png_access_version_number() == png.PNG_LIBPNG_VER
    assert png.png_get_libpng_ver(None) == png.PNG_LIBPNG_VER_STRING
    pixels = bytes(range(2 * 3 * 4))  # 2x3 RGBA
    image = png.png_image(version=png.PNG_IMAGE_VERSION, width=2, height=3,
                          format=png.PNG_FORMAT_RGBA)
    path = str(tmp_path / "tiny.png")
    assert png.png_image_write_to_file(image, path, 0, pixels, 0, None), image.message
    back = png.png_image(version=png.PNG_IMAGE_VERSION)
    assert png.png_image_begin_read_from_file(back, path), back.message
    assert (back.width, back.height) == (2, 3)
    back.format = png.PNG_FORMAT_RGBA
    buffer = bytearray(len(pixels))
    assert png.png_image_finish_read(back, None, buffer, 0, None), back.message
    assert bytes(buffer) == pixels


def test_curl(binding: Callable[[str], ModuleType]) -> None:
    curl = binding("curl")
    info = curl.curl_version_info(curl.CURLVERSION_NOW)
    assert info is not None
    data = info.deref()
    assert f"libcurl/{data.version}" in curl.curl_version()
    assert data.age >= curl.CURLVERSION_FIRST and data.version_num >> 16 == 7
    assert curl.curl_easy_strerror(curl.CURLE_OK) == "No error"


def test_uv(binding: Callable[[str], ModuleType]) -> None:
    uv = binding("uv")
    assert uv.uv_loop_s() == uv.uv_loop_s()  # constructs (arrays and records are zeros)
    assert koffi.sizeof(uv.uv_loop_s) == uv.uv_loop_size()
    loop = koffi.alloc(uv.uv_loop_s, 1)  # libuv keeps pointers into the loop: C memory
    try:
        assert uv.uv_loop_init(loop) == 0
        assert uv.uv_run(loop, uv.UV_RUN_DEFAULT) == 0  # an empty loop returns at once
        assert uv.uv_loop_alive(loop) == 0
        assert uv.uv_loop_close(loop) == 0
    finally:
        koffi.free(loop)
    assert uv.uv_version() == uv.UV_VERSION_HEX
    assert uv.uv_strerror(uv.UV_EINVAL) == "invalid argument"


def test_sdl2(binding: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    sdl = binding("sdl2")
    version = sdl.SDL_version()
    sdl.SDL_GetVersion(version)
    assert (version.major, version.minor) == (sdl.SDL_MAJOR_VERSION, sdl.SDL_MINOR_VERSION)
    assert koffi.sizeof(sdl.SDL_Event) == 56
    assert sdl.SDL_Init(sdl.SDL_INIT_VIDEO | sdl.SDL_INIT_EVENTS) == 0, sdl.SDL_GetError()
    try:
        event = sdl.SDL_Event()
        while sdl.SDL_PollEvent(event):  # whatever the dummy driver queued at start
            pass
        sent = sdl.SDL_Event(user=sdl.SDL_UserEvent(type=sdl.SDL_USEREVENT, code=42))
        assert sdl.SDL_PushEvent(sent) == 1
        assert sdl.SDL_PollEvent(event) == 1
        assert event.type == sdl.SDL_USEREVENT and event.user.code == 42
        assert sdl.SDL_PollEvent(None) == 0
    finally:
        sdl.SDL_Quit()


def test_openssl(binding: Callable[[str], ModuleType]) -> None:
    ssl = binding("openssl")
    assert ssl.OpenSSL_version(ssl.OPENSSL_VERSION).startswith("OpenSSL 3.")
    assert ssl.OpenSSL_version_num() >> 28 == ssl.OPENSSL_VERSION_MAJOR
    data = b"koffi_typed " * 100
    ctx = ssl.EVP_MD_CTX_new()
    try:
        assert ssl.EVP_DigestInit_ex(ctx, ssl.EVP_sha256(), None) == 1
        assert ssl.EVP_DigestUpdate(ctx, data, len(data)) == 1
        digest = bytearray(ssl.EVP_MAX_MD_SIZE)
        size = [0]
        assert ssl.EVP_DigestFinal_ex(ctx, digest, size) == 1
    finally:
        ssl.EVP_MD_CTX_free(ctx)
    assert bytes(digest[:size[0]]) == hashlib.sha256(data).digest()
    assert ssl.SSL_OP_NO_TLSv1 == 1 << 26  # SSL_OP_BIT(26): a function-like macro


def test_strict_type_checkers(binding: Callable[[str], ModuleType], tmp_path: Path) -> None:
    """All seven modules under mypy --strict (with and without the plugin) and pyright
    --strict (no plugin). A clean verdict is remembered for identical inputs (typecheck.py)."""
    files = [Path(binding(name).__file__ or "") for name in LIBRARIES]
    import mypy.version
    pyright_version = subprocess.run([*pyright_command(), "--version"], capture_output=True,
                                     text=True, check=True).stdout
    for plugin in (True, False):
        assert clean_verdict_cached(
            f"mypy-plugin-{plugin}", files, mypy.version.__version__,
            lambda plugin=plugin: mypy_errors(tmp_path / f"mypy_{plugin}", files,
                                              plugin=plugin)) == []
    assert clean_verdict_cached("pyright", files, pyright_version,
                                lambda: pyright_errors(tmp_path / "pyright", files)) == []
