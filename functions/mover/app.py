"""Lambda entry point: move one object to a zone (`staging` or `error`), quarantining on failures.

When the validator split the file (error threshold), its good rows are already at `staged_key`:
then only the incoming object is removed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_common.keys import ObjectKey
from moves import move_object, release_source, write_failure_report

logger = Logger()
tracer = Tracer()
s3 = boto3.client("s3")


@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`key` is a decoded key; `encoded_key` comes straight from the S3 event (failure path)."""
    logger.set_correlation_id(event.get("execution"))
    key = event["key"] if "key" in event else unquote_plus(event["encoded_key"])
    where = ObjectKey.parse(key)
    target_key = where.in_zone(event["zone"])
    if event.get("staged_key"):
        result = release_source(s3, event["bucket"], key, event["staged_key"])
    else:
        result = move_object(s3, event["bucket"], key, target_key, event.get("version_id"))
    report_key = None
    if "failure" in event:
        report_key = target_key + ".report.json"
        write_failure_report(s3, event["bucket"], key, report_key, where.dataset, event["failure"],
                             event.get("execution"))
    logger.info("moved", extra={"key": key, "target_key": target_key, **result})
    return {"key": key, "dataset": where.dataset, "report_key": report_key, **result}
