"""Decide what happens to one uploaded object version, write its report, and say so in a `Plan`.

Every key that follows from the decision (where the file goes, its report, its rejects, the
Parquet output and the Glue job's arguments) is derived here once, from etl_common.layout; the
state machine only routes on the plan and passes its parts on. The full report goes to S3 beside
the file because a state's payload is capped at 256 KiB (docs/report.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from etl_common.layout import Upload, parquet_prefix, s3_uri
from etl_common.messages import JobArguments, MoveRequest, ObjectVersion, Plan
from etl_common.vocabulary import Outcome, Reason, Verdict

from .contract import Contract, ContractError, find_contract
from .staged import StagedWriter
from .storage import Bucket, StoredObject
from .validation import Reading, validate


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


def plan_object(s3: Any, source: ObjectVersion, contracts_dir: Path) -> Plan:
    """Validate one object version against its dataset's contract (a YAML file in
    `contracts_dir`), write its report and, within the contract's error threshold, its staged
    and rejected parts; return the plan for the rest of the pipeline.

    `source.key` is the decoded key; without a `version_id` the latest version is read. Empty
    folder markers (a key ending in `/`) and zero-byte markers are ignored (no report); bytes under
    a folder key are rejected (`folder_key`), never ignored. Whatever the object holds, the
    outcome is a plan with a reason code; only infrastructure faults (S3 errors) raise.
    """
    upload = Upload.parse(source.key)
    clock, bucket = Clock(), Bucket(s3, source.bucket)
    with clock.phase("head"):
        stored = bucket.head(source)
    if stored.size == 0 and upload.is_folder_marker:
        return _ignored(stored.version, upload, "folder marker", size=0)
    if stored.size == 0 and upload.is_marker_name():
        return _ignored(stored.version, upload, "zero-byte marker object", size=0)
    staged_key = upload.staged_key(stored.version.version_id)
    with clock.phase("read_validate"):
        contract, reading, staged = _validate(bucket, stored, upload, staged_key, contracts_dir)

    with clock.phase("report"):
        failures = reading.report.to_list()
        valid = staged is not None
        outcome = (Outcome.REJECTED if not valid else
                   Outcome.PROCESSED_WITH_REJECTS if staged.rows_rejected else Outcome.PROCESSED)
        split = valid and staged.rows_rejected > 0
        report_at = _report_key(upload, valid, split)
        document = _report(stored, upload, contract, reading, staged_key if staged else None, staged, outcome,
                           failures)
    document["timings"] = clock.seconds
    bucket.put_json(report_at, document)
    return Plan(
        source=stored.version, dataset=upload.dataset, outcome=outcome, valid=valid,
        reason=failures[0]["reason"] if failures else None,
        message=_describe(failures) if failures else None,
        size=stored.size, rows=reading.rows, failed_rows=reading.report.failed_row_count,
        rejected_rows=staged.rows_rejected if staged else 0,
        move=MoveRequest(source=stored.version, target_key=staged_key if valid else upload.error_key,
                         staged_key=staged_key if valid else None),
        report_key=report_at, report_uri=s3_uri(bucket.name, report_at),
        rejects_key=upload.rejects_key if split else None,
        **(_onward(bucket, stored.version, upload, contract, staged_key) if valid else {}),
    )


def _ignored(source: ObjectVersion, upload: Upload, why: str, size: int | None = None) -> Plan:
    return Plan(source=source, dataset=upload.dataset, outcome=Outcome.IGNORED, ignored=True,
                message=why, size=size)


def _validate(bucket: Bucket, stored: StoredObject, upload: Upload, staged_key: str,
              contracts_dir: Path) -> tuple[Contract | None, Reading, StagedWriter | None]:
    """The dataset's contract, what reading the object against it found, and, when the file
    goes on, its staged form (written as it was read); no usable contract is a rejection too."""
    if upload.is_folder_marker:
        reading = Reading()
        reading.report.add_file("file.key", Reason.FOLDER_KEY,
                                f"{stored.size} bytes under a key ending in '/', which S3 consoles and tools "
                                f"show as a folder, not a file: upload the data under a file name")
        return None, reading, None
    try:
        contract = find_contract(contracts_dir, upload.dataset)
    except ContractError as exc:
        reading = Reading()
        reading.report.add_file("contract", Reason.CONTRACT_INVALID, str(exc))
        return None, reading, None
    if contract is None:
        reading = Reading()
        reading.report.add_file("file.readable", Reason.UNKNOWN_DATASET,
                                f"no contract for dataset {upload.dataset!r} in {contracts_dir.name}/")
        return None, reading, None
    rejects_key = upload.rejects_key if contract.error_threshold else None
    with bucket.pending(staged_key, rejects_key) as pending:
        writer = StagedWriter(contract, pending.staged, pending.rejects, upload.compressed)
        reading = validate(stored, contract, writer.write)
        writer.close()
        kept = reading.report.ok or _within_threshold(contract, reading)
        pending.keep(staged=kept, rejects=kept and writer.rows_rejected > 0)
    return contract, reading, writer if kept else None


def _within_threshold(contract: Contract, reading: Reading) -> bool:
    """Only bad rows (no file-level problem), no more than the contract allows, and a good row.

    Over the threshold, the report says so first: that is why the whole file was rejected.
    """
    report, threshold = reading.report, contract.error_threshold
    bad = report.failed_row_count
    if report.ok or threshold is None or report.file_level:
        return False
    if threshold.allows(bad, reading.rows) and bad < reading.rows:
        return True
    report.add_file("error_threshold", Reason.TOO_MANY_BAD_ROWS,
                    f"{bad} of {reading.rows} rows failed; the contract's error_threshold allows "
                    f"{threshold.describe()}")
    return False


def _report_key(upload: Upload, valid: bool, split: bool) -> str:
    """Beside the file's rejects when split, in error/_reports/ when it is rejected, under
    reports/ when the whole file goes on (etl_common.layout)."""
    if split:
        return upload.rejects_report_key
    return upload.accepted_report_key if valid else upload.error_report_key


def _onward(bucket: Bucket, version: ObjectVersion, upload: Upload, contract: Contract,
            staged_key: str) -> dict[str, Any]:
    """The plan's fields for a file that goes on to Parquet: the job reads its staged form, with
    the contract's job part written beside it."""
    parquet_path = s3_uri(bucket.name, parquet_prefix(upload.dataset))
    contract_key = upload.job_contract_key(version.version_id)
    bucket.put_json(contract_key, contract.for_job().model_dump(mode="json"))
    job = JobArguments(source_path=s3_uri(bucket.name, staged_key), output_path=parquet_path,
                       table=contract.dataset, source_id=upload.source_id,
                       contract_uri=s3_uri(bucket.name, contract_key))
    return {"parquet_path": parquet_path, "source_id": upload.source_id, "job_arguments": job.as_glue()}


def _report(stored: StoredObject, upload: Upload, contract: Contract | None, reading: Reading,
            staged_key: str | None, staged: StagedWriter | None, outcome: Outcome,
            failures: list[dict[str, Any]]) -> dict[str, Any]:
    """The report document (docs/report.md), without its timings."""
    valid = outcome != Outcome.REJECTED
    verdict = (Verdict.REJECTED if not valid else
               Verdict.ACCEPTED_WITH_REJECTS if outcome == Outcome.PROCESSED_WITH_REJECTS else Verdict.ACCEPTED)
    threshold = contract.error_threshold if contract else None
    return {
        "dataset": upload.dataset,
        "contract_version": contract.version if contract else None,
        "bucket": stored.version.bucket, "key": stored.key, "version_id": stored.version.version_id,
        "etag": stored.etag, "size": stored.size,
        "checksum": reading.checksum, "compression": reading.compression, "encoding": reading.encoding,
        "valid": valid, "verdict": verdict, "rows": reading.rows, "rows_read": reading.rows,
        "failed_rows": reading.report.failed_row_count,
        "error_threshold": {"max_rows": threshold.max_rows, "max_fraction": threshold.max_fraction}
        if threshold else None,
        "rows_staged": staged.rows_staged if staged else 0,
        "staged_key": staged_key,
        "rejects_key": upload.rejects_key if staged and staged.rows_rejected else None,
        "failures": failures,
    }


def _describe(failures: list[dict[str, Any]]) -> str:
    """A short human sentence for notifications: the first few failed checks and their counts."""
    parts = [f"{f['reason']}{' in ' + f['column'] if f['column'] else ''} ({f['count']})"
             for f in failures[:5]]
    more = f" and {len(failures) - 5} more checks" if len(failures) > 5 else ""
    first_case = failures[0]["cases"][0]["value"] if failures[0]["cases"] else ""
    detail = f": {first_case}" if failures[0]["column"] is None and first_case else ""
    return "; ".join(parts) + more + detail
