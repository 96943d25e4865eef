"""Per-thread capture of what functions and jobs print, without hiding anyone else's output.

`contextlib.redirect_stdout` swaps `sys.stdout` for every thread at once, so progress printed
by one thread would vanish into another thread's log. Inside `into(buffer)`, stdout and stderr
are routers: the calling thread's writes go to `buffer`, every other thread's to the stream
that was in place before. A handler's logger that binds stdout at import keeps the router, so
its later lines are captured too.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_local = threading.local()
_lock = threading.Lock()
_users = 0


class _Router(io.TextIOBase):
    def __init__(self, default: TextIO) -> None:
        self.default = default

    def writable(self) -> bool:
        return True

    def _target(self) -> TextIO:
        buffer = getattr(_local, "buffer", None)
        return buffer if buffer is not None else self.default

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()


_stdout, _stderr = _Router(sys.stdout), _Router(sys.stderr)


@contextmanager
def into(buffer: TextIO) -> Iterator[TextIO]:
    """While inside, this thread's prints go to `buffer`."""
    global _users
    with _lock:
        if _users == 0:
            _stdout.default, _stderr.default = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = _stdout, _stderr
        _users += 1
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous
        with _lock:
            _users -= 1
            if _users == 0:
                sys.stdout, sys.stderr = _stdout.default, _stderr.default
