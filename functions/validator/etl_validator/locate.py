"""Line numbers for problems pyarrow found but cannot place: a second pass with Python's csv module.

pyarrow does not number rows when values may hold newlines, so when it skipped ragged rows, met an
open quote at the end, or stopped at a record too large for a block, the object is read again
(only then) by a parser that counts physical lines: the header is line 1. The same pass places the
rows the report names: pyarrow numbered them without the ragged records it skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from .contract import Dialect
from .source import ChunkReader


class Place(NamedTuple):
    """A record in the file: its 1-based number among the data records, ragged ones counted, and
    the physical line it starts on."""

    record: int
    line: int


@dataclass
class Located:
    """Where the records pyarrow could not take start, and where the rows asked for are (by their
    number among the records pyarrow took, which have the header's number of fields)."""

    ragged_lines: list[int] = field(default_factory=list)
    last_line: int | None = None   # the last record begun: the file's last, or the oversized one
    oversized: bool = False        # the pass stopped at a field over the limit
    places: dict[int, Place] = field(default_factory=dict)


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """csv's field size limit is process-wide: set it for this pass only."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


class _RecordTooLong(Exception):
    """The record being read is longer than the pass allows."""


class _BoundedLines:
    """The text's lines for csv.reader, never more than `limit` characters in all for one record:
    csv.reader asks for whole lines and applies its field limit only once it has one, so a single
    line of hundreds of MB would otherwise be held (twice) before anything stops it. `start` is
    called when a record is done; a record that runs past the limit raises _RecordTooLong."""

    def __init__(self, lines: io.TextIOBase, limit: int) -> None:
        self._lines, self._limit, self._fed = lines, limit, 0

    def start(self) -> None:
        self._fed = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._lines.readline(self._limit - self._fed + 1)
        if not line:
            raise StopIteration
        self._fed += len(line)
        if self._fed > self._limit:
            raise _RecordTooLong
        return line


def locate(text: Iterator[bytes], dialect: Dialect, expected: int, max_field_chars: int,
           max_samples: int, rows: Collection[int] = (), max_record_chars: int | None = None) -> Located:
    """Start lines of the first `max_samples` records without `expected` fields, and of the last;
    the Place of each of `rows`, 1-based among the records with `expected` fields.

    A field longer than `max_field_chars`, or a record longer than `max_record_chars` (default:
    `expected` fields at the limit, with their quotes and delimiters), ends the pass where that
    record starts: memory stays bounded even when an open quote or one line runs to the end of a
    large file.
    """
    found = Located()
    if max_record_chars is None:
        max_record_chars = expected * (2 * max_field_chars + 3)  # every quote doubled, quoted
    lines = _BoundedLines(io.TextIOWrapper(ChunkReader(text), encoding="utf-8", newline=""), max_record_chars)
    reader = csv.reader(lines, delimiter=dialect.delimiter, quotechar=dialect.quote_char,
                        escapechar=dialect.escape_char)  # as pyarrow reads: records must agree
    end, skip_header = 0, dialect.header
    records = taken = 0
    with _field_limit(max_field_chars):
        try:
            for record in reader:
                lines.start()
                start, end = end + 1, reader.line_num
                if not record:
                    continue
                if skip_header:
                    skip_header = False
                    continue
                found.last_line, records = start, records + 1
                if len(record) != expected:
                    if len(found.ragged_lines) < max_samples:
                        found.ragged_lines.append(start)
                    continue
                taken += 1
                if taken in rows:
                    found.places[taken] = Place(records, start)
        except (csv.Error, _RecordTooLong):
            found.last_line, found.oversized = end + 1, True
    return found
