"""The local stack's moto patches (local/etl_local/seams.py) still fit the pinned moto."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _moto_pin() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [m.group(1) for dep in project["dependencies"]
            if (m := re.fullmatch(r"moto(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)", dep.strip()))]
    assert len(pins) == 1, f"expected one exact moto pin (moto[...]==X) in pyproject.toml, found {project['dependencies']}"
    return pins[0]


def test_seams_fit_the_installed_moto():
    from etl_local import seams

    seams.check()  # raises if moto's version or the patched internals moved


def test_seams_pin_matches_pyproject():
    from etl_local import seams

    assert seams.MOTO_VERSION == _moto_pin(), (
        f"seams.MOTO_VERSION is {seams.MOTO_VERSION} but pyproject.toml pins moto=={_moto_pin()}: "
        "re-check the patches in local/etl_local/seams.py against that moto, then update both")


def test_payload_size_is_counted_as_step_functions_counts_it():
    from etl_local import seams

    # Compact JSON in UTF-8 bytes, not moto's ASCII-escaped, spaced JSON (15 bytes here).
    assert seams.payload_bytes({"s": "é"}) == len('{"s":"é"}'.encode("utf-8")) == 10
    assert seams.PAYLOAD_LIMIT == 256 * 1024


# -- the time scale (seams.install_time_scale) -----------------------------------------------------
SCALE = 1800.0  # an AWS hour takes 2 local seconds
ROLE = "arn:aws:iam::123456789012:role/sfn"


def _machine(sfn, name: str, states: dict, start: str, **top) -> str:
    definition = {"StartAt": start, "States": states, **top}
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


def _finish(sfn, started: dict[str, tuple[str, float]], timeout: float = 20) -> dict[str, tuple[dict, float]]:
    """Each finished execution, by name, with how long it ran (seen by polling every 0.05 s)."""
    done: dict[str, tuple[dict, float]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(started) and time.monotonic() < deadline:
        for name, (arn, start) in started.items():
            if name not in done:
                described = sfn.describe_execution(executionArn=arn)
                if described["status"] != "RUNNING":
                    done[name] = described, time.monotonic() - start
        time.sleep(0.05)
    assert len(done) == len(started), f"still running after {timeout}s: {set(started) - set(done)}"
    return done


@pytest.fixture
def scaled_moto(monkeypatch):
    """moto in process, running state machines, with the time-scale seam at SCALE."""
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaFunction

    from etl_local import seams, timing

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # The callback task's Lambda returns at once (moto would need Docker); the task then waits for its token.
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", lambda self, event=None: ("{}", False, ""))
    seams.install_time_scale()
    saved = timing.scale()
    timing.set_scale(SCALE)
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            iam = boto3.client("iam")
            role = iam.create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
            boto3.client("lambda").create_function(
                FunctionName="callback", Runtime="python3.12", Role=role, Handler="handler.handler",
                Code={"ZipFile": buffer.getvalue()})
            yield boto3.client("stepfunctions")
    finally:
        timing.set_scale(saved)


def test_state_machine_durations_are_divided_by_the_time_scale(scaled_moto):
    sfn = scaled_moto
    callback = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "callback", "Payload": {"token.$": "$$.Task.Token"}}, "End": True}
    machines = {
        # Wait: an hour, 2 s locally.
        "wait": _machine(sfn, "wait", {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}, "W"),
        # Retry: 900 s, then 1,800 s (BackoffRate 2), 0.5 s + 1 s locally, then the error stands.
        "retry": _machine(sfn, "retry", {"P": {
            "Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}],
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 900, "BackoffRate": 2, "MaxAttempts": 2}],
            "End": True}}, "P"),
        # A callback task no one answers: TimeoutSeconds 3600, 2 s locally, then States.Timeout.
        "timeout": _machine(sfn, "timeout", {"T": {**callback, "TimeoutSeconds": 3600}}, "T"),
        # A callback task without heartbeats: HeartbeatSeconds 1800, 1 s locally. The error is
        # States.Timeout (States.HeartbeatTimeout exists for Catch and Retry only).
        "heartbeat": _machine(sfn, "heartbeat", {"T": {**callback, "TimeoutSeconds": 36000,
                                                       "HeartbeatSeconds": 1800}}, "T"),
        # The state machine's own TimeoutSeconds: 1800 s, 1 s locally.
        "machine": _machine(sfn, "machine", {"W": {"Type": "Wait", "Seconds": 36000, "End": True}}, "W",
                            TimeoutSeconds=1800),
    }
    started = {name: (sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"], time.monotonic())
               for name, arn in machines.items()}
    done = _finish(sfn, started)

    described, elapsed = done["wait"]
    assert described["status"] == "SUCCEEDED" and 1.8 <= elapsed < 6, (described, elapsed)
    described, elapsed = done["retry"]
    assert described["status"] == "FAILED" and described.get("error") == "Boom" and 1.4 <= elapsed < 6
    described, elapsed = done["timeout"]
    assert described["status"] == "FAILED" and described.get("error") == "States.Timeout", described
    assert 1.8 <= elapsed < 6, elapsed
    described, elapsed = done["heartbeat"]
    assert described["status"] == "FAILED" and described.get("error") == "States.Timeout", described
    assert 0.9 <= elapsed < 5, elapsed
    described, elapsed = done["machine"]
    assert described["status"] == "TIMED_OUT" and 0.9 <= elapsed < 5, (described, elapsed)

    # The history keeps the durations the definition declares.
    events = sfn.get_execution_history(executionArn=started["timeout"][0], maxResults=100)["events"]
    scheduled = [e["taskScheduledEventDetails"] for e in events if "taskScheduledEventDetails" in e]
    assert scheduled and scheduled[0]["timeoutInSeconds"] == 3600


def test_a_wait_under_one_second_ends():
    """moto re-entered a Wait while the whole seconds waited fell short: a 0.5 s wait never ended."""
    from etl_local import seams, timing

    seams.install_time_scale()
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    class Env:
        program_state_event = threading.Event()

        def is_running(self):
            return True

    saved = timing.scale()
    timing.set_scale(4)
    try:
        started = time.monotonic()
        WaitFunction._wait_interval(None, Env(), 2)  # 2 s at 4 x
        assert 0.45 <= time.monotonic() - started < 1.5
    finally:
        timing.set_scale(saved)


def test_optimized_dynamodb_errors_are_named_as_aws_names_them():
    """moto names an optimized DynamoDB task's error by the bare code (`DynamoDB.RequestLimitExceeded`);
    AWS by the SDK's exception, with the Exception suffix, which is what the state machines retry
    (tests/infra/test_error_names.py)."""
    from botocore.exceptions import ClientError

    from etl_local import seams

    def error(code: str) -> str:
        failure = ClientError({"Error": {"Code": code, "Message": "m"},
                               "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r"}}, "PutItem")
        return seams._dynamodb_task()._error_cause_from_client_error(failure)[0]

    seams.install_error_names()
    seams.install_error_names()  # a second install wraps nothing twice
    assert error("RequestLimitExceeded") == "DynamoDB.RequestLimitExceededException"
    assert error("InternalServerError") == "DynamoDB.InternalServerErrorException"
    assert error("ConditionalCheckFailedException") == "DynamoDB.ConditionalCheckFailedException"
    assert error("ProvisionedThroughputExceededException") == "DynamoDB.ProvisionedThroughputExceededException"


def test_keys_over_1024_bytes_are_refused_as_s3_refuses_them():
    """moto stores any key; S3 answers KeyTooLongError (400) to a write of a key over 1,024 bytes
    of UTF-8, whichever call creates the object (seams.install_key_limit)."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from etl_local import seams

    seams.install_key_limit()
    seams.install_key_limit()  # a second install wraps nothing twice
    at_limit, over = "é" * 512, "é" * 511 + "abc"  # 1,024 and 1,025 bytes of UTF-8
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="limit")
        s3.put_object(Bucket="limit", Key=at_limit, Body=b"x")
        s3.copy_object(Bucket="limit", Key=at_limit[:-1] + "e", CopySource={"Bucket": "limit", "Key": at_limit})
        s3.create_multipart_upload(Bucket="limit", Key=at_limit)
        calls = {"PutObject": lambda: s3.put_object(Bucket="limit", Key=over, Body=b"x"),
                 "CopyObject": lambda: s3.copy_object(Bucket="limit", Key=over,
                                                      CopySource={"Bucket": "limit", "Key": at_limit}),
                 "CreateMultipartUpload": lambda: s3.create_multipart_upload(Bucket="limit", Key=over)}
        for operation, call in calls.items():
            with pytest.raises(ClientError) as refused:
                call()
            error = refused.value.response
            assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
                "KeyTooLongError", "Your key is too long.", 400), operation
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="limit")["Contents"]] == sorted(
            [at_limit, at_limit[:-1] + "e"])
