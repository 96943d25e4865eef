"""Batches of a deployed stack, local or in AWS: find the batch that held a file, run one again.

A batch's manifest (`batches/<batch id>/manifest.json`) lists its files and the executions that
waited for them. Running a batch again converts the same staged files (each to the same
deterministic Parquet names, so nothing is written twice); its executions have already been
answered, so a rerun notifies nobody and its resume counts them as `ended`.
"""

from __future__ import annotations

from typing import Any

from etl_common.layout import BATCHES, MANIFEST_NAME
from etl_common.messages import BatchInput, Manifest


def find_batch(s3: Any, bucket: str, execution_arn: str) -> str | None:
    """The id of the newest batch whose manifest lists `execution_arn`, or None."""
    manifests = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=BATCHES)
                 for o in page.get("Contents", []) if o["Key"].endswith("/" + MANIFEST_NAME)]
    for key in sorted(manifests, reverse=True):  # batch ids sort by start time
        manifest = Manifest.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        if any(f.execution == execution_arn for f in manifest.files):
            return manifest.batch_id
    return None


def rerun(sfn: Any, batch_state_machine_arn: str, batch_id: str) -> str:
    """Start the batch state machine on an earlier batch's manifest; returns the execution ARN."""
    return sfn.start_execution(stateMachineArn=batch_state_machine_arn,
                               input=BatchInput(trigger="rerun", rerun_batch_id=batch_id).as_input())["executionArn"]
