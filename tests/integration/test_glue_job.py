"""The Glue job end to end in local Spark: a CSV on disk -> Parquet on disk + moto's catalog."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_validator.contract import parse_contract
from moto import mock_aws
from pyspark.sql import SparkSession

from tests.helpers import load_module

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "csv_to_parquet.py"
DATABASE = "lake"
SOURCE_A = "orders-2026-11-20-ab12cd34ef56"
SOURCE_B = "orders-2026-11-20-0123456789ab"


job = load_module(SCRIPT)


def job_contract(raw: dict[str, Any]) -> dict[str, Any]:
    """A contract as the validator hands it to the job: the job's types come from the real code."""
    return parse_contract(raw, "test").for_job().model_dump()


# order_date and signup_ts use the default formats, which the contract code fills in.
ORDERS = job_contract({
    "dataset": "orders", "version": 1,
    "dialect": {"null_values": ["", "NULL"]},
    "columns": [
        {"name": "order_id", "type": "integer"},
        {"name": "order_date", "type": "date"},
        {"name": "ship_date", "type": "date", "format": "%d/%m/%Y"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "signup_ts", "type": "timestamp"},
        {"name": "vip", "type": "boolean"},
        {"name": "credit_limit", "type": "float"},
        {"name": "email", "type": "string"},
    ],
    "parquet": {"partition_by": ["order_date"], "compression": "snappy"},
})

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
        {"name": "country", "type": "string"},
        {"name": "vip", "type": "boolean"},
    ],
    "parquet": {"partition_by": ["country"], "compression": "zstd"},
}
CUSTOMERS = job_contract(CUSTOMERS_RAW)

# Columns in another order than the contract's, as the validator allows.
CUSTOMERS_CSV = (
    'country;customer_id;vip;name\n'
    'DE;23;f;"Müller; Erika"\n'
    'GB;42;1;"Carla ""CJ"" O\'Neil\nFlat 2; Leeds"\n'
    'DE;8;False;Dan\n'
)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One small local session for the module; the job's getOrCreate picks it up."""
    session = (SparkSession.builder.master("local[2]").appName("test_glue_job")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def glue(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's in-process Glue with an empty database, reached through the default client chain."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_GLUE", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    with mock_aws():
        client = boto3.client("glue", region_name="us-east-1")
        client.create_database(DatabaseInput={"Name": DATABASE})
        yield client


def run_job(tmp_path: Path, csv_text: str, *, source_id: str = SOURCE_A,
            contract: dict[str, Any] = ORDERS) -> dict[str, Any]:
    """Stage a CSV under tmp_path and run the job on it the way Glue would call it."""
    dataset = contract["dataset"]
    source = tmp_path / "staging" / dataset / f"{source_id}.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(csv_text, encoding="utf-8")
    return job.main([
        "--JOB_NAME", "csv_to_parquet", "--JOB_RUN_ID", "jr_1",
        "--source_path", source.as_uri(),
        "--output_path", output_root(tmp_path, dataset).as_uri() + "/",
        "--table_location", f"s3://bucket/transformed/{dataset}/",
        "--database", DATABASE, "--table", dataset, "--source_id", source_id,
        "--contract", json.dumps(contract),
        "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://bucket/tmp/",
    ])


def output_root(tmp_path: Path, dataset: str) -> Path:
    return tmp_path / "transformed" / dataset


def parquet_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def read_rows(root: Path) -> list[dict[str, Any]]:
    rows = [row for path in root.rglob("*.parquet") for row in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda row: next(iter(row.values())))


def test_orders_are_written_typed_partitioned_and_cataloged(
        spark: SparkSession, glue: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_job(tmp_path, ORDERS_CSV)

    root = output_root(tmp_path, "orders")
    files = [f"order_date=2026-11-20/{SOURCE_A}-00000.snappy.parquet",
             f"order_date=2026-11-21/{SOURCE_A}-00000.snappy.parquet"]
    assert parquet_files(root) == files
    assert summary == {"source_id": SOURCE_A, "database": DATABASE, "table": "orders", "rows": 3,
                       "partitions": ["order_date=2026-11-20", "order_date=2026-11-21"],
                       "files": files}
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary
    assert sorted(p.name for p in root.glob("order_date=*")) == ["order_date=2026-11-20",
                                                                 "order_date=2026-11-21"]
    assert not (root / "_tmp" / SOURCE_A).exists()

    schema = pq.read_schema(root / files[0])
    assert [(f.name, f.type) for f in schema] == [
        ("order_id", pa.int64()), ("ship_date", pa.date32()), ("amount", pa.decimal128(12, 2)),
        ("signup_ts", pa.timestamp("us", tz="UTC")), ("vip", pa.bool_()),
        ("credit_limit", pa.float64()), ("email", pa.string())]
    assert pq.ParquetFile(root / files[0]).metadata.row_group(0).column(0).compression == "SNAPPY"

    utc = dt.timezone.utc
    assert read_rows(root) == [
        {"order_id": 1001, "ship_date": dt.date(2026, 11, 21), "amount": Decimal("129.90"),
         "signup_ts": dt.datetime(2025, 1, 3, 9, 15, tzinfo=utc), "vip": True,
         "credit_limit": 1500.5, "email": "ana@example.com"},
        # NULL and an unquoted empty field are null tokens; a quoted "" stays a string, as in
        # the validator. Values are trimmed before casting, and 1/12/2026 needs no zero padding.
        {"order_id": 1002, "ship_date": None, "amount": Decimal("15.00"),
         "signup_ts": dt.datetime(2024, 6, 11, 18, 2, 41, tzinfo=utc), "vip": False,
         "credit_limit": None, "email": None},
        {"order_id": 1003, "ship_date": dt.date(2026, 12, 1), "amount": Decimal("980.25"),
         "signup_ts": dt.datetime(2023, 2, 28, 7, 0, tzinfo=utc), "vip": True,
         "credit_limit": None, "email": ""},
    ]

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


def test_unpartitioned_headerless_file(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    contract = job_contract({**CUSTOMERS_RAW, "parquet": {"compression": "none"},
                             "dialect": {"header": False, "delimiter": "|"}})
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


def test_values_spark_cannot_parse_fail_the_run_before_publishing(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    run_job(tmp_path, ORDERS_CSV)
    bad = ORDERS_CSV.replace("1001,", "x1001,")

    with pytest.raises(ValueError, match="1 values .* did not parse"):
        run_job(tmp_path, bad)

    root = output_root(tmp_path, "orders")
    assert len(parquet_files(root)) == 2
    assert not (root / "_tmp" / SOURCE_A).exists()
