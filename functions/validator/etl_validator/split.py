"""Split a file that the contract's error threshold lets through: good rows on, bad rows out.

The second read uses the validator's own reader over the same text, so record N here is row N
of the report (a file with ragged rows never gets here: the report marks them file-level), and
a value is null here exactly when the validator took it for null.
- The good rows become UTF-8 CSV with a header in `staged_dialect`, streamed to S3 as they are
  written (gzip-compressed when the upload was), for the Glue job: nulls are unquoted empty
  fields and every other value is quoted, so an empty string stays an empty string.
- The bad rows become a rejects CSV in the contract's own dialect and encoding (a null written
  as the contract's first null token), so a user can fix it and upload it again as it is.
"""

from __future__ import annotations

import bisect
import csv
import io
import queue
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
from boto3.s3.transfer import TransferConfig

from .contract import Contract, Dialect
from .csv_stream import block_size, open_stream
from .source import ChunkReader

TRANSFER = TransferConfig(multipart_threshold=32 << 20, multipart_chunksize=32 << 20, max_concurrency=2)
QUEUED_WRITES = 16
REJECTS_IN_MEMORY = 16 << 20


def staged_dialect() -> Dialect:
    """How the staged part is written: pyarrow's CSV writer knows only this dialect."""
    return Dialect(null_values=("",))


def rejects_key(error_key: str) -> str:
    """`error/orders/day.csv.gz` -> `error/orders/day.rejects.csv` (rejects are never compressed)."""
    stem = error_key.removesuffix(".gz")
    return stem.removesuffix(".csv") + ".rejects.csv"


@dataclass(frozen=True)
class Split:
    rows_staged: int
    rows_rejected: int


class UploadStream(io.RawIOBase):
    """A writable file whose bytes go to S3 while they are written (boto3's managed multipart
    upload reads them from a bounded queue in a thread), so memory stays flat at any size.

    `abort` makes the upload fail, so a broken write never leaves a partial object behind.
    """

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(QUEUED_WRITES)
        self._pool = ThreadPoolExecutor(1)
        self._upload = self._pool.submit(s3.upload_fileobj, ChunkReader(self._chunks()), bucket, key,
                                         Config=TRANSFER)

    def _chunks(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: bytes | BaseException | None) -> None:
        while True:
            try:
                return self._queue.put(item, timeout=1)
            except queue.Full:
                if self._upload.done():
                    self._upload.result()  # the upload failed: raise its error here
                    raise RuntimeError("the upload ended before its data did")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._put(chunk)
        return len(chunk)

    def finish(self) -> None:
        self._put(None)
        try:
            self._upload.result()
        finally:
            self._pool.shutdown()

    def abort(self, error: BaseException) -> None:
        if not self._upload.done():
            self._put(error)
        self._upload.exception()
        self._pool.shutdown()


def split_rows(text: Iterator[bytes], contract: Contract, failed_rows: set[int], good: BinaryIO,
               rejects: BinaryIO) -> Split:
    """Write the rows not in `failed_rows` to `good` and the others to `rejects`."""
    stream = open_stream(text, contract.dialect, contract.column_names, block_size(contract.max_field_bytes))
    null = (contract.dialect.null_values or ("",))[0]
    bad = sorted(failed_rows)
    writer: pacsv.CSVWriter | None = None
    rejected = io.TextIOWrapper(rejects, encoding=contract.dialect.encoding, newline="", write_through=True)
    out = csv.writer(rejected, delimiter=contract.dialect.delimiter, quotechar=contract.dialect.quote_char)
    if contract.dialect.header:
        out.writerow(stream.header)
    rows = staged = 0
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
        staged += kept.num_rows
        for record in batch.take(pa.array(here, pa.int64())).to_pylist():
            out.writerow([null if value is None else value for value in record.values()])
    if writer is not None:
        writer.close()
    rejected.detach()
    return Split(rows_staged=staged, rows_rejected=rows - staged)


def split_object(s3: Any, bucket: str, text: Iterator[bytes], contract: Contract, failed_rows: set[int],
                 staging_key: str, rejects_to: str) -> Split:
    """Stream the good rows to `staging_key` and put the bad rows at `rejects_to`."""
    upload = UploadStream(s3, bucket, staging_key)
    compress = staging_key.endswith(".gz")
    with tempfile.SpooledTemporaryFile(REJECTS_IN_MEMORY) as spool:
        try:
            sink = pa.PythonFile(upload, mode="w")
            good = pa.CompressedOutputStream(sink, "gzip") if compress else sink
            split = split_rows(text, contract, failed_rows, good, spool)
            good.close()
        except BaseException as exc:
            upload.abort(exc)
            raise
        upload.finish()
        spool.seek(0)
        s3.upload_fileobj(spool, bucket, rejects_to, ExtraArgs={"ContentType": "text/csv"}, Config=TRANSFER)
    return split
