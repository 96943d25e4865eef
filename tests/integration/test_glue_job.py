"""The Glue job end to end in local Spark, one staged file a batch: a staged CSV on disk -> Parquet
on disk + moto's catalog (batches of several files: test_batch_job.py).

Every staged file is written by the validator's own code (validate + StagedWriter) from a raw
upload, so these tests read exactly the format the job is given in production and cannot drift
from it. The job reinterprets nothing: the Parquet values must equal the validator's typed values.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_validator.contract import Contract, parse_contract
from pyspark.sql import SparkSession

from tests.integration.job_harness import (
    DATABASE, convert_staged, dataset_rows, job, output_root, parquet_files, read_rows, run_batch,
    run_staged, stage, stage_typed, staged_path, typed_rows)

SOURCE_A = "orders-2026-11-20-ab12cd34ef56"
SOURCE_B = "orders-2026-11-20-0123456789ab"
UTC = dt.timezone.utc


# order_date and signup_ts use the default formats, which the contract code fills in.
ORDERS = parse_contract({
    "dataset": "orders", "version": 1,
    "dialect": {"null_values": ["", "NULL"]},
    "columns": [
        {"name": "order_id", "type": "integer"},
        {"name": "order_date", "type": "date", "nullable": False},
        {"name": "ship_date", "type": "date", "format": "%d/%m/%Y"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "signup_ts", "type": "timestamp"},
        {"name": "vip", "type": "boolean"},
        {"name": "credit_limit", "type": "float"},
        {"name": "email", "type": "string"},
    ],
    "parquet": {"partition_by": ["order_date"], "compression": "snappy"},
}, "test")

ORDERS_CSV = """\
order_id,order_date,ship_date,amount,signup_ts,vip,credit_limit,email
1001,2026-11-20,21/11/2026,129.90,2025-01-03T09:15:00,true,1500.5,ana@example.com
1002,2026-11-20,NULL,15.00,2024-06-11T18:02:41,NO,,
1003,2026-11-21,1/12/2026, 980.25 ,2023-02-28T07:00:00,Y,NULL,""
"""

CUSTOMERS_RAW: dict[str, Any] = {
    "dataset": "customers", "version": 2,
    "dialect": {"delimiter": ";"},
    "columns": [
        {"name": "customer_id", "type": "integer"},
        {"name": "name", "type": "string"},
        {"name": "country", "type": "string", "nullable": False},
        {"name": "vip", "type": "boolean"},
    ],
    "parquet": {"partition_by": ["country"], "compression": "zstd"},
}
CUSTOMERS = parse_contract(CUSTOMERS_RAW, "test")

# Columns in another order than the contract's, as the validator allows.
CUSTOMERS_CSV = (
    'country;customer_id;vip;name\n'
    'DE;23;f;"Müller; Erika"\n'
    'GB;42;1;"Carla ""CJ"" O\'Neil\nFlat 2; Leeds"\n'
    'DE;8;False;Dan\n'
)


def run_job(tmp_path: Path, raw: str | bytes, *, source_id: str = SOURCE_A,
            contract: Contract = ORDERS, compress: bool = False) -> dict[str, Any]:
    """Validate and stage a raw upload under tmp_path, then run the job on the staged file."""
    staged = stage(contract, raw, staged_path(tmp_path, contract, source_id, compress=compress),
                   compress=compress)
    return run_staged(tmp_path, staged.path, source_id=source_id, contract=contract)


def test_orders_are_written_typed_partitioned_and_cataloged(
        spark: SparkSession, glue: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staged = stage(ORDERS, ORDERS_CSV, staged_path(tmp_path, ORDERS, SOURCE_A))
    summary, results = run_batch(tmp_path, [(staged.path, SOURCE_A, ORDERS)])

    root = output_root(tmp_path, "orders")
    files = [f"order_date=2026-11-20/{SOURCE_A}-00000.snappy.parquet",
             f"order_date=2026-11-21/{SOURCE_A}-00000.snappy.parquet"]
    assert parquet_files(root) == files
    assert results["files"] == [{"source_id": SOURCE_A, "status": "SUCCEEDED", "rows": 3,
                                 "partitions": ["order_date=2026-11-20", "order_date=2026-11-21"],
                                 "files": files, "error": None}]
    assert summary == {"batch_id": "batch-1", "database": DATABASE, "files": 1, "succeeded": 1,
                       "failed": 0, "rows": 3, "results_uri": "s3://etl-data/batches/batch-1/results.json"}
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary
    assert sorted(p.name for p in root.glob("order_date=*")) == ["order_date=2026-11-20",
                                                                 "order_date=2026-11-21"]
    assert not list(root.glob("_tmp/*"))

    schema = pq.read_schema(root / files[0])
    assert [(f.name, f.type) for f in schema] == [
        ("order_id", pa.int64()), ("ship_date", pa.date32()), ("amount", pa.decimal128(12, 2)),
        ("signup_ts", pa.timestamp("us", tz="UTC")), ("vip", pa.bool_()),
        ("credit_limit", pa.float64()), ("email", pa.string())]
    assert pq.ParquetFile(root / files[0]).metadata.row_group(0).column(0).compression == "SNAPPY"

    assert read_rows(root) == [
        {"order_id": 1001, "ship_date": dt.date(2026, 11, 21), "amount": Decimal("129.90"),
         "signup_ts": dt.datetime(2025, 1, 3, 9, 15, tzinfo=UTC), "vip": True,
         "credit_limit": 1500.5, "email": "ana@example.com"},
        # The validator read NULL and an unquoted empty field as nulls, a quoted "" as a string,
        # trimmed values before casting and took 1/12/2026 without zero padding: its staged
        # file carries those values, which the job writes as they are.
        {"order_id": 1002, "ship_date": None, "amount": Decimal("15.00"),
         "signup_ts": dt.datetime(2024, 6, 11, 18, 2, 41, tzinfo=UTC), "vip": False,
         "credit_limit": None, "email": None},
        {"order_id": 1003, "ship_date": dt.date(2026, 12, 1), "amount": Decimal("980.25"),
         "signup_ts": dt.datetime(2023, 2, 28, 7, 0, tzinfo=UTC), "vip": True,
         "credit_limit": None, "email": ""},
    ]
    assert dataset_rows(root, ORDERS) == typed_rows(staged.typed)

    table = glue.get_table(DatabaseName=DATABASE, Name="orders")["Table"]
    descriptor = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        ("order_id", "bigint"), ("ship_date", "date"), ("amount", "decimal(12,2)"),
        ("signup_ts", "timestamp"), ("vip", "boolean"), ("credit_limit", "double"),
        ("email", "string")]
    assert descriptor["Location"] == "s3://bucket/transformed/orders/"
    assert descriptor["InputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
    assert table["PartitionKeys"] == [{"Name": "order_date", "Type": "date"}]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["classification"] == "parquet"
    assert table["Parameters"]["compression"] == "snappy"
    assert table["Parameters"]["contract_version"] == "1"

    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="orders")["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["2026-11-20"], "s3://bucket/transformed/orders/order_date=2026-11-20/"),
        (["2026-11-21"], "s3://bucket/transformed/orders/order_date=2026-11-21/")]


def test_rerun_replaces_the_sources_files(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    first = run_job(tmp_path, ORDERS_CSV)
    second = run_job(tmp_path, ORDERS_CSV)

    root = output_root(tmp_path, "orders")
    assert second == first
    assert parquet_files(root) == first["files"]
    assert len(read_rows(root)) == 3
    assert len(glue.get_partitions(DatabaseName=DATABASE, TableName="orders")["Partitions"]) == 2

    # The same source without its 2026-11-21 rows: that partition loses this source's file.
    third = run_job(tmp_path, "\n".join(ORDERS_CSV.splitlines()[:3]) + "\n")
    assert third["files"] == [f"order_date=2026-11-20/{SOURCE_A}-00000.snappy.parquet"]
    assert parquet_files(root) == third["files"]
    assert [row["order_id"] for row in read_rows(root)] == [1001, 1002]


def test_sources_sharing_a_partition_keep_their_own_files(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    run_job(tmp_path, ORDERS_CSV, source_id=SOURCE_A)
    other = ("order_id,order_date,ship_date,amount,signup_ts,vip,credit_limit,email\n"
             "2001,2026-11-20,22/11/2026,1.00,2026-01-01T00:00:00,n,0,b@example.com\n")
    run_job(tmp_path, other, source_id=SOURCE_B)
    run_job(tmp_path, ORDERS_CSV, source_id=SOURCE_A)

    root = output_root(tmp_path, "orders")
    assert parquet_files(root) == [
        f"order_date=2026-11-20/{SOURCE_B}-00000.snappy.parquet",
        f"order_date=2026-11-20/{SOURCE_A}-00000.snappy.parquet",
        f"order_date=2026-11-21/{SOURCE_A}-00000.snappy.parquet"]
    assert [row["order_id"] for row in read_rows(root)] == [1001, 1002, 1003, 2001]


def test_semicolons_quotes_and_newlines_inside_fields(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    summary = run_job(tmp_path, CUSTOMERS_CSV, source_id="customers-2026-11-ffff",
                      contract=CUSTOMERS)

    root = output_root(tmp_path, "customers")
    assert summary["files"] == ["country=DE/customers-2026-11-ffff-00000.zstd.parquet",
                                "country=GB/customers-2026-11-ffff-00000.zstd.parquet"]
    assert parquet_files(root) == summary["files"]
    assert read_rows(root) == [
        {"customer_id": 8, "name": "Dan", "vip": False},
        {"customer_id": 23, "name": "Müller; Erika", "vip": False},
        {"customer_id": 42, "name": "Carla \"CJ\" O'Neil\nFlat 2; Leeds", "vip": True}]
    table = glue.get_table(DatabaseName=DATABASE, Name="customers")["Table"]
    assert table["PartitionKeys"] == [{"Name": "country", "Type": "string"}]
    assert table["Parameters"]["compression"] == "zstd"
    assert table["Parameters"]["contract_version"] == "2"


def test_unpartitioned_headerless_file(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    contract = parse_contract({**CUSTOMERS_RAW, "parquet": {"compression": "none"},
                               "dialect": {"header": False, "delimiter": "|"}}, "test")
    summary = run_job(tmp_path, "1|Ana|BR|yes\n2||PT|no\n", source_id="customers-plain",
                      contract=contract)

    root = output_root(tmp_path, "customers")
    assert summary["files"] == ["customers-plain-00000.parquet"]
    assert summary["partitions"] == []
    assert read_rows(root) == [
        {"customer_id": 1, "name": "Ana", "country": "BR", "vip": True},
        {"customer_id": 2, "name": None, "country": "PT", "vip": False}]
    assert glue.get_table(DatabaseName=DATABASE, Name="customers")["Table"]["PartitionKeys"] == []
    assert glue.get_partitions(DatabaseName=DATABASE, TableName="customers")["Partitions"] == []


def test_a_gzipped_upload_is_staged_gzipped_and_read(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    summary = run_job(tmp_path, ORDERS_CSV, compress=True)

    assert gzip.decompress(staged_path(tmp_path, ORDERS, SOURCE_A, compress=True).read_bytes())
    assert summary["rows"] == 3
    assert [row["order_id"] for row in read_rows(output_root(tmp_path, "orders"))] == [1001, 1002, 1003]


def test_the_validators_typed_values_reach_parquet_unchanged(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """Whatever the upload's dialect, null tokens and datetime formats, the job writes the values
    the validator typed (CheckedBatch.typed), because it reads them from the staged file."""
    contract = parse_contract({
        "dataset": "visits", "version": 3,
        "dialect": {"delimiter": ";", "null_values": ["NA", "-"], "encoding": "cp1252"},
        "columns": [
            {"name": "visit_id", "type": "integer"},
            {"name": "day", "type": "date", "format": "%d/%m/%Y", "nullable": False},
            {"name": "at", "type": "timestamp", "format": "%d.%m.%Y %H:%M:%S"},
            {"name": "seen", "type": "timestamp", "format": "%m/%d/%y %I:%M %p"},
            {"name": "fee", "type": "decimal(10,3)"},
            {"name": "ratio", "type": "float"},
            {"name": "member", "type": "boolean"},
            {"name": "note", "type": "string"},
        ],
        "parquet": {"partition_by": ["day"], "compression": "gzip"},
    }, "test")
    raw = ("visit_id;day;at;seen;fee;ratio;member;note\n"
           "1;5/1/2026;05.01.2026 13:04:05;01/05/26 01:04 PM;-1.5;1e-7;Y;Café NA\n"
           "2;31/12/1999;NA;12/31/99 11:59 PM;NA;-;no;NA\n"
           "3;05/01/2026;01.01.1970 00:00:00;-;0.001;2.5E+10;1;\"\"\n"
           "4;29/02/2024;29.02.2024 23:59:59;02/29/24 12:00 AM;  7 ;-0.0;F;\"  \"\n"
           ).encode("cp1252")
    staged = stage(contract, raw, staged_path(tmp_path, contract, "visits-1"))

    summary = run_staged(tmp_path, staged.path, source_id="visits-1", contract=contract)

    root = output_root(tmp_path, "visits")
    assert summary["rows"] == 4
    assert summary["partitions"] == ["day=1999-12-31", "day=2024-02-29", "day=2026-01-05"]
    assert dataset_rows(root, contract) == typed_rows(staged.typed)
    by_id = {row["visit_id"]: row for row in dataset_rows(root, contract)}
    assert by_id[1] == {
        "visit_id": 1, "day": dt.date(2026, 1, 5), "at": dt.datetime(2026, 1, 5, 13, 4, 5),
        "seen": dt.datetime(2026, 1, 5, 13, 4), "fee": Decimal("-1.500"), "ratio": 1e-7,
        "member": True, "note": "Café NA"}
    assert by_id[2] == {
        "visit_id": 2, "day": dt.date(1999, 12, 31), "at": None,
        "seen": dt.datetime(1999, 12, 31, 23, 59), "fee": None, "ratio": None, "member": False,
        "note": None}
    assert (by_id[3]["at"], by_id[3]["seen"], by_id[3]["note"]) == (
        dt.datetime(1970, 1, 1), None, "")
    assert (by_id[4]["fee"], by_id[4]["note"]) == (Decimal("7.000"), "  ")
    assert str(by_id[4]["ratio"]) == "-0.0"


def test_line_breaks_inside_a_quoted_value_survive(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """CR LF, LF and a lone CR inside a string reach Parquet as they were uploaded, whatever the
    upload's own line endings."""
    contract = parse_contract({
        "dataset": "notes", "columns": [{"name": "id", "type": "integer"},
                                        {"name": "text", "type": "string"}],
        "parquet": {"compression": "none"}}, "test")
    raw = ('id,text\r\n'
           '1,"first\r\nsecond"\r\n'
           '2,"a\nb"\r\n'
           '3,"c\rd"\r\n'
           '4,"\r\n"\r\n'
           '5,"ends with CR LF\r\n\r\n"\r\n')
    staged = stage(contract, raw, staged_path(tmp_path, contract, "notes-1"))

    run_staged(tmp_path, staged.path, source_id="notes-1", contract=contract)

    root = output_root(tmp_path, "notes")
    assert read_rows(root) == [
        {"id": 1, "text": "first\r\nsecond"}, {"id": 2, "text": "a\nb"}, {"id": 3, "text": "c\rd"},
        {"id": 4, "text": "\r\n"}, {"id": 5, "text": "ends with CR LF\r\n\r\n"}]
    assert dataset_rows(root, contract) == typed_rows(staged.typed)


def test_a_quoted_empty_string_stays_empty_and_a_null_stays_null(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    contract = parse_contract({
        "dataset": "names", "columns": [{"name": "id", "type": "integer"},
                                        {"name": "name", "type": "string"},
                                        {"name": "score", "type": "float"}],
        "parquet": {"compression": "none"}}, "test")
    raw = 'id,name,score\n1,"",\n2,,\n3," ",1\n4,"""",2\n5,\\N,3\n'
    staged = stage(contract, raw, staged_path(tmp_path, contract, "names-1"))
    assert staged.typed.column("name").to_pylist() == ["", None, " ", '"', "\\N"]

    run_staged(tmp_path, staged.path, source_id="names-1", contract=contract)

    assert read_rows(output_root(tmp_path, "names")) == [
        {"id": 1, "name": "", "score": None}, {"id": 2, "name": None, "score": None},
        {"id": 3, "name": " ", "score": 1.0}, {"id": 4, "name": '"', "score": 2.0},
        {"id": 5, "name": "\\N", "score": 3.0}]


def test_a_null_in_a_one_column_file_is_not_a_lost_row(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """In one column, an unquoted empty field is an empty line, which Spark's CSV reader skips:
    the staged form writes that null as the job's null token instead, and the row arrives."""
    for kind, values in [("integer", ["7", "NULL", "9"]), ("string", ["a", "NULL", '""']),
                         ("date", ["2026-01-02", "NULL", "2026-01-03"])]:
        contract = parse_contract({"dataset": f"one_{kind}", "columns": [{"name": "c0", "type": kind}],
                                   "dialect": {"null_values": ["NULL"]}, "parquet": {"compression": "none"}},
                                  "test")
        staged = stage(contract, "c0\n" + "\n".join(values) + "\n",
                       staged_path(tmp_path, contract, f"one-{kind}"))
        assert staged.typed.num_rows == 3 and staged.typed.column("c0").null_count == 1

        run_staged(tmp_path, staged.path, source_id=f"one-{kind}", contract=contract)

        assert dataset_rows(output_root(tmp_path, f"one_{kind}"), contract) == typed_rows(staged.typed), kind


def test_ancient_dates_and_timestamps_are_written_as_they_are(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """Dates before the Gregorian switch (1582-10-15) and timestamps before 1900 are written in
    the proleptic Gregorian calendar the validator uses, not rebased or refused."""
    contract = parse_contract({
        "dataset": "history", "columns": [{"name": "id", "type": "integer"},
                                          {"name": "day", "type": "date", "nullable": False},
                                          {"name": "at", "type": "timestamp"}],
        "parquet": {"partition_by": ["day"], "compression": "snappy"}}, "test")
    raw = ("id,day,at\n"
           "1,0001-01-01,1899-12-30T00:00:00\n"
           "2,1582-10-10,0001-01-01T00:00:00\n"
           "3,1899-12-30,1582-10-04T23:59:59\n"
           "4,9999-12-31,9999-12-31T23:59:59\n")
    staged = stage(contract, raw, staged_path(tmp_path, contract, "history-1"))

    summary = run_staged(tmp_path, staged.path, source_id="history-1", contract=contract)

    root = output_root(tmp_path, "history")
    assert summary["partitions"] == ["day=0001-01-01", "day=1582-10-10", "day=1899-12-30",
                                     "day=9999-12-31"]
    assert read_rows(root) == [
        {"id": 1, "at": dt.datetime(1899, 12, 30, tzinfo=UTC)},
        {"id": 2, "at": dt.datetime(1, 1, 1, tzinfo=UTC)},
        {"id": 3, "at": dt.datetime(1582, 10, 4, 23, 59, 59, tzinfo=UTC)},
        {"id": 4, "at": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)}]
    assert dataset_rows(root, contract) == typed_rows(staged.typed)
    # A date column that is not a partition key is stored in the file: the same holds there.
    plain = parse_contract({"dataset": "history2", "parquet": {"compression": "none"},
                            "columns": [{"name": "id", "type": "integer"},
                                        {"name": "day", "type": "date"}]}, "test")
    staged = stage(plain, "id,day\n1,0001-01-01\n2,1582-10-10\n",
                   staged_path(tmp_path, plain, "history2-1"))
    run_staged(tmp_path, staged.path, source_id="history2-1", contract=plain)
    assert read_rows(output_root(tmp_path, "history2")) == [
        {"id": 1, "day": dt.date(1, 1, 1)}, {"id": 2, "day": dt.date(1582, 10, 10)}]


def test_microseconds_survive(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    contract = parse_contract({
        "dataset": "ticks", "columns": [{"name": "id", "type": "integer"},
                                        {"name": "at", "type": "timestamp"}],
        "parquet": {"compression": "none"}}, "test")
    values = [dt.datetime(2025, 1, 3, 9, 15, 0, 123456), dt.datetime(1, 1, 1, 0, 0, 0, 1),
              dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1899, 12, 30, 0, 0, 0, 500000),
              dt.datetime(1970, 1, 1, 0, 0, 0, 10)]
    typed = pa.table({"id": pa.array(range(len(values)), pa.int64()),
                      "at": pa.array(values, pa.timestamp("us"))})
    staged = stage_typed(contract, typed, staged_path(tmp_path, contract, "ticks-1"))
    assert '"2025-01-03 09:15:00.123456"' in staged.path.read_text(encoding="utf-8")

    run_staged(tmp_path, staged.path, source_id="ticks-1", contract=contract)

    root = output_root(tmp_path, "ticks")
    assert [row["at"] for row in read_rows(root)] == [v.replace(tzinfo=UTC) for v in values]
    assert dataset_rows(root, contract) == typed_rows(typed)


def test_decimal_38_2_extremes_are_exact(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """decimal(38,2) to its last digit; also small decimals, which Arrow writes in scientific
    notation ("1E-10", "-1.000E-7"), and float extremes ("5e-324")."""
    contract = parse_contract({
        "dataset": "ledger", "columns": [{"name": "id", "type": "integer"},
                                         {"name": "amount", "type": "decimal(38,2)"},
                                         {"name": "rate", "type": "decimal(38,10)"},
                                         {"name": "ratio", "type": "float"}],
        "parquet": {"compression": "snappy"}}, "test")
    rows = [("999999999999999999999999999999999999.99", "9999999999999999999999999999.9999999999",
             "1.7976931348623157e308"),
            ("-999999999999999999999999999999999999.99", "-9999999999999999999999999999.9999999999",
             "-1.7976931348623157e308"),
            ("0.01", "0.0000000001", "5e-324"),
            ("-0.01", "-0.0000001", "-2.2250738585072014e-308"),
            ("0.00", "0", "1e-7"),
            ("123456789012345678901234567890123456.78", "0.0000010000", "0.1"),
            ("1", "1", "1e22"),
            ("-2.5", "-0.5", "-0.0")]
    raw = "id,amount,rate,ratio\n" + "".join(f"{i},{','.join(row)}\n" for i, row in enumerate(rows))
    staged = stage(contract, raw, staged_path(tmp_path, contract, "ledger-1"))
    assert "E-10" in staged.path.read_text(encoding="utf-8")  # the notation this test is about

    run_staged(tmp_path, staged.path, source_id="ledger-1", contract=contract)

    root = output_root(tmp_path, "ledger")
    schema = pq.read_schema(root / "ledger-1-00000.snappy.parquet")
    assert (schema.field("amount").type, schema.field("rate").type) == (
        pa.decimal128(38, 2), pa.decimal128(38, 10))
    written = read_rows(root)
    assert [str(row["amount"]) for row in written] == [
        "999999999999999999999999999999999999.99", "-999999999999999999999999999999999999.99",
        "0.01", "-0.01", "0.00", "123456789012345678901234567890123456.78", "1.00", "-2.50"]
    assert [f"{row['rate']:f}" for row in written] == [
        "9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
        "0.0000000001", "-0.0000001000", "0.0000000000", "0.0000010000", "1.0000000000",
        "-0.5000000000"]
    assert [repr(row["ratio"]) for row in written] == [
        "1.7976931348623157e+308", "-1.7976931348623157e+308", "5e-324",
        "-2.2250738585072014e-308", "1e-07", "0.1", "1e+22", "-0.0"]
    assert dataset_rows(root, contract) == typed_rows(staged.typed)


@pytest.mark.parametrize(("good", "bad"), [
    ('"1001"', '"x1001"'),                                          # bigint
    ('"2026-11-21"', '"2026-02-30"'),                               # date that does not exist
    ('"2026-11-21"', '"21/11/2026"'),                               # date in another pattern
    ('"2025-01-03 09:15:00.000000"', '"2025-01-03T09:15:00"'),      # timestamp in another pattern
    ('"129.90"', '"12345678901.00"'),                               # too many digits for (12,2)
    ('"true"', '"yes"'),                                            # boolean Spark does not read
    ('"1500.5"', '"1,500.5"'),                                      # double
])
def test_a_value_that_does_not_parse_fails_the_file_and_writes_nothing(
        spark: SparkSession, glue: Any, tmp_path: Path, good: str, bad: str) -> None:
    """FAILFAST: a staged value that is not of its column's type fails its file instead of
    becoming a null; the source's published files stay as they were."""
    first = run_job(tmp_path, ORDERS_CSV)
    root = output_root(tmp_path, "orders")
    before = {name: (root / name).read_bytes() for name in parquet_files(root)}
    path = staged_path(tmp_path, ORDERS, SOURCE_A)
    text = path.read_text(encoding="utf-8")
    assert text.count(good) >= 1
    path.write_text(text.replace(good, bad, 1), encoding="utf-8")

    failed = convert_staged(tmp_path, path, source_id=SOURCE_A, contract=ORDERS)

    assert (failed["status"], failed["rows"], failed["files"]) == ("FAILED", None, [])
    assert "Parse Mode: FAILFAST" in failed["error"]
    assert parquet_files(root) == first["files"]
    assert {name: (root / name).read_bytes() for name in parquet_files(root)} == before
    assert not list(root.glob("_tmp/*"))


def test_a_legacy_time_parser_policy_changes_nothing(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """With spark.sql.legacy.timeParserPolicy=LEGACY (a cluster or `--conf` may set it) Spark
    parses dates leniently, 2026-02-30 silently becoming 2026-03-02: the job pins its own policy."""
    contract = parse_contract({
        "dataset": "legacy", "columns": [{"name": "id", "type": "integer"},
                                         {"name": "day", "type": "date"},
                                         {"name": "at", "type": "timestamp"}],
        "parquet": {"compression": "none"}}, "test")
    raw = "id,day,at\n1,0001-01-01,0001-01-01T00:00:00\n2,2026-02-28,1899-12-30T00:00:00\n"
    staged = stage(contract, raw, staged_path(tmp_path, contract, "legacy-1"))
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "LEGACY")
    try:
        run_staged(tmp_path, staged.path, source_id="legacy-1", contract=contract)
        root = output_root(tmp_path, "legacy")
        assert read_rows(root) == [
            {"id": 1, "day": dt.date(1, 1, 1), "at": dt.datetime(1, 1, 1, tzinfo=UTC)},
            {"id": 2, "day": dt.date(2026, 2, 28), "at": dt.datetime(1899, 12, 30, tzinfo=UTC)}]

        text = staged.path.read_text(encoding="utf-8")
        staged.path.write_text(text.replace('"2026-02-28"', '"2026-02-30"'), encoding="utf-8")
        spark.conf.set("spark.sql.legacy.timeParserPolicy", "LEGACY")
        failed = convert_staged(tmp_path, staged.path, source_id="legacy-1", contract=contract)
        assert failed["status"] == "FAILED" and "Parse Mode: FAILFAST" in failed["error"]
        assert read_rows(root)[1]["day"] == dt.date(2026, 2, 28)
    finally:
        spark.conf.unset("spark.sql.legacy.timeParserPolicy")


def test_a_huge_error_is_clipped_to_what_a_state_can_carry(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """A malformed 1 MB value makes Spark quote the whole record: the file's error keeps its head
    and tail (the cause and the parse mode) in ERROR_CHARS, so what a state carries stays small."""
    contract = parse_contract({"dataset": "notes", "columns": [{"name": "id", "type": "integer"},
                                                               {"name": "note", "type": "string"}],
                               "parquet": {"compression": "none"}}, "test")
    staged = stage(contract, "id,note\n1,short\n", staged_path(tmp_path, contract, "notes-1"))
    staged.path.write_text('"id","note"\n"' + "9" * (1 << 20) + '","x"\n', encoding="utf-8")

    failed = convert_staged(tmp_path, staged.path, source_id="notes-1", contract=contract)
    assert failed["status"] == "FAILED"
    message = failed["error"]
    assert len(message) <= job.ERROR_CHARS + 60 and "characters cut" in message
    assert "FAILFAST" in message
