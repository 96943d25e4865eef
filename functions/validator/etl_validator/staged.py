"""The staged form of a file, written while the validator reads it: one reading of every byte.

- The good rows become the canonical CSV the Glue job reads (etl_common.messages.StagedFormat):
  the validator's own typed values, so the job reinterprets nothing. UTF-8, a header of the
  contract's columns in its order, every non-null value quoted, a null an unquoted empty field
  (in a one-column file the quoted null token, an empty line being no record to Spark),
  gzip-compressed when the upload was.
- The bad rows (a file within its contract's error threshold) become a rejects CSV in the
  contract's own dialect and encoding, their fields as uploaded (a null written as the
  contract's first null token), so a user can fix it and upload it again as it is.
Row N here is row N of the report: both come from the same batches of the same reader.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl_common.messages import StagedFormat

from .casting import arrow_type
from .checks import CheckedBatch
from .contract import Contract

CANONICAL = pacsv.WriteOptions(include_header=True, quoting_style="all_valid")


@dataclass
class StagedWriter:
    """Takes each checked batch (`write`), then `close`; counts what went where."""

    contract: Contract
    staged: BinaryIO
    rejects: BinaryIO | None  # None: the contract has no error threshold, no row is ever rejected
    compress: bool
    rows_staged: int = 0
    rows_rejected: int = 0

    def __post_init__(self) -> None:
        sink = pa.PythonFile(self.staged, mode="w")
        self._good = pa.CompressedOutputStream(sink, "gzip") if self.compress else sink
        self._writer: pacsv.CSVWriter | None = None
        self._rejected: csv.writer | None = None
        self._text: io.TextIOWrapper | None = None
        # Formatting the CSV (pyarrow, GIL released) overlaps checking the next batch; one table
        # in flight at a time keeps memory flat.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="staged")
        self._pending: Future[None] | None = None

    def write(self, batch: pa.RecordBatch, checked: CheckedBatch) -> None:
        """`batch` is the batch's text as read, `checked` what its checks found."""
        good = checked.typed
        if len(checked.failed):
            good = good.filter(_kept(batch.num_rows, checked.failed))
            self._reject(batch.take(checked.failed))
        if good.num_columns == 1:
            good = _one_column(good)
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self._good, good.schema, write_options=CANONICAL)
        self._wait()
        self._pending = self._pool.submit(self._writer.write_table, good)
        self.rows_staged += good.num_rows

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def _reject(self, rows: pa.RecordBatch) -> None:
        self.rows_rejected += rows.num_rows
        if self.rejects is None:
            return
        dialect = self.contract.dialect
        if self._rejected is None:
            self._text = io.TextIOWrapper(self.rejects, encoding=dialect.encoding, newline="", write_through=True)
            self._rejected = csv.writer(self._text, delimiter=dialect.delimiter, quotechar=dialect.quote_char,
                                        escapechar=dialect.escape_char, doublequote=dialect.escape_char is None)
            if dialect.header:
                self._rejected.writerow(rows.schema.names)
        null = (dialect.null_values or ("",))[0]
        for record in rows.to_pylist():
            self._rejected.writerow([null if value is None else value for value in record.values()])

    def close(self) -> None:
        """Ends the staged CSV (a header alone when no row was good) and the gzip stream."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self._good, _empty_schema(self.contract), write_options=CANONICAL)
        self._writer.close()
        self._good.close()
        if self._text is not None:
            self._text.detach()


def _one_column(table: pa.Table) -> pa.Table:
    """A one-column table as the text the CSV writer would give it (it casts each column to
    string), with a null as the staged format's `null_value`: an unquoted empty field there would
    be an empty line, which Spark's CSV reader skips, losing the row."""
    text = pc.fill_null(pc.cast(table.column(0), pa.string()), StagedFormat().null_value)
    return pa.table({table.schema.names[0]: text})


def _kept(rows: int, failed: pa.Array) -> pa.Array:
    """True for the rows not in `failed` (positions), built as bytes: no Python loop over rows."""
    mask = bytearray(b"\x01") * rows
    for position in failed.to_pylist():
        mask[position] = 0
    return pc.cast(pa.Array.from_buffers(pa.uint8(), rows, [None, pa.py_buffer(mask)]), pa.bool_())


def _empty_schema(contract: Contract) -> pa.Schema:
    return pa.schema([(c.name, arrow_type(c)) for c in contract.columns])
