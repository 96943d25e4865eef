"""The one exception every reading stage raises for a file it cannot take."""

from __future__ import annotations


class UnreadableFile(Exception):
    """The object is not a CSV this contract can read; `reason` is a stable code for the report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
