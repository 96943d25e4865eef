"""Reprocessing on moto S3: a quarantined file goes back to incoming/, its report to history."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from etl_ops.reprocess import quarantined, reprocess_one

from etl_common.layout import Quarantined
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
    for key in ("error/orders/a.csv", "error/_reports/orders/a.csv.report.json", "error/orders/",
                "error/_rejects/orders/a.csv.rejects.csv", "error/customers/b.csv", "error/_unknown/c.csv",
                "error/__unknown/d.csv", "error/__x/e.csv",
                # an upload named like a report is a quarantined file like any other
                "error/orders/a.csv.report.json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert [o["Key"] for o in quarantined(s3, BUCKET, None)] == [
        "error/__unknown/d.csv", "error/__x/e.csv", "error/_unknown/c.csv", "error/customers/b.csv",
        "error/orders/a.csv", "error/orders/a.csv.report.json"]
    assert [o["Key"] for o in quarantined(s3, BUCKET, "orders")] == ["error/orders/a.csv",
                                                                    "error/orders/a.csv.report.json"]
    assert [o["Key"] for o in quarantined(s3, BUCKET, "_x")] == ["error/__x/e.csv"]
    assert [o["Key"] for o in quarantined(s3, BUCKET, "_unknown")] == ["error/__unknown/d.csv",
                                                                      "error/_unknown/c.csv"]


def test_a_file_goes_back_with_its_version_and_its_report_to_history(s3: Any) -> None:
    key = "error/orders/2026/day 1.csv"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"id\n1\n")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="error/_reports/orders/2026/day 1.csv.report.json", Body=b"{}")

    moved = reprocess_one(s3, BUCKET, key, now=NOW)

    history = "reports/_history/orders/2026/day 1.csv/20261130T103305Z.report.json"
    record = f"reports/_history/orders/2026/day 1.csv/reprocess-{version}.report.json"
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
    record = f"reports/_history/_unknown/loose.csv/reprocess-{version}.report.json"
    assert moved == {"source": "error/_unknown/loose.csv", "incoming": "incoming/loose.csv", "record": record}
    assert keys(s3) == ["incoming/loose.csv", record]


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
    s3.put_object(Bucket=BUCKET, Key="error/_reports/orders/twice.csv.report.json", Body=b"{}")
    client = Interleaved(s3, lambda: reprocess_one(s3, BUCKET, key, now=NOW))

    late = reprocess_one(client, BUCKET, key, now=NOW)

    record = f"reports/_history/orders/twice.csv/reprocess-{version}.report.json"
    assert client.other_moved["incoming"] == "incoming/orders/twice.csv"
    assert late == {"source": key, "already_reprocessed": record}
    incoming = s3.list_object_versions(Bucket=BUCKET, Prefix="incoming/")
    assert len(incoming["Versions"]) == 1 and not incoming.get("DeleteMarkers")
    for deleted in (key, "error/_reports/orders/twice.csv.report.json"):  # the file and its report, once each
        assert len(s3.list_object_versions(Bucket=BUCKET, Prefix=deleted)["DeleteMarkers"]) == 1


def test_a_new_quarantine_of_the_same_file_goes_back_again(s3: Any) -> None:
    """The record outlives the incoming object: the pipeline's re-quarantine of the same bytes is a
    new version and goes back; the version already sent does not."""
    key = "error/orders/again.csv"
    first = s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")["VersionId"]
    reprocess_one(s3, BUCKET, key, now=NOW)
    s3.delete_object(Bucket=BUCKET, Key="incoming/orders/again.csv")  # the pipeline took it
    s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key, "VersionId": first})
    assert reprocess_one(s3, BUCKET, key, now=NOW)["incoming"] == "incoming/orders/again.csv"


# -- a key quarantined more than once: every quarantined upload version goes back once, in the
# order they were quarantined; none is hidden for good by deleting the key first.

def quarantine(s3: Any, key: str, data: bytes) -> str:
    return s3.put_object(Bucket=BUCKET, Key=key, Body=data)["VersionId"]


def sent_back(s3: Any, incoming: str) -> list[tuple[bytes, str]]:
    """The versions of the incoming key, oldest first: bytes and `reprocessed-from`."""
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=incoming).get("Versions", [])
    out = []
    for version in reversed([v for v in listed if v["Key"] == incoming]):
        got = s3.get_object(Bucket=BUCKET, Key=incoming, VersionId=version["VersionId"])
        out.append((got["Body"].read(), got["Metadata"]["reprocessed-from"]))
    return out


def test_two_quarantined_versions_of_one_key_both_go_back_in_order(s3: Any) -> None:
    key = "error/orders/o.csv"
    item = Quarantined.parse(key)
    first, second = quarantine(s3, key, b"first\n"), quarantine(s3, key, b"second\n")

    moved = reprocess_one(s3, BUCKET, key, now=NOW)

    assert sent_back(s3, item.incoming_key) == [(b"first\n", f"{key}#{first}"), (b"second\n", f"{key}#{second}")]
    assert moved["record"] == item.history_report_key(f"reprocess-{second}")
    assert moved["earlier"] == [{"version_id": first, "record": item.history_report_key(f"reprocess-{first}")}]
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=item.history_report_key(f"reprocess-{first}"))["Body"].read())
    assert record["reprocessed_from"] == f"{key}#{first}"
    errors = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    assert len([m for m in errors.get("DeleteMarkers", []) if m["Key"] == key]) == 1
    assert {v["VersionId"] for v in errors["Versions"] if v["Key"] == key} == {first, second}  # kept


def test_a_run_that_stopped_after_an_earlier_version_sends_each_once(s3: Any) -> None:
    key = "error/orders/o.csv"
    item = Quarantined.parse(key)
    first, second = quarantine(s3, key, b"first\n"), quarantine(s3, key, b"second\n")

    class StopAfterTheEarlierVersion:
        """A run that dies once it has sent the earlier version back, before recording the next."""

        def __init__(self) -> None:
            self.records = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if self.records == 1:
                raise RuntimeError("run stopped")
            self.records += 1
            return s3.put_object(**kwargs)

    with pytest.raises(RuntimeError, match="run stopped"):
        reprocess_one(StopAfterTheEarlierVersion(), BUCKET, key, now=NOW)
    moved = reprocess_one(s3, BUCKET, key, now=NOW)

    assert moved["earlier"] == [{"version_id": first, "already_reprocessed": item.history_report_key(f"reprocess-{first}")}]
    assert moved["record"] == item.history_report_key(f"reprocess-{second}")
    assert [data for data, _ in sent_back(s3, item.incoming_key)] == [b"first\n", b"second\n"]


def test_versions_cleared_before_are_not_sent_again(s3: Any) -> None:
    """Versions under the key's newest delete marker were sent back (or expired) before: a new
    quarantine of the key sends only itself."""
    key = "error/orders/o.csv"
    item = Quarantined.parse(key)
    quarantine(s3, key, b"old\n")
    s3.delete_object(Bucket=BUCKET, Key=key)  # an earlier run, or the ExpireErrors lifecycle rule
    newer = quarantine(s3, key, b"new\n")

    moved = reprocess_one(s3, BUCKET, key, now=NOW)

    assert "earlier" not in moved
    assert sent_back(s3, item.incoming_key) == [(b"new\n", f"{key}#{newer}")]
