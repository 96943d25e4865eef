"""Derived names no upload can produce, and that S3 takes (etl_common.layout): reports, rejects and
archived reports stay the pipeline's own whatever an upload is named, and a key near S3's limit of
1,024 bytes still ends with its report and its notification."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import pytest

from etl_common.layout import MAX_KEY_BYTES, Quarantined, Upload, key_bytes
from etl_ops.reprocess import quarantined, reprocess_one

from .conftest import ROOT, exists, single_notification

pytestmark = pytest.mark.workflow
GOOD = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
BAD = ROOT / "samples" / "orders" / "orders-bad.csv"
PARTIAL = ROOT / "samples" / "readings" / "readings-2026-11-23-partial.csv"


def _json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _reprocess(stack, s3, key: str, now: datetime | None = None) -> tuple[dict, dict]:
    """Send one quarantined copy back (etl-local reprocess); what it moved, and the rerun's outcome."""
    upload_key = Quarantined.parse(key).incoming_key
    before = len(stack.executions.get(upload_key, []))
    moved = reprocess_one(s3, stack.bucket, key, now=now)
    assert moved["incoming"] == upload_key
    return moved, stack.outcome(stack.wait(upload_key, count=before + 1)[before])


def test_an_upload_named_like_a_report_cannot_forge_it(stack, s3, tmp_path):
    """`victim.csv.report.json`, uploaded after a bad `victim.csv`, was quarantined at victim's
    report key, replacing the real report; reprocess then archived the forged one."""
    victim = "incoming/orders/derived-victim.csv"
    rejected = stack.run_file(BAD, victim)
    real = _json(s3, stack.bucket, rejected["report_key"])
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**real, "failures": [], "valid": True}))
    impostor = stack.run_file(forged, victim + ".report.json")

    assert (rejected["outcome"], impostor["outcome"]) == ("rejected", "rejected")
    assert impostor["error_key"] == "error/orders/derived-victim.csv.report.json"
    assert impostor["report_key"] not in (rejected["report_key"], rejected["error_key"])
    assert _json(s3, stack.bucket, rejected["report_key"]) == real
    assert _json(s3, stack.bucket, impostor["report_key"])["key"] == victim + ".report.json"
    # both are quarantined uploads; neither report is
    listed = {o["Key"] for o in quarantined(s3, stack.bucket, "orders")}
    assert {rejected["error_key"], impostor["error_key"]} <= listed
    assert not {rejected["report_key"], impostor["report_key"]} & listed

    moved, again = _reprocess(stack, s3, rejected["error_key"])
    assert again["outcome"] == "rejected", again
    assert _json(s3, stack.bucket, moved["report"]) == real  # the real report is archived, not the forged one
    assert exists(s3, stack.bucket, impostor["error_key"]) and exists(s3, stack.bucket, impostor["report_key"])
    for result in (rejected, impostor):
        single_notification(result, "rejected", result["key"])


def test_rejects_of_r_csv_r_csv_gz_and_r_rejects_csv_are_three(stack, s3, tmp_path):
    """Under a dataset with an error threshold (readings), the three wrote one `r.rejects.csv` and
    one report, each replacing the one before."""
    gz = tmp_path / "r.csv.gz"
    gz.write_bytes(gzip.compress(PARTIAL.read_bytes()))
    names = ["r.csv", "r.csv.gz", "r.rejects.csv"]
    files = [(gz if name.endswith(".gz") else PARTIAL, f"incoming/readings/derived-trio/{name}") for name in names]
    results = stack.run_files(files)

    assert [r["outcome"] for r in results] == ["processed_with_rejects"] * 3, results
    assert len({r["rejects_key"] for r in results}) == 3 and len({r["report_key"] for r in results}) == 3
    for (_, key), result in zip(files, results):
        assert result["rejects_key"] == Upload.parse(key).rejects_key
        assert len(s3.get_object(Bucket=stack.bucket, Key=result["rejects_key"])["Body"].read().splitlines()) == 4
        report = _json(s3, stack.bucket, result["report_key"])
        assert (report["key"], report["rejects_key"]) == (key, result["rejects_key"])
        single_notification(result, "processed_with_rejects", key)


def test_a_loose_file_and_one_in_a_folder_named_unknown_are_two(stack, s3):
    """`incoming/x.csv` and `incoming/_unknown/x.csv` both landed at `error/_unknown/x.csv`; the
    way back now takes each to its own key."""
    loose, foldered = "incoming/derived-loose.csv", "incoming/_unknown/derived-loose.csv"
    results = stack.run_files([(BAD, loose), (BAD, foldered)])

    assert [r["outcome"] for r in results] == ["rejected", "rejected"], results
    assert [r["error_key"] for r in results] == ["error/_unknown/derived-loose.csv",
                                                 "error/__unknown/derived-loose.csv"]
    for key, result in zip((loose, foldered), results):
        assert exists(s3, stack.bucket, result["error_key"])
        assert _json(s3, stack.bucket, result["report_key"])["key"] == key
        single_notification(result, "rejected", key)
    moved, again = _reprocess(stack, s3, results[0]["error_key"])
    assert (moved["incoming"], again["outcome"]) == (loose, "rejected")
    assert exists(s3, stack.bucket, results[1]["error_key"])


def test_an_upload_under_history_cannot_replace_an_archived_report(stack, s3):
    """`incoming/orders/history/<name>.<stamp>`, a valid file, had the key of `<name>`'s archived
    report."""
    key = "incoming/orders/derived-archived.csv"
    rejected = stack.run_file(BAD, key)
    archived = _json(s3, stack.bucket, rejected["report_key"])
    now = datetime(2026, 11, 30, 10, 33, 5, tzinfo=timezone.utc)
    before = len(stack.executions.get(key, []))
    moved = reprocess_one(s3, stack.bucket, rejected["error_key"], now=now)
    impostor_key = "incoming/orders/history/derived-archived.csv.20261130T103305Z"
    [impostor] = stack.run_files([(GOOD, impostor_key)])
    again = stack.outcome(stack.wait(key, count=before + 1)[before])

    assert (rejected["outcome"], again["outcome"], impostor["outcome"]) == ("rejected", "rejected", "processed")
    assert moved["report"] != impostor["report_key"]
    assert _json(s3, stack.bucket, moved["report"]) == archived
    assert _json(s3, stack.bucket, impostor["report_key"])["key"] == impostor_key
    single_notification(impostor, "processed", impostor_key)


def test_keys_near_the_s3_limit_end_with_their_report(stack, s3, tmp_path):
    """A report key longer than S3 allows failed the write (the local stack refuses it as S3 does):
    the valid file ended in error/ without a report. Near and at 1,024 bytes, every outcome has its
    report and one notification."""
    def key(dataset: str, size: int, tail: str) -> str:
        head = f"incoming/{dataset}/derived-long-{tail}/" + "dossier-é/" * 40
        return head + "x" * (size - key_bytes(head) - len(".csv")) + ".csv"

    partial = tmp_path / "partial.csv"
    partial.write_bytes(PARTIAL.read_bytes())
    files = [(GOOD, key("orders", 1000, "a")), (GOOD, key("orders", MAX_KEY_BYTES, "b")),
             (BAD, key("orders", MAX_KEY_BYTES, "c")), (partial, key("readings", MAX_KEY_BYTES, "d"))]
    assert [key_bytes(k) for _, k in files] == [1000, 1024, 1024, 1024]
    results = stack.run_files(files)

    assert [r["outcome"] for r in results] == ["processed", "processed", "rejected", "processed_with_rejects"], [
        (r["outcome"], r["error"]) for r in results]
    for (_, upload_key), result in zip(files, results):
        upload = Upload.parse(upload_key)
        assert result["report_key"] in (upload.accepted_report_key, upload.error_report_key, upload.rejects_report_key)
        assert key_bytes(result["report_key"]) <= MAX_KEY_BYTES
        assert _json(s3, stack.bucket, result["report_key"])["key"] == upload_key
        single_notification(result, result["outcome"], upload_key)
    assert results[2]["error_key"] == Upload.parse(files[2][1]).error_key
    assert exists(s3, stack.bucket, results[2]["error_key"])
    assert exists(s3, stack.bucket, results[3]["rejects_key"])
