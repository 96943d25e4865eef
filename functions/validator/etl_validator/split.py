"""Split a file that the contract's error threshold lets through: good rows on, bad rows out.

The second read uses the validator's own reader over the same text, so record N here is row N
of the report (a file with ragged rows never gets here: the report marks them file-level), and
a value is null here exactly when the validator took it for null.
- The good rows become UTF-8 CSV with a header in `staged_dialect` (gzip-compressed when the
  upload was), for the Glue job: nulls are unquoted empty fields and every other value is
  quoted, so an empty string stays an empty string.
- The bad rows become a rejects CSV in the contract's own dialect and encoding (a null written
  as the contract's first null token), so a user can fix it and upload it again as it is.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from .contract import Contract, Dialect
from .csv_stream import block_size, open_stream


def staged_dialect() -> Dialect:
    """How the staged part is written: pyarrow's CSV writer knows only this dialect."""
    return Dialect(null_values=("",))


@dataclass(frozen=True)
class Split:
    """Data rows written to each part."""

    rows_staged: int
    rows_rejected: int


def split_rows(text: Iterator[bytes], contract: Contract, failed_rows: set[int], staged: BinaryIO,
               rejects: BinaryIO, compress: bool) -> Split:
    """Write the rows not in `failed_rows` (1-based data rows, as the report numbers them) to
    `staged`, gzip-compressed when `compress`, and the others to `rejects`.

    `text` is the file as UTF-8 chunks (source.open_text); the sinks come from storage. Raises
    what reading raises (UnreadableFile, ArrowInvalid) or the sinks raise; the caller's sinks
    then discard what was written.
    """
    stream = open_stream(text, contract.dialect, contract.column_names, block_size(contract.max_field_bytes))
    sink = pa.PythonFile(staged, mode="w")
    good = pa.CompressedOutputStream(sink, "gzip") if compress else sink
    null = (contract.dialect.null_values or ("",))[0]
    bad = sorted(failed_rows)
    writer: pacsv.CSVWriter | None = None
    rejected = io.TextIOWrapper(rejects, encoding=contract.dialect.encoding, newline="", write_through=True)
    out = csv.writer(rejected, delimiter=contract.dialect.delimiter, quotechar=contract.dialect.quote_char)
    if contract.dialect.header:
        out.writerow(stream.header)
    rows = kept_rows = 0
    for batch in stream.batches:
        first, rows = rows + 1, rows + batch.num_rows
        here = [row - first for row in bad[bisect.bisect_left(bad, first):bisect.bisect_left(bad, rows + 1)]]
        keep = [True] * batch.num_rows
        for index in here:
            keep[index] = False
        kept = batch.filter(pa.array(keep)) if here else batch
        if writer is None:
            writer = pacsv.CSVWriter(good, batch.schema)
        writer.write_batch(kept)
        kept_rows += kept.num_rows
        for record in batch.take(pa.array(here, pa.int64())).to_pylist():
            out.writerow([null if value is None else value for value in record.values()])
    if writer is not None:
        writer.close()
    good.close()
    rejected.detach()
    return Split(rows_staged=kept_rows, rows_rejected=rows - kept_rows)
