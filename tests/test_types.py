"""Primitive types, the C type-string parser, derived types and their errors."""

from __future__ import annotations

import ctypes
import enum

import pytest

import koffi_typed as koffi
from koffi_typed import c
from koffi_typed.primitives import PRIMITIVES

C_SIZES = {  # C type -> ctypes type, for host sizes straight from the C runtime
    "char": ctypes.c_char, "short": ctypes.c_short, "int": ctypes.c_int,
    "long": ctypes.c_long, "long long": ctypes.c_longlong, "size_t": ctypes.c_size_t,
    "intptr_t": ctypes.c_ssize_t, "wchar_t": ctypes.c_wchar, "float": ctypes.c_float,
    "double": ctypes.c_double, "bool": ctypes.c_bool, "void *": ctypes.c_void_p,
    "long double": ctypes.c_longdouble, "unsigned long": ctypes.c_ulong,
}


@pytest.mark.parametrize("name", sorted(C_SIZES))
def test_host_sizes_match_the_c_runtime(name: str) -> None:
    assert koffi.sizeof(name) == ctypes.sizeof(C_SIZES[name])
    assert koffi.alignof(name) == ctypes.alignment(C_SIZES[name])


def test_every_primitive_name_and_alias_is_in_koffi_types() -> None:
    for prim in PRIMITIVES:
        canonical = koffi.type(prim.name)
        for name in prim.aliases:
            assert koffi.type(name) is canonical
            if name.isidentifier():
                assert getattr(koffi.types, name) is canonical
        if prim.name.isidentifier():
            assert getattr(koffi.types, prim.name) is canonical


def test_koffi_types_attribute_access() -> None:
    assert koffi.types.int.primitive == "Int32"
    assert koffi.types.str is koffi.type("const char *")
    assert koffi.types.int32_be_t.primitive == "Int32S"
    assert koffi.types.int32_le.primitive == "Int32"
    assert koffi.types.uint64_be.primitive == "UInt64S"
    assert koffi.types.long.size == ctypes.sizeof(ctypes.c_long)
    assert koffi.types.wchar.size == ctypes.sizeof(ctypes.c_wchar)
    assert "int32" in dir(koffi.types)
    with pytest.raises(AttributeError, match="no primitive type 'nope'"):
        _ = koffi.types.nope


def test_c_aliases_cover_every_identifier_primitive() -> None:
    skip = {"_Bool", "__int128"}  # names a class body would mangle; c.bool / c.int128 exist
    for prim in PRIMITIVES:
        for name in (prim.name, *prim.aliases):
            if name.isidentifier() and name not in skip:
                alias = getattr(c, name)
                assert koffi.type(alias) is koffi.type(name), name


@pytest.mark.parametrize(("spec", "name", "primitive"), [
    ("const char *", "char *", "String"),
    ("char*", "char *", "String"),
    ("unsigned long long int", "unsigned long long", "UInt64"),
    ("signed char", "int8_t", "Int8"),
    ("unsigned", "unsigned int", "UInt32"),
    ("long int", "long", "Int64" if ctypes.sizeof(ctypes.c_long) == 8 else "Int32"),
    ("short unsigned int", "unsigned short", "UInt16"),
    ("const int * const *", "int **", "Pointer"),
    ("int [3]", "int[3]", "Array"),
    ("int [ 3 ]", "int[3]", "Array"),
    ("int [2][3]", "int[2][3]", "Array"),
    ("char *[4]", "char *[4]", "Array"),
    ("char *!", "char *!", "String"),
    ("void *", "void *", "Pointer"),
    ("_Bool", "bool", "Bool"),
    ("struct str16", "char16_t *", "String16"),
    ("wchar_t *", "wchar_t *", "String32" if ctypes.sizeof(ctypes.c_wchar) == 4 else "String16"),
])
def test_parse_type_strings(spec: str, name: str, primitive: str) -> None:
    t = koffi.type(spec)
    assert t.name == name
    assert t.primitive == primitive


def test_multidimensional_arrays_follow_c() -> None:
    t = koffi.type("int [2][3]")
    assert t.length == 2
    assert t.ref is koffi.type("int [3]")
    assert t.size == 24


def test_derived_types_are_interned() -> None:
    assert koffi.type("int *") is koffi.pointer("int")
    assert koffi.type("int **") is koffi.pointer("int", 2)
    assert koffi.type("char *") is koffi.pointer("char") is koffi.types.str
    assert koffi.type("int [4]") is koffi.array("int", 4)
    assert koffi.type("double *") is koffi.type("const double*")
    assert koffi.resolve is koffi.type and koffi.introspect is koffi.type


@pytest.mark.parametrize(("spec", "message", "caret"), [
    ("Pointt *", "Unknown or invalid type name 'Pointt'", 0),
    ("int [", "Invalid array length", 5),
    ("int [x]", "Invalid array length", 5),
    ("int [0]", "Array length must be positive and non-zero", 5),
    ("int [3", "Expected ']' after array length", 6),
    ("int * @", "Unexpected character '@' in type specifier", 6),
    ("long long long", "'long long long' is too long", 10),
    ("unsigned float", "Invalid combination of type specifiers", 0),
    ("int float", "Invalid combination of type specifiers", 4),
    ("int x", "Unexpected token 'x' in type specifier", 4),
    ("", "Unexpected end of type specifier, expected a type name", 0),
    ("* int", "Unexpected token '*', expected a type name", 0),
    ("int!", "Cannot create disposable type for non-pointer", 3),
    ("void [2]", "Type void cannot be used as an array element (maybe try void *)", 5),
    ("int *********", "Too many type indirections", 12),
])
def test_parse_errors_point_at_the_character(spec: str, message: str, caret: int) -> None:
    with pytest.raises(koffi.ParseError) as info:
        koffi.type(spec)
    err = info.value
    assert err.msg == message
    assert err.text == spec
    assert err.pos == caret
    lines = str(err).splitlines()
    assert lines[0] == message
    if spec:
        assert lines[1] == "    " + spec
        assert lines[2] == "    " + " " * caret + "^"
    assert isinstance(err, ValueError) and isinstance(err, koffi.Error)


def test_bad_type_spec_object() -> None:
    with pytest.raises(TypeError, match="Unexpected int value as type specifier"):
        koffi.type(42)


def test_type_objects_are_immutable_and_not_constructible() -> None:
    t = koffi.type("int")
    with pytest.raises(AttributeError, match="immutable"):
        t.size = 8  # type: ignore[misc]
    with pytest.raises(TypeError, match="cannot be constructed manually"):
        koffi.Type("x", "Int32", 4, 4)
    assert repr(t) == "<Type 'int' Int32 size=4 align=4>"


def test_sizeof_alignof_offsetof() -> None:
    S = koffi.struct("TT_S", {"a": "char", "b": "double", "c": "int16_t"})
    assert (koffi.sizeof(S), koffi.alignof(S)) == (ctypes.sizeof(ctypes.c_double) * 3,
                                                   ctypes.alignment(ctypes.c_double))
    assert koffi.offsetof(S, "c") == 2 * ctypes.sizeof(ctypes.c_double)
    assert koffi.offsetof("TT_S", "b") == ctypes.alignment(ctypes.c_double)
    with pytest.raises(TypeError, match="only be used with record types"):
        koffi.offsetof("int", "x")
    with pytest.raises(ValueError, match="does not have member 'zz'"):
        koffi.offsetof(S, "zz")


def test_alias() -> None:
    t = koffi.alias("TT_MyInt", "int32_t")
    assert t is koffi.types.int32
    assert koffi.type("TT_MyInt *") is koffi.type("int32_t *")
    with pytest.raises(koffi.Error, match="Duplicate type name 'TT_MyInt'"):
        koffi.alias("TT_MyInt", "int")
    with pytest.raises(koffi.Error, match="Invalid type name"):
        koffi.alias("not valid", "int")
    with pytest.raises(koffi.Error, match="primitive"):
        koffi.alias("int", "long")


def test_opaque_and_redefinition_once() -> None:
    handle = koffi.opaque("TT_Handle")
    assert (handle.size, handle.primitive) == (0, "Void")
    ptr = koffi.type("TT_Handle *")
    assert ptr.ref is handle
    with pytest.raises(TypeError, match="cannot be used as a member"):
        koffi.struct("TT_UsesHandle", {"h": handle})
    Defined = koffi.struct(handle, {"x": "int", "y": "int"})
    assert koffi.type(Defined) is handle
    assert handle.size == 8 and handle.primitive == "Record"
    assert ptr.ref.members is not None and list(ptr.ref.members) == ["x", "y"]
    with pytest.raises(koffi.Error, match="Cannot redefine non-opaque type TT_Handle"):
        koffi.struct(handle, {"z": "int"})
    anonymous = koffi.opaque()
    assert koffi.pointer(anonymous).size == ctypes.sizeof(ctypes.c_void_p)


def test_pointer_forms() -> None:
    assert koffi.pointer("int", 3) is koffi.type("int ***")
    named = koffi.pointer("TT_HANDLE", koffi.opaque())
    assert named.name == "TT_HANDLE" and named.primitive == "Pointer"
    assert koffi.type("TT_HANDLE") is named
    for bad in (0, 5):
        with pytest.raises(ValueError, match="count must be between 1 and 4"):
            koffi.pointer("int", bad)


def test_array_hints() -> None:
    assert koffi.array("char", 8).hint == "String"
    assert koffi.array("int", 8).hint == "Array"
    assert koffi.array("uint8_t", 8, "Bytes").hint == "Bytes"
    assert koffi.array("uint8_t", 8, "buffer").hint == "Bytes"
    assert koffi.array("int16_t", 4, "string").hint == "String"
    assert koffi.array("float", 4, "Typed").hint == "Typed"
    with pytest.raises(ValueError, match="only be used with 8, 16 and 32-bit signed"):
        koffi.array("uint8_t", 4, "String")
    with pytest.raises(ValueError, match="Unknown array hint"):
        koffi.array("int", 4, "List")
    with pytest.raises(ValueError, match="positive and non-zero"):
        koffi.array("int", 0)
    with pytest.raises(ValueError, match="numeric element"):
        koffi.array("char *", 2, "Typed")


def test_enumeration_storage_rules() -> None:
    unsigned = koffi.enumeration("TT_E1", {"A": 0, "B": 42})
    assert (unsigned.primitive, unsigned.ref.name, unsigned.size) == ("Enum", "unsigned int", 4)
    assert dict(unsigned.values or {}) == {"A": 0, "B": 42}
    signed = koffi.enumeration("TT_E2", {"A": -1, "B": 1})
    assert signed.ref is koffi.types.int
    wide = koffi.enumeration("TT_E3", {"A": 0, "B": 2**33})
    assert wide.ref is koffi.types.uint64_t and wide.size == 8
    small = koffi.enumeration("TT_E4", {"A": 0, "B": 200}, "uint8_t")
    assert small.size == 1
    assert koffi.type("TT_E4") is small
    with pytest.raises(OverflowError, match="does not fit in uint8_t"):
        koffi.enumeration({"A": 300}, "uint8_t")
    with pytest.raises(TypeError, match="must be an integer type"):
        koffi.enumeration({"A": 1}, "double")
    with pytest.raises(OverflowError, match="Cannot find storage type wide enough"):
        koffi.enumeration({"A": -1, "B": 2**63})
    with pytest.raises(TypeError, match="must be an integer"):
        koffi.enumeration({"A": "x"})

    class TTColor(enum.IntEnum):
        RED = 1
        GREEN = 2

    color = koffi.enumeration(TTColor)
    assert color.name == "TTColor" and color.python_class is TTColor
    with pytest.raises(koffi.Error, match="Duplicate type name 'TTColor'"):
        koffi.enumeration(TTColor)


def test_disposable() -> None:
    t = koffi.disposable("char *")
    assert t.disposable and t.primitive == "String"
    assert koffi.type("char *!") is t
    custom = \
        koffi.disposable("str", lambda p: None, name="TT_HeapStr")
    assert custom.name == "TT_HeapStr" and custom is not t
    named = koffi.disposable("TT_HeapStr2", "str")
    assert named.name == "TT_HeapStr2" and named.disposable and koffi.type("TT_HeapStr2") is named
    with pytest.raises(TypeError, match="non-pointer"):
        koffi.disposable("int")
    with pytest.raises(TypeError, match="already disposable"):
        koffi.disposable(t)


def test_layout_for_other_abis() -> None:
    assert koffi.abi.layout("long", "win64").size == 4
    assert koffi.abi.layout("long", "aarch64").size == 8
    assert koffi.abi.layout("long double", "x86_cdecl").size == 12
    assert koffi.abi.layout("double", "x86_cdecl").alignment == 4
    assert koffi.abi.layout("wchar_t", "win64").size == 2
    assert koffi.abi.layout("wchar_t *", "x86_win").primitive == "String16"
    assert koffi.abi.layout("void *", "arm32_hf").size == 4
    with pytest.raises(ValueError, match="Unknown ABI 'vax'"):
        koffi.abi.layout("int", "vax")
    assert koffi.abi.host() in koffi.abi.names()
