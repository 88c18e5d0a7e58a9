"""Command line: ``koffi-typed demo`` (the installed console script) or
``python -m koffi_typed demo``."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch the sub-commands."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    prog = "koffi-typed" if script.startswith("koffi-typed") else "python -m koffi_typed"
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="call real C through every feature family and show it")
    sub.add_parser("layout", help="print a record's layout and how it is passed, per ABI",
                   add_help=False)
    sub.add_parser("stubgen", help="write typed bindings from C headers", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from koffi_typed import demo
        return demo.main()
    if args.command == "layout":
        from koffi_typed.abi import cli
        return cli.main(rest)
    if args.command == "stubgen":
        from koffi_typed import stubgen
        return stubgen.main(rest)
    return 2


if __name__ == "__main__":
    sys.exit(main())
