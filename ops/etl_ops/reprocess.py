"""Send quarantined files back through the pipeline, after a contract fix, keeping their history.

Works the same against the local stack (`--endpoint-url`) and a real account (`--profile`,
`--region`): each file in `error/<dataset>/` is copied back to `incoming/<dataset>/` with
metadata naming the quarantined version, its report moves to `reports/<dataset>/history/`,
and the quarantined object is deleted, which on the versioned bucket keeps every version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from etl_common.layout import ERROR, Quarantined, is_report
from etl_common.messages import ObjectVersion


def quarantined(s3: Any, bucket: str, dataset: str | None) -> Iterator[dict[str, Any]]:
    """The files in error/ (not their reports), optionally for one dataset."""
    prefix = f"{ERROR}{dataset}/" if dataset else ERROR
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not is_report(obj["Key"]) and not obj["Key"].endswith("/"):
                yield obj


def reprocess_one(s3: Any, bucket: str, key: str, now: datetime | None = None) -> dict[str, str]:
    """Move one quarantined file back to incoming/; returns where everything went."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    item = Quarantined.parse(key)
    head = s3.head_object(Bucket=bucket, Key=key)
    source = ObjectVersion(bucket=bucket, key=key, version_id=head.get("VersionId"))
    metadata = {"reprocessed-from": f"{key}#{source.version_id or 'null'}", "reprocessed-at": stamp}
    s3.copy({"Bucket": bucket, "Key": key, **source.version_args()}, bucket, item.incoming_key,
            ExtraArgs={"Metadata": metadata, "MetadataDirective": "REPLACE"})
    moved = {"source": key, "incoming": item.incoming_key}
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
