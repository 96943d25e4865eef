"""Stream UTF-8 CSV text as Arrow record batches of strings, without holding the file in memory.

Every column is read as text; typing happens in `casting` so a bad value fails one row,
not the whole block. pyarrow's reader queues many blocks ahead (peak memory is about
32 x block_size), so blocks stay small and are regrouped into larger batches for checking.

pyarrow accepts a quote left open at the end of the text: the field just runs to the end. So an
end marker record goes after the text: a NUL (`source` lets none through) and one field too
many. The parser reports the marker as a bad row of its own unless an open quote swallowed it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv

from etl_common.vocabulary import Reason

from .contract import Dialect
from .errors import UnreadableFile
from .source import ChunkReader, peek

BLOCK_SIZE = 1 << 20  # pyarrow reads about 32 blocks ahead: 1 MiB blocks hold that near 64 MB
BATCH_ROWS = 128_000  # about 15 MB of strings for the bench rows: two in memory at a time
PEEK_BYTES = 64 << 10
MAX_RAGGED_SAMPLES = 20
END_MARK = "\x00"


def block_size(max_field_bytes: int) -> int:
    """The reader's block: any record up to a block parses, so a field at the contract's limit
    always reaches the size check with room for the rest of its record.

    pyarrow gives up on a record that straddles two block boundaries; such a record is far
    over the field limit (or an open quote ran on), and `CsvStream.oversized` says so.
    """
    return max(BLOCK_SIZE, 2 * max_field_bytes)


@dataclass
class CsvStream:
    """The header found in the file, an iterator over its string batches, and what reading saw."""

    header: list[str]
    batches: Iterator[pa.RecordBatch]
    ragged_rows: list[str] = field(default_factory=list)
    ragged_count: int = 0
    complete: bool = False    # the reader reached the end of the text
    oversized: bool = False   # a record straddled two blocks: reading stopped there
    end_seen: bool = False    # the end marker was parsed as a record of its own

    @property
    def unclosed_quote(self) -> bool:
        """A quoted field still open at the end of the text (known once the batches are consumed)."""
        return self.complete and not self.end_seen


def _read_header(prefix: bytes, dialect: Dialect) -> list[str]:
    text = codecs.getincrementaldecoder("utf-8")().decode(prefix)  # the peek may cut a character
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter,
                            quotechar=dialect.quote_char, escapechar=dialect.escape_char), None)
    if not first or first == [""]:
        raise UnreadableFile(Reason.EMPTY_FILE, "the object has no header line")
    return [name.strip() for name in first]


def open_stream(text: Iterator[bytes], dialect: Dialect, column_names: list[str],
                block: int = BLOCK_SIZE) -> CsvStream:
    """Stream UTF-8 `text`; the header is checked here, before any data is parsed."""
    prefix, text = peek(text, PEEK_BYTES)
    first_row = _read_header(prefix, dialect)
    header = first_row if dialect.header else list(column_names)
    stream = CsvStream(header=header, batches=iter(()))
    if len(set(header)) != len(header):
        return stream

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.text.startswith(END_MARK):
            stream.end_seen = True
        else:
            stream.ragged_count += 1
            if len(stream.ragged_rows) < MAX_RAGGED_SAMPLES:
                text = row.text.split(END_MARK, 1)[0]  # a record with an open quote runs into the marker
                stream.ragged_rows.append(
                    f"expected {row.expected_columns} fields, got {row.actual_columns}: {text[:200]}")
        return "skip"

    end = f"\n{END_MARK}{dialect.delimiter * len(header)}\n".encode()
    source = ChunkReader(itertools.chain(text, [end]))
    stream.batches = _read_ahead(_regroup(lambda: _open(source, dialect, header, block, on_invalid), stream, block))
    return stream


def _open(source: io.RawIOBase, dialect: Dialect, header: list[str], block: int,
          on_invalid: Callable[[pacsv.InvalidRow], str]) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block, column_names=header,
                                       skip_rows=1 if dialect.header else 0),
        parse_options=pacsv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quote_char,
            escape_char=dialect.escape_char,  # None: pyarrow's False, quotes are only doubled
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


def _regroup(open_reader: Callable[[], pacsv.CSVStreamingReader], stream: CsvStream,
             block: int) -> Iterator[pa.RecordBatch]:
    """Merge the reader's small blocks into batches of about BATCH_ROWS rows.

    A record straddling two blocks stops the reading (pyarrow cannot go on past it): the batches
    end there with `stream.oversized` set. Any other parse error makes the file unreadable.
    """
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in open_reader():
            pending.append(batch)
            rows += batch.num_rows
            if rows >= BATCH_ROWS:
                yield _combine(pending)
                pending, rows = [], 0
        stream.complete = True
    except pa.ArrowInvalid as exc:
        if "straddling" not in str(exc):
            raise UnreadableFile(Reason.MALFORMED_CSV, f"the CSV cannot be parsed: {exc}") from exc
        stream.oversized = True
    if rows:
        yield _combine(pending)


def _combine(pending: list[pa.RecordBatch]) -> pa.RecordBatch:
    """One batch from the reader's small ones (emptied), copied a column at a time so the copy
    never holds the whole batch twice."""
    schema = pending[0].schema
    columns = [[batch.column(i) for batch in pending] for i in range(len(schema))]
    pending.clear()
    combined = []
    while columns:
        combined.append(pa.concat_arrays(columns.pop(0)))
    return pa.RecordBatch.from_arrays(combined, schema=schema)


def _read_ahead(batches: Generator[pa.RecordBatch, None, None]) -> Iterator[pa.RecordBatch]:
    """The same batches, the next one parsed in a thread while the caller checks this one.

    pyarrow's reader parses only when asked for the next batch and, like its compute functions,
    releases the GIL meanwhile: reading and checking then share the two cores of a Lambda. The
    thread parses one batch ahead and waits until the caller takes it, so two batches at most are
    in memory. Errors arrive in order, after the batches read before them. Leaving early (an error
    while checking) stops the thread.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    taken, stop = threading.Event(), threading.Event()
    done = object()

    def hand_over(item: object) -> bool:
        ready.put(item)
        while not stop.is_set():
            if taken.wait(0.1):
                taken.clear()
                return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(done)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the consumer
            hand_over(exc)
        finally:
            batches.close()

    thread = threading.Thread(target=produce, name="csv-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            taken.set()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
