"""Koffi's documented API as written: errno names as attributes, every config key with
Koffi's defaults (and the ones that act, acting), type objects read like Koffi's, a clean
``koffi.types``, errors that say where to look."""

from __future__ import annotations

import errno
import os
import rlcompleter
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi

REPO = Path(__file__).resolve().parent.parent

KOFFI_DEFAULTS = {
    "sync_stack_size": 2 * 1024 * 1024,
    "sync_heap_size": 1024 * 1024,
    "async_stack_size": 128 * 1024,
    "async_heap_size": 128 * 1024,
    "resident_async_pools": 8,
    "max_async_calls": 256,
    "max_type_size": 64 * 1024 * 1024,
}


def run_script(script: str) -> str:
    """Run ``script`` in a fresh interpreter importing the package under test."""
    env = {**os.environ, "PYTHONPATH": str(Path(koffi.__file__).parent.parent)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# ------------------------------------------------------------------ errno names

@pytest.mark.parametrize("name", sorted(errno.errorcode.values()))
def test_errno_names_by_attribute_and_key(name: str) -> None:
    code = getattr(errno, name)
    assert getattr(koffi.os.errno, name) == koffi.os.errno[name] == code


def test_errno_namespace_misuse() -> None:
    with pytest.raises(AttributeError, match="ENOPE"):
        koffi.os.errno.ENOPE  # noqa: B018
    with pytest.raises(KeyError):
        koffi.os.errno["ENOPE"]
    with pytest.raises(AttributeError):
        koffi.os.errno.EBADF = 3  # type: ignore[misc]
    assert "EBADF" in koffi.os.errno and "EBADF" in dir(koffi.os.errno)
    assert dict(koffi.os.errno)["ENOENT"] == errno.ENOENT


def test_errno_after_a_failing_call_matches_the_name() -> None:
    close = koffi.load(None).func("int close(int fd)")
    assert close(-1) == -1
    assert koffi.errno() == koffi.os.errno.EBADF


# ------------------------------------------------------------------ config

def test_config_has_every_koffi_key_with_koffi_defaults() -> None:
    script = """
import koffi_typed as koffi
print(sorted(koffi.config().items()))
"""
    assert run_script(script).strip() == str(sorted(KOFFI_DEFAULTS.items()))


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(sorted(KOFFI_DEFAULTS)), value=st.integers(-10, 2**31))
def test_config_checks_every_value(key: str, value: int) -> None:
    before = koffi.config()
    try:
        after = koffi.config({key: value})
    except ValueError as exc:
        assert key in str(exc)
        assert koffi.config() == before  # nothing changed
    else:
        assert after[key] == value == koffi.config()[key]
    finally:
        koffi.config({"max_async_calls": before["max_async_calls"],
                      "resident_async_pools": before["resident_async_pools"]})
        koffi.config({k: v for k, v in before.items()
                      if k not in ("max_async_calls", "resident_async_pools")})
    assert koffi.config() == before


def test_config_refuses_unknown_keys_and_non_ints() -> None:
    with pytest.raises(ValueError, match="no_such_key"):
        koffi.config({"no_such_key": 1})
    with pytest.raises(TypeError, match="sync_heap_size"):
        koffi.config({"sync_heap_size": "1M"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="max_async_calls"):
        koffi.config({"max_async_calls": True})
    with pytest.raises(ValueError, match="resident_async_pools"):
        koffi.config({"max_async_calls": 4, "resident_async_pools": 5})


def test_config_docstring_says_which_settings_mean_nothing() -> None:
    doc = koffi.config.__doc__ or ""
    for key in KOFFI_DEFAULTS:
        assert key in doc
    assert "without meaning over ctypes" in doc


def test_resident_async_workers(c_library: Callable[[str], Path]) -> None:
    """resident_async_pools workers stay after a burst of asynchronous calls; the workers
    started beyond them (up to max_async_calls) exit once idle."""
    script = f"""
import threading, time
import koffi_typed as koffi
from koffi_typed import asyncpool
koffi.config({{"max_async_calls": 6, "resident_async_pools": 2}})
lib = koffi.load({str(c_library("callbacks"))!r})
sleep = lib.func("int SleepAndCount(int ms, int value)")
futures = [sleep.async_(30, i) for i in range(12)]
assert [f.result(timeout=60) for f in futures] == [2 * i for i in range(12)]
peak = lib.func("int GetMaxConcurrency(void)")()
assert 3 <= peak <= 6, peak
deadline = time.time() + 10
while asyncpool.live_workers() > 2 and time.time() < deadline:
    time.sleep(0.01)
assert asyncpool.live_workers() == 2, asyncpool.live_workers()
time.sleep(0.1)
names = [t.name for t in threading.enumerate() if t.name.startswith("koffi-async")]
assert len(names) == 2, names
assert sleep.async_(1, 21).result(timeout=10) == 42
koffi.reset()
assert asyncpool.live_workers() == 0
print("ok")
"""
    assert run_script(script).strip() == "ok"


# ------------------------------------------------------------------ type objects

def test_introspect_reads_like_koffi() -> None:
    mixed = koffi.struct("MixedApiK", {"a": "int8_t", "b": "double", "c": "const char *",
                                        "d": koffi.array("uint16_t", 3), "e": [8, "int16_t"]})
    info = koffi.introspect(mixed)
    assert info is koffi.type(mixed)  # the Type itself (SPEC §1)
    assert info["members"]["b"]["offset"] == info.members["b"].offset == 8
    assert info["members"]["e"]["offset"] == 32
    assert info["members"]["d"]["type"] is koffi.type("uint16_t [3]")
    assert info["size"] == 40 and info["alignment"] == 8 and info["primitive"] == "Record"
    assert set(info.keys()) == {"name", "primitive", "size", "alignment", "disposable",
                                "members"}
    assert dict(info)["name"] == "MixedApiK"
    text = repr(info)
    for piece in ("'MixedApiK'", "a: int8_t @0", "b: double @8", "c: char * @16",
                  "d: uint16_t[3] @24", "e: int16_t @32"):
        assert piece in text, text
    assert repr(koffi.type("int")) == "<Type 'int' Int32 size=4 align=4>"
    with pytest.raises(KeyError):
        info["ref"]  # does not apply to records
    assert koffi.type("int *")["ref"] is koffi.type("int")
    member = info.members["b"]
    assert member[2] == member["offset"] == 8  # positional access stays


def test_introspect_bitfields_and_members_skip_padding() -> None:
    t = koffi.struct("BitsApiK", {"a": "uint8_t", "_": "uint8_t", "b": "uint16_t"})
    assert list(koffi.introspect(t)["members"]) == ["a", "b"]
    assert koffi.introspect(t)["members"]["b"]["offset"] == 2


def test_types_namespace_holds_primitives_only() -> None:
    names = dir(koffi.types)
    assert {"int8", "int32_t", "uint64_be_t", "str16", "size_t", "char", "void"} <= set(names)
    for name in names:
        assert isinstance(getattr(koffi.types, name), koffi.Type), name
    for leaked in ("Any", "Final", "annotations", "reset", "compute_record", "Type"):
        assert leaked not in names
    completer = rlcompleter.Completer({"koffi": koffi})
    matches = []
    state = 0
    while (match := completer.complete("koffi.types.", state)) is not None:
        matches.append(match)
        state += 1
    assert matches and all(m.removeprefix("koffi.types.").rstrip("(") in names
                           for m in matches), matches
    assert "koffi.types.int32" in matches


# ------------------------------------------------------------------ errors that point the way

def test_missing_symbol_names_the_library(c_library: Callable[[str], Path]) -> None:
    path = str(c_library("contract"))
    lib = koffi.load(path)
    with pytest.raises(koffi.Error, match=rf"Cannot find function 'NoSuchFunc' in shared "
                                          rf"library '{path}'"):
        lib.func("int NoSuchFunc(void)")
    with pytest.raises(koffi.Error, match=r"Cannot find symbol 'no_such_var' in shared "
                                          r"library '.*contract"):
        lib.symbol("no_such_var", "int")
    with pytest.raises(koffi.Error, match="of the running process"):
        koffi.load(None).func("int NoSuchFunc(void)")


# ------------------------------------------------------------------ Koffi's other spellings

CONVENTIONS = ["__cdecl", "__stdcall", "__fastcall", "__thiscall"]


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("form", ["prototype", "classic"])
def test_convention_shorthands_are_deprecated_spellings_of_func(
        c_library: Callable[[str], Path], convention: str, form: str) -> None:
    """Koffi's ``lib.stdcall(...)`` (and cdecl, fastcall, thiscall) warn, as Koffi's do, and
    declare what ``lib.func(convention, ...)`` declares; conventions only differ on x86, so
    the call itself works here on every host."""
    lib = koffi.load(c_library("sync"))
    args: tuple[object, ...] = (("int32_t ThroughInt32(int32_t x)",) if form == "prototype"
                                else ("ThroughInt32", "int32_t", ["int32_t"]))
    shorthand = getattr(lib, convention[2:])
    with pytest.warns(DeprecationWarning, match=rf"lib\.{convention[2:]}\(\.\.\.\) is "
                                                rf"deprecated.*lib\.func\('{convention}'"):
        declared = shorthand(*args)
    plain = lib.func(convention, *args)
    assert declared.info == plain.info and declared.info.convention == convention
    for value in (0, -7, 2**31 - 1, -(2**31)):
        assert declared(value) == plain(value) == value
    with pytest.raises(OverflowError, match="ThroughInt32"):
        declared(2**31)


def test_convention_with_a_prototype_string(c_library: Callable[[str], Path]) -> None:
    lib = koffi.load(c_library("sync"))
    f = lib.func("__stdcall", "int32_t ThroughInt32(int32_t x)")
    assert f.info.convention == "__stdcall" and f(5) == 5
    same = lib.func("__stdcall", "int32_t __stdcall ThroughInt32(int32_t x)")
    assert same.info == f.info
    with pytest.raises(ValueError, match=r"ThroughInt32\(\): declared __stdcall, but "
                                         r"__cdecl given"):
        lib.func("__cdecl", "int32_t __stdcall ThroughInt32(int32_t x)")
    proto = koffi.proto("__stdcall", "int32_t CvProtoK(int32_t x)")
    assert proto.proto.convention == "__stdcall" and koffi.type("CvProtoK") is proto
    anonymous = koffi.proto("__fastcall", "int (int)")
    assert anonymous.proto.convention == "__fastcall" and anonymous.proto.name is None
    with pytest.raises(ValueError, match="declared __stdcall, but __thiscall given"):
        koffi.proto("__thiscall", "int __stdcall CvProtoK2(int)")
    for bad in ({}, ["__cdecl"], 3, None, b"__cdecl"):  # never "unhashable type"
        with pytest.raises(ValueError, match="Unknown calling convention"):
            lib.func(bad, "ThroughInt32", "int32_t", ["int32_t"])
        with pytest.raises(TypeError, match=r"expected \(name, result, \[parameters\]\)"):
            lib.func(bad, "int32_t ThroughInt32(int32_t x)")
        if bad is not None:  # proto(None, result, [params]) is an anonymous prototype
            with pytest.raises((TypeError, ValueError)) as caught:
                koffi.proto(bad, "int", ["int"])
            assert "unhashable" not in str(caught.value)
    with pytest.raises(ValueError, match="Unknown calling convention '__pascal'"):
        lib.func("__pascal", "ThroughInt32", "int32_t", ["int32_t"])


def test_koffi_names_for_classes_and_extension(c_library: Callable[[str], Path]) -> None:
    lib = koffi.load(c_library("sync"))
    assert isinstance(lib, koffi.LibraryHandle) and koffi.LibraryHandle is koffi.Library
    assert isinstance(koffi.type("int"), koffi.TypeObject) and koffi.TypeObject is koffi.Type
    assert koffi.extension == ".so" and str(c_library("sync")).endswith(koffi.extension)


@pytest.mark.parametrize("decl", [
    "void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))",
    "int apply(int (*)(int), int x)",
    "void on(void (*handler) (int sig))",
])
def test_inline_function_pointer_parameters_are_declared(decl: str) -> None:
    """Function pointers written inline, as C does, declare an anonymous prototype."""
    info = koffi.abi.classify(decl).function  # parsed, nothing registered
    kinds = [a.type.primitive for a in info.arguments]
    assert "Callback" in kinds, kinds
    fn = info.arguments[kinds.index("Callback")].type
    assert fn.ref is not None and fn.ref.primitive == "Prototype"


@pytest.mark.parametrize("make", [
    lambda: koffi.type("int (*)(const void *, const void *)"),
    lambda: koffi.struct("InlineFnK", {"cb": "void (*cb)(int)"}),
    lambda: koffi.proto("int apply(int (*fn)(int), int x)"),
])
def test_inline_function_pointer_types_are_accepted(make: Callable[[], object]) -> None:
    """In type strings, record members and prototypes (a name in a type string is
    ignored)."""
    assert make() is not None
