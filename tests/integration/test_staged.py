"""The staged form on moto S3: every valid file's canonical CSV, the error threshold's split of
good and bad rows, what each part holds, and that nothing half-written is ever left."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_common.layout import parse_s3_uri
from etl_common.messages import ObjectVersion, Plan
from etl_validator.plan import plan_object
from etl_validator.storage import Bucket, UploadStream
from tests.helpers import ROOT, moto_bucket

CONTRACTS = ROOT / "contracts"
SAMPLE = ROOT / "samples" / "readings" / "readings-2026-11-23-partial.csv"
BUCKET = "etl-split"
BAD_ROWS = [7, 19, 33]


@pytest.fixture
def s3() -> Iterator[Any]:
    with moto_bucket(BUCKET) as client:
        yield client


def readings_contract(tmp_path: Path, **changes: Any) -> Path:
    raw = yaml.safe_load((CONTRACTS / "readings.yaml").read_text(encoding="utf-8"))
    for name, value in changes.items():
        if name == "dialect":
            raw["dialect"].update(value)
        else:
            raw[name] = value
    (tmp_path / "readings.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp_path


def run(s3: Any, body: bytes, name: str, contracts: Path = CONTRACTS) -> tuple[Plan, dict[str, Any]]:
    key = f"incoming/readings/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    plan = plan_object(s3, ObjectVersion(bucket=BUCKET, key=key), contracts)
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=plan.report_key)["Body"].read())
    return plan, report


def job_contract(s3: Any, plan: Plan) -> dict[str, Any]:
    """The contract's job part the validator wrote beside the staged file."""
    return json.loads(read(s3, parse_s3_uri(plan.job_arguments["--contract_uri"])[1]))


def read(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def staged(s3: Any, plan: Plan) -> bytes:
    return read(s3, plan.move.staged_key)


def staged_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_split_stages_good_rows_and_rejects_bad_ones(s3):
    plan, report = run(s3, SAMPLE.read_bytes(), "day.csv")

    assert plan.outcome == "processed_with_rejects" and plan.valid
    assert plan.move.staged_key == plan.move.target_key
    assert plan.move.staged_key.startswith("staging/readings/day-") and plan.move.staged_key.endswith(".csv")
    assert (plan.rows, plan.failed_rows, plan.rejected_rows) == (40, 3, 3)
    assert plan.rejects_key == "error/_rejects/readings/day.csv.rejects.csv"
    assert plan.report_key == "error/_rejects/readings/day.csv.rejects.csv.report.json"
    assert plan.reason == "wrong_type" and plan.message.startswith("wrong_type")
    assert job_contract(s3, plan)["staged"] == {"date_format": "yyyy-MM-dd",
                                            "timestamp_format": "yyyy-MM-dd HH:mm:ss.SSSSSS",
                                            "null_value": "\u0000"}
    assert plan.job_arguments["--source_path"] == f"s3://{BUCKET}/{plan.move.staged_key}"
    staged = staged_rows(read(s3, plan.move.staged_key))
    assert staged[0][0] == "reading_id" and len(staged) == 1 + 37
    assert [int(r[0]) for r in staged[1:]] == [i for i in range(1, 41) if i not in BAD_ROWS]
    rejects = read(s3, "error/_rejects/readings/day.csv.rejects.csv").decode().splitlines()
    assert [line.split(",")[0] for line in rejects] == ["reading_id", "7", "19", "32"]
    assert report["rows_read"] == 40 and report["rows_staged"] == 37 and report["failed_rows"] == 3
    assert report["rejects_key"] == "error/_rejects/readings/day.csv.rejects.csv"
    assert report["error_threshold"] == {"max_rows": 10, "max_fraction": 0.1}
    assert report["staged_key"] == plan.move.staged_key
    assert read(s3, "incoming/readings/day.csv") == SAMPLE.read_bytes()  # the mover deletes it


def test_nulls_stay_null_and_empty_strings_stay_empty(s3, tmp_path):
    contracts = readings_contract(tmp_path, dialect={"null_values": ["", "NA"]})
    body = (b'reading_id,sensor_id,read_at,temperature_c,humidity_pct,note\n'
            b'1,S-0001,2026-11-23T01:00:00,1.50,NA,""\n'
            b'2,S-0002,2026-11-23T02:00:00,2.50,,NA\n'
            b'3,bad,2026-11-23T03:00:00,3.50,NA,x\n') + b"".join(
        f"{i},S-0001,2026-11-23T04:00:00,1.00,50,\n".encode() for i in range(4, 21))
    plan, _ = run(s3, body, "nulls.csv", contracts)

    assert plan.outcome == "processed_with_rejects", plan
    lines = staged(s3, plan).decode().splitlines()
    assert lines[1] == '"1","S-0001","2026-11-23 01:00:00.000000","1.50",,""'
    assert lines[2] == '"2","S-0002","2026-11-23 02:00:00.000000","2.50",,'
    assert read(s3, "error/_rejects/readings/nulls.csv.rejects.csv").decode().splitlines()[1] == \
        "3,bad,2026-11-23T03:00:00,3.50,,x"


def test_rejects_keep_the_contract_dialect_and_encoding(s3, tmp_path):
    contracts = readings_contract(tmp_path, dialect={"delimiter": ";", "quote_char": "'",
                                                     "encoding": "latin-1", "null_values": ["NULL"]})
    rows = ["reading_id;sensor_id;read_at;temperature_c;humidity_pct;note"]
    rows += [f"{i};S-0001;2026-11-23T01:00:00;1.00;NULL;'Zürich; Nord'" for i in range(1, 20)]
    rows += ["20;S-0001;2026-11-23T01:00:00;99.00;NULL;'été'"]
    plan, _ = run(s3, ("\n".join(rows) + "\n").encode("latin-1"), "latin.csv", contracts)

    assert plan.outcome == "processed_with_rejects", plan
    assert read(s3, "error/_rejects/readings/latin.csv.rejects.csv").decode("latin-1").splitlines() == [
        rows[0], "20;S-0001;2026-11-23T01:00:00;99.00;NULL;été"]
    rows_staged = staged_rows(staged(s3, plan))
    assert rows_staged[1][5] == "Zürich; Nord" and len(rows_staged) == 20


def test_gzip_upload_is_staged_gzip_compressed(s3):
    plan, _ = run(s3, gzip.compress(SAMPLE.read_bytes()), "day.csv.gz")

    assert plan.outcome == "processed_with_rejects", plan
    assert plan.move.staged_key.startswith("staging/readings/day-") and plan.move.staged_key.endswith(".csv.gz")
    assert len(staged_rows(gzip.decompress(staged(s3, plan)))) == 38
    assert plan.rejects_key == "error/_rejects/readings/day.csv.gz.rejects.csv"
    assert len(read(s3, plan.rejects_key).decode().splitlines()) == 4


def test_over_the_threshold_the_whole_file_is_rejected_and_the_report_says_why(s3):
    lines = SAMPLE.read_text().splitlines()
    body = "\n".join(lines[:1] + [line.replace(",S-", ",X-") for line in lines[1:6]] + lines[6:]) + "\n"
    plan, report = run(s3, body.encode(), "many.csv")

    assert plan.outcome == "rejected" and plan.reason == "too_many_bad_rows"
    assert report["failures"][0]["cases"][0]["value"] == (
        "8 of 40 rows failed; the contract's error_threshold allows 10 rows and 0.1 of the rows")
    assert plan.move.staged_key is None and plan.rejects_key is None
    assert plan.move.target_key == "error/readings/many.csv" and plan.job_arguments is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [
        "error/_reports/readings/many.csv.report.json", "incoming/readings/many.csv"]


def test_a_file_level_problem_rejects_the_whole_file_whatever_the_threshold(s3):
    body = SAMPLE.read_text().replace("5,S-1001,", "5,S-1001,extra,", 1)
    plan, report = run(s3, body.encode(), "ragged.csv")

    assert plan.outcome == "rejected" and plan.reason == "ragged_rows"
    assert "too_many_bad_rows" not in {f["reason"] for f in report["failures"]}


def test_a_file_with_no_good_row_is_rejected(s3, tmp_path):
    contracts = readings_contract(tmp_path, error_threshold={"max_rows": 5})
    body = "reading_id,sensor_id,read_at,temperature_c,humidity_pct,note\n1,bad,2026-11-23T01:00:00,1.00,,\n"
    plan, _ = run(s3, body.encode(), "none.csv", contracts)

    assert plan.outcome == "rejected" and plan.reason == "too_many_bad_rows"


def test_a_failed_write_leaves_no_partial_object(s3):
    upload = UploadStream(s3, BUCKET, "staging/readings/partial.csv")
    upload.write(b"x" * (40 << 20))  # past the multipart threshold: parts are on their way
    upload.abort(OSError("the source broke"))

    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="staging/")
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_an_upload_error_reaches_the_writer(s3):
    upload = UploadStream(s3, "no-such-bucket", "staging/readings/x.csv")
    with pytest.raises(Exception, match="NoSuchBucket"):
        for _ in range(64):
            upload.write(b"x" * (1 << 20))
        upload.finish()


def test_the_parts_are_written_only_when_kept_and_never_half(s3):
    bucket = Bucket(s3, BUCKET)
    with pytest.raises(OSError, match="the source broke"):
        with bucket.pending("staging/r/x.csv", "error/r/x.rejects.csv") as pending:
            pending.rejects.write(b"bad row\n")
            pending.staged.write(b"x" * (40 << 20))
            pending.keep(staged=True, rejects=True)
            raise OSError("the source broke")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")

    with bucket.pending("staging/r/x.csv", "error/r/x.rejects.csv") as pending:
        pending.staged.write(b"x" * (40 << 20))   # a rejected file: written as read, then dropped
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")

    with bucket.pending("staging/r/x.csv", "error/r/x.rejects.csv") as pending:
        pending.rejects.write(b"bad row\n")
        pending.staged.write(b"good row\n")
        pending.keep(staged=True, rejects=True)
    assert read(s3, "staging/r/x.csv") == b"good row\n"
    assert read(s3, "error/r/x.rejects.csv") == b"bad row\n"
    assert s3.head_object(Bucket=BUCKET, Key="error/r/x.rejects.csv")["ContentType"] == "text/csv"
