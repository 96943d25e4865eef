"""The validation report: every failed check with its count and the first cases, capped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etl_common.vocabulary import Reason

MAX_CASES = 20
MAX_VALUE_CHARS = 200


def _clip(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."


@dataclass
class Failure:
    """One check on one column (or on the file), with how often it failed."""

    check: str
    column: str | None
    reason: Reason
    count: int = 0
    cases: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rows: list[int | None], values: list[Any], lines: list[int | None] | None = None,
            count: int | None = None) -> None:
        """`count` when more failed than the values given (samples); `lines` where known."""
        self.count += len(values) if count is None else count
        room = max(MAX_CASES - len(self.cases), 0)
        lines = [*(lines or []), *[None] * len(values)]
        for row, value, line in list(zip(rows, values, lines))[:room]:
            self.cases.append({"row": row, "value": _clip(value)} | ({"line": line} if line else {}))


@dataclass
class Report:
    """Accumulates failures across batches; `to_dict` is the JSON written beside the file.

    Rows come numbered as the reader yields them: 1-based among the data records with the header's
    number of fields, so ragged records it skipped are not counted; `place_rows` renumbers the
    cases as records of the file, with their lines.

    `failed_row_count` is how many distinct rows failed a check: a number, not the rows, so the
    bookkeeping stays the same size whatever the file (cases are capped at MAX_CASES a check).
    `add` does not count rows, since one row may fail several checks: whoever knows a batch's
    distinct failed rows adds them with `count_failed_rows` (checks.BatchValidator.validate).
    """

    failures: dict[tuple[str, str | None], Failure] = field(default_factory=dict)
    failed_row_count: int = 0
    file_level: bool = False  # a failure not tied to rows (header, structure, row counts)

    def failure(self, check: str, column: str | None, reason: Reason) -> Failure:
        key = (check, column)
        if key not in self.failures:
            self.failures[key] = Failure(check=check, column=column, reason=reason)
        return self.failures[key]

    def add(self, check: str, column: str | None, reason: Reason, rows: list[int | None],
            values: list[Any], lines: list[int | None] | None = None, count: int | None = None) -> None:
        self.failure(check, column, reason).add(rows, values, lines, count)
        self.file_level = self.file_level or None in rows

    def count_failed_rows(self, rows: int) -> None:
        """`rows` more distinct rows failed: those of one batch (rows of different batches differ)."""
        self.failed_row_count += rows

    def add_file(self, check: str, reason: Reason, message: str, line: int | None = None) -> None:
        """A problem with the file as a whole (or a place in it), not with values of a column."""
        self.add(check, None, reason, [None], [message], [line])

    def case_rows(self) -> set[int]:
        """The rows the cases name (at most MAX_CASES a failure), for `place_rows`."""
        return {case["row"] for f in self.failures.values() for case in f.cases if case["row"] is not None}

    def place_rows(self, places: Mapping[int, tuple[int, int]]) -> None:
        """Give each case's row as (record of the file, line it starts on), from locate.Place."""
        for failure in self.failures.values():
            for case in failure.cases:
                if case["row"] in places:
                    case["row"], case["line"] = places[case["row"]]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_list(self) -> list[dict[str, Any]]:
        """File-level failures first: they explain the row-level ones (an open quote, ragged rows)."""
        ordered = sorted(self.failures.values(), key=lambda f: f.column is not None)
        return [
            {"check": f.check, "column": f.column, "reason": f.reason, "count": f.count,
             "cases": f.cases}
            for f in ordered
        ]
