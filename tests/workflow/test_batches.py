"""Batches on the local stack: a burst with AWS timing, and the faults a batch must survive."""

from __future__ import annotations

import io
import json
import os
import time
import uuid

import pyarrow.parquet as pq
import pytest

from etl_local import timing
from etl_ops.batches import find_batch, rerun

from .conftest import ROOT, exists, keys, single_notification

pytestmark = pytest.mark.workflow
GOOD = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
BAD = ROOT / "samples" / "orders" / "orders-bad.csv"
GOOD_ROWS = 6
BURST = int(os.environ.get("BURST_FILES", "200"))


def parquet_rows(s3, bucket: str, parquet_keys: list[str]) -> int:
    return sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
               for k in parquet_keys)


@pytest.fixture
def aws_timing(stack):
    """The latency model on (crawls of 60-120 s, job runs starting in 10-30 s and lasting at least
    a minute, cold starts), at the stack's time scale."""
    saved = stack.timing
    stack.timing = timing.TimeModel("aws", stack.time_scale, seed=11)
    yield stack.timing
    stack.timing = saved


def test_a_burst_is_converted_in_batches_with_one_outcome_per_file(stack, s3, tmp_path, aws_timing):
    run = uuid.uuid4().hex[:8]
    files, expected = [], {}
    for i in range(BURST):
        bad = i % 25 == 24
        path = tmp_path / f"burst-{run}-{i:04d}.csv"
        path.write_bytes((BAD if bad else GOOD).read_bytes())
        key = f"incoming/orders/{path.name}"
        files.append((path, key))
        expected[key] = "rejected" if bad else "processed"
    crawls, job_runs = stack.crawls, stack.glue_job_runs

    results = stack.run_files(files, timeout=1800)

    assert [r["outcome"] for r in results] == [expected[key] for _, key in files]
    assert {r["execution_status"] for r in results} == {"SUCCEEDED"}
    for (_, key), result in zip(files, results):
        assert len(stack.notifications_for(result["execution_arn"], timeout=0)) == 1, key
        assert [n for n in stack.notifications if n["attributes"]["key"] == key] == result["notifications"]
        if result["outcome"] == "processed":
            assert parquet_rows(s3, stack.bucket, result["parquet_keys"]) == GOOD_ROWS, key
    batches = {r["batch_id"] for r in results if r["outcome"] == "processed"}
    assert None not in batches
    assert stack.glue_job_runs - job_runs <= len(batches)
    assert stack.crawls - crawls <= len(batches)
    assert 1 < len(batches) < BURST / 4, "a burst is converted in a few batches, not one by one"
    counts = stack.run_counts()
    assert counts["glue_job_runs"] == stack.glue_job_runs and counts["crawls"] == stack.crawls
    good = sum(r["outcome"] == "processed" for r in results)
    # validator and mover for every file, the handoff for every staged one
    assert counts["transitions"] > 8 * BURST and counts["lambda_invocations"] >= 2 * BURST + good


def _orders_file(tmp_path, name: str):
    path = tmp_path / name
    path.write_bytes(GOOD.read_bytes())
    return path, f"incoming/orders/{name}"


def test_a_rerun_of_a_failed_batch_converts_its_files_once(stack, s3, tmp_path):
    path, key = _orders_file(tmp_path, f"rerun-{uuid.uuid4().hex[:8]}.csv")
    stack.faults.add("glue-runtime", stack.outputs["CsvToParquetJobName"], "GlueJobFailed")
    result = stack.run_file(path, key)
    assert result["outcome"] == "failed" and result["parquet_keys"] == []
    assert exists(s3, stack.bucket, result["staging_key"])
    single_notification(result, "failed", key)

    batch_id = find_batch(s3, stack.bucket, result["execution_arn"])
    assert batch_id and batch_id in result["error"]["Cause"], result["notifications"]
    sfn = stack.client("stepfunctions")
    for _ in range(2):  # a second rerun changes nothing
        arn = rerun(sfn, stack.outputs["BatchStateMachineArn"], batch_id)
        output = _finished(sfn, arn)
        assert output["resume"]["resumed"] == {"succeeded": 0, "failed": 0, "ended": 1}
        source_id = result["staging_key"].rsplit("/", 1)[-1].rsplit("-", 1)[0]
        converted = [k for k in keys(s3, stack.bucket, "transformed/orders/")
                     if k.rsplit("/", 1)[-1].startswith(source_id + "-")]
        assert parquet_rows(s3, stack.bucket, converted) == GOOD_ROWS
    assert len([n for n in stack.notifications if n["attributes"]["key"] == key]) == 1


def _finished(sfn, arn: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return json.loads(described["output"])
        time.sleep(0.3)
    raise TimeoutError(arn)


def test_a_file_whose_batch_never_answers_times_out_into_its_failure_notification(stack, s3, tmp_path):
    """A batch holds the lock and never finishes: the file's wait ends at HandoffTimeoutSeconds
    (scaled) with States.Timeout, and it is notified as failed, still staged."""
    sfn = stack.client("stepfunctions")
    # named as the stack's batch state machine is: the collect function's role may describe only its executions
    holder = sfn.create_state_machine(
        name=f"holder-BatchStateMachine-{uuid.uuid4().hex[:8]}", roleArn="arn:aws:iam::123456789012:role/holder",
        definition=json.dumps({"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}))
    held = sfn.start_execution(stateMachineArn=holder["stateMachineArn"])["executionArn"]
    dynamodb = stack.client("dynamodb")
    lock_table = stack.resolve.ref("BatchLockTable")
    deadline = time.monotonic() + 120
    while True:  # take the lock as a batch would, once no batch holds it
        try:
            dynamodb.put_item(TableName=lock_table, Item={"lock": {"S": "batch"}, "execution": {"S": held}},
                              ConditionExpression="attribute_not_exists(#lock)",
                              ExpressionAttributeNames={"#lock": "lock"})
            break
        except dynamodb.exceptions.ConditionalCheckFailedException:
            assert time.monotonic() < deadline, "a batch held the lock for two minutes"
            time.sleep(0.2)
    path, key = _orders_file(tmp_path, f"never-{uuid.uuid4().hex[:8]}.csv")
    timing.set_scale(36000 / 5)  # the local HandoffTimeoutSeconds (10 hours) in 5 s
    try:
        result = stack.run_file(path, key, timeout=120)
    finally:
        timing.set_scale(stack.time_scale)
        dynamodb.delete_item(TableName=lock_table, Key={"lock": {"S": "batch"}})
        sfn.stop_execution(executionArn=held)
    assert result["outcome"] == "failed", result
    assert result["error"]["Error"] == "States.Timeout"
    assert exists(s3, stack.bucket, result["staging_key"])
    single_notification(result, "failed", key)


def test_a_duplicate_delivery_of_a_batched_file_ends_as_duplicate(stack, tmp_path):
    path, key = _orders_file(tmp_path, f"dup-{uuid.uuid4().hex[:8]}.csv")
    stack.duplicate_deliveries = 1
    result = stack.run_file(path, key)
    assert result["outcome"] == "processed" and result["batch_id"]
    arns = stack.wait(key, count=2)
    assert sorted(stack.outcome(a)["outcome"] for a in arns) == ["duplicate", "processed"]
    assert len([n for n in stack.notifications if n["attributes"]["key"] == key]) == 1


def test_an_early_start_runs_the_batch_machine_with_the_handoffs_input(stack):
    """The hand-off starts a batch with `BatchInput(trigger="pending")`; the machine reads it
    (nothing pending here: it ends Idle, or AlreadyRunning beside a scheduled batch)."""
    from etl_common.messages import BatchInput

    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.outputs["BatchStateMachineArn"],
                              input=BatchInput(trigger="pending").as_input())["executionArn"]
    _finished(sfn, arn)
    assert stack.states(arn)[-1] in {"Idle", "AlreadyRunning", "Done"}
