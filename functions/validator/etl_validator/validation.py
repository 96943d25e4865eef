"""Validate one file against its contract: read once, streaming, checking as it goes.

No S3 here: the file is anything with a key, a size and a body that reads it from the start
each time (storage.StoredObject in the Lambda, a local file in the bench). It is read a second
time only to place problems the streaming reader cannot (locate.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

import pyarrow as pa
from etl_common.vocabulary import Reason

from .checks import BatchValidator, CheckedBatch, check_header
from .contract import Contract
from .csv_stream import MAX_RAGGED_SAMPLES, CsvStream, block_size, open_stream
from .errors import UnreadableFile
from .locate import locate
from .report import Report
from .source import Checksum, Text, body_chunks, open_text


class Source(Protocol):
    """A file to validate: `key` its name (a `.gz` suffix matters), `size` its bytes as stored."""

    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...

    def body(self) -> BinaryIO:
        """A fresh binary stream of the whole file at each call."""
        ...


@dataclass
class Reading:
    """What reading the file found, filled as it goes so a rejection still reports it.

    `rows` counts data records read (header excluded, ragged records included); `checksum` is
    the hex sha256 of the bytes as stored, None unless the file was read to its end; `encoding`
    the Python codec the text was decoded with, `compression` `gzip` or None.
    """

    report: Report = field(default_factory=Report)
    rows: int = 0
    checksum: str | None = None
    encoding: str | None = None
    compression: str | None = None


OnBatch = Callable[[pa.RecordBatch, CheckedBatch], None]


def validate(source: Source, contract: Contract, on_batch: OnBatch | None = None) -> Reading:
    """Check `source` against `contract`; every problem of the file, hostile input included,
    ends in `Reading.report` with its reason code. `on_batch` gets each batch as read (text)
    with what its checks found, in file order (staged.StagedWriter writes the staged form as
    the file is read). Raises only what reading the body or `on_batch` raises (network, S3 and
    disk errors), never for what the file holds."""
    reading = Reading()
    try:
        _read(source, contract, reading, on_batch)
    except UnreadableFile as exc:
        reading.report.add_file("file.readable", exc.reason, str(exc))
    return reading


def read_text(source: Source, contract: Contract) -> Text:
    """The file as UTF-8 chunks, as the contract's dialect reads it (gunzipped, decoded)."""
    return _text(body_chunks(source.body()), contract)


def _text(chunks: Iterator[bytes], contract: Contract) -> Text:
    return open_text(chunks, contract.dialect.encoding, contract.max_bytes)


def _read(source: Source, contract: Contract, reading: Reading, on_batch: OnBatch | None) -> None:
    """Header, then every batch; re-read only to place structural problems."""
    report = reading.report
    if contract.max_bytes is not None and source.size > contract.max_bytes:
        raise UnreadableFile(Reason.FILE_TOO_LARGE, f"{source.size} bytes, over the contract's max_bytes "
                             f"of {contract.max_bytes}")
    checksum = Checksum()
    text = _text(checksum.tap(body_chunks(source.body())), contract)
    reading.encoding, reading.compression = text.encoding, text.compression
    if text.compression == "gzip" and not source.key.endswith(".gz"):
        raise UnreadableFile(Reason.GZIP_WITHOUT_GZ_SUFFIX, "the object is gzip-compressed but its key does "
                             "not end in .gz; Glue reads compressed CSV by its extension: upload it as .csv.gz")
    stream = open_stream(text.chunks, contract.dialect, contract.column_names,
                         block_size(contract.max_field_bytes))
    check_header(contract, stream.header, report)
    if not report.ok:
        return
    validator = BatchValidator(contract, report)
    try:
        for batch in stream.batches:
            checked = validator.validate(batch)
            if on_batch is not None:
                on_batch(batch, checked)
    finally:
        reading.rows = validator.rows + stream.ragged_count
    if stream.ragged_count or stream.unclosed_quote or stream.oversized:
        _report_structure(source, contract, stream, report)
    if stream.complete:
        validator.finish()
    reading.checksum = checksum.sha256


def _report_structure(source: Source, contract: Contract, stream: CsvStream, report: Report) -> None:
    """An open quote, a record too large to parse, ragged rows: with their lines from a second pass.

    In that order: an open quote or a runaway record also makes its record ragged.
    """
    located = locate(read_text(source, contract).chunks, contract.dialect, len(stream.header),
                     contract.max_field_bytes, MAX_RAGGED_SAMPLES, rows=report.case_rows(),
                     max_record_chars=2 * block_size(contract.max_field_bytes))
    report.place_rows(located.places)
    if stream.unclosed_quote:
        report.add_file("row.quotes", Reason.UNCLOSED_QUOTE, "a quoted field is never closed: it runs to "
                        "the end of the file", line=located.last_line)
    if stream.oversized:
        block = block_size(contract.max_field_bytes)
        report.add_file("row.size", Reason.FIELD_TOO_LARGE,
                        f"a record spans more than two of the reader's {block}-byte blocks: a field "
                        f"far over max_field_bytes ({contract.max_field_bytes}), or a quote opened "
                        "there is never closed", line=located.last_line if located.oversized else None)
    if stream.ragged_count:
        report.add("row.fields", None, Reason.RAGGED_ROWS, [None] * len(stream.ragged_rows),
                   stream.ragged_rows, located.ragged_lines, count=stream.ragged_count)
