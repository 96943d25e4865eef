"""The permission rules and the policy evaluation behind the workflow tests' permission check."""

from __future__ import annotations

import pytest

from etl_local.calls import Call
from etl_local.permissions import Account, Need, Role, allowed, needs, problems

ACCOUNT = Account("us-east-1", "123456789012",
                  encrypted={"arn:aws:s3:::data": "arn:aws:kms:us-east-1:123456789012:key/k",
                             "arn:aws:sqs:us-east-1:123456789012:pending": "arn:aws:kms:us-east-1:123456789012:key/k"})
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
ROLE = "arn:aws:iam::123456789012:role/r"


def call(service: str, operation: str, error: str | None = None, **params) -> Call:
    return Call(ROLE, service, operation, params, error)


def test_head_of_a_missing_key_needs_list_bucket_with_the_key_as_prefix():
    assert needs(call("s3", "HeadObject", "404", Bucket="data", Key="incoming/a.csv"), ACCOUNT) == [
        Need("s3:GetObject", "arn:aws:s3:::data/incoming/a.csv"),
        Need("s3:ListBucket", "arn:aws:s3:::data", (("s3:prefix", "incoming/a.csv"),))]
    assert needs(call("s3", "HeadObject", Bucket="data", Key="a", VersionId="v"), ACCOUNT) == [
        Need("s3:GetObjectVersion", "arn:aws:s3:::data/a")]


def test_reads_and_writes_of_an_encrypted_bucket_need_the_key():
    assert Need("kms:Decrypt", KEY) in needs(call("s3", "GetObject", Bucket="data", Key="a"), ACCOUNT)
    assert Need("kms:GenerateDataKey", KEY) in needs(call("s3", "PutObject", Bucket="data", Key="a"), ACCOUNT)
    assert not any(n.action.startswith("kms:") for n in needs(call("s3", "PutObject", Bucket="other", Key="a"),
                                                             ACCOUNT))


@pytest.mark.parametrize("source", [
    {"Bucket": "data", "Key": "incoming/a b.csv", "VersionId": "v1"},
    "data/incoming/a%20b.csv?versionId=v1",
])
def test_copy_reads_the_source_version_and_writes_the_target(source):
    required = needs(call("s3", "CopyObject", Bucket="data", Key="staging/a.csv", CopySource=source), ACCOUNT)
    assert Need("s3:GetObjectVersion", "arn:aws:s3:::data/incoming/a b.csv") in required
    assert Need("s3:PutObject", "arn:aws:s3:::data/staging/a.csv") in required


def test_catalog_operations_need_the_catalog_the_database_and_the_table():
    assert [n.resource for n in needs(call("glue", "UpdateTable", DatabaseName="db", TableInput={"Name": "t"}),
                                      ACCOUNT)] == [
        "arn:aws:glue:us-east-1:123456789012:catalog", "arn:aws:glue:us-east-1:123456789012:database/db",
        "arn:aws:glue:us-east-1:123456789012:table/db/t"]


def test_sending_to_an_encrypted_queue_needs_both_key_actions():
    required = needs(call("sqs", "SendMessage", QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/pending",
                          MessageBody="x"), ACCOUNT)
    assert [n.action for n in required] == ["sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"]


def test_allow_deny_wildcards_and_conditions():
    listing = Need("s3:ListBucket", "arn:aws:s3:::data", (("s3:prefix", "incoming/a.csv"),))
    statement = {"Effect": "Allow", "Action": "S3:list*", "Resource": "arn:aws:s3:::dat?",
                 "Condition": {"StringLike": {"s3:prefix": ["incoming/*", "staging/*"]}}}
    assert allowed([statement], listing)
    assert not allowed([statement], Need("s3:ListBucket", "arn:aws:s3:::data", (("s3:prefix", "reports/x"),)))
    assert not allowed([statement], Need("s3:ListBucket", "arn:aws:s3:::data"))  # no prefix: the key is absent
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert not allowed([statement, deny], listing)
    if_exists = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                 "Condition": {"StringLikeIfExists": {"s3:prefix": "incoming/*"}}}
    assert allowed([if_exists], Need("s3:ListBucket", "arn:aws:s3:::data"))
    assert not allowed([{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data.x"}],
                       Need("s3:GetObject", "arn:aws:s3:::dataax"))  # "." is not a wildcard


def test_problems_name_the_call_the_role_and_what_is_missing():
    roles = {ROLE: Role("MoverFunctionRole", [{"Effect": "Allow", "Action": "s3:GetObject",
                                               "Resource": "arn:aws:s3:::data/*"}])}
    found = problems([call("s3", "HeadObject", "404", Bucket="data", Key="incoming/a.csv"),
                      call("s3", "HeadObject", "404", Bucket="data", Key="incoming/a.csv"),
                      call("s3", "SelectObjectContent", Bucket="data", Key="a"),
                      Call("arn:aws:iam::123456789012:role/stranger", "s3", "GetObject", {})], roles, ACCOUNT)
    assert found[0].startswith("s3:HeadObject by MoverFunctionRole needs s3:ListBucket on arn:aws:s3:::data "
                               "with s3:prefix='incoming/a.csv'")
    assert len(found) == 3  # each missing permission once
    assert "no permission rule for this operation" in found[1]
    assert "a role the template does not define" in found[2]


def test_an_unknown_condition_operator_is_a_problem_not_a_pass():
    roles = {ROLE: Role("R", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                               "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}])}
    found = problems([call("s3", "GetObject", Bucket="other", Key="a")], roles, ACCOUNT)
    assert len(found) == 1 and "cannot evaluate DateGreaterThan" in found[0]


def test_a_condition_on_a_key_the_rules_never_set_cannot_pass():
    """`...IfExists` on a key the request context here never holds would always pass; in AWS
    the key may be there (aws:SourceVpc), so the check refuses to judge instead."""
    roles = {ROLE: Role("R", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                               "Condition": {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}}])}
    [found] = problems([call("s3", "GetObject", Bucket="other", Key="a")], roles, ACCOUNT)
    assert "cannot evaluate StringEqualsIfExists on aws:SourceVpc" in found
    assert allowed([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                     "Condition": {"StringLike": {"S3:Prefix": "incoming/*"}}}],
                   Need("s3:ListBucket", "arn:aws:s3:::data", (("s3:prefix", "incoming/a"),)))


def test_the_resource_account_is_the_stacks():
    """ReadJobScript: the SAM artifact bucket by name, in this account only."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::sam-*/*",
                 "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}}}
    roles = {ROLE: Role("GlueRole", [statement])}
    assert problems([call("s3", "GetObject", Bucket="sam-x", Key="job.py")], roles, ACCOUNT) == []
    other = Account("us-east-1", "999999999999")
    assert problems([call("s3", "GetObject", Bucket="sam-x", Key="job.py")], roles, other)
