"""The command line: ``python -m koffi_typed stubgen HEADER... --lib LIB [-o OUT] [options]``."""

from __future__ import annotations

import argparse
import os
import re
import sys

from koffi_typed.stubgen.errors import StubgenError
from koffi_typed.stubgen.pipeline import generate

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``stubgen HEADER... --lib LIB [-o OUT] [options]``; exit status 2 on
    errors, which are printed without a traceback."""
    ap = argparse.ArgumentParser(prog="python -m koffi_typed stubgen",
                                 description="Generate typed koffi_typed bindings from C headers.")
    ap.add_argument("headers", nargs="+", help="header files or <system> header names")
    ap.add_argument("--lib", required=True, help="shared library to load (e.g. libz.so.1)")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    ap.add_argument("--only", default="", help="comma-separated fnmatch patterns of functions")
    ap.add_argument("--include-dir", action="append", default=[], dest="include_dirs",
                    help="headers under this directory belong to the library (repeatable)")
    ap.add_argument("--prefix", action="append", default=[], dest="prefixes",
                    help="declarations whose names start with this belong to the library "
                    "(repeatable)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="C compiler (cc)")
    ap.add_argument("-D", dest="defines", action="append", default=[], help="preprocessor "
                    "define")
    ap.add_argument("-I", dest="includes", action="append", default=[], help="include dir")
    ap.add_argument("--command", help="the regeneration command the module's docstring shows")
    args = ap.parse_args(argv)
    flags = [f"-D{d}" for d in args.defines] + [f"-I{i}" for i in args.includes]
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    shown: list[str] = []
    skip = False
    for a in argv if argv is not None else sys.argv[1:]:
        if skip or a in ("-o", "--output", "--command"):
            skip = not skip
            continue
        if not a.startswith(("-o", "--output=", "--command=")):
            shown.append(_shell_quote(a))
    command = args.command or "python -m koffi_typed stubgen " + " ".join(shown) + " -o <output>"
    try:
        text = generate(args.headers, lib=args.lib, only=only, cc=args.cc, flags=flags,
                        include_dirs=args.include_dirs, prefixes=args.prefixes,
                        command=command)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    except StubgenError as exc:
        print(f"stubgen: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"stubgen: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: say what broke and where to report it
        print(f"stubgen: internal error ({type(exc).__name__}: {exc}); please report it with "
              "the headers and the command line", file=sys.stderr)
        return 2
    return 0


def _shell_quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + \
        "'"
