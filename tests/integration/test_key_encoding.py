"""The validator and the mover's quarantine on moto S3, with the event's key URL-encoded (as S3
documents for its notifications) or raw (EventBridge's encoding is not documented): both find the
object by the same rule (etl_common.event_object), even when the decoded key exists too."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

from etl_common.event_object import EventObjectNotFound, key_candidates
from etl_common.layout import Upload, delivered_key
from tests.helpers import lambda_context, load_module, mocked_handler
from tests.integration.test_validator_handler import ENV, REGION

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "functions" / "validator" / "app.py"
MOVER = ROOT / "functions" / "mover" / "app.py"
GOOD = (ROOT / "samples" / "orders" / "orders-2026-11-20.csv").read_bytes()
BAD = (ROOT / "samples" / "orders" / "orders-bad.csv").read_bytes()
LITERAL = "incoming/orders/a+b c%41.csv"    # raw, it decodes to SPACED
SPACED = "incoming/orders/a b cA.csv"
PERCENT = "incoming/orders/100%.csv"        # no valid escape: decoding keeps it
UNICODE = "incoming/orders/Q4 ventes été.csv"
ENCODINGS = {"url": delivered_key, "raw": lambda key: key}


@pytest.fixture(scope="module")
def handlers():
    """Both functions in one moto account: the validator, the mover and an S3 client."""
    with mocked_handler(VALIDATOR, ENV, "validator") as (validator, s3):
        name = f"mover_app_{uuid.uuid4().hex}"
        try:
            yield validator, load_module(MOVER, name), s3
        finally:
            sys.modules.pop(name, None)


@pytest.fixture
def bucket(handlers):
    s3 = handlers[2]
    name = f"etl-keys-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def put(s3, bucket: str, key: str, data: bytes) -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]


def event(s3, bucket: str, key: str, version: str, encoding: str) -> dict:
    """The EventBridge 'Object Created' event of one object version, its key delivered `encoding`."""
    head = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-20T10:00:00Z", "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0", "bucket": {"name": bucket},
            "object": {"key": ENCODINGS[encoding](key), "size": head["ContentLength"],
                       "etag": head["ETag"].strip('"'), "version-id": version, "sequencer": "0062E99A88DC407460"},
            "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def quarantine(bucket: str, delivered: str, version: str | None, key: str | None = None) -> dict:
    """QuarantineAfterFailure's mover event: the event's key as delivered, the step's error."""
    request = {"bucket": bucket, "delivered_key": delivered, "version_id": version,
               "failure": {"Error": "Sandbox.Timedout", "Cause": "Task timed out"}}
    return {"quarantine": request | ({"key": key} if key else {}), "execution": "arn:execution"}


@pytest.mark.parametrize("encoding", ["url", "raw"])
def test_validator_finds_each_upload_when_the_decoded_key_exists_too(handlers, bucket, encoding):
    """`a+b c%41.csv` (good rows) and `a b cA.csv` (bad rows) are both uploaded: each event's
    plan is its own object's, whichever way its key is delivered."""
    validator, _, s3 = handlers
    literal, spaced = put(s3, bucket, LITERAL, GOOD), put(s3, bucket, SPACED, BAD)

    plan = validator.lambda_handler(event(s3, bucket, LITERAL, literal, encoding), lambda_context("ValidatorFunction"))
    assert plan["source"] == {"bucket": bucket, "key": LITERAL, "version_id": literal}
    assert (plan["outcome"], plan["rows"]) == ("processed", 6)
    assert plan["move"]["target_key"] == Upload.parse(LITERAL).staged_key(literal)
    assert plan["report_key"] == "reports/orders/a+b c%41.csv.report.json"

    plan = validator.lambda_handler(event(s3, bucket, SPACED, spaced, encoding), lambda_context("ValidatorFunction"))
    assert plan["source"] == {"bucket": bucket, "key": SPACED, "version_id": spaced}
    assert plan["outcome"] == "rejected"
    assert plan["move"]["target_key"] == "error/orders/a b cA.csv"


@pytest.mark.parametrize("encoding", ["url", "raw"])
@pytest.mark.parametrize("key", [LITERAL, PERCENT, UNICODE], ids=["plus-percent", "percent", "unicode"])
def test_validator_finds_the_named_keys_either_way(handlers, bucket, encoding, key):
    validator, _, s3 = handlers
    version = put(s3, bucket, key, GOOD)
    plan = validator.lambda_handler(event(s3, bucket, key, version, encoding), lambda_context("ValidatorFunction"))
    assert plan["source"] == {"bucket": bucket, "key": key, "version_id": version}
    assert plan["outcome"] == "processed"
    assert plan["move"]["target_key"] == Upload.parse(key).staged_key(version)


@pytest.mark.parametrize("encoding", ["url", "raw"])
def test_validator_without_the_object_fails_naming_both_keys(handlers, bucket, encoding):
    """The missing-object path: the validator raises (the state machine quarantines, which fails
    too, and notifies), now saying which keys it looked under."""
    validator, _, s3 = handlers
    version = put(s3, bucket, LITERAL, GOOD)
    detail = event(s3, bucket, LITERAL, version, encoding)
    s3.delete_object(Bucket=bucket, Key=LITERAL, VersionId=version)
    with pytest.raises(EventObjectNotFound, match=f"no object version {version} ") as missing:
        validator.lambda_handler(detail, lambda_context("ValidatorFunction"))
    assert all(repr(key) in str(missing.value) for key in key_candidates(detail["detail"]["object"]["key"]))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("encoding", ["url", "raw"])
def test_quarantine_before_any_plan_resolves_the_key_as_the_validator_does(handlers, bucket, encoding):
    """The validator failed (no plan): the mover takes the event's own object version to error/,
    not the other upload its raw key decodes to."""
    _, mover, s3 = handlers
    literal, spaced = put(s3, bucket, LITERAL, GOOD), put(s3, bucket, SPACED, BAD)

    result = mover.lambda_handler(quarantine(bucket, ENCODINGS[encoding](LITERAL), literal),
                                  lambda_context("MoverFunction"))
    assert result["source"] == {"bucket": bucket, "key": LITERAL, "version_id": literal}
    assert result["target_key"] == "error/orders/a+b c%41.csv"
    assert s3.get_object(Bucket=bucket, Key="error/orders/a+b c%41.csv")["Body"].read() == GOOD
    report = json.loads(s3.get_object(Bucket=bucket, Key=result["report_key"])["Body"].read())
    assert (report["key"], report["version_id"]) == (LITERAL, literal)
    # the other upload is where it was
    assert s3.head_object(Bucket=bucket, Key=SPACED)["VersionId"] == spaced


def test_quarantine_takes_the_validators_key_when_given(handlers, bucket):
    _, mover, s3 = handlers
    literal = put(s3, bucket, LITERAL, GOOD)
    put(s3, bucket, SPACED, BAD)
    result = mover.lambda_handler(quarantine(bucket, LITERAL, literal, key=LITERAL), lambda_context("MoverFunction"))
    assert (result["source"]["key"], result["target_key"]) == (LITERAL, "error/orders/a+b c%41.csv")


@pytest.mark.parametrize("encoding", ["url", "raw"])
def test_quarantine_without_the_object_writes_nothing(handlers, bucket, encoding):
    _, mover, s3 = handlers
    version = put(s3, bucket, LITERAL, GOOD)
    s3.delete_object(Bucket=bucket, Key=LITERAL, VersionId=version)
    with pytest.raises(EventObjectNotFound):
        mover.lambda_handler(quarantine(bucket, ENCODINGS[encoding](LITERAL), version), lambda_context("MoverFunction"))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
