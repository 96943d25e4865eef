"""One outcome per object version under duplicate deliveries, bursts and injected faults."""

from __future__ import annotations

import json

import pytest

from etl_ops.reprocess import quarantined, reprocess_one

from .conftest import ROOT, exists, keys, single_notification

pytestmark = pytest.mark.workflow
GOOD = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
BAD = ROOT / "samples" / "orders" / "orders-bad.csv"


def _copy(tmp_path, source, name):
    path = tmp_path / name
    path.write_bytes(source.read_bytes())
    return path


def _errors(stack, arn):
    history = stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["taskFailedEventDetails"]["error"] for e in history if "taskFailedEventDetails" in e]


def test_duplicate_delivery_is_processed_once(stack, s3, tmp_path):
    key = "incoming/orders/dup.csv"
    stack.duplicate_deliveries = 1
    result = stack.run_file(_copy(tmp_path, GOOD, "dup.csv"), key)
    arns = stack.wait(key, count=2)
    outcomes = sorted(stack.outcome(a)["outcome"] for a in arns)

    assert outcomes == ["duplicate", "processed"]
    assert len([n for n in stack.notifications if n["attributes"]["key"] == key]) == 1
    single_notification(result, "processed", key)
    assert len(result["parquet_keys"]) == 3  # one file per partition, not two


def test_transient_lambda_errors_are_retried(stack, tmp_path):
    stack.faults.add("lambda", "Invoke", "ServiceException", count=2)
    key = "incoming/orders/lambda-retry.csv"
    result = stack.run_file(_copy(tmp_path, GOOD, "lambda-retry.csv"), key)

    assert result["outcome"] == "processed", result
    assert _errors(stack, result["execution_arn"]).count("Lambda.ServiceException") == 2
    single_notification(result, "processed", key)


def test_function_timeout_quarantines_with_a_report_and_reprocess_recovers(stack, s3, tmp_path):
    stack.faults.add("lambda-runtime", "ValidatorFunction", "Sandbox.Timedout",
                     message="Task timed out after 900.00 seconds")
    key = "incoming/orders/timeout.csv"
    failed = stack.run_file(_copy(tmp_path, GOOD, "timeout.csv"), key)

    assert failed["outcome"] == "failed" and failed["error_key"] == "error/orders/timeout.csv"
    report = json.loads(s3.get_object(Bucket=stack.bucket, Key=failed["report_key"])["Body"].read())
    assert report["reason"] == "pipeline_error" and "Sandbox.Timedout" in report["failures"][0]["cases"][0]["value"]
    single_notification(failed, "failed", key)

    before = len(stack.executions[key])
    [quarantine] = [o for o in quarantined(s3, stack.bucket, "orders") if o["Key"] == "error/orders/timeout.csv"]
    moved = reprocess_one(s3, stack.bucket, quarantine["Key"])
    arn = stack.wait(key, count=before + 1)[before]
    again = stack.outcome(arn)

    assert again["outcome"] == "processed", again
    assert not exists(s3, stack.bucket, "error/orders/timeout.csv")
    assert exists(s3, stack.bucket, moved["report"])
    versions = s3.list_object_versions(Bucket=stack.bucket, Prefix="error/orders/timeout.csv")
    assert versions.get("Versions"), "the quarantined version is kept"
    # The upload stays a version of its key, which the plan and the report name.
    head = s3.head_object(Bucket=stack.bucket, Key=key, VersionId=again["version_id"])
    assert head["Metadata"]["reprocessed-from"].startswith("error/orders/timeout.csv#")


def test_crash_between_copy_and_delete_converges_with_one_copy(stack, s3, tmp_path):
    stack.faults.add("s3", "DeleteObject", "InternalError")
    key = "incoming/orders/crash.csv"
    result = stack.run_file(_copy(tmp_path, GOOD, "crash.csv"), key)

    assert result["outcome"] == "processed", result
    assert "ClientError" in _errors(stack, result["execution_arn"])  # the mover's failed delete, retried
    staged = [k for k in keys(s3, stack.bucket, "staging/orders/crash") if not k.endswith(".contract.json")]
    assert staged == [result["staging_key"]]
    assert not exists(s3, stack.bucket, key) and not keys(s3, stack.bucket, "error/orders/crash")


def test_notification_failures_are_retried(stack, tmp_path):
    stack.faults.add("sns", "Publish", "InternalError")
    key = "incoming/orders/bad-sns.csv"
    result = stack.run_file(_copy(tmp_path, BAD, "bad-sns.csv"), key)

    assert result["outcome"] == "rejected", result
    assert _errors(stack, result["execution_arn"])
    single_notification(result, "rejected", key)


def test_busy_glue_job_is_retried(stack, tmp_path):
    stack.faults.add("glue", "StartJobRun", "ConcurrentRunsExceededException")
    key = "incoming/orders/glue-busy.csv"
    result = stack.run_file(_copy(tmp_path, GOOD, "glue-busy.csv"), key)

    assert result["outcome"] == "processed", result
    assert "Glue.ConcurrentRunsExceededException" in _errors(stack, _batch_execution(stack, result["batch_id"]))


def _batch_execution(stack, batch_id: str) -> str:
    """The batch execution that converted `batch_id` (the job runs in the batch, not the file's execution)."""
    sfn = stack.client("stepfunctions")
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.outputs["BatchStateMachineArn"]):
        for execution in page["executions"]:
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            if any(batch_id in e.get("taskSucceededEventDetails", {}).get("output", "") for e in history):
                return execution["executionArn"]
    raise AssertionError(f"no batch execution converted {batch_id}")


def test_burst_of_25_files(stack, s3, tmp_path):
    files = [(_copy(tmp_path, BAD if i % 5 == 0 else GOOD, f"burst-{i:02}.csv"), f"incoming/orders/burst-{i:02}.csv")
             for i in range(25)]
    results = stack.run_files(files, timeout=900)

    expected = ["rejected" if i % 5 == 0 else "processed" for i in range(25)]
    assert [r["outcome"] for r in results] == expected, [r["error"] for r in results if r["outcome"] == "failed"]
    assert all(len(r["notifications"]) == 1 for r in results)
    assert all(r["execution_status"] == "SUCCEEDED" for r in results)


def test_quarantine_that_fails_too_leaves_the_file_in_incoming_and_says_so(stack, s3, tmp_path):
    """The mover fails on every try after a good validation: the file stays where it was and the
    one notification names it by the plan's decoded key, dataset and claimed version."""
    stack.faults.add("lambda-runtime", "MoverFunction", "Sandbox.Timedout", count=4,
                     message="Task timed out after 900.00 seconds")
    key = "incoming/orders/stuck été+1.csv"
    result = stack.run_file(_copy(tmp_path, GOOD, "stuck.csv"), key)

    assert result["outcome"] == "failed", result
    assert result["states"][-4:] == ["PlanKnown", "BuildUnmovedFailureMessage", "NotifyFailure", "PipelineFailed"]
    assert exists(s3, stack.bucket, key) and not keys(s3, stack.bucket, "error/orders/stuck")
    note = single_notification(result, "failed", key)
    version = s3.head_object(Bucket=stack.bucket, Key=key)["VersionId"]
    assert (note["message"]["dataset"], note["message"]["version_id"]) == ("orders", version)
    assert note["message"]["quarantine_error"]["Error"] == "Sandbox.Timedout"


def test_quarantine_that_fails_before_any_plan_names_the_event_as_delivered(stack, s3, tmp_path):
    """Neither function returns: only the S3 event names the file, so the notification gives its
    key as delivered (URL-encoded by this stack's default bridge) and the `_unknown` dataset rather
    than derive either itself."""
    stack.faults.add("lambda-runtime", "ValidatorFunction", "Sandbox.Timedout")
    stack.faults.add("lambda-runtime", "MoverFunction", "Sandbox.Timedout")
    key = "incoming/orders/lost été.csv"
    result = stack.run_file(_copy(tmp_path, GOOD, "lost.csv"), key)

    assert result["outcome"] == "failed", result
    assert "BuildUnplannedFailureMessage" in result["states"]
    assert exists(s3, stack.bucket, key)
    [note] = result["notifications"]
    assert note["attributes"] == {"outcome": "failed", "dataset": "_unknown",
                                  "key": "incoming/orders/lost+%C3%A9t%C3%A9.csv"}
    assert note["message"]["key_encoding"] == "as_delivered"
    assert note["message"]["version_id"] == s3.head_object(Bucket=stack.bucket, Key=key)["VersionId"]
