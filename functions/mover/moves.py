"""Move an object version between zones without ever losing the only copy: copy, verify, then
take the upload out of incoming/'s view.

Every step after the claim acts on the claimed version (bucket, key, version id): it is read and
copied by its version id, and removed from incoming/'s view only while it is the key's current
version (`release_upload`), so two quick uploads of one key each end in their own place.
"""

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
        if code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
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
    """Copy the claimed version `source` (boto3's managed copy: multipart above the threshold) to
    `target_key` as a new version of it that names its upload version (metadata `source-version-id`),
    verify it, then take the upload out of incoming/'s view by the rule in `release_upload`.
    Returns `target_key`, `version_id` (the version of `target_key` that holds this upload, even
    when another version of the same upload key was copied there too) and `already_moved`.

    Rerunning after a crash between copy and delete converges: the target's current version
    already holding this upload version is not copied again. Raises FileNotFoundError when the
    claimed version no longer exists (nor, unversioned, the target), CopyMismatch when the copy
    does not verify.
    """
    found = _head(s3, source.bucket, source.key, source.version_args())
    if found is None:
        if source.version_id:
            # The mover never deletes a version: it was deleted for good or expired. A copy of
            # another version of the key in the target must not be named as this one's.
            raise FileNotFoundError(f"{source.uri} version {source.version_id} no longer exists; "
                                    f"nothing was copied to s3://{source.bucket}/{target_key}")
        target = _head(s3, source.bucket, target_key)
        if target is None:
            raise FileNotFoundError(f"{source.uri} is gone and s3://{source.bucket}/{target_key} does not exist")
        return {"target_key": target_key, "version_id": target.get("VersionId"), "already_moved": True}
    copied = _copy_of(s3, source, target_key, current_only=True)
    if copied is None:
        copy_source = {"Bucket": source.bucket, "Key": source.key} | source.version_args()
        s3.copy(copy_source, source.bucket, target_key, ExtraArgs=_copy_args(source, found), Config=config)
        copied = _copy_of(s3, source, target_key)
    if copied is None or copied["ContentLength"] != found["ContentLength"]:
        raise CopyMismatch(f"copy of {source.uri} to {target_key} did not verify; source kept")
    removed = release_upload(s3, source, found)
    return {"target_key": target_key, "version_id": copied.get("VersionId"), "already_moved": not removed}


def release_source(s3: Any, source: ObjectVersion, staged_key: str) -> dict[str, Any]:
    """Finish a move to staging/: the validator already wrote the staged form to `staged_key`
    (and any rejects to error/), so only the upload is taken out of incoming/'s view, by the rule
    in `release_upload`.

    Raises FileNotFoundError when the staged part is missing (the upload is kept).
    """
    target = _head(s3, source.bucket, staged_key)
    if target is None:
        raise FileNotFoundError(f"s3://{source.bucket}/{staged_key} does not exist; {source.uri} kept")
    found = _head(s3, source.bucket, source.key, source.version_args())
    removed = found is not None and release_upload(s3, source, found)
    return {"target_key": staged_key, "version_id": target.get("VersionId"), "already_moved": not removed}


# S3's answers to a conditional delete whose condition does not hold: the current version's ETag
# differs (412), a delete marker or nothing is current (404), or a write to the key was in
# progress (409).
NOT_DELETED = {"PreconditionFailed", "NoSuchKey", "404", "NotFound", "ConditionalRequestConflict"}


def release_upload(s3: Any, source: ObjectVersion, found: dict[str, Any], attempts: int = 3) -> bool:
    """Take the claimed upload version out of incoming/'s view, never out of the bucket; True when
    this call did.

    The rule: only while it is still the key's current version is the key deleted, with a simple
    DELETE (no version id) that puts a delete marker over it; S3 keeps it as a noncurrent version,
    recoverable by its version id, which the plan, the report and the notification name
    ("Deleting object versions from a versioning-enabled bucket", Amazon S3 User Guide,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html). When a
    newer upload of the key is current, or a delete marker, the claimed version is already
    noncurrent and nothing is deleted: deleting the key would hide the newer upload, which its own
    execution handles. No version is ever deleted (no s3:DeleteObjectVersion).

    Between the check and the delete a newer upload may land. The delete is conditional,
    `If-Match` with the claimed version's ETag, which S3 evaluates against the current version
    ("How to perform conditional deletes", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html):
    a newer upload with other bytes makes it fail (412) and nothing is deleted. An ETag names bytes,
    not a version: a newer upload of the same bytes in that window gets the delete marker instead;
    it is still read by its version id, and its own move then finds a delete marker and deletes
    nothing. In an unversioned bucket (`version_id` None) the condition keeps an overwrite from
    being deleted for good.
    """
    for _ in range(attempts):
        if source.version_id:
            current = _head(s3, source.bucket, source.key)
            if current is None or current.get("VersionId") != source.version_id:
                return False
        try:
            s3.delete_object(Bucket=source.bucket, Key=source.key, IfMatch=found["ETag"])
            return True
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code not in NOT_DELETED:
                raise
            if code != "ConditionalRequestConflict":
                return False
    raise RuntimeError(f"{source.uri}: a write to the key kept conflicting with the conditional delete "
                       f"of version {source.version_id}; retry")


SOURCE_VERSION = "source-version-id"  # user metadata on a copy: the upload version it holds
# What a copy with MetadataDirective REPLACE would lose unless given again (HeadObject's names).
CONTENT_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")


def _copy_args(source: ObjectVersion, found: dict[str, Any]) -> dict[str, Any]:
    """The copy keeps the upload's content headers and metadata, and names its version."""
    metadata = dict(found.get("Metadata") or {}) | {SOURCE_VERSION: source.version_id or "null"}
    return {"MetadataDirective": "REPLACE", "Metadata": metadata,
            **{field: found[field] for field in CONTENT_FIELDS if found.get(field)}}


def _copy_of(s3: Any, source: ObjectVersion, target_key: str, current_only: bool = False) -> dict[str, Any] | None:
    """HeadObject of the version of `target_key` that is a copy of the claimed version, or None.

    Its current version first; unless `current_only`, then the others, newest first: the copy of
    another version of the same upload key (its own execution's) may have landed on top at once.
    Without a version id (an unversioned bucket) nothing names the upload: before a copy there is
    none (`current_only`), after it the target's only version is the copy.
    """
    current = _head(s3, source.bucket, target_key)
    if not source.version_id:
        return None if current_only else current
    if current is not None and _holds(current, source):
        return current
    if current is None or current_only:
        return None
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=source.bucket, Prefix=target_key)
    for version in (v for page in pages for v in page.get("Versions", [])):
        if version["Key"] == target_key and version["VersionId"] != current.get("VersionId"):
            head = _head(s3, source.bucket, target_key, {"VersionId": version["VersionId"]})
            if head is not None and _holds(head, source):
                return head
    return None


def _holds(head: dict[str, Any], source: ObjectVersion) -> bool:
    return (head.get("Metadata") or {}).get(SOURCE_VERSION) == source.version_id


def write_failure_report(s3: Any, source: ObjectVersion, report_key: str, dataset: str,
                         failure: dict[str, Any] | None, execution: str | None,
                         moved: dict[str, Any] | None = None) -> None:
    """The report for a file quarantined because a pipeline step failed, not because of its data.

    It names the upload version (`version_id`) and where it now is (`error_key`, and
    `error_version_id`: the version of that key holding it, since each upload of one key adds its
    own version there). The step's cause is cut to 2,000 characters: a report is read by people.
    """
    failure, moved = failure or {}, moved or {}
    cause = failure.get("Cause") or ""
    report = {
        "dataset": dataset, "key": source.key, "version_id": source.version_id,
        "error_key": moved.get("target_key"), "error_version_id": moved.get("version_id"), "valid": False,
        "reason": Reason.PIPELINE_ERROR, "execution": execution,
        "failures": [{"check": "pipeline", "column": None, "reason": Reason.PIPELINE_ERROR, "count": 1,
                      "cases": [{"row": None, "value": f"{failure.get('Error', 'Unknown')}: {cause[:2000]}"}]}],
    }
    s3.put_object(Bucket=source.bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(),
                  ContentType="application/json")
