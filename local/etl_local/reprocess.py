"""Send quarantined files back through the pipeline, after a contract fix, keeping their history.

Works the same against the local stack (`--endpoint-url`) and a real account (`--profile`,
`--region`): each file in `error/<dataset>/` is copied back to `incoming/<dataset>/` with
metadata naming the quarantined version, its report moves to `reports/<dataset>/history/`,
and the quarantined object is deleted, which on the versioned bucket keeps every version.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

REPORT_SUFFIX = ".report.json"


def quarantined(s3: Any, bucket: str, dataset: str | None) -> Iterator[dict[str, Any]]:
    """The files in error/ (not their reports), optionally for one dataset."""
    prefix = f"error/{dataset}/" if dataset else "error/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(REPORT_SUFFIX) and not obj["Key"].endswith("/"):
                yield obj


def reprocess_one(s3: Any, bucket: str, key: str, now: datetime | None = None) -> dict[str, str]:
    """Move one quarantined file back to incoming/; returns where everything went."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    rest = key.removeprefix("error/")
    dataset, _, name = rest.partition("/")
    head = s3.head_object(Bucket=bucket, Key=key)
    target = f"incoming/{rest}"
    metadata = {"reprocessed-from": f"{key}#{head.get('VersionId', 'null')}", "reprocessed-at": stamp}
    s3.copy({"Bucket": bucket, "Key": key, **({"VersionId": head["VersionId"]} if head.get("VersionId") else {})},
            bucket, target, ExtraArgs={"Metadata": metadata, "MetadataDirective": "REPLACE"})
    moved = {"source": key, "incoming": target}
    report = key + REPORT_SUFFIX
    try:
        s3.head_object(Bucket=bucket, Key=report)
    except s3.exceptions.ClientError:
        report = None
    if report:
        history = f"reports/{dataset}/history/{name}.{stamp}{REPORT_SUFFIX}"
        s3.copy({"Bucket": bucket, "Key": report}, bucket, history)
        s3.delete_object(Bucket=bucket, Key=report)
        moved["report"] = history
    s3.delete_object(Bucket=bucket, Key=key)
    return moved


def stack_bucket(cloudformation: Any, stack_name: str) -> str:
    outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "DataBucketName")
