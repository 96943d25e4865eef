"""Send quarantined files back through the pipeline, after a contract fix, keeping their history.

Works the same against the local stack (`--endpoint-url`) and a real account (`--profile`,
`--region`): each file in `error/<dataset>/` is copied back to `incoming/<dataset>/` with
metadata naming the quarantined version, its report moves to `reports/<dataset>/history/`,
and the quarantined object is deleted, which on the versioned bucket keeps every version.

Once per quarantined version: before copying, a run records the version in
`reports/<dataset>/history/<name>.reprocess-<version>.report.json` with a conditional write
(`If-None-Match: *`), which S3 lets only one writer make; a run that finds the record sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from etl_common.layout import ERROR, Quarantined, is_report
from etl_common.messages import ObjectVersion


def quarantined(s3: Any, bucket: str, dataset: str | None) -> Iterator[dict[str, Any]]:
    """The files in error/ (not their reports), optionally for one dataset."""
    prefix = f"{ERROR}{dataset}/" if dataset else ERROR
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not is_report(obj["Key"]) and not obj["Key"].endswith("/"):
                yield obj


# S3's answers to a conditional write that loses: the key exists (412), or a concurrent
# conditional write to it is in progress (409).
LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}


def reprocess_one(s3: Any, bucket: str, key: str, now: datetime | None = None) -> dict[str, str]:
    """Move one quarantined file back to incoming/; returns where everything went, or, when a run
    (this one earlier, or another at once) already sent this version, `already_reprocessed`: the record."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    item = Quarantined.parse(key)
    head = s3.head_object(Bucket=bucket, Key=key)
    source = ObjectVersion(bucket=bucket, key=key, version_id=head.get("VersionId"))
    reprocessed_from = f"{key}#{source.version_id or 'null'}"
    record = item.history_report_key(f"reprocess-{source.version_id or 'null'}")
    try:
        s3.put_object(Bucket=bucket, Key=record, IfNoneMatch="*", ContentType="application/json",
                      Body=json.dumps({"reprocessed_from": reprocessed_from, "incoming": item.incoming_key,
                                       "reprocessed_at": stamp}).encode())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in LOST_RACE:
            return {"source": key, "already_reprocessed": record}
        raise
    metadata = {"reprocessed-from": reprocessed_from, "reprocessed-at": stamp}
    s3.copy({"Bucket": bucket, "Key": key, **source.version_args()}, bucket, item.incoming_key,
            ExtraArgs={"Metadata": metadata, "MetadataDirective": "REPLACE"})
    moved = {"source": key, "incoming": item.incoming_key, "record": record}
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


def stack_bucket(cloudformation: Any, stack_name: str) -> str:
    outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "DataBucketName")
