"""Two quick uploads of one key: the claim is per object version, and so is every step after it.

Each version ends in exactly one place (staged, or its own version of the one `error/` key, or
converted), with one notification naming it, and neither execution hides the other's upload: the
mover takes a version out of `incoming/`'s view only while it is the key's current version.

The Parquet of a key is its latest conversion's: the source id is per key (`Upload.source_id`),
so a second version of a key replaces the first's Parquet files, as a corrected re-upload should;
the first's `processed` notification reports its own conversion, which the second then replaced.
"""

from __future__ import annotations

import io
import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_common.layout import Upload
from etl_common.messages import ObjectVersion
from etl_local.calls import RECORDER, acting_as
from etl_ops.reprocess import reprocess_one

from tests.helpers import load_module

from .conftest import ROOT

pytestmark = pytest.mark.workflow
ORDERS = ROOT / "samples" / "orders"
GOOD = (ORDERS / "orders-2026-11-20.csv").read_bytes()
BAD = (ORDERS / "orders-bad.csv").read_bytes()
# A second valid version: other order ids, and no 2026-11-22 partition (the first's file there goes).
GOOD_AGAIN = (b"order_id,customer_id,order_date,status,amount,currency,email\n"
              b"3001,17,2026-11-20,PAID,10.00,EUR,ana@example.com\n"
              b"3002,23,2026-11-21,NEW,20.00,EUR,\n")
BAD_AGAIN = BAD.replace(b"2003,17,", b"2103,17,")


def _current(s3, bucket: str, key: str) -> str | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    except s3.exceptions.ClientError:
        return None


def _versions(s3, bucket: str, key: str) -> dict[str, bytes]:
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return {v["VersionId"]: s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read()
            for v in listed if v["Key"] == key}


class FirstMovesFirst:
    """Runs in place of the stack's Lambda invoker for one key's two versions: version 2's
    validation waits until version 1's mover has returned, then records the key's current version
    in incoming/, which must still be version 2. With `fail_first`, version 1's validator times out
    (a `Sandbox.Timedout` fault, as test_reliability injects it)."""

    def __init__(self, stack, s3, key: str, fail_first: bool = False) -> None:
        self.stack, self.s3, self.key, self.fail_first = stack, s3, key, fail_first
        self.original = stack._invoke
        self.uploaded, self.first_moved = threading.Event(), threading.Event()
        self.versions: list[str] = []
        self.current_after_first_move: list[str | None] = []

    def __call__(self, function, event):
        body = json.loads(event) if isinstance(event, (str, bytes)) else event
        body = body if isinstance(body, dict) else {}
        validated = body.get("detail", {}).get("object", {})
        moved = body.get("move", {}).get("source") or body.get("quarantine") or {}
        if validated.get("key") == self.key:  # this key's validation (events carry the key as delivered)
            self.uploaded.wait(60)
            if validated.get("version-id") == self.versions[0]:
                if self.fail_first:
                    self.stack.faults.add("lambda-runtime", "ValidatorFunction", "Sandbox.Timedout",
                                          message="Task timed out after 900.00 seconds")
                return self.original(function, event)
            assert self.first_moved.wait(120), "version 1 was never moved"
            self.current_after_first_move.append(_current(self.s3, self.stack.bucket, self.key))
        result = self.original(function, event)
        if self.versions and moved.get("version_id") == self.versions[0]:
            self.first_moved.set()
        return result


def _upload_two(stack, s3, key: str, first: bytes, second: bytes, sequenced: FirstMovesFirst,
                monkeypatch) -> tuple[str, str, dict[str, dict]]:
    """Upload two versions of `key` one right after the other; each version's outcome."""
    monkeypatch.setattr(stack, "_invoke", sequenced)
    before = len(stack.executions.get(key, []))
    v1 = s3.put_object(Bucket=stack.bucket, Key=key, Body=first)["VersionId"]
    v2 = s3.put_object(Bucket=stack.bucket, Key=key, Body=second)["VersionId"]
    sequenced.versions += [v1, v2]
    sequenced.uploaded.set()
    arns = stack.wait(key, count=before + 2, timeout=600)[before:]
    results = {r["version_id"]: r for r in (stack.outcome(arn) for arn in arns)}
    assert set(results) == {v1, v2}, results
    for version, result in results.items():  # one notification each, naming its own version
        [note] = result["notifications"]
        assert note["attributes"]["key"] == key and note["message"]["version_id"] == version
    # Version 1's move did not hide version 2 behind a delete marker.
    assert sequenced.current_after_first_move == [v2]
    # Both uploads are kept (noncurrent versions) under the one delete marker of the last move.
    assert _versions(s3, stack.bucket, key) == {v1: first, v2: second}
    assert _current(s3, stack.bucket, key) is None
    markers = s3.list_object_versions(Bucket=stack.bucket, Prefix=key).get("DeleteMarkers", [])
    assert len([m for m in markers if m["Key"] == key]) == 1
    return v1, v2, results


def _output(stack, result: dict) -> dict:
    described = stack.client("stepfunctions").describe_execution(executionArn=result["execution_arn"])
    return json.loads(described["output"] or "{}")


def _order_ids(s3, bucket: str, parquet_keys: list[str]) -> list[int]:
    table = pa.concat_tables(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
                             for k in parquet_keys)
    return sorted(table.column("order_id").to_pylist())


def test_two_valid_versions_are_each_staged_and_processed(stack, s3, monkeypatch):
    key = "incoming/orders/versions-valid.csv"
    v1, v2, results = _upload_two(stack, s3, key, GOOD, GOOD_AGAIN, FirstMovesFirst(stack, s3, key), monkeypatch)

    assert {r["outcome"] for r in results.values()} == {"processed"}, results
    staged = {v: r["staging_key"] for v, r in results.items()}
    assert len(set(staged.values())) == 2  # each version its own staged form
    assert results[v1]["rows"] == 6 and results[v2]["rows"] == 2
    for result in results.values():
        assert result["notifications"][0]["message"]["converted_rows"] == result["rows"]
    # One source id for the key: version 2, handed to a batch after version 1, replaced its
    # Parquet whole (its 2026-11-22 file too), never a mix of both.
    assert results[v1]["parquet_keys"] == results[v2]["parquet_keys"]
    assert _order_ids(s3, stack.bucket, results[v2]["parquet_keys"]) == [3001, 3002]
    assert not [k for k in results[v2]["parquet_keys"] if "order_date=2026-11-22" in k]


def test_two_rejected_versions_each_have_their_own_copy_and_report(stack, s3, monkeypatch):
    key = "incoming/orders/versions-bad.csv"
    v1, v2, results = _upload_two(stack, s3, key, BAD, BAD_AGAIN, FirstMovesFirst(stack, s3, key), monkeypatch)

    assert {r["outcome"] for r in results.values()} == {"rejected"}, results
    [error_key] = {r["error_key"] for r in results.values()}
    uploads = {v1: BAD, v2: BAD_AGAIN}
    for version, result in results.items():
        copy = _output(stack, result)["moved"]["version_id"]  # MoveToError's result
        assert result["notifications"][0]["message"]["error_version_id"] == copy  # subscribers find it
        got = s3.get_object(Bucket=stack.bucket, Key=error_key, VersionId=copy)
        assert got["Body"].read() == uploads[version]
        assert got["Metadata"]["source-version-id"] == version
    assert len(_versions(s3, stack.bucket, error_key)) == 2
    # The report key is one per key too: each version's report is its own version of it.
    [report_key] = {r["report_key"] for r in results.values()}
    reports = [json.loads(b) for b in _versions(s3, stack.bucket, report_key).values()]
    assert sorted(r["version_id"] for r in reports) == sorted([v1, v2])

    # `reprocess` sends both back, the earlier version first: each is rejected again, on its own.
    before = len(stack.executions[key])
    moved = reprocess_one(s3, stack.bucket, error_key)
    assert [e["version_id"] for e in moved.get("earlier", [])] and "record" in moved
    again = [stack.outcome(a) for a in stack.wait(key, count=before + 2, timeout=600)[before:]]
    assert [r["outcome"] for r in again] == ["rejected", "rejected"], again
    assert all(len(r["notifications"]) == 1 for r in again)


def test_a_validator_timeout_on_the_first_version_quarantines_that_version(stack, s3, monkeypatch):
    """Version 1's validator times out while version 2 is current: the quarantine moves version 1
    (by its version id), leaves version 2 in incoming/ for its own execution, and the notification
    and the report say where version 1 is."""
    key = "incoming/orders/versions-timeout.csv"
    sequenced = FirstMovesFirst(stack, s3, key, fail_first=True)
    v1, v2, results = _upload_two(stack, s3, key, GOOD, GOOD_AGAIN, sequenced, monkeypatch)

    assert (results[v1]["outcome"], results[v2]["outcome"]) == ("failed", "processed"), results
    note = results[v1]["notifications"][0]["message"]
    assert "Sandbox.Timedout" in json.dumps(note["error"])
    report = json.loads(s3.get_object(Bucket=stack.bucket, Key=results[v1]["report_key"])["Body"].read())
    assert (report["version_id"], report["error_key"]) == (v1, note["error_key"])
    assert note["error_version_id"] == report["error_version_id"]
    copy = s3.get_object(Bucket=stack.bucket, Key=note["error_key"], VersionId=report["error_version_id"])
    assert copy["Body"].read() == GOOD and copy["Metadata"]["source-version-id"] == v1
    assert _order_ids(s3, stack.bucket, results[v2]["parquet_keys"]) == [3001, 3002]


def test_the_mover_may_find_its_own_copy_among_the_versions_in_error(stack, s3):
    """When another upload's copy lands on the error/ key right after this move's copy, the mover
    lists that key's versions to name its own: the template grants it (s3:ListBucketVersions and
    s3:GetObjectVersion, error/* only), as the recorded calls show. (A rerun of version 1's move,
    after the pipeline rejected both versions.)"""
    moves = load_module(ROOT / "functions" / "mover" / "moves.py", "moves_own_copy_check")
    key = "incoming/orders/versions-own-copy.csv"
    target = Upload.parse(key).error_key
    before = len(stack.executions.get(key, []))
    first = s3.put_object(Bucket=stack.bucket, Key=key, Body=BAD)["VersionId"]
    second = s3.put_object(Bucket=stack.bucket, Key=key, Body=BAD_AGAIN)["VersionId"]
    stack.wait(key, count=before + 2, timeout=600)  # the pipeline rejects both first
    mover = stack.session.client("s3", endpoint_url=stack.endpoint)  # recorded as the role it acts as

    class AnotherCopyLandsOnTop:
        def __getattr__(self, name):
            return getattr(mover, name)

        def copy(self, *args, **kwargs):
            mover.copy(*args, **kwargs)
            s3.put_object(Bucket=stack.bucket, Key=target, Body=BAD_AGAIN, Metadata={"source-version-id": second})

    mark = RECORDER.mark()
    with acting_as(stack.lambdas.functions[stack.resolve.ref("MoverFunction")].role):
        result = moves.move_object(AnotherCopyLandsOnTop(), ObjectVersion(bucket=stack.bucket, key=key,
                                                                          version_id=first), target)
    own = s3.get_object(Bucket=stack.bucket, Key=target, VersionId=result["version_id"])
    assert own["Body"].read() == BAD and own["Metadata"]["source-version-id"] == first
    assert _current(s3, stack.bucket, key) is None  # version 1 was not current: nothing deleted
    markers = s3.list_object_versions(Bucket=stack.bucket, Prefix=key).get("DeleteMarkers", [])
    assert len([m for m in markers if m["Key"] == key]) == 1
    assert "ListObjectVersions" in {c.operation for c in RECORDER.since(mark)}
    assert stack.permission_problems(mark) == []
