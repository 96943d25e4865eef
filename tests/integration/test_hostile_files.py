"""Hostile files through plan_object on moto S3: each one's reason code, its place, the report.

One fixture per case in tests/fixtures/hostile/; the workflow suite runs the same files through
the whole state machine (tests/workflow/test_hostile.py).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_common.messages import ObjectVersion, Plan
from etl_common.vocabulary import Outcome, Reason
from etl_validator.plan import plan_object
from tests.helpers import ROOT, moto_bucket

FIXTURES = ROOT / "tests" / "fixtures" / "hostile"
CONTRACTS = ROOT / "contracts"
BUCKET = "etl-hostile"


@pytest.fixture
def s3() -> Iterator[Any]:
    with moto_bucket(BUCKET) as client:
        yield client


def contracts_with(tmp_path: Path, **changes: Any) -> Path:
    """A contracts folder holding the shipped orders contract with some fields changed."""
    raw = yaml.safe_load((CONTRACTS / "orders.yaml").read_text(encoding="utf-8"))
    for name, value in changes.items():
        if name in ("encoding", "escape_char"):
            raw["dialect"][name] = value
        else:
            raw[name] = value
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return tmp_path


def validate(s3: Any, body: bytes | str, dataset: str = "orders", contracts: Path = CONTRACTS,
             name: str | None = None) -> tuple[Plan, dict[str, Any]]:
    """(plan, report) for a fixture name or raw bytes uploaded under incoming/<dataset>/."""
    data = (FIXTURES / body).read_bytes() if isinstance(body, str) else body
    key = f"incoming/{dataset}/{name or body}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    plan = plan_object(s3, ObjectVersion(bucket=BUCKET, key=key), contracts)
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=plan.report_key)["Body"].read())
    return plan, report


# -- rejections --------------------------------------------------------------------------------

REJECTED = [  # fixture, dataset, reason, words in the first case's value
    ("empty.csv", "orders", "empty_file", "the object is empty"),
    ("header-only.csv", "orders", "too_few_rows", "0 rows"),
    ("binary.csv", "orders", "not_text", "NUL bytes"),
    ("workbook.xlsx", "orders", "not_text", "an Excel workbook (.xlsx, a ZIP archive)"),
    ("table.parquet", "orders", "not_text", "a Parquet file"),
    ("latin1.csv", "orders", "bad_encoding", "not valid utf-8: b'\\xeb' at byte offset 98 (line 2)"),
    ("utf16.csv", "orders", "bad_encoding", "UTF-16 (little-endian, with a byte order mark)"),
    ("utf16le-nobom.csv", "orders", "bad_encoding", "UTF-16 (little-endian, no byte order mark)"),
    ("semicolon.csv", "orders", "wrong_delimiter", "that ';' would split"),
    ("ragged.csv", "orders", "ragged_rows", "expected 7 fields, got 6"),
    ("duplicate-columns.csv", "orders", "duplicate_columns", "order_id"),
    ("missing-column.csv", "orders", "missing_columns", "email"),
    ("extra-column.csv", "orders", "unexpected_columns", "note"),
    ("unclosed-quote.csv", "orders", "unclosed_quote", "never closed"),
    ("backslash-escapes.csv", "orders", "undeclared_escape", "add escape_char: '\\' to it"),
    ("field-too-large.csv", "orders", "field_too_large", "5012 bytes, over the limit of 4096"),
    ("truncated.csv.gz", "orders", "bad_gzip", "corrupt or truncated"),
    ("unknown-dataset.csv", "invoices", "unknown_dataset", "no contract for dataset 'invoices'"),
]


@pytest.mark.parametrize(("name", "dataset", "reason", "words"), REJECTED,
                         ids=[case[0] for case in REJECTED])
def test_hostile_file_is_rejected_with_its_reason(s3, name, dataset, reason, words):
    plan, report = validate(s3, name, dataset)

    assert (plan.valid, plan.ignored, plan.outcome, plan.reason) == (False, False, Outcome.REJECTED, reason)
    assert isinstance(plan.reason, Reason)
    assert plan.move.target_key == f"error/{dataset}/{name}"
    assert plan.report_key == f"error/_reports/{dataset}/{name}.report.json"
    assert reason in plan.message
    first = report["failures"][0]
    assert first["reason"] == reason and report["valid"] is False
    assert words in str(first["cases"][0]["value"])


def test_ragged_rows_are_placed_on_their_physical_lines(s3):
    # Line 3-4 is one record (a quoted newline): the ragged records start on lines 5 and 7.
    plan, report = validate(s3, "ragged.csv")
    failure = report["failures"][0]
    assert (failure["check"], failure["count"]) == ("row.fields", 2)
    assert [(c["line"], c["value"]) for c in failure["cases"]] == [
        (5, "expected 7 fields, got 6: 1003,17,2026-11-21,SHIPPED,980.25,USD"),
        (7, "expected 7 fields, got 8: 1005,8,2026-11-21,PAID,45.10,EUR,dan.jr@example.com,extra")]
    assert plan.rows == report["rows_read"] == 5


def test_rows_after_a_ragged_record_are_the_file_s_records(s3):
    """The reader skips the ragged record 2 (lines 3-4): its rows 2 and 3 are records 3 and 4."""
    plan, report = validate(s3, "ragged-then-bad-values.csv")
    cases = {(f["column"], f["reason"]): [(c["row"], c.get("line"), c["value"]) for c in f["cases"]]
             for f in report["failures"]}
    assert cases[(None, "ragged_rows")] == [(None, 3, 'expected 7 fields, got 4: 1002,23,"2026-11-20\n",NEW')]
    assert cases[("customer_id", "wrong_type")] == [(3, 5, "abc")]
    assert cases[("status", "check_failed")] == [(4, 6, "LOST")]
    assert plan.rows == report["rows_read"] == 4 and report["failed_rows"] == 2


def test_unclosed_quote_is_placed_where_it_opens(s3):
    _, report = validate(s3, "unclosed-quote.csv")
    assert report["failures"][0]["cases"][0]["line"] == 3
    assert report["checksum"] is not None   # read to the end


def test_open_quote_in_a_middle_column_comes_before_the_ragged_record_it_makes(s3):
    text = big_orders(1) + '2,17,"2026-11-20,PAID,1.00,EUR,\n3,1\n'
    plan, report = validate(s3, text.encode(), name="open-quote-mid.csv")
    assert plan.reason == "unclosed_quote"
    assert [(f["reason"], f["cases"][0]["line"]) for f in report["failures"]] == [
        ("unclosed_quote", 3), ("ragged_rows", 3)]
    assert "\x00" not in report["failures"][1]["cases"][0]["value"]


def test_undeclared_escape_rejects_the_file_not_its_rows(s3, tmp_path):
    """Within an error threshold too: every value of the file was written with that convention."""
    contracts = contracts_with(tmp_path, error_threshold={"max_rows": 10})
    plan, report = validate(s3, "backslash-escapes.csv", contracts=contracts)
    assert (plan.outcome, plan.reason) == (Outcome.REJECTED, "undeclared_escape")
    [case] = report["failures"][0]["cases"]
    assert case["value"] == ('values show \\": the file escapes quotes with a backslash, which the dialect '
                             "does not declare; add escape_char: '\\' to it "
                             '(first: email, row 1: \\ana\\"@example.com")')
    assert report["failed_rows"] == 0


def test_field_too_large_names_row_and_column(s3):
    _, report = validate(s3, "field-too-large.csv")
    [failure] = report["failures"]
    assert (failure["column"], failure["check"], failure["cases"][0]["row"]) == (
        "email", "field.max_bytes", 2)


def test_file_too_large_is_refused_from_its_size_before_reading(s3, tmp_path):
    contracts = contracts_with(tmp_path, max_bytes=100)
    plan, report = validate(s3, "too-large.csv", contracts=contracts)
    assert plan.reason == "file_too_large"
    assert "371 bytes, over the contract's max_bytes of 100" in plan.message
    assert (report["checksum"], report["rows_read"], report["encoding"]) == (None, 0, None)


def test_header_problems_stop_before_the_rows(s3):
    _, report = validate(s3, "duplicate-columns.csv")
    assert (report["rows_read"], report["checksum"]) == (0, None)


# -- files that are fine ------------------------------------------------------------------------

def test_offset_timestamps_are_staged_as_their_utc_instant(s3, tmp_path):
    (tmp_path / "events.yaml").write_text(
        'dataset: events\ncolumns:\n  - {name: id, type: integer}\n'
        '  - {name: at, type: timestamp, format: "%Y-%m-%dT%H:%M:%S%z"}\n', encoding="utf-8")
    data = b"id,at\n1,2026-11-20T10:30:00+01:00\n2,2026-11-20T10:30:00-03:30\n3,2026-11-20T10:30:00Z\n"
    plan, _ = validate(s3, data, dataset="events", contracts=tmp_path, name="events.csv")
    assert plan.valid is True, plan.message
    staged = s3.get_object(Bucket=BUCKET, Key=plan.move.staged_key)["Body"].read().decode()
    assert [line.split(",")[1] for line in staged.splitlines()[1:]] == [
        '"2026-11-20 09:30:00.000000"', '"2026-11-20 14:00:00.000000"', '"2026-11-20 10:30:00.000000"']


def test_backslash_escapes_under_a_contract_that_declares_them(s3, tmp_path):
    """What the file means is what is checked and staged: `"say\\"hi\\"@..."` is `say"hi"@...`."""
    plan, _ = validate(s3, "backslash-escapes.csv", contracts=contracts_with(tmp_path, escape_char="\\"))
    assert plan.valid is True, plan.message
    staged = s3.get_object(Bucket=BUCKET, Key=plan.move.staged_key)["Body"].read().decode()
    assert [row["email"] for row in csv.DictReader(io.StringIO(staged))] == [
        '"ana"@example.com', "", 'say"hi"@example.org', "carla\\b@example.co.uk", "dan.jr@example.com"]


def test_rejects_are_written_with_the_contract_s_escape(s3, tmp_path):
    """The rejects CSV reads back, under the same contract, as the values that were uploaded."""
    contracts = contracts_with(tmp_path, escape_char="\\", error_threshold={"max_rows": 1})
    text = (FIXTURES / "backslash-escapes.csv").read_text().replace("SHIPPED", "LOST")
    plan, _ = validate(s3, text.encode(), contracts=contracts, name="escapes-with-a-bad-row.csv")
    assert plan.outcome == Outcome.PROCESSED_WITH_REJECTS, plan.message
    rejects = s3.get_object(Bucket=BUCKET, Key=plan.rejects_key)["Body"].read().decode()
    assert rejects.splitlines()[1] == '1003,17,2026-11-21,LOST,980.25,USD,say\\"hi\\"@example.org'
    plan, _ = validate(s3, rejects.replace("LOST", "SHIPPED").encode(), contracts=contracts, name="fixed.csv")
    staged = s3.get_object(Bucket=BUCKET, Key=plan.move.staged_key)["Body"].read().decode()
    assert [row["email"] for row in csv.DictReader(io.StringIO(staged))] == ['say"hi"@example.org']


def test_utf8_bom_is_stripped(s3):
    plan, report = validate(s3, "bom.csv")
    assert plan.valid is True, plan.message
    assert (report["rows"], report["encoding"], report["compression"]) == (6, "utf-8", None)


def test_quoted_newlines_count_records_not_lines(s3):
    plan, report = validate(s3, "quoted-newlines.csv", "customers")
    assert plan.valid is True, plan.message
    assert report["rows"] == report["rows_read"] == 4


def test_gzip_is_read_through(s3):
    data = (FIXTURES / "orders.csv.gz").read_bytes()
    plan, report = validate(s3, "orders.csv.gz")
    assert plan.valid is True, plan.message
    assert (report["rows"], report["compression"]) == (6, "gzip")
    assert report["checksum"] == hashlib.sha256(data).hexdigest()   # of the bytes stored


def test_gzip_is_found_by_its_magic_not_its_name(s3):
    """Found and read, but rejected: Glue would read the staged copy as plain text."""
    plan, report = validate(s3, "orders.csv.gz", name="orders-compressed.csv")
    assert (plan.valid, plan.reason) == (False, "gzip_without_gz_suffix")
    assert report["compression"] == "gzip"


def test_latin1_file_under_a_latin1_contract(s3, tmp_path):
    plan, report = validate(s3, "latin1.csv", contracts=contracts_with(tmp_path, encoding="latin-1"))
    assert plan.valid is True, plan.message
    assert report["encoding"] == "iso8859-1"
    staged = s3.get_object(Bucket=BUCKET, Key=plan.move.staged_key)["Body"].read()
    assert staged.decode("utf-8")  # the staged form is UTF-8 whatever the upload's encoding


@pytest.mark.parametrize(("name", "encoding"), [("utf16.csv", "utf-16"),
                                                ("utf16le-nobom.csv", "utf-16-le")])
def test_utf16_file_under_a_utf16_contract(s3, tmp_path, name, encoding):
    plan, report = validate(s3, name, contracts=contracts_with(tmp_path, encoding=encoding))
    assert plan.valid is True, plan.message
    assert (report["rows"], report["encoding"]) == (6, encoding)


# -- the report ---------------------------------------------------------------------------------

def test_report_fields_of_a_valid_file(s3):
    data = (FIXTURES / "bom.csv").read_bytes()
    _, report = validate(s3, "bom.csv")
    assert report["checksum"] == hashlib.sha256(data).hexdigest()
    assert report["size"] == len(data)
    assert report["rows"] == report["rows_read"] == 6 and report["failed_rows"] == 0
    assert set(report["timings"]) == {"head_seconds", "read_validate_seconds", "report_seconds"}
    assert all(isinstance(v, float) and v >= 0 for v in report["timings"].values())


# -- past the first block: what the fixtures are too small to show ------------------------------

def big_orders(rows: int) -> str:
    header = (FIXTURES / "header-only.csv").read_text()
    return header + "".join(f"{i},17,2026-11-20,PAID,1.00,EUR,\n" for i in range(1, rows + 1))


def test_ragged_rows_deep_in_a_large_gzip_file(s3):
    text = big_orders(200_000) + "9,9\n" + big_orders(10).split("\n", 1)[1]
    plan, report = validate(s3, gzip.compress(text.encode()), name="deep.csv.gz")
    failure = report["failures"][0]
    assert (failure["reason"], failure["cases"][0]["line"]) == ("ragged_rows", 200_002)
    assert plan.rows == 200_011


def test_field_far_over_the_limit_stops_the_reading_and_is_located(s3):
    # pyarrow lets a record straddle one block boundary, not two: 5 MiB is past two 2 MiB blocks.
    text = big_orders(3) + "4,17,2026-11-20,PAID,1.00,EUR,\"" + "x" * (5 << 20) + "\"\n5,1,x\n"
    plan, report = validate(s3, text.encode(), name="huge-field.csv")
    failure = report["failures"][0]
    assert (failure["reason"], failure["check"], failure["cases"][0]["line"]) == (
        "field_too_large", "row.size", 5)
    assert "or a quote opened there is never closed" in failure["cases"][0]["value"]
    assert plan.rows == 3


def test_quote_open_far_from_the_end_is_reported_where_it_opens(s3):
    text = big_orders(3) + "4,17,2026-11-20,PAID,1.00,EUR,\"x\n" + big_orders(150_000).split("\n", 1)[1]
    plan, report = validate(s3, text.encode(), name="open-quote.csv")
    assert plan.reason == "field_too_large"
    assert report["failures"][0]["cases"][0]["line"] == 5
