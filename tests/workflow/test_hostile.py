"""Hostile uploads through the whole state machine: each is rejected with its reason, or processed.

A rejection is the pipeline working: the execution SUCCEEDS, the file and its report land in
error/ and one "rejected" notification names the reason. Rejections stop before Spark; the
accepted cases (a BOM, quoted newlines, gzip) run the Glue job on the staged file.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pyarrow.parquet as pq
import pytest

from etl_validator import plan

from .conftest import ROOT, exists, single_notification

pytestmark = pytest.mark.workflow
FIXTURES = ROOT / "tests" / "fixtures" / "hostile"

CASES = [  # fixture, dataset, reason (None: processed), contract fields changed for the case
    pytest.param("empty.csv", "orders", "empty_file", {}, id="empty_file"),
    pytest.param("header-only.csv", "orders", "too_few_rows", {}, id="too_few_rows"),
    pytest.param("binary.csv", "orders", "not_text", {}, id="not_text-binary"),
    pytest.param("workbook.xlsx", "orders", "not_text", {}, id="not_text-xlsx"),
    pytest.param("table.parquet", "orders", "not_text", {}, id="not_text-parquet"),
    pytest.param("latin1.csv", "orders", "bad_encoding", {}, id="bad_encoding-latin1"),
    pytest.param("utf16.csv", "orders", "bad_encoding", {}, id="bad_encoding-utf16"),
    pytest.param("utf16le-nobom.csv", "orders", "bad_encoding", {}, id="bad_encoding-utf16-no-bom"),
    pytest.param("semicolon.csv", "orders", "wrong_delimiter", {}, id="wrong_delimiter"),
    pytest.param("ragged.csv", "orders", "ragged_rows", {}, id="ragged_rows"),
    pytest.param("duplicate-columns.csv", "orders", "duplicate_columns", {}, id="duplicate_columns"),
    pytest.param("missing-column.csv", "orders", "missing_columns", {}, id="missing_columns"),
    pytest.param("extra-column.csv", "orders", "unexpected_columns", {}, id="unexpected_columns"),
    pytest.param("unclosed-quote.csv", "orders", "unclosed_quote", {}, id="unclosed_quote"),
    pytest.param("backslash-escapes.csv", "orders", "undeclared_escape", {}, id="undeclared_escape"),
    pytest.param("field-too-large.csv", "orders", "field_too_large", {}, id="field_too_large"),
    pytest.param("too-large.csv", "orders", "file_too_large", {"max_bytes": 100}, id="file_too_large"),
    pytest.param("truncated.csv.gz", "orders", "bad_gzip", {}, id="bad_gzip"),
    pytest.param("gzipped-no-suffix.csv", "orders", "gzip_without_gz_suffix", {}, id="gzip_without_gz_suffix"),
    pytest.param("unknown-dataset.csv", "invoices", "unknown_dataset", {}, id="unknown_dataset"),
    pytest.param("bom.csv", "orders", None, {}, id="utf8_bom-processed"),
    pytest.param("quoted-newlines.csv", "customers", None, {}, id="quoted_newlines-processed"),
    pytest.param("orders.csv.gz", "orders", None, {}, id="gzip-processed"),
]
ROWS = {"bom.csv": 6, "quoted-newlines.csv": 4, "orders.csv.gz": 6}


@pytest.mark.parametrize(("name", "dataset", "reason", "contract_changes"), CASES)
def test_hostile_upload(stack, s3, monkeypatch, name, dataset, reason, contract_changes):
    if contract_changes:
        # The shipped limits are far above any fixture; the local stack runs the validator in
        # this process, so the case can lower them for its own run.
        find = plan.find_contract
        monkeypatch.setattr(plan, "find_contract",
                            lambda folder, ds: dataclasses.replace(find(folder, ds), **contract_changes))
    key = f"incoming/{dataset}/{name}"
    result = stack.run_file(FIXTURES / name, key)

    assert result["execution_status"] == "SUCCEEDED", result
    assert not exists(s3, stack.bucket, key)
    if reason is None:
        assert result["outcome"] == "processed", result
        assert exists(s3, stack.bucket, result["staging_key"])
        assert result["rows"] == ROWS[name]
        written = sum(pq.read_metadata(io.BytesIO(s3.get_object(Bucket=stack.bucket, Key=k)["Body"].read()))
                      .num_rows for k in result["parquet_keys"])
        assert written == ROWS[name]   # Spark split the records (and gunzipped) as the validator did
        single_notification(result, "processed", key)
        return
    assert result["outcome"] == "rejected", result
    assert exists(s3, stack.bucket, f"error/{dataset}/{name}")
    assert result["report_key"] == f"error/_reports/{dataset}/{name}.report.json"
    report = json.loads(s3.get_object(Bucket=stack.bucket, Key=result["report_key"])["Body"].read())
    assert report["failures"][0]["reason"] == reason
    note = single_notification(result, "rejected", key)
    assert note["message"]["reason"] == reason and reason in note["message"]["summary"]
