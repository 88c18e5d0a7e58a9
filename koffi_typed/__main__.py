"""Command line: ``python -m koffi_typed demo``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch the sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m koffi_typed")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="call real C through every feature family and show it")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from koffi_typed import demo
        return demo.main()
    return 2


if __name__ == "__main__":
    sys.exit(main())
