"""``python -m koffi_typed.bindings``: regenerate the shipped bindings."""

from koffi_typed.bindings import main

raise SystemExit(main())
