"""Run one crash-prone check in a forked child, so a crash is one failed example."""

from __future__ import annotations

import os
from collections.abc import Callable


def forked(fn: Callable[[], object]) -> str:
    """Run ``fn`` in a forked child: ``'ok <repr of its result>'``, ``'raised <type>:
    <message>'`` or ``'crash <wait status>'``."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            out = f"ok {fn()!r}"
        except BaseException as exc:
            out = f"raised {type(exc).__name__}: {exc}"
        with os.fdopen(wfd, "w") as w:
            w.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    return data if data else f"crash {status}"
