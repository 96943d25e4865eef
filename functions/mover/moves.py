"""Move an object between zones without ever losing the only copy: copy, verify, then delete."""

from __future__ import annotations

import json
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

TRANSFER = TransferConfig(multipart_threshold=512 << 20, multipart_chunksize=256 << 20)


class CopyMismatch(Exception):
    """The copy's size differs from the source's: the source is kept and the move fails."""


def _head(s3: Any, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key, **({"VersionId": version_id} if version_id else {}))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def move_object(s3: Any, bucket: str, key: str, target_key: str, version_id: str | None = None,
                config: TransferConfig = TRANSFER) -> dict[str, Any]:
    """Copy (boto3's managed copy: multipart above the threshold), verify the size, delete the source.

    Rerunning after a crash between copy and delete converges: a verified target with the
    source gone is a finished move.
    """
    source = _head(s3, bucket, key, version_id)
    if source is None:
        target = _head(s3, bucket, target_key)
        if target is None:
            raise FileNotFoundError(f"s3://{bucket}/{key} is gone and s3://{bucket}/{target_key} does not exist")
        return {"target_key": target_key, "version_id": target.get("VersionId"), "already_moved": True}
    copy_source = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    s3.copy(copy_source, bucket, target_key, Config=config)
    target = _head(s3, bucket, target_key)
    if target is None or target["ContentLength"] != source["ContentLength"]:
        raise CopyMismatch(f"copy of s3://{bucket}/{key} to {target_key} did not verify; source kept")
    s3.delete_object(Bucket=bucket, Key=key)
    return {"target_key": target_key, "version_id": target.get("VersionId"), "already_moved": False}


def release_source(s3: Any, bucket: str, key: str, staged_key: str) -> dict[str, Any]:
    """Finish a split: the validator already wrote the good rows to `staged_key` (and the rejects
    to error/), so the incoming object is deleted once the staged part is there.

    Deleting without a version id leaves the upload as a noncurrent version of the versioned
    bucket, which the report names by version id.
    """
    target = _head(s3, bucket, staged_key)
    if target is None:
        raise FileNotFoundError(f"s3://{bucket}/{staged_key} does not exist; s3://{bucket}/{key} kept")
    already = _head(s3, bucket, key) is None
    if not already:
        s3.delete_object(Bucket=bucket, Key=key)
    return {"target_key": staged_key, "version_id": target.get("VersionId"), "already_moved": already}


def write_failure_report(s3: Any, bucket: str, key: str, report_key: str, dataset: str,
                         failure: dict[str, Any] | None, execution: str | None) -> None:
    """The report for a file quarantined because a pipeline step failed, not because of its data."""
    failure = failure or {}
    cause = failure.get("Cause") or ""
    report = {
        "dataset": dataset, "key": key, "valid": False, "reason": "pipeline_error", "execution": execution,
        "failures": [{"check": "pipeline", "column": None, "reason": "pipeline_error", "count": 1,
                      "cases": [{"row": None, "value": f"{failure.get('Error', 'Unknown')}: {cause[:2000]}"}]}],
    }
    s3.put_object(Bucket=bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(),
                  ContentType="application/json")
