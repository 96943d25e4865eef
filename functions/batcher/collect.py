"""Lambda entry point: take the pending files into a batch (a manifest in S3), or reopen one.

One batch at a time per stack: it first takes the lock (BATCH_LOCK_TABLE), or answers
`locked: false` when a running batch holds it. Environment: DATA_BUCKET, PENDING_QUEUE_URL,
BATCH_MAX_FILES, GLUE_DATABASE, BATCH_LOCK_TABLE.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batching import acquire_lock, collect, locked_out, reopen, uncrawled
from etl_common.messages import CollectRequest

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
s3 = boto3.client("s3")
glue = boto3.client("glue")
dynamodb = boto3.client("dynamodb")
sfn = boto3.client("stepfunctions")


@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`CollectRequest` in, `Batch` JSON out (`files` 0: nothing was pending)."""
    request = parse(event=event, model=CollectRequest)
    logger.set_correlation_id(request.execution)
    bucket = os.environ["DATA_BUCKET"]
    if not acquire_lock(dynamodb, sfn, os.environ["BATCH_LOCK_TABLE"], request.execution):
        logger.info("another batch runs")
        return locked_out(bucket).model_dump(mode="json")
    if request.rerun_batch_id:
        batch = reopen(s3, bucket, request.rerun_batch_id)
    else:
        batch = collect(sqs, s3, bucket, os.environ["PENDING_QUEUE_URL"], int(os.environ["BATCH_MAX_FILES"]))
    new = uncrawled(glue, os.environ["GLUE_DATABASE"], bucket, batch.datasets) if batch.files else []
    batch = batch.model_copy(update={"crawl": bool(new)})
    logger.info("collected", extra=batch.model_dump(mode="json") | {"uncrawled": new})
    return batch.model_dump(mode="json")
