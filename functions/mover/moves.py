"""Move an object between zones without ever losing the only copy: copy, verify, then delete."""

from __future__ import annotations

import json
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from etl_common.messages import ObjectVersion
from etl_common.vocabulary import Reason

TRANSFER = TransferConfig(multipart_threshold=512 << 20, multipart_chunksize=256 << 20)


class CopyMismatch(Exception):
    """The copy's size differs from the source's: the source is kept and the move fails."""


class HeadDenied(PermissionError):
    """HeadObject answered 403: a missing key without s3:ListBucket, or a real denial.

    S3 answers a HeadObject of a missing key with 404 only when the caller also has
    s3:ListBucket on the bucket, otherwise with 403
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). The two cannot be
    told apart, so a 403 is never taken for "missing": the move stops with this error.
    """


def _head(s3: Any, bucket: str, key: str, version_args: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The object's metadata, or None when S3 says 404 (the mover's role has s3:ListBucket on the
    prefixes it heads, template.yaml MoverFunction HeadMissingKeysAs404). Raises HeadDenied on 403."""
    try:
        return s3.head_object(Bucket=bucket, Key=key, **(version_args or {}))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in {"404", "NoSuchKey", "NotFound"}:
            return None
        if code in {"403", "AccessDenied", "Forbidden"} or status == 403:
            prefix = key.split("/", 1)[0] + "/" if "/" in key else key
            raise HeadDenied(
                f"HeadObject was denied for s3://{bucket}/{key}: the mover's role needs s3:ListBucket on "
                f"the bucket (prefix {prefix}*) so that a missing key answers 404, and s3:GetObject"
                f"{'Version' if version_args else ''} on the key; a 403 cannot tell a missing key from "
                f"a denial") from exc
        raise


def move_object(s3: Any, source: ObjectVersion, target_key: str,
                config: TransferConfig = TRANSFER) -> dict[str, Any]:
    """Copy `source` (boto3's managed copy: multipart above the threshold), verify the size,
    delete the source key. Returns `target_key`, the copy's `version_id` and `already_moved`.

    Rerunning after a crash between copy and delete converges: a verified target with the
    source gone is a finished move. Raises FileNotFoundError when neither exists, CopyMismatch
    when the copy does not verify.
    """
    found = _head(s3, source.bucket, source.key, source.version_args())
    if found is None:
        target = _head(s3, source.bucket, target_key)
        if target is None:
            raise FileNotFoundError(f"{source.uri} is gone and s3://{source.bucket}/{target_key} does not exist")
        return {"target_key": target_key, "version_id": target.get("VersionId"), "already_moved": True}
    copy_source = {"Bucket": source.bucket, "Key": source.key} | source.version_args()
    s3.copy(copy_source, source.bucket, target_key, Config=config)
    target = _head(s3, source.bucket, target_key)
    if target is None or target["ContentLength"] != found["ContentLength"]:
        raise CopyMismatch(f"copy of {source.uri} to {target_key} did not verify; source kept")
    s3.delete_object(Bucket=source.bucket, Key=source.key)
    return {"target_key": target_key, "version_id": target.get("VersionId"), "already_moved": False}


def release_source(s3: Any, source: ObjectVersion, staged_key: str) -> dict[str, Any]:
    """Finish a split: the validator already wrote the good rows to `staged_key` (and the rejects
    to error/), so the incoming object is deleted once the staged part is there.

    Deleting without a version id leaves the upload as a noncurrent version of the versioned
    bucket, which the report names by version id. Raises FileNotFoundError when the staged
    part is missing (the upload is kept).
    """
    target = _head(s3, source.bucket, staged_key)
    if target is None:
        raise FileNotFoundError(f"s3://{source.bucket}/{staged_key} does not exist; {source.uri} kept")
    already = _head(s3, source.bucket, source.key) is None
    if not already:
        s3.delete_object(Bucket=source.bucket, Key=source.key)
    return {"target_key": staged_key, "version_id": target.get("VersionId"), "already_moved": already}


def write_failure_report(s3: Any, source: ObjectVersion, report_key: str, dataset: str,
                         failure: dict[str, Any] | None, execution: str | None) -> None:
    """The report for a file quarantined because a pipeline step failed, not because of its data.

    The step's cause is cut to 2,000 characters: a report is read by people.
    """
    failure = failure or {}
    cause = failure.get("Cause") or ""
    report = {
        "dataset": dataset, "key": source.key, "version_id": source.version_id, "valid": False,
        "reason": Reason.PIPELINE_ERROR, "execution": execution,
        "failures": [{"check": "pipeline", "column": None, "reason": Reason.PIPELINE_ERROR, "count": 1,
                      "cases": [{"row": None, "value": f"{failure.get('Error', 'Unknown')}: {cause[:2000]}"}]}],
    }
    s3.put_object(Bucket=source.bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(),
                  ContentType="application/json")
