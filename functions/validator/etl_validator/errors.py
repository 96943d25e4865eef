"""The one exception every reading stage raises for a file it cannot take."""

from __future__ import annotations

from etl_common.vocabulary import Reason


class UnreadableFile(Exception):
    """The object is not a CSV this contract can read; `reason` is the report's code for it."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
