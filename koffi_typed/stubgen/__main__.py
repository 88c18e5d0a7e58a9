"""``python -m koffi_typed.stubgen``: the same command line as ``python -m koffi_typed stubgen``."""

from koffi_typed.stubgen import main

raise SystemExit(main())
