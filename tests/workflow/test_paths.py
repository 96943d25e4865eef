"""One test per path through the state machine, each from an upload to its notification."""

from __future__ import annotations

import gzip
import io
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import ROOT, exists, keys, single_notification

pytestmark = pytest.mark.workflow
ORDERS = ROOT / "samples" / "orders"
READINGS = ROOT / "samples" / "readings"


def test_valid_file_becomes_typed_parquet_in_the_catalog(stack, s3):
    key = "incoming/orders/orders-2026-11-20.csv"
    result = stack.run_file(ORDERS / "orders-2026-11-20.csv", key)

    assert result["outcome"] == "processed", result
    assert result["states"][-3:] == ["BuildProcessedMessage", "NotifyProcessed", "Processed"]
    assert result["rows"] == 6
    assert not exists(s3, stack.bucket, key)
    assert result["staging_key"].startswith("staging/orders/orders-2026-11-20-")
    assert exists(s3, stack.bucket, result["staging_key"])
    table = pa.concat_tables(
        pq.read_table(io.BytesIO(s3.get_object(Bucket=stack.bucket, Key=k)["Body"].read()))
        for k in result["parquet_keys"])
    assert table.num_rows == 6
    assert table.schema.field("order_id").type == pa.int64()
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    assert all("/order_date=" in k for k in result["parquet_keys"])
    # No directory marker under transformed/ (S3A's `<dir>/`, EMRFS's `<dir>_$folder$`): the local
    # Glue runner syncs a directory the job left empty back as its connector's marker.
    assert not [k for k in keys(s3, stack.bucket, "transformed/") if k.endswith("/") or "$folder$" in k]

    glue = stack.client("glue")
    database = stack.outputs["GlueDatabase"]
    parquet = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    types = {c["Name"]: c["Type"] for c in parquet["StorageDescriptor"]["Columns"]}
    assert types["order_id"] == "bigint" and types["amount"] == "decimal(12,2)"
    assert [p["Name"] for p in parquet["PartitionKeys"]] == ["order_date"]
    assert _crawled(glue, database, "raw_orders")["StorageDescriptor"]["Columns"]
    note = single_notification(result, "processed", key)
    assert note["message"]["rows"] == 6


def _crawled(glue, database: str, table: str, timeout: float = 30) -> dict:
    """The crawl runs beside the conversion, not before it: the raw table appears soon after."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return glue.get_table(DatabaseName=database, Name=table)["Table"]
        except glue.exceptions.EntityNotFoundException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_invalid_file_goes_to_error_with_its_report(stack, s3):
    key = "incoming/orders/orders-bad.csv"
    result = stack.run_file(ORDERS / "orders-bad.csv", key)

    assert result["outcome"] == "rejected", result
    assert result["execution_status"] == "SUCCEEDED"
    assert result["error_key"] == "error/orders/orders-bad.csv"
    assert not exists(s3, stack.bucket, key)
    assert not keys(s3, stack.bucket, "staging/orders/orders-bad")
    report = json.loads(s3.get_object(Bucket=stack.bucket, Key=result["report_key"])["Body"].read())
    assert result["report_key"] == "error/_reports/orders/orders-bad.csv.report.json"
    reasons = {(f["reason"], f["column"]) for f in report["failures"]}
    assert ("wrong_type", "customer_id") in reasons and ("duplicate_value", "order_id") in reasons
    assert report["failed_rows"] == 4
    note = single_notification(result, "rejected", key)
    assert note["message"]["report_uri"] == f"s3://{stack.bucket}/{result['report_key']}"


def _parquet(s3, bucket: str, parquet_keys: list[str]) -> pa.Table:
    return pa.concat_tables(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
                            for k in parquet_keys)


def test_bad_rows_within_the_threshold_are_rejected_and_the_rest_processed(stack, s3):
    key = "incoming/readings/readings 2026-11-23 partial.csv"
    result = stack.run_file(READINGS / "readings-2026-11-23-partial.csv", key)

    assert result["outcome"] == "processed_with_rejects", result
    assert result["states"][-3:] == ["BuildProcessedMessage", "NotifyProcessed", "Processed"]
    assert (result["rows"], result["rejected_rows"]) == (40, 3)
    assert not exists(s3, stack.bucket, key)
    assert result["staging_key"].startswith("staging/readings/readings_2026-11-23_partial-")
    assert result["rejects_key"] == "error/_rejects/readings/readings 2026-11-23 partial.csv.rejects.csv"
    rejects = s3.get_object(Bucket=stack.bucket, Key=result["rejects_key"])["Body"].read().decode()
    assert rejects.splitlines() == [
        "reading_id,sensor_id,read_at,temperature_c,humidity_pct,note",
        '7,S-1003,2026-11-23T07:49:00,"21,5",90,',
        "19,S-12,2026-11-23T19:13:00,-0.98,76,",
        "32,S-1001,2026-11-23T09:51:00,13.99,64,",
    ]
    table = _parquet(s3, stack.bucket, result["parquet_keys"])
    assert table.num_rows == 37
    assert sorted(table.column("reading_id").to_pylist()) == [i for i in range(1, 41) if i not in (7, 19, 33)]
    rows = {r["reading_id"]: r for r in table.to_pylist()}
    assert rows[9]["humidity_pct"] is None and rows[12]["note"] == "door open, fan on"
    assert table.schema.field("temperature_c").type == pa.decimal128(5, 2)

    report = json.loads(s3.get_object(Bucket=stack.bucket, Key=result["report_key"])["Body"].read())
    assert result["report_key"] == result["rejects_key"] + ".report.json"
    assert (report["verdict"], report["rows_staged"], report["failed_rows"]) == ("accepted_with_rejects", 37, 3)
    assert {f["reason"] for f in report["failures"]} == {"wrong_type", "check_failed", "duplicate_value"}
    note = single_notification(result, "processed_with_rejects", key)
    assert note["subject"] == "ETL processed_with_rejects: readings"
    assert note["message"]["rejects_key"] == result["rejects_key"]
    assert note["message"]["report_uri"] == f"s3://{stack.bucket}/{result['report_key']}"
    assert "wrong_type in temperature_c (1)" in note["message"]["summary"]


def test_a_gzip_upload_within_the_threshold_is_staged_compressed(stack, s3, tmp_path):
    sample = tmp_path / "readings-partial.csv.gz"
    sample.write_bytes(gzip.compress((READINGS / "readings-2026-11-23-partial.csv").read_bytes()))
    key = "incoming/readings/readings-partial.csv.gz"
    result = stack.run_file(sample, key)

    assert result["outcome"] == "processed_with_rejects", result
    assert result["staging_key"].startswith("staging/readings/readings-partial-")
    assert result["staging_key"].endswith(".csv.gz")
    assert result["rejects_key"] == "error/_rejects/readings/readings-partial.csv.gz.rejects.csv"
    assert _parquet(s3, stack.bucket, result["parquet_keys"]).num_rows == 37
    single_notification(result, "processed_with_rejects", key)


def test_bad_rows_over_the_threshold_reject_the_whole_file(stack, s3, tmp_path):
    sample = tmp_path / "readings-too-many.csv"
    lines = (READINGS / "readings-2026-11-23-partial.csv").read_text().splitlines()
    sample.write_text("\n".join(lines[:1] + [line.replace(",S-", ",X-") for line in lines[1:6]] + lines[6:]) + "\n")
    key = "incoming/readings/readings-too-many.csv"
    result = stack.run_file(sample, key)

    assert result["outcome"] == "rejected", result
    assert result["reason"] == "too_many_bad_rows"
    assert exists(s3, stack.bucket, "error/readings/readings-too-many.csv")
    assert not keys(s3, stack.bucket, "staging/readings/readings-too-many")
    note = single_notification(result, "rejected", key)
    assert "8 of 40 rows failed" in note["message"]["summary"]


def test_unknown_dataset_is_rejected_with_a_reason(stack, s3):
    key = "incoming/invoices/orders-2026-11-20.csv"
    result = stack.run_file(ORDERS / "orders-2026-11-20.csv", key)

    assert result["outcome"] == "rejected", result
    assert result["reason"] == "unknown_dataset"
    assert exists(s3, stack.bucket, "error/invoices/orders-2026-11-20.csv")
    note = single_notification(result, "rejected", key)
    assert "no contract for dataset 'invoices'" in note["message"]["summary"]


def test_a_crawl_that_cannot_start_fails_no_file(stack, s3, tmp_path):
    """The crawl is off the critical path: a batch whose crawl cannot start still converts its
    files, and each notification says what became of the crawl."""
    glue = stack.client("glue")
    database = stack.outputs["GlueDatabase"]
    try:  # the folder needs a crawl (again)
        glue.delete_table(DatabaseName=database, Name="raw_customers")
    except glue.exceptions.EntityNotFoundException:
        pass
    stack.faults.add("glue", "StartCrawler", "CrawlerRunningException")
    sample = tmp_path / "customers-busy.csv"
    sample.write_bytes((ROOT / "samples" / "customers" / "customers-2026-11.csv").read_bytes())
    key = "incoming/customers/customers-busy.csv"
    result = stack.run_file(sample, key)

    assert result["outcome"] == "processed", result
    note = single_notification(result, "processed", key)
    assert note["message"]["crawl"] == "not started: Glue.CrawlerRunningException"
    assert result["parquet_keys"]


def test_failed_glue_job_notifies_and_keeps_the_staged_file(stack, s3, tmp_path):
    sample = tmp_path / "orders-jobfail.csv"
    sample.write_bytes((ORDERS / "orders-2026-11-20.csv").read_bytes())
    stack.faults.add("glue-runtime", stack.outputs["CsvToParquetJobName"], "GlueJobFailed")
    result = stack.run_file(sample, "incoming/orders/orders-jobfail.csv")

    assert result["outcome"] == "failed", result
    assert result["execution_status"] == "FAILED"
    assert "HandToBatch" in result["states"] and "NotifyFailure" in result["states"]
    assert result["staging_key"].startswith("staging/orders/orders-jobfail-")
    assert exists(s3, stack.bucket, result["staging_key"])
    assert not keys(s3, stack.bucket, "error/orders/orders-jobfail")
    assert result["parquet_keys"] == []
    note = single_notification(result, "failed", "incoming/orders/orders-jobfail.csv")
    assert note["message"]["error"]["Error"] == "BatchJobFailed"
    assert "injected fault" in note["message"]["error"]["Cause"]


def test_key_with_spaces_and_unicode(stack, s3):
    key = "incoming/orders/Q4 ventes été + remises.csv"
    result = stack.run_file(ORDERS / "orders-2026-11-20.csv", key)

    assert result["outcome"] == "processed", result
    assert result["staging_key"].startswith("staging/orders/Q4_ventes_") and result["staging_key"].isascii()
    assert exists(s3, stack.bucket, result["staging_key"])
    assert result["parquet_keys"] and all("Q4_ventes_" in k for k in result["parquet_keys"])
    single_notification(result, "processed", key)


def test_folder_marker_is_ignored(stack, s3):
    key = "incoming/orders/"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=b"")
    [arn] = stack.wait(key)
    result = stack.outcome(arn)

    assert result["outcome"] == "ignored" and result["states"][-1] == "Ignored"
    assert result["notifications"] == []
    assert exists(s3, stack.bucket, key)
    assert not keys(s3, stack.bucket, "error/orders/.report")


def test_data_under_a_folder_key_gets_an_outcome(stack, s3, tmp_path):
    """371 bytes of CSV at `incoming/orders/payload/` used to be ignored and stay in incoming/
    forever; only an empty folder marker may be ignored."""
    key = "incoming/orders/payload/"
    result = stack.run_file(ORDERS / "orders-2026-11-20.csv", key)

    assert (result["outcome"], result["reason"]) == ("rejected", "folder_key"), result
    single_notification(result, "rejected", key)
    assert not exists(s3, stack.bucket, key)
    assert exists(s3, stack.bucket, result["error_key"])


def test_a_long_odd_dataset_name_still_gets_its_notification(stack, tmp_path):
    """SNS refuses a Subject of 100 characters or more, or with control characters: a folder name
    an upload chose still gets a notification with a valid subject and its whole name."""
    dataset = "Ventes été " + "x" * 150
    key = f"incoming/{dataset}/orders.csv"
    result = stack.run_file(ORDERS / "orders-2026-11-20.csv", key)

    assert result["outcome"] == "rejected" and result["reason"] == "unknown_dataset", result
    note = single_notification(result, "rejected", key)
    assert len(note["subject"]) < 100 and note["subject"].isascii() and note["subject"].startswith("ETL rejected: ")
    assert note["message"]["dataset"] == dataset
