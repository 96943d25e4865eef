"""Lambda entry point: parse the EventBridge S3 event, validate the object, return a summary."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_validator.service import validate_object

logger = Logger()
tracer = Tracer()
metrics = Metrics()
s3 = boto3.client("s3")
CONTRACTS_DIR = Path(os.environ.get("CONTRACTS_DIR", "/opt/contracts"))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.get("config", {}).get("execution"))
    notification = parse(event=event, model=S3EventNotificationEventBridgeModel)
    bucket = notification.detail.bucket.name
    key = unquote_plus(notification.detail.object.key)
    logger.append_keys(bucket=bucket, key=key)
    version_id = notification.detail.object.version_id
    # "null" is the version of objects written while versioning was off: the latest one.
    started = time.monotonic()
    summary = validate_object(s3, bucket, key, CONTRACTS_DIR,
                              version_id=None if version_id in (None, "null") else version_id)
    metrics.add_metric(name="ValidationDuration", unit=MetricUnit.Milliseconds,
                       value=round((time.monotonic() - started) * 1000))
    metrics.add_dimension(name="dataset", value=summary["dataset"])
    metrics.add_metric(name="FilesValidated", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RowsValidated", unit=MetricUnit.Count, value=summary["rows"])
    if not summary["valid"] and not summary["ignored"]:
        metrics.add_metric(name="FilesRejected", unit=MetricUnit.Count, value=1)
    if summary["rejected_rows"]:
        metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=summary["rejected_rows"])
    logger.info("validated", extra={k: summary[k] for k in ("outcome", "reason", "rows", "failed_rows")})
    return summary
