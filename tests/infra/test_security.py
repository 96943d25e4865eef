"""Security review in `make test`: checkov on the SAM template and its translation, and a
reading of every IAM and resource policy for wildcards.

checkov lives in its own virtual environment (`CHECKOV`, set by the Makefile) because it pins
a boto3 that breaks SAM CLI. Suppressions are inline (Metadata.checkov.skip) and must say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from samtranslator.yaml_helper import yaml_parse

from etl_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# Statements whose actions accept no resource but "*": (role, Sid) -> why.
STAR_RESOURCE_ALLOWED = {
    ("PipelineStateMachineRole", "LogDelivery"):
        "CloudWatch Logs vended-log delivery APIs (CreateLogDelivery and friends) take no resource ARN",
    ("PipelineStateMachineRole", "Tracing"): "X-Ray PutTraceSegments and sampling APIs take no resource ARN",
    ("BatchStateMachineRole", "LogDelivery"):
        "CloudWatch Logs vended-log delivery APIs (CreateLogDelivery and friends) take no resource ARN",
    ("BatchStateMachineRole", "Tracing"): "X-Ray PutTraceSegments and sampling APIs take no resource ARN",
    ("BatchCollectFunctionRole", "SeeLockHolder"):
        "DescribeExecution of the batch machine's own executions: `execution:BatchStateMachine-*:*`, the "
        "execution name being the last part",
    ("BatchResumeFunctionRole", "AnswerWaitingExecutions"):
        "SendTaskSuccess/SendTaskFailure name a task token, no resource IAM can match",
    ("GlueRole", "JobMetrics"):
        "cloudwatch:PutMetricData takes no resource ARN; the statement is limited to the Glue namespace",
}
# Managed policies SAM attaches: ARN -> why it is acceptable.
MANAGED_ALLOWED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole":
        "SAM's default for functions: write the function's own CloudWatch logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "SAM adds it for Tracing: Active; X-Ray needs '*'",
}


def _checkov() -> str:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    assert found, "checkov is installed by `make test` into .venv-checkov (CHECKOV names it)"
    return found


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return load_template(TEMPLATE).cfn


def _run_checkov(path: Path, home: Path) -> dict[str, Any]:
    done = subprocess.run(
        [_checkov(), "-f", str(path), "--framework", "cloudformation", "--output", "json",
         "--skip-download"],
        env=os.environ | {"HOME": str(home), "BC_SKIP_MAPPING": "TRUE"}, capture_output=True, text=True,
        timeout=300)
    assert done.stdout.strip(), done.stderr[-3000:]
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def _failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]


def test_checkov_passes_on_the_sam_template(tmp_path):
    report = _run_checkov(TEMPLATE, tmp_path)
    assert report["summary"]["passed"] > 0
    assert _failures(report) == []


def test_checkov_passes_on_the_translated_template(tmp_path, translated):
    """The SAM template hides SAM-generated roles and the EventBridge rule from checkov."""
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated), encoding="utf-8")
    report = _run_checkov(path, tmp_path)
    checked = {c["resource"] for c in report["results"]["passed_checks"]}
    assert {"AWS::IAM::Role.ValidatorFunctionRole", "AWS::Lambda::Function.ValidatorFunction"} <= checked
    assert _failures(report) == []


def test_state_machine_logs_and_traces(translated):
    """checkov has no CloudFormation check for state machines, so this one does it."""
    props = translated["Resources"]["PipelineStateMachine"]["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == {"Ref": "StateMachineLogLevel"}
    assert logging["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}}}]


def test_every_suppression_names_the_check_and_gives_a_reason():
    template = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    skips = [(name, skip) for name, resource in template["Resources"].items()
             for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    assert skips, "the template documents its suppressions"
    for name, skip in skips:
        assert skip.get("id", "").startswith("CKV"), (name, skip)
        assert len(skip.get("comment", "")) > 20, f"{name} {skip['id']} needs a reason"


def _statements(translated: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in translated["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_iam_policies_have_no_wildcard_actions(translated):
    for role, statement in _statements(translated):
        for action in _as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), f"{role} {statement.get('Sid')}: {action}"


def test_iam_resources_are_scoped_unless_the_service_requires_star(translated):
    for role, statement in _statements(translated):
        for resource in _as_list(statement["Resource"]):
            unscoped = resource == "*" or (isinstance(resource, str) and resource.endswith(":*"))
            if unscoped:
                assert (role, statement.get("Sid")) in STAR_RESOURCE_ALLOWED, \
                    f"{role} {statement.get('Sid')} {statement['Action']} on {resource}"


def test_only_known_managed_policies_are_attached(translated):
    for name, resource in translated["Resources"].items():
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            assert arn in MANAGED_ALLOWED, f"{name} attaches {arn}"


def test_resource_policies_name_their_principals(translated):
    """Topic and queue policies allow no wildcard principal (a Deny on "*" is a guard, not a grant)."""
    kinds = {"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"}
    policies = {n: r["Properties"]["PolicyDocument"] for n, r in translated["Resources"].items()
                if r["Type"] in kinds}
    assert {"NotificationTopicPolicy", "EventsDeadLetterQueuePolicy", "DataBucketPolicy"} <= policies.keys()
    for name, document in policies.items():
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                principal = statement["Principal"]
                assert principal != "*" and "*" not in _as_list(principal.get("AWS", [])), (name, statement)


def test_everything_at_rest_is_encrypted_with_the_pipeline_key(translated):
    resources = translated["Resources"]
    key = {"Fn::If": ["CreateKey", {"Fn::GetAtt": ["PipelineKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
    bucket = resources["DataBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert bucket["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == key
    assert resources["EventsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == key
    assert resources["StateMachineLogGroup"]["Properties"]["KmsKeyId"] == key
    encryption = resources["GlueSecurityConfiguration"]["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    assert resources["PipelineKey"]["Properties"]["EnableKeyRotation"] is True
    for name in ("StagingCrawler", "CsvToParquetJob"):
        props = resources[name]["Properties"]
        assert (props.get("CrawlerSecurityConfiguration") or props.get("SecurityConfiguration")) == {
            "Ref": "GlueSecurityConfiguration"}


def test_event_delivery_has_retries_and_an_encrypted_dead_letter_queue(translated):
    [rule] = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    [target] = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}


def test_alarms_notify_the_topic(translated):
    alarms = {n: r["Properties"] for n, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"FailedExecutionsAlarm", "DeadLetterQueueAlarm", "ValidatorErrorsAlarm"} <= alarms.keys()
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}], name
