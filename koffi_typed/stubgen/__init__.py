"""Generate a typed binding module from C headers: ``python -m koffi_typed stubgen``.

Usage::

    python -m koffi_typed stubgen zlib.h --lib libz.so.1 -o zlib_binding.py
    python -m koffi_typed stubgen SDL2/SDL.h --lib libSDL2-2.0.so.0 -o sdl2.py
    python -m koffi_typed stubgen string.h stdlib.h --lib libc.so.6 --only 'str*,qsort'

How it works:

1. The C compiler preprocesses the headers (``cc -E -dD``, GNU extensions defined away); the
   bodies of inline functions are blanked (only declarations matter).
2. pycparser (the optional extra ``koffi_typed[stubgen]``, 2.x or 3.x) parses the result. A
   declaration it cannot read is reported (header, line, C text), left out, and parsing
   starts again without it; the generator never ends in a traceback.
3. Declarations are kept when they come from the library's own headers: the directory of a
   header named with a directory (``SDL2/SDL.h`` keeps everything under ``SDL2/``, in every
   include directory), otherwise the headers whose names start like it (``png.h`` keeps
   ``pngconf.h``); a header given as a path keeps its directory. ``--include-dir`` adds
   directories, ``--prefix`` adds names (``--prefix SDL_``). Types they use come along from
   anywhere.
4. Constants (``#define``, enum values, array lengths, bitfield widths) are evaluated by
   `koffi_typed.stubgen.cexpr` with C's rules; what it cannot decide (``sizeof`` of a record,
   function-like macros such as ``SSL_OP_BIT(n)``) the C compiler computes in one small
   program.
5. Everything is named (the rules are in `koffi_typed.stubgen.names`), ordered so that each
   definition follows what it uses, and written out: ``@lib.function`` stubs,
   ``@koffi.struct`` / ``@koffi.union`` classes, ``IntEnum`` classes, scalar type aliases,
   ``koffi.proto`` function types, constants.

Each step is a module of this package: `preprocess`, `parse`, `builder` (into the C model of
`cmodel`), `macros` and `cexpr` (constants), `compiler` (what the C compiler computes and the
layout checks), `names` (the naming rules), `pytypes` and `emit` (the module's text),
`pipeline` (`generate`) and `cli` (`main`).
"""

from __future__ import annotations

from koffi_typed.stubgen.cli import main
from koffi_typed.stubgen.errors import StubgenError
from koffi_typed.stubgen.names import RESERVED, python_name
from koffi_typed.stubgen.pipeline import generate

__all__ = ["RESERVED", "StubgenError", "generate", "main", "python_name"]
