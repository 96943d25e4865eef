"""Validate one S3 object against its dataset's contract and write the report beside it.

Returns a small summary for the state machine; the full report goes to S3 because a
state's payload is capped at 256 KiB.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from etl_common.keys import ObjectKey

from .checks import BatchValidator, check_header
from .contract import ContractError, find_contract
from .csv_stream import UnreadableFile, open_stream
from .report import Report

MARKER_NAMES = re.compile(r"(^|/)[_.][^/]*$")


def source_id(key: str) -> str:
    """A deterministic, filesystem-safe name for one source key: reruns overwrite their output."""
    stem = key.rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem.rsplit(".", 1)[0])[:60] or "file"
    return f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def validate_object(s3: Any, bucket: str, key: str, contracts_dir: Path,
                    version_id: str | None = None) -> dict[str, Any]:
    """Validate `s3://bucket/key`; every outcome, including unreadable files, is a summary."""
    started = time.monotonic()
    where = ObjectKey.parse(key)
    summary: dict[str, Any] = {
        "bucket": bucket, "key": key, "dataset": where.dataset, "version_id": version_id,
        "staging_key": where.in_zone("staging"), "error_key": where.in_zone("error"),
        "ignored": False, "valid": False, "reason": None, "message": None, "rows": 0,
        "failed_rows": 0,
    }
    if where.is_folder_marker:
        return summary | {"ignored": True, "message": "folder marker"}
    head = s3.head_object(Bucket=bucket, Key=key, **({"VersionId": version_id} if version_id else {}))
    summary["version_id"] = head.get("VersionId") or version_id
    summary["size"] = head["ContentLength"]
    if head["ContentLength"] == 0 and MARKER_NAMES.search(key):
        return summary | {"ignored": True, "message": "zero-byte marker object"}

    report = Report()
    contract = None
    rows = 0
    try:
        contract = find_contract(contracts_dir, where.dataset)
        if contract is None:
            raise UnreadableFile("unknown_dataset",
                                 f"no contract for dataset {where.dataset!r} in {contracts_dir.name}/")
        body = s3.get_object(Bucket=bucket, Key=key,
                             **({"VersionId": summary["version_id"]} if summary["version_id"] else {}))["Body"]
        stream = open_stream(body, contract.dialect, contract.column_names)
        check_header(contract, stream.header, report)
        if report.ok:
            validator = BatchValidator(contract, report)
            for batch in stream.batches:
                validator.validate(batch)
            if stream.ragged_count:
                report.add("row.fields", None, "ragged_rows", [None] * stream.ragged_count,
                           stream.ragged_rows)
            validator.finish()
            rows = validator.rows + stream.ragged_count
    except UnreadableFile as exc:
        report.add("file.readable", None, exc.reason, [None], [str(exc)])
    except ContractError as exc:
        report.add("contract", None, "contract_invalid", [None], [str(exc)])

    failures = report.to_list()
    valid = report.ok
    report_key = (where.in_zone("reports") if valid else where.in_zone("error")) + ".report.json"
    full = {
        "dataset": where.dataset,
        "contract_version": contract.version if contract else None,
        "bucket": bucket, "key": key, "version_id": summary["version_id"],
        "etag": head.get("ETag", "").strip('"'), "size": head["ContentLength"],
        "valid": valid, "rows": rows, "failed_rows": len(report.failed_rows),
        "failures": failures,
        "timings": {"validate_seconds": round(time.monotonic() - started, 3)},
    }
    s3.put_object(Bucket=bucket, Key=report_key, Body=json.dumps(full, indent=2, default=str).encode(),
                  ContentType="application/json")
    summary.update(valid=valid, rows=rows, failed_rows=len(report.failed_rows), report_key=report_key)
    if valid and contract:
        summary.update(contract=contract.for_job(), table=contract.dataset, source_id=source_id(key))
    else:
        first = failures[0]
        summary.update(reason=first["reason"], message=_describe(failures))
    return summary


def _describe(failures: list[dict[str, Any]]) -> str:
    """A short human sentence for notifications: the first few failed checks and their counts."""
    parts = [f"{f['reason']}{' in ' + f['column'] if f['column'] else ''} ({f['count']})"
             for f in failures[:5]]
    more = f" and {len(failures) - 5} more checks" if len(failures) > 5 else ""
    first_case = failures[0]["cases"][0]["value"] if failures[0]["cases"] else ""
    detail = f": {first_case}" if failures[0]["column"] is None and first_case else ""
    return "; ".join(parts) + more + detail
