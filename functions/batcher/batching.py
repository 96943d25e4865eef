"""Files handed from the per-file pipeline to the batch that converts them, and back.

A staged file waits in an SQS queue (`PendingFile`, with the callback token of the execution
waiting for it). A batch takes what is pending, up to its maximum, and writes the list as an S3
manifest before it removes the messages, so the manifest, not the queue, is the record of what
the batch owns. After the Glue job run, every waiting execution is resumed with its own result.

Step Functions callbacks: a task with `.waitForTaskToken` waits until SendTaskSuccess or
SendTaskFailure names its token, or until its TimeoutSeconds; a token of a task that has ended
is refused with TaskTimedOut, InvalidToken or TaskDoesNotExist
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from etl_common.layout import STAGING, manifest_key, parse_s3_uri, results_key, s3_uri
from etl_common.messages import Batch, BatchResults, Conversion, Manifest, PendingFile, Resumed

RECEIVE_MAX = 10  # SQS ReceiveMessage and DeleteMessageBatch take at most 10 messages per call
CAUSE_CHARS = 32_768  # SendTaskFailure `cause`: at most 32,768 characters (API_SendTaskFailure)
ERROR_CHARS = 256  # SendTaskFailure `error`: at most 256 characters
ENDED = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}
LOCK_KEY = {"lock": {"S": "batch"}}


def hand_off(sqs: Any, queue_url: str, pending: PendingFile) -> None:
    """Queue a staged file for the next batch."""
    sqs.send_message(QueueUrl=queue_url, MessageBody=pending.model_dump_json())


def pending_count(sqs: Any, queue_url: str) -> int:
    """Messages waiting in the queue (SQS's approximate count, not those a batch holds)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def batch_running(dynamodb: Any, table: str) -> bool:
    """A batch holds the lock (the batch state machine takes it first and releases it last)."""
    return "Item" in dynamodb.get_item(TableName=table, Key=LOCK_KEY, ConsistentRead=True)


def acquire_lock(dynamodb: Any, sfn: Any, table: str, execution: str) -> bool:
    """Take the batch lock for `execution` (or find it already has it: a retried or next-round
    collect); False when another running batch holds it. A lock whose holder no longer runs (it
    timed out or was stopped, so no Catch released it) is broken and taken."""
    for _ in range(3):
        try:
            dynamodb.put_item(TableName=table, Item={**LOCK_KEY, "execution": {"S": execution}},
                              ConditionExpression="attribute_not_exists(#lock)",
                              ExpressionAttributeNames={"#lock": "lock"})
            return True
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
        held = dynamodb.get_item(TableName=table, Key=LOCK_KEY, ConsistentRead=True).get("Item")
        if held is None:
            continue
        holder = held["execution"]["S"]
        if holder == execution:
            return True
        if _running(sfn, holder):
            return False
        try:
            dynamodb.delete_item(TableName=table, Key=LOCK_KEY, ConditionExpression="#execution = :holder",
                                 ExpressionAttributeNames={"#execution": "execution"},
                                 ExpressionAttributeValues={":holder": {"S": holder}})
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
    return False


def _running(sfn: Any, execution: str) -> bool:
    try:
        return sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    except sfn.exceptions.ExecutionDoesNotExist:
        return False


def new_batch_id() -> str:
    """Sortable by start time and unique: `20261130T120501Z-1a2b3c4d`."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def collect(sqs: Any, s3: Any, bucket: str, queue_url: str, max_files: int) -> Batch:
    """Take up to `max_files` pending files: receive, write the manifest, then delete the messages.

    Received messages stay invisible for the queue's visibility timeout; if this function fails
    before the delete, they come back and go into a later batch (conversion is per source id
    and deterministic, so a file converted twice ends the same)."""
    batch_id = new_batch_id()
    files: list[PendingFile] = []
    receipts: list[str] = []
    while len(files) < max_files:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(RECEIVE_MAX, max_files - len(files)),
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        for message in messages:
            files.append(PendingFile.model_validate_json(message["Body"]))
            receipts.append(message["ReceiptHandle"])
    manifest = Manifest(batch_id=batch_id, files=files)
    if files:
        s3.put_object(Bucket=bucket, Key=manifest_key(batch_id), Body=manifest.model_dump_json().encode(),
                      ContentType="application/json")
    for start in range(0, len(receipts), RECEIVE_MAX):
        entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts[start:start + RECEIVE_MAX])]
        failed = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"could not delete {len(failed)} collected messages: {failed[0]}")
    return _collected(bucket, manifest, full=len(files) >= max_files)


def reopen(s3: Any, bucket: str, batch_id: str) -> Batch:
    """An earlier batch, to run again from its manifest (its executions have been answered)."""
    manifest = Manifest.model_validate_json(_read(s3, s3_uri(bucket, manifest_key(batch_id))))
    return _collected(bucket, manifest, full=False)


def locked_out(bucket: str) -> Batch:
    """What a batch that could not take the lock holds: nothing (`locked` False)."""
    return _collected(bucket, Manifest(batch_id=new_batch_id(), files=[]), full=False).model_copy(
        update={"locked": False})


def _collected(bucket: str, manifest: Manifest, full: bool) -> Batch:
    return Batch(batch_id=manifest.batch_id, manifest_uri=s3_uri(bucket, manifest_key(manifest.batch_id)),
                 results_uri=s3_uri(bucket, results_key(manifest.batch_id)), files=len(manifest.files),
                 full=full, datasets=sorted({f.dataset for f in manifest.files}))


def uncrawled(glue: Any, database: str, bucket: str, datasets: list[str]) -> list[str]:
    """The datasets whose staging folder no catalog table has as its location yet.

    The crawler catalogs new folders only (RecrawlPolicy CRAWL_NEW_FOLDERS_ONLY) and a crawl is
    billed at least 10 minutes, so a batch starts it only for these."""
    locations = set()
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            locations.add(table.get("StorageDescriptor", {}).get("Location", "").rstrip("/"))
    return [d for d in datasets if s3_uri(bucket, f"{STAGING}{d}") not in locations]


def resume(sfn: Any, s3: Any, batch: Batch, job_run_id: str | None, job_error: dict[str, Any] | None,
           crawl: str | None) -> Resumed:
    """Answer every waiting execution of the batch: its file's result, or the job's failure.

    `job_error` is the state machine's error of a failed job run (`Error`, `Cause`): then every
    file fails with it. Otherwise each file gets its own entry of the results."""
    manifest = Manifest.model_validate_json(_read(s3, batch.manifest_uri))
    results = None
    if job_error is None:
        results = BatchResults.model_validate_json(_read(s3, batch.results_uri))
        if len(results.files) != len(manifest.files):
            raise ValueError(f"results of batch {manifest.batch_id} list {len(results.files)} files, "
                             f"the manifest {len(manifest.files)}")
    counts = {"succeeded": 0, "failed": 0, "ended": 0}
    for index, pending in enumerate(manifest.files):
        if results is None:
            error, cause = "BatchJobFailed", _cause(job_error)
        elif results.files[index].status == "SUCCEEDED":
            result = results.files[index]
            output = Conversion(batch_id=manifest.batch_id, job_run_id=job_run_id, rows=result.rows or 0,
                                parquet_files=len(result.files), partitions=len(result.partitions), crawl=crawl)
            counts[_answer(sfn.send_task_success, taskToken=pending.task_token,
                           output=output.model_dump_json()) or "succeeded"] += 1
            continue
        else:
            error, cause = "BatchFileFailed", results.files[index].error or "the job gave no error"
        counts[_answer(sfn.send_task_failure, taskToken=pending.task_token, error=error[:ERROR_CHARS],
                       cause=_clip(f"batch {manifest.batch_id}: {cause}")) or "failed"] += 1
    return Resumed(**counts)


def _read(s3: Any, uri: str) -> bytes:
    bucket, key = parse_s3_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _answer(call: Any, **kwargs: Any) -> str | None:
    """Send one answer; "ended" when the execution no longer waits (timed out, or a rerun)."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ENDED:
            return "ended"
        raise
    return None


def _cause(job_error: dict[str, Any] | None) -> str:
    error = job_error or {}
    return f"the batch's Glue job run failed: {error.get('Error', '')}: {error.get('Cause', '')}"


def _clip(text: str) -> str:
    return text if len(text) <= CAUSE_CHARS else text[:CAUSE_CHARS - 20] + " ... [clipped]"
