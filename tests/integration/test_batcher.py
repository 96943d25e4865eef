"""The batch functions on moto: hand-off, collect into a manifest, resume each waiting execution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import batching
from etl_common.layout import manifest_key, parse_s3_uri, results_key
from etl_common.messages import BatchResults, Conversion, FileResult, JobArguments, Manifest, PendingFile
from tests.helpers import lambda_context, load_module

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUCKET = "etl-data"
DATABASE = "etl"


def pending(n: int, dataset: str = "orders") -> PendingFile:
    job = JobArguments(source_path=f"s3://{BUCKET}/staging/{dataset}/f{n}-abc.csv",
                       output_path=f"s3://{BUCKET}/transformed/{dataset}/", table=dataset,
                       source_id=f"f{n}-abc", contract_uri=f"s3://{BUCKET}/staging/{dataset}/f{n}-abc.contract.json")
    return PendingFile(task_token=f"token-{n}", execution=f"arn:exec:{n}", dataset=dataset, arguments=job.as_glue())


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="pending")["QueueUrl"]
        yield {"s3": s3, "sqs": sqs, "queue": queue, "glue": boto3.client("glue", region_name=REGION),
               "dynamodb": boto3.client("dynamodb", region_name=REGION)}


def test_collect_takes_pending_files_into_a_manifest_and_removes_them(aws):
    for n in range(3):
        batching.hand_off(aws["sqs"], aws["queue"], pending(n, "orders" if n else "customers"))
    assert batching.pending_count(aws["sqs"], aws["queue"]) == 3
    batch = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=10)
    assert (batch.files, batch.full, batch.datasets) == (3, False, ["customers", "orders"])
    assert parse_s3_uri(batch.manifest_uri) == (BUCKET, manifest_key(batch.batch_id))
    assert parse_s3_uri(batch.results_uri) == (BUCKET, results_key(batch.batch_id))
    manifest = Manifest.model_validate_json(
        aws["s3"].get_object(Bucket=BUCKET, Key=manifest_key(batch.batch_id))["Body"].read())
    assert sorted(f.task_token for f in manifest.files) == ["token-0", "token-1", "token-2"]
    assert aws["sqs"].receive_message(QueueUrl=aws["queue"], WaitTimeSeconds=0).get("Messages") is None


def test_collect_stops_at_the_maximum_and_says_more_may_wait(aws):
    for n in range(25):
        batching.hand_off(aws["sqs"], aws["queue"], pending(n))
    first = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=12)
    second = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=12)
    third = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=12)
    assert [(b.files, b.full) for b in (first, second, third)] == [(12, True), (12, True), (1, False)]
    assert len({first.batch_id, second.batch_id, third.batch_id}) == 3


def test_an_empty_queue_makes_an_empty_batch_and_no_manifest(aws):
    batch = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=10)
    assert batch.files == 0
    assert "Contents" not in aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="batches/")


def test_a_batch_locked_out_takes_nothing():
    batch = batching.locked_out(BUCKET)
    assert (batch.files, batch.locked, batch.full, batch.crawl) == (0, False, False, False)


def test_reopen_reads_an_earlier_batch(aws):
    batching.hand_off(aws["sqs"], aws["queue"], pending(1))
    batch = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=10)
    again = batching.reopen(aws["s3"], BUCKET, batch.batch_id)
    assert again.model_dump() == batch.model_dump()


def test_only_datasets_no_table_covers_need_a_crawl(aws):
    aws["glue"].create_database(DatabaseInput={"Name": DATABASE})
    aws["glue"].create_table(DatabaseName=DATABASE, TableInput={
        "Name": "raw_orders", "StorageDescriptor": {"Location": f"s3://{BUCKET}/staging/orders/"}})
    aws["glue"].create_table(DatabaseName=DATABASE, TableInput={
        "Name": "orders", "StorageDescriptor": {"Location": f"s3://{BUCKET}/transformed/customers/"}})
    assert batching.uncrawled(aws["glue"], DATABASE, BUCKET, ["customers", "orders"]) == ["customers"]


class FakeStepFunctions:
    """Records SendTaskSuccess/SendTaskFailure; tokens in `ended` answer as AWS does for a task
    that no longer waits (TaskTimedOut)."""

    def __init__(self, ended: set[str] = frozenset()) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ended = ended

    def _call(self, name: str, **kwargs: Any) -> dict[str, Any]:
        if kwargs["taskToken"] in self.ended:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "task timed out"}}, name)
        self.calls.append((name, kwargs))
        return {}

    def send_task_success(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("SendTaskSuccess", **kwargs)

    def send_task_failure(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("SendTaskFailure", **kwargs)


def _batch_with_results(aws, statuses: list[str]):
    for n in range(len(statuses)):
        batching.hand_off(aws["sqs"], aws["queue"], pending(n))
    batch = batching.collect(aws["sqs"], aws["s3"], BUCKET, aws["queue"], max_files=10)
    manifest = Manifest.model_validate_json(
        aws["s3"].get_object(Bucket=BUCKET, Key=manifest_key(batch.batch_id))["Body"].read())
    results = BatchResults(batch_id=batch.batch_id, files=[
        FileResult(source_id=f.arguments["--source_id"], status=status, rows=10 if status == "SUCCEEDED" else None,
                   files=["day=1/x-00000.snappy.parquet"] if status == "SUCCEEDED" else [],
                   partitions=["day=1"] if status == "SUCCEEDED" else [],
                   error=None if status == "SUCCEEDED" else "malformed record in line 3")
        for f, status in zip(manifest.files, statuses)])
    aws["s3"].put_object(Bucket=BUCKET, Key=results_key(batch.batch_id), Body=results.model_dump_json())
    return batch, manifest


def test_resume_answers_each_execution_with_its_own_result(aws):
    batch, manifest = _batch_with_results(aws, ["SUCCEEDED", "FAILED", "SUCCEEDED"])
    sfn = FakeStepFunctions()
    resumed = batching.resume(sfn, aws["s3"], batch, "jr_1", None, "not needed")
    assert resumed.model_dump() == {"succeeded": 2, "failed": 1, "ended": 0}
    by_token = {kwargs["taskToken"]: (name, kwargs) for name, kwargs in sfn.calls}
    failed = next(f for f, s in zip(manifest.files, ["SUCCEEDED", "FAILED", "SUCCEEDED"]) if s == "FAILED")
    name, kwargs = by_token[failed.task_token]
    assert name == "SendTaskFailure" and kwargs["error"] == "BatchFileFailed"
    assert "malformed record in line 3" in kwargs["cause"] and batch.batch_id in kwargs["cause"]
    succeeded = [Conversion.model_validate_json(k["output"]) for n, k in sfn.calls if n == "SendTaskSuccess"]
    assert {(c.batch_id, c.job_run_id, c.rows, c.parquet_files, c.partitions, c.crawl) for c in succeeded} == {
        (batch.batch_id, "jr_1", 10, 1, 1, "not needed")}


def test_a_failed_job_run_fails_every_file_with_its_error(aws):
    batch, _ = _batch_with_results(aws, ["SUCCEEDED", "SUCCEEDED"])
    sfn = FakeStepFunctions()
    error = {"Error": "States.TaskFailed", "Cause": "the job run FAILED: OutOfMemory"}
    resumed = batching.resume(sfn, aws["s3"], batch, None, error, None)
    assert resumed.model_dump() == {"succeeded": 0, "failed": 2, "ended": 0}
    assert {(n, k["error"]) for n, k in sfn.calls} == {("SendTaskFailure", "BatchJobFailed")}
    assert all("OutOfMemory" in k["cause"] for _, k in sfn.calls)


def test_executions_that_stopped_waiting_are_counted_not_raised(aws):
    batch, manifest = _batch_with_results(aws, ["SUCCEEDED", "SUCCEEDED"])
    sfn = FakeStepFunctions(ended={manifest.files[0].task_token})
    resumed = batching.resume(sfn, aws["s3"], batch, "jr_2", None, None)
    assert resumed.model_dump() == {"succeeded": 1, "failed": 0, "ended": 1}


def test_results_that_do_not_match_the_manifest_are_refused(aws):
    batch, _ = _batch_with_results(aws, ["SUCCEEDED", "SUCCEEDED"])
    aws["s3"].put_object(Bucket=BUCKET, Key=results_key(batch.batch_id),
                         Body=BatchResults(batch_id=batch.batch_id, files=[]).model_dump_json())
    with pytest.raises(ValueError, match="list 0 files, the manifest 2"):
        batching.resume(FakeStepFunctions(), aws["s3"], batch, "jr", None, None)


@pytest.mark.parametrize("lock_held, expected", [(False, True), (True, False)])
def test_handoff_starts_a_batch_early_only_when_enough_wait_and_none_runs(aws, monkeypatch, lock_held, expected):
    aws["dynamodb"].create_table(TableName="locks", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "lock", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "lock", "KeyType": "HASH"}])
    if lock_held:
        aws["dynamodb"].put_item(TableName="locks", Item={**batching.LOCK_KEY, "execution": {"S": "arn:x"}})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(name="batch", roleArn="arn:aws:iam::123456789012:role/r",
                                       definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
    for name, value in {"PENDING_QUEUE_URL": aws["queue"], "BATCH_MAX_FILES": "2", "BATCH_LOCK_TABLE": "locks",
                        "BATCH_STATE_MACHINE_ARN": machine["stateMachineArn"], "POWERTOOLS_TRACE_DISABLED": "true",
                        "POWERTOOLS_SERVICE_NAME": "batch-handoff"}.items():
        monkeypatch.setenv(name, value)
    handoff = load_module(ROOT / "functions" / "batcher" / "handoff.py", "handoff_under_test")
    first = handoff.lambda_handler(pending(1).model_dump(), lambda_context("handoff"))
    second = handoff.lambda_handler(pending(2).model_dump(), lambda_context("handoff"))
    assert (first, second) == ({"pending": 1, "started_batch": False}, {"pending": 2, "started_batch": expected})
    started = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert len(started) == int(expected)
    for execution in started:  # the input the batch machine reads, `rerun_batch_id` included
        given = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        assert given == {"trigger": "pending", "rerun_batch_id": None}


def test_one_batch_at_a_time_and_a_lock_whose_holder_stopped_is_broken(aws):
    aws["dynamodb"].create_table(TableName="locks", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "lock", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "lock", "KeyType": "HASH"}])
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="batch", roleArn="arn:aws:iam::123456789012:role/r",
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}))
    first, second = (sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=n)["executionArn"]
                     for n in ("first", "second"))

    assert batching.acquire_lock(aws["dynamodb"], sfn, "locks", first)
    assert batching.acquire_lock(aws["dynamodb"], sfn, "locks", first), "its next round keeps it"
    assert not batching.acquire_lock(aws["dynamodb"], sfn, "locks", second), "the holder runs"
    sfn.stop_execution(executionArn=first)  # stopped: no Catch released its lock
    assert batching.acquire_lock(aws["dynamodb"], sfn, "locks", second)
    held = aws["dynamodb"].get_item(TableName="locks", Key=batching.LOCK_KEY)["Item"]["execution"]["S"]
    assert held == second
    aws["dynamodb"].put_item(TableName="locks", Item={**batching.LOCK_KEY, "execution": {"S": first + "-gone"}})
    assert batching.acquire_lock(aws["dynamodb"], sfn, "locks", second), "a holder that does not exist"
