"""Lambda entry point: parse the EventBridge S3 event, find its object, plan it, return the plan as JSON."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_common.event_object import KeyForm, locate, normalize_version
from etl_common.messages import ObjectVersion
from etl_common.vocabulary import Outcome
from etl_validator.plan import plan_object

logger = Logger()
tracer = Tracer()
metrics = Metrics()
s3 = boto3.client("s3")
# The contracts layer (template: ContentUri contracts/) is mounted at /opt.
CONTRACTS_DIR = Path(os.environ.get("CONTRACTS_DIR", "/opt"))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.get("config", {}).get("execution"))
    notification = parse(event=event, model=S3EventNotificationEventBridgeModel)
    bucket, delivered = notification.detail.bucket.name, notification.detail.object.key
    # "null" is the version of objects written while versioning was off: the latest one.
    version_id = normalize_version(notification.detail.object.version_id)
    # The key as delivered or URL-decoded, whichever holds this version (etl_common.event_object).
    resolved = locate(s3, bucket, delivered, version_id)
    source = ObjectVersion(bucket=bucket, key=resolved.key, version_id=version_id)
    logger.append_keys(bucket=source.bucket, key=source.key)
    if resolved.form != KeyForm.ONLY:
        logger.info("event key resolved", extra={"delivered_key": delivered, "key_form": resolved.form.value})
    started = time.monotonic()
    plan = plan_object(s3, source, CONTRACTS_DIR)
    metrics.add_metric(name="ValidationDuration", unit=MetricUnit.Milliseconds,
                       value=round((time.monotonic() - started) * 1000))
    metrics.add_dimension(name="dataset", value=plan.dataset)
    metrics.add_metric(name="FilesValidated", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RowsValidated", unit=MetricUnit.Count, value=plan.rows)
    if plan.outcome == Outcome.REJECTED:
        metrics.add_metric(name="FilesRejected", unit=MetricUnit.Count, value=1)
    if plan.rejected_rows:
        metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=plan.rejected_rows)
    logger.info("validated", extra={"outcome": plan.outcome, "reason": plan.reason, "rows": plan.rows,
                                    "failed_rows": plan.failed_rows})
    return plan.model_dump(mode="json")
