"""Reprocessing on moto S3: a quarantined file goes back to incoming/, its report to history."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from etl_ops.reprocess import quarantined, reprocess_one

from tests.helpers import moto_bucket

BUCKET = "etl-reprocess"
NOW = datetime(2026, 11, 30, 10, 33, 5, tzinfo=timezone.utc)


@pytest.fixture
def s3() -> Iterator[Any]:
    with moto_bucket(BUCKET) as client:
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_quarantined_lists_files_not_reports_nor_folders(s3: Any) -> None:
    for key in ("error/orders/a.csv", "error/orders/a.csv.report.json", "error/orders/",
                "error/customers/b.csv"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert [o["Key"] for o in quarantined(s3, BUCKET, None)] == ["error/customers/b.csv",
                                                                "error/orders/a.csv"]
    assert [o["Key"] for o in quarantined(s3, BUCKET, "orders")] == ["error/orders/a.csv"]


def test_a_file_goes_back_with_its_version_and_its_report_to_history(s3: Any) -> None:
    key = "error/orders/2026/day 1.csv"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"id\n1\n")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key=key + ".report.json", Body=b"{}")

    moved = reprocess_one(s3, BUCKET, key, now=NOW)

    history = "reports/orders/history/2026/day 1.csv.20261130T103305Z.report.json"
    record = f"reports/orders/history/2026/day 1.csv.reprocess-{version}.report.json"
    assert moved == {"source": key, "incoming": "incoming/orders/2026/day 1.csv", "record": record,
                     "report": history}
    assert keys(s3) == ["incoming/orders/2026/day 1.csv", history, record]
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=record)["Body"].read()) == {
        "reprocessed_from": f"{key}#{version}", "incoming": "incoming/orders/2026/day 1.csv",
        "reprocessed_at": "20261130T103305Z"}
    head = s3.head_object(Bucket=BUCKET, Key="incoming/orders/2026/day 1.csv")
    assert head["Metadata"] == {"reprocessed-from": f"{key}#{version}",
                                "reprocessed-at": "20261130T103305Z"}


def test_a_file_without_a_report(s3: Any) -> None:
    version = s3.put_object(Bucket=BUCKET, Key="error/_unknown/loose.csv", Body=b"x")["VersionId"]
    moved = reprocess_one(s3, BUCKET, "error/_unknown/loose.csv", now=NOW)
    record = f"reports/_unknown/history/loose.csv.reprocess-{version}.report.json"
    assert moved == {"source": "error/_unknown/loose.csv", "incoming": "incoming/_unknown/loose.csv",
                     "record": record}
    assert keys(s3) == ["incoming/_unknown/loose.csv", record]


class Interleaved:
    """The S3 client of a run that reads the quarantined object, then waits while `other` runs
    whole: the two runs of `reprocess` at once that matter, both having seen the same version."""

    def __init__(self, s3: Any, other: Callable[[], dict[str, str]]) -> None:
        self.s3, self.other, self.other_moved = s3, other, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        head = self.s3.head_object(**kwargs)
        if self.other_moved is None:
            self.other_moved = self.other()
        return head


def test_two_runs_at_once_send_one_version_back_once(s3: Any) -> None:
    key = "error/orders/twice.csv"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"id\n1\n")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key=key + ".report.json", Body=b"{}")
    client = Interleaved(s3, lambda: reprocess_one(s3, BUCKET, key, now=NOW))

    late = reprocess_one(client, BUCKET, key, now=NOW)

    record = f"reports/orders/history/twice.csv.reprocess-{version}.report.json"
    assert client.other_moved["incoming"] == "incoming/orders/twice.csv"
    assert late == {"source": key, "already_reprocessed": record}
    incoming = s3.list_object_versions(Bucket=BUCKET, Prefix="incoming/")
    assert len(incoming["Versions"]) == 1 and not incoming.get("DeleteMarkers")
    errors = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    assert len(errors["DeleteMarkers"]) == 2  # the file and its report, deleted once each


def test_a_new_quarantine_of_the_same_file_goes_back_again(s3: Any) -> None:
    """The record outlives the incoming object: the pipeline's re-quarantine of the same bytes is a
    new version and goes back; the version already sent does not."""
    key = "error/orders/again.csv"
    first = s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")["VersionId"]
    reprocess_one(s3, BUCKET, key, now=NOW)
    s3.delete_object(Bucket=BUCKET, Key="incoming/orders/again.csv")  # the pipeline took it
    s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key, "VersionId": first})
    assert reprocess_one(s3, BUCKET, key, now=NOW)["incoming"] == "incoming/orders/again.csv"
