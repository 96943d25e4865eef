"""Lambda entry point: answer each execution waiting on a batch with its own file's result."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batching import resume
from etl_common.messages import ResumeRequest

logger = Logger()
tracer = Tracer()
sfn = boto3.client("stepfunctions")
s3 = boto3.client("s3")


@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`ResumeRequest` in, `Resumed` JSON out; a failed answer raises for the state machine's Retry."""
    request = parse(event=event, model=ResumeRequest)
    logger.set_correlation_id(request.execution)
    resumed = resume(sfn, s3, request.batch, request.job_run_id, request.job_error, request.crawl)
    logger.info("resumed", extra={"batch_id": request.batch.batch_id} | resumed.model_dump())
    return resumed.model_dump()
