"""Lambda entry point: carry out a move the validator planned, or quarantine after a failed step.

`move`: the plan's explicit source version and target key (with `staged_key`, the validator
already staged the good rows and only the upload is removed). `quarantine`: the S3 event's
object (its key resolved as the validator resolves it), which the layout places in `error/` with a
report of the step that failed.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_common.event_object import locate
from etl_common.layout import Upload, s3_uri
from etl_common.messages import MoveRequest, MoveResult, MoverEvent, ObjectVersion, QuarantineRequest
from moves import move_object, release_source, write_failure_report

logger = Logger()
tracer = Tracer()
s3 = boto3.client("s3")


@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`MoverEvent` in, `MoveResult` JSON out; errors raise for the state machine's Retry/Catch."""
    request = parse(event=event, model=MoverEvent)
    logger.set_correlation_id(request.execution)
    if request.move is not None:
        result = carry_out(request.move)
    elif request.quarantine is not None:
        result = quarantine(request.quarantine, request.execution)
    else:
        raise ValueError("a mover event needs `move` or `quarantine`")
    logger.info("moved", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")


def carry_out(move: MoveRequest) -> MoveResult:
    if move.staged_key:
        moved = release_source(s3, move.source, move.staged_key)
    else:
        moved = move_object(s3, move.source, move.target_key)
    return MoveResult(source=move.source, dataset=Upload.parse(move.source.key).dataset, **moved)


def quarantine(request: QuarantineRequest, execution: str | None) -> MoveResult:
    """Move the event's object version to `error/` and write the failure report where the layout
    keeps the report of a quarantined copy (`error/_reports/`).

    The key is the validator's when the request carries it (`key`); otherwise the event's key is
    resolved by the validator's own rule: as delivered or URL-decoded, whichever holds the event's
    version, so a quarantine before any plan (the validator failed) takes the same object. Neither
    holds it: EventObjectNotFound, and nothing is written."""
    key = request.key or locate(s3, request.bucket, request.delivered_key, request.version_id).key
    source = ObjectVersion(bucket=request.bucket, key=key, version_id=request.version_id)
    upload = Upload.parse(source.key)
    moved = move_object(s3, source, upload.error_key)
    report = upload.error_report_key
    write_failure_report(s3, source, report, upload.dataset, request.failure, execution, moved)
    return MoveResult(source=source, dataset=upload.dataset, report_key=report,
                      report_uri=s3_uri(source.bucket, report), **moved)
