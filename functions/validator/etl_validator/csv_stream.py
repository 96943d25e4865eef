"""Stream a CSV object as Arrow record batches of strings, without holding the file in memory.

Every column is read as text; typing happens in `casting` so a bad value fails one row,
not the whole block. pyarrow's reader queues many blocks ahead (peak memory is about
32 x block_size), so blocks stay small and are regrouped into larger batches for checking.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from .contract import Dialect

BLOCK_SIZE = 2 << 20
BATCH_ROWS = 256_000
PEEK_BYTES = 64 << 10
MAX_RAGGED_SAMPLES = 20


class UnreadableFile(Exception):
    """The object is not a CSV this contract can read; `reason` is a stable code for the report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Replay(io.RawIOBase):
    """A stream that yields an already-read prefix, then the rest of the source."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix, self._rest = memoryview(prefix), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._prefix.nbytes:
            n = min(len(buffer), self._prefix.nbytes)
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass
class CsvStream:
    """The header found in the file and an iterator over its string batches."""

    header: list[str]
    batches: Iterator[pa.RecordBatch]
    ragged_rows: list[str] = field(default_factory=list)
    ragged_count: int = 0


def _read_header(prefix: bytes, dialect: Dialect) -> list[str]:
    if not prefix:
        raise UnreadableFile("empty_file", "the object is empty")
    if b"\x00" in prefix:
        raise UnreadableFile("not_text", "the object contains NUL bytes: it is not a text CSV")
    try:
        text = codecs.getincrementaldecoder(dialect.encoding)(errors="strict").decode(prefix)
    except UnicodeDecodeError as exc:
        raise UnreadableFile("bad_encoding", f"not valid {dialect.encoding}: {exc}") from exc
    except LookupError as exc:
        raise UnreadableFile("bad_encoding", f"unknown encoding {dialect.encoding!r}") from exc
    text = text.lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text), delimiter=dialect.delimiter,
                            quotechar=dialect.quote_char), None)
    if not first or first == [""]:
        raise UnreadableFile("empty_file", "the object has no header line")
    return [name.strip() for name in first]


def open_stream(source: BinaryIO, dialect: Dialect, column_names: list[str]) -> CsvStream:
    """Open `source` for streaming; the header is checked here, before any data is parsed."""
    prefix = source.read(PEEK_BYTES)
    first_row = _read_header(prefix, dialect)
    header = first_row if dialect.header else list(column_names)
    stream = CsvStream(header=header, batches=iter(()))
    if len(set(header)) != len(header):
        return stream

    def on_invalid(row: pacsv.InvalidRow) -> str:
        stream.ragged_count += 1
        if len(stream.ragged_rows) < MAX_RAGGED_SAMPLES:
            stream.ragged_rows.append(
                f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text[:200]}")
        return "skip"

    try:
        reader = _open(prefix, source, dialect, header, on_invalid)
    except pa.ArrowInvalid as exc:
        if "skip initial" in str(exc):  # a header with no line break after it: no rows
            return stream
        raise UnreadableFile(*_arrow_reason(exc)) from exc
    stream.batches = _regroup(reader)
    return stream


def _arrow_reason(exc: pa.ArrowInvalid) -> tuple[str, str]:
    if "UTF8" in str(exc) or "UTF-8" in str(exc):
        return "bad_encoding", f"not valid UTF-8 text: {exc}"
    return "malformed_csv", f"the CSV cannot be parsed: {exc}"


def _open(prefix: bytes, source: BinaryIO, dialect: Dialect, header: list[str],
          on_invalid: Callable[[pacsv.InvalidRow], str]) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        _Replay(prefix, source),
        read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, encoding=dialect.encoding,
                                       column_names=header, skip_rows=1 if dialect.header else 0),
        parse_options=pacsv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quote_char,
            newlines_in_values=True,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            null_values=list(dialect.null_values),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _regroup(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    """Merge the reader's small blocks into batches of about BATCH_ROWS rows."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= BATCH_ROWS:
                yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
                pending, rows = [], 0
    except pa.ArrowInvalid as exc:
        raise UnreadableFile(*_arrow_reason(exc)) from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile("bad_encoding", str(exc)) from exc
    if rows:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
