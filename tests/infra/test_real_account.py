"""What would break in a real AWS account and that moto does not enforce: permissions S3 and Glue
need, service name limits, the Glue version, log groups, lifecycle of delete markers.

Each check names the AWS documentation it follows.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyspark
import pytest

from etl_local.resolve import Resolver
from etl_local.template import load_template
from tests.infra.test_security import TEMPLATE, _as_list, _statements

REGION = "us-east-1"
# CloudFormation stack names: letters, digits and hyphens, starting with a letter, at most 128
# characters (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
LONGEST_STACK_NAME = ("Pipeline-" + "a1-" * 60)[:127] + "z"
# Lambda function names are at most 64 characters
# (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html): CloudFormation's
# generated names fit, so a log group named after one is at most /aws/lambda/ + 64.
LONGEST_FUNCTION_NAME = "f" * 64


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        return load_template(TEMPLATE).cfn


def _resources(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


# --- 1. HeadObject needs s3:ListBucket for a 404 --------------------------------------------------

def test_mover_may_list_the_prefixes_it_heads(translated):
    """HeadObject of a missing key is 404 only with s3:ListBucket, 403 without
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); the grant is limited
    with the s3:prefix condition key
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html)."""
    grants = [s for role, s in _statements(translated)
              if role == "MoverFunctionRole" and "s3:ListBucket" in _as_list(s["Action"])]
    assert len(grants) == 1, "the mover's role grants s3:ListBucket in one statement"
    grant = grants[0]
    assert grant["Effect"] == "Allow"
    assert _as_list(grant["Resource"]) == [{"Fn::GetAtt": ["DataBucket", "Arn"]}]
    prefixes = set(_as_list(grant["Condition"]["StringLike"]["s3:prefix"]))
    assert prefixes == {"incoming/*", "staging/*", "error/*"}


# --- 2. names derived from the stack name fit the services' limits ---------------------------

# type -> (name of the resource from its resolved properties, limit, documentation)
NAME_LIMITS = {
    "AWS::Glue::SecurityConfiguration": (lambda p: p["Name"], 255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CreateSecurityConfiguration.html"),
    "AWS::Glue::Crawler": (lambda p: p["Name"], 255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CreateCrawler.html"),
    "AWS::Glue::Job": (lambda p: p["Name"], 255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CreateJob.html"),
    "AWS::Glue::Classifier": (lambda p: p["CsvClassifier"]["Name"], 255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CreateCsvClassifierRequest.html"),
    "AWS::Glue::Database": (lambda p: p["DatabaseInput"]["Name"], 255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_DatabaseInput.html"),
    "AWS::Logs::LogGroup": (lambda p: p["LogGroupName"], 512,
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"),
    "AWS::CloudWatch::Dashboard": (lambda p: p["DashboardName"], 255,
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html"),
}
# A crawler's CrawlerSecurityConfiguration is shorter than a security configuration's own name
# may be: https://docs.aws.amazon.com/glue/latest/webapi/API_Crawler.html
CRAWLER_SECURITY_CONFIGURATION_LIMIT = 128


def _resolver(cfn: dict[str, Any], stack_name: str) -> Resolver:
    functions = {name: LONGEST_FUNCTION_NAME for name in _resources(cfn, "AWS::Lambda::Function")}
    stack_id = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{stack_name}/" + "0" * 8 + "-0000" * 3 + "-" + "0" * 12
    return Resolver(cfn, functions, {}, stack_name, REGION, session=None, stack_id=stack_id)


def test_longest_stack_name_is_a_valid_one():
    assert len(LONGEST_STACK_NAME) == 128
    assert re.fullmatch(r"[A-Za-z][-A-Za-z0-9]*", LONGEST_STACK_NAME)


def test_names_derived_from_a_128_character_stack_name_fit(translated):
    resolve = _resolver(translated, LONGEST_STACK_NAME)
    checked, too_long = [], []
    for kind, (name_of, limit, doc) in NAME_LIMITS.items():
        for logical_id, resource in _resources(translated, kind).items():
            name = resolve(name_of(resource["Properties"]))
            checked.append(logical_id)
            if len(name) > limit:
                too_long.append(f"{logical_id} ({kind}): {len(name)} > {limit} characters ({doc})")
    for logical_id, crawler in _resources(translated, "AWS::Glue::Crawler").items():
        name = resolve(crawler["Properties"]["CrawlerSecurityConfiguration"])
        if len(name) > CRAWLER_SECURITY_CONFIGURATION_LIMIT:
            too_long.append(f"{logical_id} CrawlerSecurityConfiguration: {len(name)} > "
                            f"{CRAWLER_SECURITY_CONFIGURATION_LIMIT} characters")
    assert {"GlueDatabase", "GlueSecurityConfiguration", "StagingCrawler", "CsvToParquetJob",
            "CommaCsvClassifier", "SemicolonCsvClassifier", "StateMachineLogGroup", "Dashboard",
            "ValidatorLogGroup", "MoverLogGroup"} <= set(checked)
    assert too_long == []


def test_default_database_name_is_the_stack_name(translated):
    """Two stacks in one account and region get two databases. Glue folds database names to
    lower case when it stores them (https://docs.aws.amazon.com/glue/latest/webapi/API_DatabaseInput.html)."""
    assert translated["Parameters"]["GlueDatabaseName"]["Default"] == ""
    database = translated["Resources"]["GlueDatabase"]["Properties"]
    for stack_name, expected in [("s3-parquet-pipeline", "s3_parquet_pipeline"),
                                 ("Team-B-etl", "Team_B_etl"), (LONGEST_STACK_NAME, LONGEST_STACK_NAME.replace("-", "_"))]:
        name = _resolver(translated, stack_name)(database)["DatabaseInput"]["Name"]
        assert name == expected
        assert re.fullmatch(r"[a-z0-9_]{1,255}", name.lower())
    chosen = Resolver(translated, {}, {"GlueDatabaseName": "shared_db"}, "any-stack", REGION, session=None)
    assert chosen(database)["DatabaseInput"]["Name"] == "shared_db"


def test_explicit_database_name_pattern_allows_empty(translated):
    pattern = translated["Parameters"]["GlueDatabaseName"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "s3_parquet_etl")
    assert not re.fullmatch(pattern, "Has-Hyphen")


def test_glue_grants_name_the_database_resource(translated):
    """The Glue role's catalog ARNs follow the database actually created, not the parameter."""
    text = json.dumps(translated["Resources"]["GlueRole"])
    assert "${GlueDatabaseName}" not in text
    assert "database/${GlueDatabase}" in text and "table/${GlueDatabase}/*" in text


# --- 3. crawler partition indexes ----------------------------------------------------------

def test_crawler_does_not_create_partition_indexes(translated):
    """Crawlers create partition indexes by default (CreatePartitionIndex, default true)
    (https://docs.aws.amazon.com/glue/latest/dg/crawler-configure-partition-indexes.html);
    the Glue role has no glue:CreatePartitionIndex."""
    for crawler in _resources(translated, "AWS::Glue::Crawler").values():
        assert json.loads(crawler["Properties"]["Configuration"])["CreatePartitionIndex"] is False
    actions = {a for role, s in _statements(translated) if role == "GlueRole" for a in _as_list(s["Action"])}
    assert "glue:CreatePartitionIndex" not in actions


# --- 4. Glue version and local Spark --------------------------------------------------------

# Glue version -> Spark minor (https://docs.aws.amazon.com/glue/latest/dg/release-notes.html:
# 5.0 is Spark 3.5.4, 5.1 is Spark 3.5.6).
GLUE_SPARK = {"5.0": "3.5", "5.1": "3.5"}


def test_job_glue_version_matches_local_spark(translated):
    jobs = _resources(translated, "AWS::Glue::Job")
    assert jobs
    local_minor = ".".join(pyspark.__version__.split(".")[:2])
    for logical_id, job in jobs.items():
        version = job["Properties"]["GlueVersion"]
        assert version == "5.1", f"{logical_id}: Glue 5.1 is the current 5.x version"
        assert GLUE_SPARK[version] == local_minor, (
            f"{logical_id} runs Spark {GLUE_SPARK[version]} on Glue {version}; local pyspark is {pyspark.__version__}")


# --- 5. Lambda log groups -------------------------------------------------------------------

def test_every_function_has_a_declared_log_group(translated):
    """Lambda otherwise creates /aws/lambda/<function name> itself, without retention or key
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html)."""
    groups = {json.dumps(g["Properties"]["LogGroupName"]): g["Properties"]
              for g in _resources(translated, "AWS::Logs::LogGroup").values()}
    functions = _resources(translated, "AWS::Lambda::Function")
    assert functions
    for name in functions:
        props = groups.get(json.dumps({"Fn::Sub": f"/aws/lambda/${{{name}}}"}))
        assert props, f"{name} has no declared /aws/lambda/ log group"
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert props["KmsKeyId"] == {"Fn::If": ["CreateKey", {"Fn::GetAtt": ["PipelineKey", "Arn"]},
                                                {"Ref": "KmsKeyArn"}]}


# --- 6. delete markers ----------------------------------------------------------------------

def test_expired_delete_markers_are_removed(translated):
    """ExpiredObjectDeleteMarker cannot be given with Expiration days or a date in the same rule
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html)."""
    rules = translated["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    markers = [r for r in rules if r.get("ExpiredObjectDeleteMarker") is True]
    assert len(markers) == 1
    rule = markers[0]
    assert rule["Status"] == "Enabled" and "Prefix" not in rule and "Filter" not in rule
    assert not {"ExpirationInDays", "ExpirationDate"} & set(rule)


# --- 7. EventBridge and the encrypted dead-letter queue -------------------------------------

def _dead_letter_rules(cfn: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """EventBridge rules (logical id) with the targets that have a dead-letter queue."""
    rules = {name: [t for t in rule["Properties"].get("Targets", []) if "DeadLetterConfig" in t]
             for name, rule in _resources(cfn, "AWS::Events::Rule").items()}
    return {name: targets for name, targets in rules.items() if targets}


def _key_statements(cfn: dict[str, Any], service: str) -> list[dict[str, Any]]:
    statements = cfn["Resources"]["PipelineKey"]["Properties"]["KeyPolicy"]["Statement"]
    return [s for s in statements if service in _as_list(s.get("Principal", {}).get("Service", []))]


def test_eventbridge_may_use_the_key_of_its_dead_letter_queue_as_documented(translated):
    """The upload rule's dead-letter queue is encrypted with the pipeline key, so the key policy
    lets EventBridge use it in the form SQS documents for an AWS service event source
    (events.amazonaws.com; kms:GenerateDataKey and kms:Decrypt), limited by aws:SourceArn, which
    CloudWatch Events supports for encrypted queues ("Amazon SQS key management",
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    aws:SourceAccount and aws:SourceOrgID are absent: "Adding the aws:SourceAccount, aws:SourceArn,
    and aws:SourceOrgID to a AWS KMS policy is not supported for EventBridge-to-encrypted topics"
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), and SQS documents only
    aws:SourceArn for EventBridge. The source ARN is a rule's on the default bus
    (arn:...:rule/<name>, "Using dead-letter queues to process undelivered events in EventBridge",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    rules = _dead_letter_rules(translated)
    assert list(rules) == ["PipelineStateMachineObjectCreated"]
    (target,) = rules["PipelineStateMachineObjectCreated"]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    assert "EventBusName" not in translated["Resources"]["PipelineStateMachineObjectCreated"]["Properties"]
    queue = translated["Resources"]["EventsDeadLetterQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::If": ["CreateKey", {"Fn::GetAtt": ["PipelineKey", "Arn"]},
                                                  {"Ref": "KmsKeyArn"}]}

    (grant,) = _key_statements(translated, "events.amazonaws.com")
    assert grant["Effect"] == "Allow" and grant["Resource"] == "*"
    assert grant["Principal"] == {"Service": "events.amazonaws.com"}, "EventBridge has a statement of its own"
    assert sorted(_as_list(grant["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert grant["Condition"] == {"ArnLike": {"aws:SourceArn": {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"}}}
    conditions = json.dumps(grant["Condition"]).lower()
    assert "aws:sourceaccount" not in conditions and "aws:sourceorgid" not in conditions

    # CloudWatch alarms keep theirs: SNS asks for aws:SourceAccount on service principals.
    (alarms,) = _key_statements(translated, "cloudwatch.amazonaws.com")
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_failed_dead_letter_deliveries_raise_an_alarm(translated):
    """An event EventBridge cannot put into the dead-letter queue is lost. AWS/Events
    InvocationsFailedToBeSentToDlq counts them, by RuleName for a rule on the default bus, and is
    sent only when it is not zero ("Monitoring Amazon EventBridge",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html): the alarm is on
    every rule with a dead-letter queue, treats missing data as not breaching and notifies the
    stack's topic, as the other alarms do."""
    alarms = [a["Properties"] for a in _resources(translated, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("MetricName") == "InvocationsFailedToBeSentToDlq"]
    watched = {}
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/Events"
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "RuleName"
        watched[dimension["Value"]["Ref"]] = alarm
    assert set(watched) == set(_dead_letter_rules(translated))
    for alarm in watched.values():
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Sum", 1, "GreaterThanOrEqualToThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]


# --- issue: IAM scope of the job script and the log resource policy ------------------------------

def _role_statements(cfn: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    policies = cfn["Resources"][role]["Properties"]["Policies"]
    return {s["Sid"]: s for p in policies for s in p["PolicyDocument"]["Statement"]}


def test_the_job_reads_scripts_only_from_this_accounts_artifact_buckets(translated):
    """The SAM artifact bucket's name pattern alone matches any account's bucket of that name."""
    read = _role_statements(translated, "GlueRole")["ReadJobScript"]
    assert read["Condition"] == {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("role", ["PipelineStateMachineRole", "BatchStateMachineRole"])
def test_log_resource_policy_actions_are_scoped_to_the_account(role, translated):
    """Only the vended-log delivery actions take "*"; PutResourcePolicy and its readers are
    scoped to this account and Region, as CloudWatch Logs documents."""
    statements = _role_statements(translated, role)
    star = {a for s in statements.values() if s["Resource"] == "*" for a in s["Action"]}
    assert not star & {"logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}
    scoped = statements["LogGroupResourcePolicy"]
    assert scoped["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"}
