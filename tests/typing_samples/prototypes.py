"""lib.func / koffi.proto prototype strings, record checks and defaults (mypy plugin)."""

from typing import Annotated, Final, reveal_type

import koffi_typed as koffi
from koffi_typed import c

lib = koffi.load(None)

abs_ = lib.func("int abs(int)")
reveal_type(abs_)  # N: Revealed type is "koffi_typed.functions.Function[[int], int]"
n: int = abs_(-3)
abs_("x")  # E: Argument 1 to "__call__" of "Function" has incompatible type "str"; expected "int"  [arg-type]
strlen = lib.func("size_t strlen(const char *s)")
reveal_type(strlen)  # N: Revealed type is "koffi_typed.functions.Function[[str | bytes | bytearray | memoryview | array.array[Any] | koffi_typed.pointer.Pointer[Any] | koffi_typed.pointer.Cast | None], int]"
printf = lib.func("int printf(const char *fmt, ...)")
reveal_type(printf)  # N: Revealed type is "koffi_typed.functions.Function[[str | bytes | bytearray | memoryview | array.array[Any] | koffi_typed.pointer.Pointer[Any] | koffi_typed.pointer.Cast | None, *Any], int]"
hypot = lib.func("double hypot(double x, double y)")
reveal_type(hypot(3, 4))  # N: Revealed type is "float"
PROTO: Final = "void srand(unsigned int seed)"
reveal_type(lib.func(PROTO))  # N: Revealed type is "koffi_typed.functions.Function[[int], None]"
bad = lib.func("int frob(widget_t w)")  # E: Unknown C type "widget_t" in C prototype "int frob(widget_t w)"  [koffi-decl]
bad2 = lib.func("int frob(int x y)")  # E: Unexpected token 'y', expected ')' in C prototype "int frob(int x y)" (at offset 15)  [koffi-decl]


@koffi.struct
class Point:
    x: c.int32
    y: c.double


@koffi.union
class Value:
    i: c.int64
    d: c.double


@koffi.struct(pack=1, name="hdr")
class Header:
    tag: c.uint8
    name: Annotated[str, "char [16]"]
    flags: Annotated[int, c.bits(c.uint32, 3)]
    p: koffi.Ptr["Point"]
    bad: Annotated[int, "int (]"]  # E: Member "bad" of record "Header": Unexpected token '(' in type specifier in C type "int (]"  [koffi-decl]


@koffi.struct
class Bad:
    a: int  # E: Member "a" of record "Bad": annotation int is not a C type (use c.int32, Annotated[int, 'int32_t'], a record class or koffi.Ptr[...])  [koffi-decl]
    b: str  # E: Member "b" of record "Bad": annotation str is not a C type (use c.int32, Annotated[int, 'int32_t'], a record class or koffi.Ptr[...])  [koffi-decl]


reveal_type(Point())  # N: Revealed type is "prototypes.Point"
reveal_type(Point.__init__)  # N: Revealed type is "def (self: prototypes.Point, x: int =, y: float =)"
Value(d=1.0)
Point(1, "2")  # E: Argument 2 to "Point" has incompatible type "str"; expected "float"  [arg-type]
move = lib.func("Point move_point(Point *p, int dx)")
reveal_type(move)  # N: Revealed type is "koffi_typed.functions.Function[[koffi_typed.pointer.Pointer[prototypes.Point] | bytearray | memoryview | array.array[Any] | list[prototypes.Point] | prototypes.Point | koffi_typed.pointer.Cast | None, int], prototypes.Point]"
hdr = lib.func("hdr *get(_Out_ int *n, _Inout_ Point *p, void *data, char **names)")
reveal_type(hdr)  # N: Revealed type is "koffi_typed.functions.Function[[koffi_typed.pointer.Pointer[int] | bytearray | memoryview | array.array[Any] | list[int] | koffi_typed.pointer.Cast | None, koffi_typed.pointer.Pointer[prototypes.Point] | bytearray | memoryview | array.array[Any] | list[prototypes.Point] | prototypes.Point | koffi_typed.pointer.Cast | None, koffi_typed.pointer.Pointer[Any] | str | bytearray | memoryview | array.array[Any] | list[Any] | int | koffi_typed.pointer.Cast | None, koffi_typed.pointer.Pointer[str | None] | bytearray | memoryview | array.array[Any] | list[str | None] | koffi_typed.pointer.Cast | None], koffi_typed.pointer.Pointer[prototypes.Header] | None]"
Cmp = koffi.proto("int Cmp(const void *a, const void *b)")
reveal_type(Cmp)  # N: Revealed type is "koffi_typed.typesystem.Type"
qsort = lib.func("void qsort(void *base, size_t n, size_t size, Cmp *cmp)")
reveal_type(qsort)  # N: Revealed type is "koffi_typed.functions.Function[[koffi_typed.pointer.Pointer[Any] | str | bytearray | memoryview | array.array[Any] | list[Any] | int | koffi_typed.pointer.Cast | None, int, int, (def (koffi_typed.pointer.Pointer[Any] | None, koffi_typed.pointer.Pointer[Any] | None) -> int) | koffi_typed.pointer.Pointer[Any] | None], None]"
D = koffi.struct("D", {"a": "int", "s": "const char *", "p": "void *"})
reveal_type(D)  # N: Revealed type is "def (a: int =, s: str | None =, p: koffi_typed.pointer.Pointer[Any] | None =) -> prototypes.D"
reveal_type(D(a=1).s)  # N: Revealed type is "str | None"
uses_d = lib.func("D getd(D *d)")
reveal_type(uses_d)  # N: Revealed type is "koffi_typed.functions.Function[[koffi_typed.pointer.Pointer[prototypes.D] | bytearray | memoryview | array.array[Any] | list[prototypes.D] | prototypes.D | koffi_typed.pointer.Cast | None], prototypes.D]"
koffi.opaque("sqlite3")
op = lib.func("int sqlite3_open(const char *, _Out_ sqlite3 **db)")
reveal_type(op)  # N: Revealed type is "koffi_typed.functions.Function[[str | bytes | bytearray | memoryview | array.array[Any] | koffi_typed.pointer.Pointer[Any] | koffi_typed.pointer.Cast | None, koffi_typed.pointer.Pointer[koffi_typed.pointer.Pointer[Any] | None] | bytearray | memoryview | array.array[Any] | list[koffi_typed.pointer.Pointer[Any] | None] | koffi_typed.pointer.Cast | None], int]"
classic = lib.func("atoi", "int", ["const char *"])
reveal_type(classic)  # N: Revealed type is "koffi_typed.functions.Function[[str | bytes | bytearray | memoryview | array.array[Any] | koffi_typed.pointer.Pointer[Any] | koffi_typed.pointer.Cast | None], int]"


@lib.function
def cos(x: c.double) -> c.double: ...


reveal_type(cos)  # N: Revealed type is "koffi_typed.functions.Function[[x: float], float]"

# Pointer parameters: bytes only where C cannot write (const), array.array and bytearray as buffers
import array  # noqa: E402

fill = lib.func("void fill(_Out_ int *dst, const int *src, size_t n)")
fill(array.array("i", [0, 0]), b"\x01\x00\x00\x00", 1)
fill(b"\x00" * 8, b"", 0)  # E: Argument 1 to "__call__" of "Function" has incompatible type "bytes"; expected "Pointer[int] | bytearray | memoryview | array[Any] | list[int] | Cast | None"  [arg-type]
put = lib.func("int put(char *buf, const char *text)")
put(bytearray(8), b"text")
put(b"........", "text")  # E: Argument 1 to "__call__" of "Function" has incompatible type "bytes"; expected "str | bytearray | memoryview | array[Any] | Pointer[Any] | Cast | None"  [arg-type]
move_const = lib.func("Point move_const(const Point *p)")
move_const(bytes(Point(1, 2.0)))
reveal_type(Point.from_buffer(bytes(Point())))  # N: Revealed type is "prototypes.Point"
reveal_type(abs_.async_(-1).errno)  # N: Revealed type is "int"
qsort2 = lib.func("void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))")
reveal_type(qsort2)  # N: Revealed type is "koffi_typed.functions.Function[[koffi_typed.pointer.Pointer[Any] | str | bytearray | memoryview | array.array[Any] | list[Any] | int | koffi_typed.pointer.Cast | None, int, int, (def (koffi_typed.pointer.Pointer[Any] | None, koffi_typed.pointer.Pointer[Any] | None) -> int) | koffi_typed.pointer.Pointer[Any] | None], None]"
visit = lib.func("int visit(double (*f)(int n, const char *s), void *data)")
reveal_type(visit)  # N: Revealed type is "koffi_typed.functions.Function[[(def (int, str | None) -> float) | koffi_typed.pointer.Pointer[Any] | None, koffi_typed.pointer.Pointer[Any] | str | bytearray | memoryview | array.array[Any] | list[Any] | int | koffi_typed.pointer.Cast | None], int]"
koffi.alias("Unary", "int (*)(int)")
apply_unary = lib.func("int apply_unary(Unary f, int x)")
reveal_type(apply_unary)  # N: Revealed type is "koffi_typed.functions.Function[[(def (int) -> int) | koffi_typed.pointer.Pointer[Any] | None, int], int]"
bad3 = lib.func("int frob(int (*f)(widget_t))")  # E: Unknown C type "widget_t" in C prototype "int frob(int (*f)(widget_t))"  [koffi-decl]
E = koffi.struct("E", {"free_fn": "void (*)(void *)", "n": "int"})
reveal_type(E)  # N: Revealed type is "def (free_fn: koffi_typed.pointer.Pointer[Any] | None =, n: int =) -> prototypes.E"

# Keywords do not change what is declared or how it is typed
abs_kw = lib.func("int abs(int x)", release_gil=False)
reveal_type(abs_kw)  # N: Revealed type is "koffi_typed.functions.Function[[int], int]"
abs_classic_kw = lib.func("abs", "int", ["int"], release_gil=False)
reveal_type(abs_classic_kw)  # N: Revealed type is "koffi_typed.functions.Function[[int], int]"
bad_kw = lib.func("int abs(gadget_t x)", release_gil=False)  # E: Unknown C type "gadget_t" in C prototype "int abs(gadget_t x)"  [koffi-decl]
Packed2 = koffi.struct("Packed2", {"a": "uint8_t", "b": "int32_t"}, pack=1)
reveal_type(Packed2)  # N: Revealed type is "def (a: int =, b: int =) -> prototypes.Packed2"
Twice = koffi.struct("Twice", {"a": "int", "a": "double"})  # noqa: F601 # E: Duplicate member "a" in record "Twice"  [koffi-decl]
out_int = lib.func("void out_int(_Out_ int n)")  # E: Unexpected int type for an _Out_ parameter, expected a pointer or string type in C prototype "void out_int(_Out_ int n)"  [koffi-decl]
abs_conv = lib.func("__stdcall", "int abs(int x)")
reveal_type(abs_conv)  # N: Revealed type is "koffi_typed.functions.Function[[int], int]"
bad_conv = lib.func("__cdecl", "int abs(gadget_t x)")  # E: Unknown C type "gadget_t" in C prototype "int abs(gadget_t x)"  [koffi-decl]


@lib.function("labs", release_gil=False)
def labs_kw(x: c.long) -> c.long: ...


reveal_type(labs_kw)  # N: Revealed type is "koffi_typed.functions.Function[[x: int], int]"
labs_kw(True)  # E: Argument 1 is a bool, but the C parameter is an integer (koffi_typed refuses bool there; pass int(...))  [koffi-bool]
too_many = lib.func("int many(int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int)")  # E: Functions cannot have more than 64 parameters in C prototype "int many(int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int,int)"  [koffi-decl]
