"""stubgen on minimal headers: one test per construct, hostile names and constant expressions
drawn by hypothesis, calls into C built for the test, and the clean error paths."""

from __future__ import annotations

import enum
import importlib.util
import itertools
import json
import keyword
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pycparser")

import cbuild
from cexprgen import compiler_values, expressions
from typecheck import mypy_errors, pyright_errors

import koffi_typed as koffi
from koffi_typed import stubgen

_counter = itertools.count()


def generate(tmp: Path, header: str, source: str | None = None, *, lib: str = "libc.so.6",
             files: dict[str, str] | None = None, warnings: list[str] | None = None,
             **options: Any) -> str:
    """Write ``header`` (and ``files``), build ``source`` into a library, generate."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)
    path = tmp / "decls.h"
    path.write_text(header)
    if source is not None:
        c_path = tmp / "impl.c"
        c_path.write_text('#include "decls.h"\n' + source)
        lib = str(cbuild.build_shared([c_path]))
    collected: list[str] = [] if warnings is None else warnings
    return stubgen.generate([str(path)], lib=lib, warn=collected.append, **options)


def load(tmp: Path, text: str) -> ModuleType:
    """Import generated module text under a fresh name."""
    name = f"kt_generated_{next(_counter)}"
    path = tmp / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def functions(module: ModuleType) -> dict[str, Any]:
    """C name → declared function of a generated module."""
    return {v.info.name: v for v in vars(module).values() if isinstance(v, koffi.Function)}


def records(module: ModuleType) -> list[type]:
    found = {id(v): v for v in vars(module).values() if isinstance(v, type)
             and v.__module__ == module.__name__ and issubclass(v, koffi.Record)}
    return list(found.values())


# ---------------------------------------------------------------------------- constructs


def test_dependency_order_forward_declarations_and_anonymous_members(tmp_path: Path) -> None:
    text = generate(tmp_path, """
        typedef enum { MODE_A, MODE_B = 5 } mode_t_;
        typedef void (*cb_t)(mode_t_ m, void *data);
        struct node;
        typedef struct node node_t;
        struct holder { cb_t cb; mode_t_ mode; node_t *first; };
        struct node { node_t *next; int v; union { void *p; unsigned count; } active;
                      struct { int x, y; }; union { float f; int i; }; };
        struct a; struct b { struct a *a; };
        struct a { struct b *b; struct b inline_b; };
        int walk(struct holder *h, node_t *n);
        int sum_node(struct node n);
        """, """
        int walk(struct holder *h, node_t *n) { int s = 0; for (; n; n = n->next) s += n->v;
                                                return s + h->mode; }
        int sum_node(struct node n) { return n.v + n.x + n.y + (int)n.active.count; }
        """)
    m = load(tmp_path, text)
    first = koffi.alloc(m.node, 2)
    first[1] = m.node(v=2)
    first[0] = m.node(next=first + 1, v=1)
    assert m.walk(m.holder(mode=m.MODE_B), first) == 8
    koffi.free(first)
    node = m.node(v=1, active=m.node_active(count=2), anon_0=m.node_anon_0(x=3, y=4))
    assert m.sum_node(node) == 10
    assert m.node().anon_1 == m.node_anon_1()
    assert m.a().inline_b == m.b()
    assert text.index("class node_active") < text.index("class node(")
    assert text.index("class b(") < text.index("class a(")


def test_sub_headers_umbrella_include_dir_and_prefix(tmp_path: Path) -> None:
    files = {"inc/mylib/sub.h": "#define SUB_FLAG (1u << 4)\nstruct sub_rec { int a; };\n"
                                "int sub_function(struct sub_rec *r);\n",
             "inc/mylib/umbrella.h": '#include <stddef.h>\n#include "sub.h"\n'
                                     '#include "../other/other.h"\nint top(void);\n',
             "inc/other/other.h": "#define OTHER 1\n#define MYLIB_EXTRA 2\nint other(void);\n"
                                  "int mylib_extra(void);\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    flags = [f"-I{tmp_path / 'inc'}"]
    text = stubgen.generate(["mylib/umbrella.h"], lib="libc.so.6", flags=flags)
    assert "SUB_FLAG = 16" in text and "# sub_function: not translated" in text
    assert "class sub_rec" in text and "# top: not translated" in text
    assert "OTHER" not in text and "other" not in text and "offsetof" not in text
    text = stubgen.generate(["mylib/umbrella.h"], lib="libc.so.6", flags=flags,
                            prefixes=["mylib_", "MYLIB_"])
    assert "MYLIB_EXTRA = 2" in text and "# mylib_extra: not translated" in text
    assert "OTHER" not in text
    text = stubgen.generate(["mylib/umbrella.h"], lib="libc.so.6", flags=flags,
                            include_dirs=[str(tmp_path / "inc/other")])
    assert "OTHER = 1" in text and "# other: not translated" in text


def test_array_parameters_decay_and_function_typedefs(tmp_path: Path) -> None:
    text = generate(tmp_path, """
        typedef struct jb_tag { long x[4]; } jb[1];
        typedef int cb_fn(char *, int);
        int use(jb env, int arr[3], const char *names[], cb_fn *fn);
        """, """
        int use(jb env, int arr[3], const char *names[], cb_fn *fn) {
            env[0].x[3] = 7; arr[2] += 1; return fn((char *)names[1], arr[0]); }
        """)
    assert "# use: not translated" not in text
    m = load(tmp_path, text)
    env = m.jb_tag()
    arr = [5, 0, 1]
    seen: list[Any] = []

    def callback(s: Any, n: int) -> int:
        seen.append((s, n))
        return 40 + n

    assert m.use(env, arr, ["zero", "one"], callback) == 45
    assert env.x[3] == 7 and arr[2] == 2 and seen == [("one", 5)]
    assert '"jb_tag *"' in text and '"int *"' in text and '"const char **"' in text
    assert "_proto('cb_fn', 'int cb_fn(char *, int)')" in text


def test_typedef_struct_with_pointer_typedef_gives_one_class(tmp_path: Path) -> None:
    text = generate(tmp_path, "typedef struct { int a; } one_T, *one_PT;\n"
                              "typedef struct { int b; } *two_QT, two_Q;\n"
                              "one_PT first(one_PT p, two_QT q);\n")
    assert text.count("class one_T(") == 1 and text.count("class two_Q(") == 1
    assert "_alias('one_PT', 'one_T *')" in text and "_alias('two_QT', 'two_Q *')" in text
    m = load(tmp_path, text)
    assert koffi.sizeof(m.one_T) == 4 and koffi.type("one_PT").ref is koffi.type(m.one_T)


def test_constant_expressions_in_lengths_enums_and_macros(tmp_path: Path) -> None:
    text = generate(tmp_path, """
        #include <stddef.h>
        struct ce_s { int a; double b; };
        enum { A = sizeof(struct ce_s), B = A * 2, C = offsetof(struct ce_s, b), D };
        struct ce_t { char buf[sizeof(struct ce_s) * 2 + 1]; int arr[B]; unsigned bits : C - 5; };
        #define BIT(n) (1ULL << (n))
        #define OP_A BIT(3)
        #define OP_B (OP_A | BIT(5) | A)
        #define NAME "x" "y\\n"
        #define RAW "\\xff"
        #define HALF (1.0 / 2)
        #define SZ sizeof(struct ce_t)
        #define NOT_CONST undefined_thing + 1
        #define EMPTY
        """)
    m = load(tmp_path, text)
    assert (m.A, m.B, m.C, m.D) == (16, 32, 8, 9)
    assert (m.OP_A, m.OP_B, m.NAME, m.RAW, m.HALF) == (8, 56, "xy\n", b"\xff", 0.5)
    assert m.SZ == koffi.sizeof(m.ce_t) == 168
    assert koffi.introspect(m.ce_t).members["bits"].bits == 3
    assert "# not translated, not constants: NOT_CONST" in text
    assert "# not translated, empty (flags for the preprocessor): EMPTY" in text


def test_system_records_are_not_opaque(tmp_path: Path) -> None:
    text = stubgen.generate(["sys/select.h", "netinet/in.h", "ctype.h"], lib="libc.so.6",
                            only=["select", "htons", "isalpha"])
    m = load(tmp_path, text)
    assert koffi.sizeof(m.fd_set) == 128
    fds = m.fd_set()
    assert m.select(0, fds, None, None, m.timeval()) == 0
    assert m.htons(1) == 256 and m.isalpha(ord("a"))
    m = load(tmp_path, stubgen.generate(["netinet/in.h"], lib="libc.so.6"))
    assert koffi.sizeof(m.sockaddr_in) == 16 and m.sockaddr_in().sin_addr == m.in_addr()
    assert m.IPPROTO_TCP == 6 and m.ntohl(m.htonl(0x01020304)) == 0x01020304
    m = load(tmp_path, stubgen.generate(["ctype.h"], lib="libc.so.6"))
    assert m._ISupper == 256 and m._ISalpha == 1024  # glibc's <ctype.h> enum
    assert m.toupper(ord("a")) == ord("A")


def test_zero_defaults_construct_nested_records_and_arrays(tmp_path: Path) -> None:
    m = load(tmp_path, generate(tmp_path, """
        struct z_inner { int v[3]; double d; };
        struct z_outer { struct z_inner in; struct z_inner many[2]; char name[8]; void *p;
                         unsigned char raw[4]; struct z_outer *next; };
        """))
    one = m.z_outer()
    assert one.in_ == m.z_inner([0, 0, 0], 0.0) and one.many == [m.z_inner(), m.z_inner()]
    assert (one.name, one.p, one.raw, one.next) == ("", None, [0, 0, 0, 0], None)
    assert one.many[0] is not m.z_outer().many[0]


def test_packed_records_follow_the_compiler(tmp_path: Path) -> None:
    m = load(tmp_path, generate(tmp_path, """
        #pragma pack(push, 2)
        struct pk_two { char c; int i; };
        #pragma pack(pop)
        struct pk_attr { char c; double d; } __attribute__((packed));
        struct pk_plain { char c; double d; };
        """))
    assert koffi.sizeof(m.pk_two) == 6 and koffi.sizeof(m.pk_attr) == 9
    assert koffi.sizeof(m.pk_plain) == 16


def test_unreadable_declarations_are_reported_and_left_out(tmp_path: Path) -> None:
    warnings: list[str] = []
    text = generate(tmp_path, "int good(int x);\nint bad(int x y);\nstruct ur_ok { int a; };\n",
                    warnings=warnings)
    assert re.search(r"# left out, pycparser cannot read them:\n#   \S*decls\.h:2: int bad",
                     text)
    assert "class ur_ok(" in text and "# good: not translated" in text
    assert warnings and "decls.h:2" in warnings[0] and "int bad(int x y);" in warnings[0]


def test_errors_are_messages_not_tracebacks(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.h"
    bad.write_text('#error "this header refuses to compile"\n')
    assert stubgen.main([str(bad), "--lib", "libc.so.6"]) == 2
    err = capsys.readouterr().err
    assert "broken.h:1" in err and "this header refuses" in err and "Traceback" not in err
    assert stubgen.main(["no_such_header_anywhere.h", "--lib", "libc.so.6"]) == 2
    assert "no_such_header_anywhere.h" in capsys.readouterr().err
    assert stubgen.main([str(bad), "--lib", "libc.so.6", "--cc", "/nonexistent/cc"]) == 2
    assert "not found" in capsys.readouterr().err


def test_deep_nesting_and_long_macros(tmp_path: Path) -> None:
    terms = " + ".join(["1"] * 1000)
    chain = "".join(f"#define M{i} (M{i - 1} + 1)\n" for i in range(1, 1000))
    m = load(tmp_path, generate(tmp_path, f"#define LONG ({terms})\n#define DEEP "
                                          f"{'(' * 1000}7{')' * 1000}\n#define M0 0\n{chain}"
                                          f"enum {{ E = {'(' * 300}1{')' * 300} }};\n"))
    assert (m.LONG, m.DEEP, m.M999, m.E) == (1000, 7, 999, 1)


# ---------------------------------------------------------------------------- naming

C_KEYWORDS = frozenset(
    ["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn", "_Static_assert", "_Thread_local", "asm", "typeof", "main", "linux", "unix", "offsetof"])
HOSTILE = sorted({
    *(k for k in keyword.kwlist + keyword.softkwlist if k not in C_KEYWORDS),
    "str", "list", "bytes", "bytearray", "memoryview", "object", "print", "len", "dict", "set",
    "tuple", "range", "id", "hash", "open", "abs", "min", "max", "isinstance", "getattr",
    "lib", "koffi", "c", "array", "Annotated", "Any", "Callable", "IntEnum", "TypeAlias",
    "TypeVar", "TYPE_CHECKING", "annotations", "self", "from_buffer", "_koffi_keep",
    "_koffi_bytes", "_0", "_1", "__init__", "__class__", "__slots__", "__x", "__name__", "_x_",
    "name", "value", "mro", "real", "bit_length", "string", "int8", "uint", "uint8", "wchar",
    "float32", "longlong", "ulong", "intptr", "str16", "_Ref", "_Buf", "_T", "_alias",
    "_opaque", "_proto", "_enumeration", "ZERO", "Record", "Pointer", "Type", "E", "T"})
IDENT = st.one_of(st.sampled_from(HOSTILE), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}",
                                                           fullmatch=True))


def _ok_ident(name: str) -> bool:
    return name not in C_KEYWORDS and not (name.startswith("__") and name.endswith("__")
                                           and name not in HOSTILE)


@st.composite
def hostile_header(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    names = draw(st.lists(IDENT.filter(_ok_ident), min_size=12, max_size=18, unique=True))
    tag = draw(IDENT.filter(_ok_ident))  # tags have their own namespace: may equal any name
    typedef, enum_name, *rest = names
    enumerators, funcs = rest[:3], rest[3:7]
    macros = [n for n in rest[7:] if not n.startswith("_")]  # reserved C names: left out
    members = draw(st.lists(IDENT.filter(_ok_ident).filter(lambda n: n not in macros),
                            min_size=4, max_size=4, unique=True))
    params = draw(st.lists(IDENT.filter(_ok_ident).filter(
        lambda n: n not in (typedef, enum_name, *macros, *enumerators, *funcs)),
        min_size=2, max_size=2, unique=True))
    m0, m1, m2, m3 = members
    header = [f"struct {tag} {{ int {m0}; double {m1}; int {m2}[3]; struct {tag} *{m3}; }};",
              f"typedef struct {tag} {typedef};",
              f"typedef enum {{ {', '.join(f'{e} = {10 * i + 1}' for i, e in enumerate(enumerators))} }} {enum_name};",
              f"void kt_fill({typedef} *{params[0]});"]
    header += [f"int {f}(int {params[0]}, int {params[1]});" for f in funcs]
    header += [f"#define {mac} ({1000 + i})" for i, mac in enumerate(macros)]
    source = [f"void kt_fill({typedef} *kt_p) {{ kt_p->{m0} = 11; kt_p->{m1} = 2.5; kt_p->{m2}[2] = 7; }}"]
    source += [f"int {f}(int kt_a, int kt_b) {{ return {100 * i} + kt_a - kt_b; }}"
               for i, f in enumerate(funcs)]
    facts = {"funcs": funcs, "enumerators": [10 * i + 1 for i in range(len(enumerators))],
             "macros": [1000 + i for i in range(len(macros))]}
    return "\n".join(header) + "\n", "\n".join(source) + "\n", facts


def check_hostile_module(m: ModuleType, facts: dict[str, Any]) -> None:
    fns = functions(m)
    for i, f in enumerate(facts["funcs"]):
        assert fns[f](7, 2) == 100 * i + 5, f
    (rec,) = [r for r in records(m) if len(koffi.introspect(r).members) == 4]
    value = rec()
    fns["kt_fill"](value)
    got = [getattr(value, name) for name in koffi.introspect(rec).members]
    assert got[:3] == [11, 2.5, [0, 0, 7]] and got[3] is None
    ints = {v for k, v in vars(m).items() if isinstance(v, int) and not k.startswith("__")}
    assert set(facts["enumerators"]) <= ints and set(facts["macros"]) <= ints
    (en,) = {id(v): v for v in vars(m).values() if isinstance(v, type)
             and issubclass(v, enum.IntEnum) and v.__module__ == m.__name__}.values()
    assert sorted(en) == facts["enumerators"]


def check_in_subprocess(tmp: Path, text: str, check: str, facts: object) -> None:
    """Import a generated module and run ``check(module, facts)`` in a fresh interpreter
    (C type names are process-wide: each hostile example gets its own registry)."""
    (tmp / "kt_hostile.py").write_text(text)
    code = ("import json, sys; sys.path[:0] = sys.argv[1:3]; import kt_hostile, test_stubgen; "
            f"test_stubgen.{check}(kt_hostile, json.loads(sys.argv[3]))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp), str(Path(__file__).parent),
                           json.dumps(facts)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(hostile_header())
def test_any_c_names_give_a_module_that_imports_and_calls(
        tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str, dict[str, Any]]) -> None:
    header, source, facts = case
    tmp = tmp_path_factory.mktemp("hostile")
    check_in_subprocess(tmp, generate(tmp, header, source), "check_hostile_module", facts)


def test_every_hostile_name_at_once(tmp_path: Path) -> None:
    names = [n for n in HOSTILE if _ok_ident(n)]
    header = [f"int {n}(int {n}_a);" for n in names]
    header += [f"struct s_{i} {{ int {n}; int {n}_; }};" for i, n in enumerate(names)]
    header += [f"typedef enum {{ {', '.join(f'{n}_e' for n in names)} }} all_e;",
               f"struct all_members {{ {' '.join(f'int {n};' for n in names)} }};",
               "int kt_plain(struct all_members *m);"]
    source = [f"int {n}(int kt_a) {{ return kt_a + {i}; }}" for i, n in enumerate(names)]
    source += ["int kt_plain(struct all_members *kt_m) { return kt_m->" + names[-1] + "; }"]
    text = generate(tmp_path, "\n".join(header) + "\n", "\n".join(source) + "\n")
    check_in_subprocess(tmp_path, text, "check_all_hostile", names)
    module = tmp_path / "kt_all_hostile.py"
    module.write_text(text)
    assert mypy_errors(tmp_path / "mypy", [module]) == []
    assert pyright_errors(tmp_path / "pyright", [module]) == []
    for name in names:
        assert re.search(rf"@lib\.function\({name!r}\)|^def {re.escape(name)}\(", text,
                         re.M), name
    assert stubgen.python_name("in") == "in_" and stubgen.python_name("__x") == "x_"
    assert stubgen.python_name("None") == "None_" and stubgen.python_name("lib") == "lib_"


def check_all_hostile(m: ModuleType, names: list[str]) -> None:
    fns = functions(m)
    assert [fns[n](1) for n in names] == [1 + i for i in range(len(names))]
    (allm,) = [r for r in records(m) if len(koffi.introspect(r).members) == len(names)]
    assert fns["kt_plain"](allm(*range(len(names)))) == len(names) - 1


# ---------------------------------------------------------------------------- constants


@st.composite
def define_blocks(draw: st.DrawFn) -> list[str]:
    names: list[str] = []
    exprs: list[str] = []
    for i in range(draw(st.integers(3, 10))):
        exprs.append(draw(expressions(names, depth=3)))
        names.append(f"K{i}")
    return exprs


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(define_blocks())
def test_defines_and_enums_equal_the_compiler(tmp_path_factory: pytest.TempPathFactory,
                                              exprs: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("consts")
    defines = "".join(f"#define K{i} {e}\n" for i, e in enumerate(exprs))
    truth = compiler_values([f"K{i}" for i in range(len(exprs))], prelude=defines)
    enums = "enum {" + ", ".join(f"E{i} = K{i}" for i in truth) + "};\n" if truth else ""
    m = load(tmp, generate(tmp, defines + enums))
    for i in range(len(exprs)):
        if i in truth:
            assert getattr(m, f"K{i}") == truth[i], exprs[i]
            assert getattr(m, f"E{i}") == truth[i], exprs[i]
        else:
            assert not hasattr(m, f"K{i}"), exprs[i]
