"""The mover Lambda on moto S3: copy, verify, delete; quarantine reports; reruns converge."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from boto3.s3.transfer import TransferConfig

from etl_common.messages import ObjectVersion
from tests.helpers import lambda_context, mocked_handler

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "functions" / "mover" / "app.py"
SAMPLE = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
REGION = "us-east-1"
MB = 1024 * 1024

ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "mover", "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture(scope="module")
def mocked():
    with mocked_handler(APP, ENV, "mover") as pair:
        yield pair


@pytest.fixture
def app(mocked):
    return mocked[0]


@pytest.fixture
def s3(mocked):
    return mocked[1]


@pytest.fixture
def moves(app):
    return sys.modules["moves"]


@pytest.fixture
def bucket(s3):
    name = f"etl-data-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def plain_bucket(s3):
    name = f"etl-plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def move(bucket: str, key: str, target: str, version_id: str | None = None,
         staged: str | None = None) -> dict:
    """The mover event the state machine sends for a planned move (`plan.move`)."""
    return {"move": {"source": {"bucket": bucket, "key": key, "version_id": version_id},
                     "target_key": target, "staged_key": staged}}


def quarantine(bucket: str, delivered_key: str, version_id: str | None = None,
               failure: dict | None = None, execution: str | None = None) -> dict:
    """The mover event of QuarantineAfterFailure: the S3 event's object and the step's error."""
    return {"quarantine": {"bucket": bucket, "delivered_key": delivered_key, "version_id": version_id,
                           "failure": failure}, "execution": execution}


def version(bucket: str, key: str) -> ObjectVersion:
    return ObjectVersion(bucket=bucket, key=key)


def body(s3, bucket: str, key: str, version_id: str | None = None) -> bytes:
    extra = {"VersionId": version_id} if version_id else {}
    return s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()


def exists(s3, bucket: str, key: str) -> bool:
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []))


def put(s3, bucket: str, key: str, data: bytes) -> str | None:
    return s3.put_object(Bucket=bucket, Key=key, Body=data).get("VersionId")


class fail_deletes:
    """Make the client's DeleteObject fail: a crash between the copy and the delete."""

    def __init__(self, client) -> None:
        self.client = client

    @staticmethod
    def _boom(**_):
        raise RuntimeError("simulated crash before delete")

    def __enter__(self):
        self.client.meta.events.register("before-call.s3.DeleteObject", self._boom)
        return self

    def __exit__(self, *exc):
        self.client.meta.events.unregister("before-call.s3.DeleteObject", self._boom)


# -- moving to staging -----------------------------------------------------------------------

def test_split_file_only_loses_its_incoming_object(app, s3, bucket):
    """The validator already staged the good rows: the mover removes the upload, keeping its version."""
    key, staged = "incoming/readings/day.csv", "staging/readings/day.csv"
    version = put(s3, bucket, key, b"reading_id\n1\n2\n")
    put(s3, bucket, staged, b"reading_id\n1\n")
    event = move(bucket, key, staged, version, staged=staged)

    result = app.lambda_handler(event, lambda_context("MoverFunction"))
    assert (result["target_key"], result["already_moved"]) == (staged, False)
    assert not exists(s3, bucket, key) and body(s3, bucket, staged) == b"reading_id\n1\n"
    assert body(s3, bucket, key, version) == b"reading_id\n1\n2\n"
    assert app.lambda_handler(event, lambda_context("MoverFunction"))["already_moved"] is True


def test_split_without_its_staged_part_keeps_the_upload(app, s3, bucket):
    key = "incoming/readings/day.csv"
    put(s3, bucket, key, b"reading_id\n1\n")
    with pytest.raises(FileNotFoundError, match="kept"):
        app.lambda_handler(move(bucket, key, "staging/readings/day.csv", staged="staging/readings/day.csv"), lambda_context("MoverFunction"))
    assert exists(s3, bucket, key)


def test_move_to_staging(app, s3, bucket):
    key = "incoming/orders/orders-2026-11-20.csv"
    data = SAMPLE.read_bytes()
    version = put(s3, bucket, key, data)
    result = app.lambda_handler(move(bucket, key, "staging/orders/orders-2026-11-20.csv", version),
                                lambda_context("MoverFunction"))
    assert result["source"] == {"bucket": bucket, "key": key, "version_id": version}
    assert result["dataset"] == "orders"
    assert result["target_key"] == "staging/orders/orders-2026-11-20.csv"
    assert result["already_moved"] is False and result["report_key"] is None
    assert result["version_id"] == s3.head_object(Bucket=bucket, Key=result["target_key"])["VersionId"]
    assert body(s3, bucket, result["target_key"]) == data
    assert not exists(s3, bucket, key)
    assert not any(k["Key"].endswith(".report.json")
                   for k in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_move_in_unversioned_bucket(app, s3, plain_bucket):
    key = "incoming/orders/2026/11/x.csv"
    put(s3, plain_bucket, key, b"a,b\n1,2\n")
    result = app.lambda_handler(move(plain_bucket, key, "staging/orders/2026/11/x.csv"), lambda_context("MoverFunction"))
    assert result["target_key"] == "staging/orders/2026/11/x.csv"
    assert body(s3, plain_bucket, result["target_key"]) == b"a,b\n1,2\n"
    assert not exists(s3, plain_bucket, key)


def test_moves_the_given_version(app, s3, bucket):
    key = "incoming/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    put(s3, bucket, key, b"second\n")
    result = app.lambda_handler(move(bucket, key, "staging/orders/o.csv", first),
                                lambda_context("MoverFunction"))
    assert body(s3, bucket, result["target_key"]) == b"first\n"


def test_key_with_spaces_and_unicode(app, s3, bucket):
    key = "incoming/orders/Q4 ventes été.csv"
    put(s3, bucket, key, b"x\n")
    result = app.lambda_handler(move(bucket, key, "staging/orders/Q4 ventes été.csv"), lambda_context("MoverFunction"))
    assert result["target_key"] == "staging/orders/Q4 ventes été.csv"
    assert body(s3, bucket, result["target_key"]) == b"x\n"


def test_file_without_dataset_folder_goes_to_unknown(app, s3, bucket):
    put(s3, bucket, "incoming/loose.csv", b"x\n")
    result = app.lambda_handler(quarantine(bucket, "incoming/loose.csv"), lambda_context("MoverFunction"))
    assert result["dataset"] == "_unknown"
    assert result["target_key"] == "error/_unknown/loose.csv"


# -- quarantine after a pipeline failure ------------------------------------------------------

def test_quarantine_with_encoded_key_and_failure(app, s3, bucket):
    key = "incoming/orders/Q4 ventes été+1.csv"
    data = b"order_id\n1\n"
    put(s3, bucket, key, data)
    event = quarantine(bucket, quote_plus(key, safe="/"),
                       failure={"Error": "Lambda.ServiceException", "Cause": "x" * 5000},
                       execution="arn:aws:states:us-east-1:123456789012:execution:Pipeline:abc")
    result = app.lambda_handler(event, lambda_context("MoverFunction"))
    target = "error/orders/Q4 ventes été+1.csv"
    assert result["source"]["key"] == key
    assert result["target_key"] == target
    assert result["report_key"] == "error/_reports/orders/Q4 ventes été+1.csv.report.json"
    assert body(s3, bucket, target) == data
    assert not exists(s3, bucket, key)

    head = s3.head_object(Bucket=bucket, Key=result["report_key"])
    assert head["ContentType"] == "application/json"
    report = json.loads(body(s3, bucket, result["report_key"]))
    assert report["valid"] is False and report["reason"] == "pipeline_error"
    assert report["dataset"] == "orders" and report["key"] == key
    assert report["execution"] == event["execution"]
    failure = report["failures"][0]
    assert (failure["check"], failure["reason"], failure["count"]) == ("pipeline", "pipeline_error", 1)
    value = failure["cases"][0]["value"]
    assert value.startswith("Lambda.ServiceException: xxx")
    assert len(value) == len("Lambda.ServiceException: ") + 2000   # the cause is capped


def test_quarantine_moves_the_claimed_version_not_the_latest(app, s3, bucket):
    key = "incoming/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    put(s3, bucket, key, b"second\n")
    result = app.lambda_handler(quarantine(bucket, key, first, failure={"Error": "States.Timeout"}),
                                lambda_context("MoverFunction"))
    assert result["source"]["version_id"] == first
    assert body(s3, bucket, "error/orders/o.csv") == b"first\n"
    assert json.loads(body(s3, bucket, result["report_key"]))["version_id"] == first


def test_quarantine_with_empty_failure(app, s3, bucket):
    key = "incoming/orders/o.csv"
    put(s3, bucket, key, b"x\n")
    result = app.lambda_handler(quarantine(bucket, key, failure={}),
                                lambda_context("MoverFunction"))
    report = json.loads(body(s3, bucket, result["report_key"]))
    assert report["failures"][0]["cases"][0]["value"] == "Unknown: "
    assert report["execution"] is None


def test_planned_key_is_taken_as_it_is(app, s3, bucket):
    key = "incoming/orders/a+b.csv"         # a literal plus: decoding it would give a space
    put(s3, bucket, key, b"x\n")
    result = app.lambda_handler(move(bucket, key, "staging/orders/a+b.csv"), lambda_context("MoverFunction"))
    assert result["target_key"] == "staging/orders/a+b.csv"


# -- reruns and missing objects ---------------------------------------------------------------

def test_rerun_after_crash_between_copy_and_delete(app, s3, bucket):
    key = "incoming/orders/o.csv"
    data = SAMPLE.read_bytes()
    version = put(s3, bucket, key, data)
    event = move(bucket, key, "staging/orders/o.csv", version)
    with fail_deletes(app.s3), pytest.raises(RuntimeError, match="simulated crash"):
        app.lambda_handler(event, lambda_context("MoverFunction"))
    # The crash left both copies: nothing was lost.
    assert exists(s3, bucket, key) and exists(s3, bucket, "staging/orders/o.csv")

    result = app.lambda_handler(event, lambda_context("MoverFunction"))
    assert result["target_key"] == "staging/orders/o.csv"
    assert not exists(s3, bucket, key)
    assert body(s3, bucket, "staging/orders/o.csv") == data


def test_rerun_after_finished_move_is_already_moved(app, s3, plain_bucket):
    key = "incoming/orders/o.csv"
    put(s3, plain_bucket, key, b"x\n")
    event = move(plain_bucket, key, "staging/orders/o.csv")
    assert app.lambda_handler(event, lambda_context("MoverFunction"))["already_moved"] is False
    again = app.lambda_handler(event, lambda_context("MoverFunction"))
    assert again["already_moved"] is True
    assert again["target_key"] == "staging/orders/o.csv"
    assert body(s3, plain_bucket, "staging/orders/o.csv") == b"x\n"


def test_source_gone_target_present_in_versioned_bucket(app, s3, bucket):
    # Source deleted (a delete marker on top) and target present: the move is finished.
    key = "incoming/orders/o.csv"
    put(s3, bucket, "staging/orders/o.csv", b"x\n")
    result = app.lambda_handler(move(bucket, key, "staging/orders/o.csv"), lambda_context("MoverFunction"))
    assert result["already_moved"] is True
    assert result["version_id"] == s3.head_object(Bucket=bucket, Key="staging/orders/o.csv")["VersionId"]


def test_rerun_with_version_id_converges(app, s3, bucket):
    key = "incoming/orders/o.csv"
    version = put(s3, bucket, key, b"x\n")
    event = move(bucket, key, "staging/orders/o.csv", version)
    app.lambda_handler(event, lambda_context("MoverFunction"))
    app.lambda_handler(event, lambda_context("MoverFunction"))
    assert not exists(s3, bucket, key)
    assert body(s3, bucket, "staging/orders/o.csv") == b"x\n"


def test_missing_source_and_target_is_an_error(app, s3, bucket):
    with pytest.raises(FileNotFoundError, match="incoming/orders/nothing.csv"):
        app.lambda_handler(move(bucket, "incoming/orders/nothing.csv", "staging/orders/nothing.csv"),
                           lambda_context("MoverFunction"))
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_missing_source_writes_no_quarantine_report(app, s3, bucket):
    with pytest.raises(FileNotFoundError):
        app.lambda_handler(quarantine(bucket, "incoming/orders/gone.csv", failure={"Error": "X", "Cause": "y"}),
                           lambda_context("MoverFunction"))
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


# -- move_object directly ---------------------------------------------------------------------

def test_copy_that_does_not_verify_keeps_the_source(moves, s3, bucket):
    key, target = "incoming/orders/o.csv", "staging/orders/o.csv"
    put(s3, bucket, key, b"0123456789\n")

    class ShortCopy:
        """A client whose copy writes a truncated object."""

        def __getattr__(self, name):
            return getattr(s3, name)

        def copy(self, source, bucket_, key_, ExtraArgs=None, Config=None):
            s3.put_object(Bucket=bucket_, Key=key_, Body=b"01234")

    with pytest.raises(moves.CopyMismatch):
        moves.move_object(ShortCopy(), version(bucket, key), target)
    assert body(s3, bucket, key) == b"0123456789\n"


def test_multipart_copy(moves, s3, bucket):
    key, target = "incoming/orders/big.csv", "staging/orders/big.csv"
    data = os.urandom(11 * MB)
    put(s3, bucket, key, data)
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    result = moves.move_object(s3, version(bucket, key), target, config=config)
    assert result["already_moved"] is False
    head = s3.head_object(Bucket=bucket, Key=target)
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]   # 5 + 5 + 1 MB parts
    assert hashlib.sha256(body(s3, bucket, target)).digest() == hashlib.sha256(data).digest()
    assert not exists(s3, bucket, key)


def test_default_transfer_copies_small_objects_in_one_part(moves, s3, bucket):
    put(s3, bucket, "incoming/orders/small.csv", b"x" * 1024)
    moves.move_object(s3, version(bucket, "incoming/orders/small.csv"), "staging/orders/small.csv")
    assert "-" not in s3.head_object(Bucket=bucket, Key="staging/orders/small.csv")["ETag"]


# -- HeadObject answered 403 ----------------------------------------------------------------

def _denying_client(operations: list[dict]):
    """An S3 client whose HeadObject answers 403 as S3 does for a missing key when the caller has
    no s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    stub = Stubber(client)
    for params in operations:
        stub.add_client_error("head_object", service_error_code="403", service_message="Forbidden",
                              http_status_code=403, expected_params=params)
    return client, stub


def test_head_denied_is_an_error_naming_list_bucket(moves):
    """A 403 cannot tell a missing key from a denial: the move stops and says what the role needs."""
    source = ObjectVersion(bucket="data", key="incoming/orders/a.csv", version_id="v1")
    client, stub = _denying_client([{"Bucket": "data", "Key": "incoming/orders/a.csv", "VersionId": "v1"}])
    with stub, pytest.raises(moves.HeadDenied, match=r"HeadObject was denied .*the mover's role needs "
                                                     r"s3:ListBucket on the bucket \(prefix incoming/\*\)"):
        moves.move_object(client, source, "staging/orders/a.csv")
    stub.assert_no_pending_responses()


def test_head_denied_on_the_staged_part_is_not_a_missing_file(moves):
    """release_source must not report "does not exist" (and keep going) on a 403."""
    source = ObjectVersion(bucket="data", key="incoming/orders/a.csv")
    client, stub = _denying_client([{"Bucket": "data", "Key": "staging/orders/a.csv"}])
    with stub, pytest.raises(moves.HeadDenied, match=r"prefix staging/\*"):
        moves.release_source(client, source, "staging/orders/a.csv")
    stub.assert_no_pending_responses()


# -- two versions of one key: every step acts on the claimed version ---------------------------
# The rule (moves.py): the claimed version is read and copied by its version id; it leaves
# incoming/'s view only while it is the key's current version (a simple DELETE, conditional on its
# ETag, puts a delete marker over it and S3 keeps it as a noncurrent version); when a newer version
# is current, the claimed one is already noncurrent and nothing is deleted.

def current(s3, bucket: str, key: str) -> str | None:
    """The key's current version id; None when it has none (missing, or a delete marker on top)."""
    from botocore.exceptions import ClientError
    try:
        return s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}, exc.response
        return None


def delete_markers(s3, bucket: str, key: str) -> int:
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return sum(m["Key"] == key for m in listed.get("DeleteMarkers", []))


def copies(s3, bucket: str, key: str) -> dict[str, bytes]:
    """Every version of `key` by version id, with its bytes."""
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return {v["VersionId"]: body(s3, bucket, key, v["VersionId"]) for v in listed if v["Key"] == key}


def test_staging_an_older_version_leaves_the_newer_one_in_incoming(app, s3, bucket):
    """Deleting the key for version 1 would put a delete marker over version 2, hiding the upload
    its own execution is still handling."""
    key = "incoming/readings/day.csv"
    first = put(s3, bucket, key, b"reading_id\n1\n")
    second = put(s3, bucket, key, b"reading_id\n2\n")
    staged_first, staged_second = "staging/readings/day-1.csv", "staging/readings/day-2.csv"
    put(s3, bucket, staged_first, b"reading_id\n1\n")
    put(s3, bucket, staged_second, b"reading_id\n2\n")

    one = app.lambda_handler(move(bucket, key, staged_first, first, staged=staged_first), lambda_context("MoverFunction"))
    assert current(s3, bucket, key) == second and delete_markers(s3, bucket, key) == 0
    assert one["source"]["version_id"] == first and one["target_key"] == staged_first

    two = app.lambda_handler(move(bucket, key, staged_second, second, staged=staged_second), lambda_context("MoverFunction"))
    assert two["already_moved"] is False
    assert current(s3, bucket, key) is None and delete_markers(s3, bucket, key) == 1
    assert copies(s3, bucket, key) == {first: b"reading_id\n1\n", second: b"reading_id\n2\n"}  # both kept


@pytest.mark.parametrize("order", ["upload order", "newer first"])
def test_two_rejected_versions_each_get_their_own_copy_in_error(app, s3, bucket, order):
    """error/<dataset>/<rest> is one key for both: each move adds its own version there, and its
    result names that version (`version_id`), a copy of its own upload version."""
    key, target = "incoming/orders/o.csv", "error/orders/o.csv"
    uploads = {put(s3, bucket, key, b"first\n"): b"first\n"}
    second = put(s3, bucket, key, b"second\n")
    uploads[second] = b"second\n"
    versions = list(uploads) if order == "upload order" else list(reversed(uploads))

    results = {}
    for version_id in versions:
        results[version_id] = app.lambda_handler(move(bucket, key, target, version_id), lambda_context("MoverFunction"))
        # the newer upload stays in incoming/ until its own move
        assert current(s3, bucket, key) == (None if second in results else second)

    assert delete_markers(s3, bucket, key) == 1
    assert copies(s3, bucket, key) == uploads  # every upload is kept as a version
    in_error = copies(s3, bucket, target)
    assert len(in_error) == 2
    for version_id, result in results.items():
        assert result["target_key"] == target
        assert in_error[result["version_id"]] == uploads[version_id]
        head = s3.head_object(Bucket=bucket, Key=target, VersionId=result["version_id"])
        assert head["Metadata"]["source-version-id"] == version_id


def test_quarantine_of_an_older_version_leaves_the_newer_one_in_incoming(app, s3, bucket):
    """A validator timeout on version 1 while version 2 is current: version 1 goes to error/, the
    result and the report say where (the copy's version), version 2 stays for its own execution."""
    key = "incoming/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    second = put(s3, bucket, key, b"second\n")
    result = app.lambda_handler(quarantine(bucket, key, first, failure={"Error": "Sandbox.Timedout"}),
                                lambda_context("MoverFunction"))

    assert current(s3, bucket, key) == second and delete_markers(s3, bucket, key) == 0
    assert result["source"]["version_id"] == first
    assert body(s3, bucket, result["target_key"], result["version_id"]) == b"first\n"
    report = json.loads(body(s3, bucket, result["report_key"]))
    assert (report["version_id"], report["error_key"], report["error_version_id"]) == (
        first, result["target_key"], result["version_id"])


def test_quarantine_of_a_version_under_a_delete_marker(app, s3, bucket):
    """The key was deleted after the upload: its version is still there and is quarantined; no
    second delete marker is added."""
    key = "incoming/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    s3.delete_object(Bucket=bucket, Key=key)
    result = app.lambda_handler(quarantine(bucket, key, first, failure={"Error": "X"}), lambda_context("MoverFunction"))
    assert body(s3, bucket, result["target_key"], result["version_id"]) == b"first\n"
    assert delete_markers(s3, bucket, key) == 1


def test_a_move_rerun_does_not_copy_its_version_twice(app, s3, bucket):
    """A crash between copy and delete, then the retry: one copy of the upload in error/."""
    key, target = "incoming/orders/o.csv", "error/orders/o.csv"
    version = put(s3, bucket, key, b"x\n")
    event = move(bucket, key, target, version)
    with fail_deletes(app.s3), pytest.raises(RuntimeError, match="simulated crash"):
        app.lambda_handler(event, lambda_context("MoverFunction"))
    result = app.lambda_handler(event, lambda_context("MoverFunction"))
    assert list(copies(s3, bucket, target)) == [result["version_id"]]
    assert current(s3, bucket, key) is None


def test_a_version_gone_is_not_taken_for_another_versions_copy(app, s3, bucket):
    """The claimed version was deleted for good while error/ holds another version's copy: the
    move fails rather than name that copy as this version's."""
    key, target = "incoming/orders/o.csv", "error/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    second = put(s3, bucket, key, b"second\n")
    app.lambda_handler(move(bucket, key, target, second), lambda_context("MoverFunction"))
    s3.delete_object(Bucket=bucket, Key=key, VersionId=first)
    with pytest.raises(FileNotFoundError, match=first):
        app.lambda_handler(move(bucket, key, target, first), lambda_context("MoverFunction"))


class NewVersionBeforeDelete:
    """A client on which a new upload of the key lands between the mover's check that its version
    is current and its delete: the race a conditional delete closes."""

    def __init__(self, s3, data: bytes) -> None:
        self.s3, self.data, self.landed = s3, data, None

    def __getattr__(self, name):
        return getattr(self.s3, name)

    def delete_object(self, **kwargs):
        if self.landed is None and "VersionId" not in kwargs:
            put_ = self.s3.put_object(Bucket=kwargs["Bucket"], Key=kwargs["Key"], Body=self.data)
            self.landed = put_.get("VersionId", "unversioned")
        return self.s3.delete_object(**kwargs)


def test_a_version_uploaded_between_check_and_delete_is_not_hidden(moves, s3, bucket):
    key = "incoming/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    client = NewVersionBeforeDelete(s3, b"second, other bytes\n")
    result = moves.move_object(client, ObjectVersion(bucket=bucket, key=key, version_id=first), "error/orders/o.csv")
    assert client.landed and current(s3, bucket, key) == client.landed
    assert delete_markers(s3, bucket, key) == 0
    assert body(s3, bucket, "error/orders/o.csv", result["version_id"]) == b"first\n"


def test_unversioned_bucket_never_deletes_an_overwrite(moves, s3, plain_bucket):
    """Without versioning an overwrite between copy and delete would be lost for good: the delete
    is conditional on the ETag of what was copied."""
    key = "incoming/orders/o.csv"
    put(s3, plain_bucket, key, b"first\n")
    client = NewVersionBeforeDelete(s3, b"second, other bytes\n")
    moves.move_object(client, ObjectVersion(bucket=plain_bucket, key=key), "error/orders/o.csv")
    assert body(s3, plain_bucket, key) == b"second, other bytes\n"
    assert body(s3, plain_bucket, "error/orders/o.csv") == b"first\n"


class AnotherCopyLandsOnTop:
    """A client on which the copy of another upload version of the same key (its own execution's
    move) lands on the target right after this move's copy."""

    def __init__(self, s3, other_version: str, data: bytes) -> None:
        self.s3, self.other_version, self.data = s3, other_version, data

    def __getattr__(self, name):
        return getattr(self.s3, name)

    def copy(self, source, bucket_, key_, ExtraArgs=None, Config=None):
        self.s3.copy(source, bucket_, key_, ExtraArgs=ExtraArgs, Config=Config)
        self.s3.put_object(Bucket=bucket_, Key=key_, Body=self.data,
                           Metadata={"source-version-id": self.other_version})


def test_a_move_names_its_own_copy_when_another_lands_on_top(moves, s3, bucket):
    key, target = "incoming/orders/o.csv", "error/orders/o.csv"
    first = put(s3, bucket, key, b"first\n")
    second = put(s3, bucket, key, b"second\n")
    client = AnotherCopyLandsOnTop(s3, second, b"second\n")
    result = moves.move_object(client, ObjectVersion(bucket=bucket, key=key, version_id=first), target)
    assert result["version_id"] != current(s3, bucket, target)
    head = s3.head_object(Bucket=bucket, Key=target, VersionId=result["version_id"])
    assert head["Metadata"]["source-version-id"] == first
    assert body(s3, bucket, target, result["version_id"]) == b"first\n"
