"""Lambda entry point: queue a staged file for the next batch; start a batch early when enough wait.

Invoked by the per-file state machine's `lambda:invoke.waitForTaskToken` task: the execution
then waits until the batch answers its token. Environment: PENDING_QUEUE_URL, BATCH_MAX_FILES,
BATCH_STATE_MACHINE_ARN, BATCH_LOCK_TABLE.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batching import batch_running, hand_off, pending_count
from etl_common.messages import BatchInput, PendingFile

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
sfn = boto3.client("stepfunctions")
dynamodb = boto3.client("dynamodb")


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`PendingFile` in; `{"pending": n, "started_batch": bool}` out (the waiting task ignores it)."""
    pending = parse(event=event, model=PendingFile)
    logger.set_correlation_id(pending.execution)
    queue_url = os.environ["PENDING_QUEUE_URL"]
    hand_off(sqs, queue_url, pending)
    count = pending_count(sqs, queue_url)
    start = count >= int(os.environ["BATCH_MAX_FILES"]) and not batch_running(dynamodb, os.environ["BATCH_LOCK_TABLE"])
    if start:
        sfn.start_execution(stateMachineArn=os.environ["BATCH_STATE_MACHINE_ARN"],
                            input=BatchInput(trigger="pending").as_input())
    logger.info("handed off", extra={"dataset": pending.dataset, "pending": count, "started_batch": start})
    return {"pending": count, "started_batch": start}
