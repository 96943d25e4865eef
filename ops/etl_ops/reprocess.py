"""Send quarantined files back through the pipeline, after a contract fix, keeping their history.

Works the same against the local stack (`--endpoint-url`) and a real account (`--profile`,
`--region`): each quarantined copy (`error/<path>`, etl_common.layout) is copied back to the
upload key it came from, exactly, with metadata naming the quarantined version; its report
(`error/_reports/<path>.report.json`) moves to `reports/_history/<path>/<stamp>.report.json`, and
the quarantined object is deleted, which on the versioned bucket keeps every version.

Once per quarantined version: before copying, a run records the version in
`reports/_history/<path>/reprocess-<version>.report.json` with a conditional write
(`If-None-Match: *`), which S3 lets only one writer make; a run that finds the record sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from etl_common.layout import ERROR, Quarantined, is_quarantined, quarantine_prefixes
from etl_common.messages import ObjectVersion


def quarantined(s3: Any, bucket: str, dataset: str | None) -> Iterator[dict[str, Any]]:
    """The quarantined copies in error/ (not the reports, rejects or other objects of the layout's
    own regions, nor folder keys), optionally of one dataset's uploads."""
    for prefix in quarantine_prefixes(dataset) if dataset else [ERROR]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if is_quarantined(obj["Key"]) and not obj["Key"].endswith("/"):
                    yield obj


# S3's answers to a conditional write that loses: the key exists (412), or a concurrent
# conditional write to it is in progress (409).
LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}


def reprocess_one(s3: Any, bucket: str, key: str, now: datetime | None = None) -> dict[str, Any]:
    """Move one quarantined file back to incoming/; returns where everything went, or, when a run
    (this one earlier, or another at once) already sent this version, `already_reprocessed`: the record.

    Each upload of one key that was quarantined is its own version of the one `error/` key. The
    current version goes back last; before it, the earlier versions quarantined since the key was
    last cleared (newer than its newest delete marker, which a run or an expiry leaves), oldest
    first, each once (its record), listed under `earlier`. Only then are the report and the key
    deleted: deleting the key first would hide the earlier versions for good.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    item = Quarantined.parse(key)
    head = s3.head_object(Bucket=bucket, Key=key)
    earlier = [_send_back(s3, bucket, item, version, stamp)
               for version in _earlier_versions(s3, bucket, key, head.get("VersionId"))]
    sent = _send_back(s3, bucket, item, head.get("VersionId"), stamp)
    if "already_reprocessed" in sent:
        return {"source": key, "already_reprocessed": sent["already_reprocessed"]} | (
            {"earlier": earlier} if earlier else {})
    moved: dict[str, Any] = {"source": key, "incoming": item.incoming_key, "record": sent["record"]}
    if earlier:
        moved["earlier"] = earlier
    try:
        s3.head_object(Bucket=bucket, Key=item.report_key)
    except s3.exceptions.ClientError:
        pass
    else:
        history = item.history_report_key(stamp)
        s3.copy({"Bucket": bucket, "Key": item.report_key}, bucket, history)
        s3.delete_object(Bucket=bucket, Key=item.report_key)
        moved["report"] = history
    s3.delete_object(Bucket=bucket, Key=key)
    return moved


def _send_back(s3: Any, bucket: str, item: Quarantined, version_id: str | None, stamp: str) -> dict[str, str]:
    """Copy one version of the quarantined key back to incoming/, once: `record` when this run
    sent it, `already_reprocessed` (the record) when a run already did."""
    source = ObjectVersion(bucket=bucket, key=item.key, version_id=version_id)
    reprocessed_from = f"{item.key}#{source.version_id or 'null'}"
    record = item.history_report_key(f"reprocess-{source.version_id or 'null'}")
    try:
        s3.put_object(Bucket=bucket, Key=record, IfNoneMatch="*", ContentType="application/json",
                      Body=json.dumps({"reprocessed_from": reprocessed_from, "incoming": item.incoming_key,
                                       "reprocessed_at": stamp}).encode())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in LOST_RACE:
            return {"version_id": version_id, "already_reprocessed": record}
        raise
    metadata = {"reprocessed-from": reprocessed_from, "reprocessed-at": stamp}
    s3.copy({"Bucket": bucket, "Key": item.key, **source.version_args()}, bucket, item.incoming_key,
            ExtraArgs={"Metadata": metadata, "MetadataDirective": "REPLACE"})
    return {"version_id": version_id, "record": record}


def _earlier_versions(s3: Any, bucket: str, key: str, current: str | None) -> list[str]:
    """The versions of `key` older than `current` and newer than the key's newest delete marker,
    oldest first (S3 lists a key's versions newest first). Without versioning: none. A version
    whose LastModified is not later than that marker's counts as cleared."""
    if current in (None, "null"):
        return []
    versions, markers = [], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        versions += [v for v in page.get("Versions", []) if v["Key"] == key]
        markers += [m["LastModified"] for m in page.get("DeleteMarkers", []) if m["Key"] == key]
    ids = [v["VersionId"] for v in versions]
    older = versions[ids.index(current) + 1:] if current in ids else []
    cleared = max(markers, default=None)
    return [v["VersionId"] for v in reversed(older) if cleared is None or v["LastModified"] > cleared]


def stack_bucket(cloudformation: Any, stack_name: str) -> str:
    outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "DataBucketName")
