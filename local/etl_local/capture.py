"""Per-thread capture of what functions and jobs print, without hiding the CLI's own output.

`contextlib.redirect_stdout` swaps `sys.stdout` for every thread at once, so progress printed
by one thread would vanish into another thread's log. `install()` puts one router in place of
stdout and stderr; `into(buffer)` sends only the calling thread's writes to `buffer`.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_local = threading.local()


class _Router(io.TextIOBase):
    def __init__(self, default: TextIO) -> None:
        self.default = default

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        target = getattr(_local, "buffer", None)
        return (target if target is not None else self.default).write(text)

    def flush(self) -> None:
        target = getattr(_local, "buffer", None)
        (target if target is not None else self.default).flush()


def install() -> None:
    """Route sys.stdout and sys.stderr through per-thread capture (once per process)."""
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout)
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr)


@contextmanager
def into(buffer: TextIO) -> Iterator[TextIO]:
    """While inside, this thread's prints go to `buffer`."""
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous
