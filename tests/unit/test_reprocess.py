"""Reprocessing on moto S3: a quarantined file goes back to incoming/, its report to history."""

from __future__ import annotations

from collections.abc import Iterator
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
    assert moved == {"source": key, "incoming": "incoming/orders/2026/day 1.csv", "report": history}
    assert keys(s3) == ["incoming/orders/2026/day 1.csv", history]
    head = s3.head_object(Bucket=BUCKET, Key="incoming/orders/2026/day 1.csv")
    assert head["Metadata"] == {"reprocessed-from": f"{key}#{version}",
                                "reprocessed-at": "20261130T103305Z"}


def test_a_file_without_a_report(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="error/_unknown/loose.csv", Body=b"x")
    moved = reprocess_one(s3, BUCKET, "error/_unknown/loose.csv", now=NOW)
    assert moved == {"source": "error/_unknown/loose.csv", "incoming": "incoming/_unknown/loose.csv"}
    assert keys(s3) == ["incoming/_unknown/loose.csv"]
