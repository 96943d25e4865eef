"""Validate one S3 object against its dataset's contract and write the report beside it.

Returns a small summary for the state machine; the full report goes to S3 because a
state's payload is capped at 256 KiB. Whatever the object holds, the outcome is a report:
every hostile input ends as a failure with a stable reason code (docs/report.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from etl_common.keys import ObjectKey

from .checks import BatchValidator, check_header
from .contract import Contract, ContractError, find_contract
from .csv_stream import MAX_RAGGED_SAMPLES, CsvStream, block_size, open_stream
from .errors import UnreadableFile
from .locate import locate
from .report import Report
from .source import Checksum, Text, body_chunks, open_text
from .split import rejects_key, split_object, staged_dialect

MARKER_NAMES = re.compile(r"(^|/)[_.][^/]*$")


def source_id(key: str) -> str:
    """A deterministic, filesystem-safe name for one source key: reruns overwrite their output."""
    stem = key.rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem.rsplit(".", 1)[0])[:60] or "file"
    return f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class S3Object:
    """One version of one object: the validator reads it once, and again only to locate problems."""

    s3: Any
    bucket: str
    key: str
    version_id: str | None

    def _version(self) -> dict[str, str]:
        return {"VersionId": self.version_id} if self.version_id else {}

    def head(self) -> dict[str, Any]:
        return self.s3.head_object(Bucket=self.bucket, Key=self.key, **self._version())

    def body(self) -> BinaryIO:
        return self.s3.get_object(Bucket=self.bucket, Key=self.key, **self._version())["Body"]


@dataclass
class Reading:
    """What reading the object found, filled as it goes so a rejection still reports it."""

    rows: int = 0
    checksum: str | None = None
    encoding: str | None = None
    compression: str | None = None


class Clock:
    """Seconds per phase, for the report's `timings`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[f"{name}_seconds"] = round(time.monotonic() - started, 3)


def validate_object(s3: Any, bucket: str, key: str, contracts_dir: Path,
                    version_id: str | None = None) -> dict[str, Any]:
    """Validate `s3://bucket/key`; every outcome, including unreadable files, is a summary."""
    clock = Clock()
    where = ObjectKey.parse(key)
    summary: dict[str, Any] = {
        "bucket": bucket, "key": key, "dataset": where.dataset, "version_id": version_id,
        "staging_key": where.in_zone("staging"), "error_key": where.in_zone("error"),
        "ignored": False, "valid": False, "outcome": "rejected", "reason": None, "message": None,
        "rows": 0, "failed_rows": 0, "staged_key": None, "rejects_key": None, "rejected_rows": 0,
    }
    if where.is_folder_marker:
        return summary | {"ignored": True, "outcome": "ignored", "message": "folder marker"}
    with clock.phase("head"):
        head = S3Object(s3, bucket, key, version_id).head()
    summary["version_id"] = head.get("VersionId") or version_id
    summary["size"] = head["ContentLength"]
    if head["ContentLength"] == 0 and MARKER_NAMES.search(key):
        return summary | {"ignored": True, "outcome": "ignored", "message": "zero-byte marker object"}

    report, reading, contract = Report(), Reading(), None
    obj = S3Object(s3, bucket, key, summary["version_id"])
    with clock.phase("read_validate"):
        try:
            contract = find_contract(contracts_dir, where.dataset)
            if contract is None:
                raise UnreadableFile("unknown_dataset",
                                     f"no contract for dataset {where.dataset!r} in {contracts_dir.name}/")
            _validate(obj, head["ContentLength"], contract, report, reading)
        except UnreadableFile as exc:
            report.add_file("file.readable", exc.reason, str(exc))
        except ContractError as exc:
            report.add_file("contract", "contract_invalid", str(exc))
    split, rejects = None, rejects_key(summary["error_key"])
    if contract and _within_threshold(contract, report, reading):
        with clock.phase("split"):
            split = split_object(s3, bucket, _open_text(body_chunks(obj.body()), contract).chunks, contract,
                                 report.failed_rows, summary["staging_key"], rejects)

    with clock.phase("report"):
        failures = report.to_list()
        valid = report.ok or split is not None
        outcome = "processed_with_rejects" if split else "processed" if valid else "rejected"
        report_key = (rejects if split else where.in_zone("reports") if valid
                      else where.in_zone("error")) + ".report.json"
        document = {
            "dataset": where.dataset,
            "contract_version": contract.version if contract else None,
            "bucket": bucket, "key": key, "version_id": summary["version_id"],
            "etag": head.get("ETag", "").strip('"'), "size": head["ContentLength"],
            "checksum": reading.checksum, "compression": reading.compression,
            "encoding": reading.encoding,
            "valid": valid, "outcome": outcome, "rows": reading.rows, "rows_read": reading.rows,
            "failed_rows": len(report.failed_rows), "error_threshold": _threshold(contract),
            "rows_staged": split.rows_staged if split else reading.rows if valid else 0,
            "rejects_key": rejects if split else None,
            "failures": failures,
        }
    document["timings"] = clock.seconds
    s3.put_object(Bucket=bucket, Key=report_key, Body=json.dumps(document, indent=2, default=str).encode(),
                  ContentType="application/json")
    summary.update(valid=valid, outcome=outcome, rows=reading.rows, failed_rows=len(report.failed_rows),
                   report_key=report_key)
    if not report.ok:
        summary.update(reason=failures[0]["reason"], message=_describe(failures))
    if split:
        summary.update(staged_key=summary["staging_key"], rejects_key=rejects, rejected_rows=split.rows_rejected)
        contract = replace(contract, dialect=staged_dialect())
    if valid and contract:
        summary.update(contract=contract.for_job(), table=contract.dataset, source_id=source_id(key))
    return summary


def _within_threshold(contract: Contract, report: Report, reading: Reading) -> bool:
    """Only bad rows (no file-level problem), no more than the contract allows, and a good row.

    Over the threshold, the report says so first: that is why the whole file was rejected.
    """
    threshold, bad = contract.error_threshold, len(report.failed_rows)
    if report.ok or threshold is None or report.file_level:
        return False
    if threshold.allows(bad, reading.rows) and bad < reading.rows:
        return True
    report.add_file("error_threshold", "too_many_bad_rows",
                    f"{bad} of {reading.rows} rows failed; the contract's error_threshold allows "
                    f"{threshold.describe()}")
    return False


def _threshold(contract: Contract | None) -> dict[str, Any] | None:
    threshold = contract.error_threshold if contract else None
    return {"max_rows": threshold.max_rows, "max_fraction": threshold.max_fraction} if threshold else None


def _validate(obj: S3Object, size: int, contract: Contract, report: Report, reading: Reading) -> None:
    """Read the object once, streaming, checking as it goes; re-read only to place problems."""
    if contract.max_bytes is not None and size > contract.max_bytes:
        raise UnreadableFile("file_too_large", f"{size} bytes, over the contract's max_bytes "
                             f"of {contract.max_bytes}")
    checksum = Checksum()
    text = _open_text(checksum.tap(body_chunks(obj.body())), contract)
    reading.encoding, reading.compression = text.encoding, text.compression
    if text.compression == "gzip" and not obj.key.endswith(".gz"):
        raise UnreadableFile("gzip_without_gz_suffix", "the object is gzip-compressed but its key does not "
                             "end in .gz; Glue reads compressed CSV by its extension: upload it as .csv.gz")
    stream = open_stream(text.chunks, contract.dialect, contract.column_names,
                         block_size(contract.max_field_bytes))
    check_header(contract, stream.header, report)
    if not report.ok:
        return
    validator = BatchValidator(contract, report)
    try:
        for batch in stream.batches:
            validator.validate(batch)
    finally:
        reading.rows = validator.rows + stream.ragged_count
    if stream.ragged_count or stream.unclosed_quote or stream.oversized:
        _report_structure(obj, contract, stream, report)
    if stream.complete:
        validator.finish()
    reading.checksum = checksum.sha256


def _open_text(chunks: Iterator[bytes], contract: Contract) -> Text:
    return open_text(chunks, contract.dialect.encoding, contract.max_bytes)


def _report_structure(obj: S3Object, contract: Contract, stream: CsvStream, report: Report) -> None:
    """An open quote, a record too large to parse, ragged rows: with their lines from a second pass.

    In that order: an open quote or a runaway record also makes its record ragged.
    """
    located = locate(_open_text(body_chunks(obj.body()), contract).chunks, contract.dialect,
                     len(stream.header), contract.max_field_bytes, MAX_RAGGED_SAMPLES)
    if stream.unclosed_quote:
        report.add_file("row.quotes", "unclosed_quote", "a quoted field is never closed: it runs to "
                        "the end of the file", line=located.last_line)
    if stream.oversized:
        block = block_size(contract.max_field_bytes)
        report.add_file("row.size", "field_too_large",
                        f"a record spans more than two of the reader's {block}-byte blocks: a field "
                        f"far over max_field_bytes ({contract.max_field_bytes}), or a quote opened "
                        "there is never closed", line=located.last_line if located.oversized else None)
    if stream.ragged_count:
        report.add("row.fields", None, "ragged_rows", [None] * len(stream.ragged_rows),
                   stream.ragged_rows, located.ragged_lines, count=stream.ragged_count)


def _describe(failures: list[dict[str, Any]]) -> str:
    """A short human sentence for notifications: the first few failed checks and their counts."""
    parts = [f"{f['reason']}{' in ' + f['column'] if f['column'] else ''} ({f['count']})"
             for f in failures[:5]]
    more = f" and {len(failures) - 5} more checks" if len(failures) > 5 else ""
    first_case = failures[0]["cases"][0]["value"] if failures[0]["cases"] else ""
    detail = f": {first_case}" if failures[0]["column"] is None and first_case else ""
    return "; ".join(parts) + more + detail
