"""The Glue job's arguments and the type names it is sent (no Spark)."""

from __future__ import annotations

import pytest
from etl_common.messages import JobArguments
from etl_validator.contract import parse_contract
from samtranslator.yaml_helper import yaml_parse

from tests.helpers import ROOT, load_module

SCRIPT = ROOT / "glue" / "csv_to_parquet.py"


job = load_module(SCRIPT)


@pytest.mark.parametrize(("column_type", "spark_type"), [
    ("integer", "bigint"), ("float", "double"), ("boolean", "boolean"), ("string", "string"),
    ("date", "date"), ("timestamp", "timestamp"),
    ("decimal(12,2)", "decimal(12,2)"), ("decimal(38, 2)", "decimal(38,2)"),  # contracts need scale > 0
])
def test_spark_types(column_type: str, spark_type: str) -> None:
    """The job reads the staged file with the Spark type the contract code names for the column."""
    contract = parse_contract({"dataset": "x", "columns": [{"name": "c", "type": column_type}]}, "test")
    assert contract.for_job().columns[0].spark_type == spark_type


def test_job_takes_exactly_the_arguments_it_is_sent() -> None:
    """The job's argparse names equal what the validator sends (JobArguments.as_glue) plus the
    template's DefaultArgument --database and the optional --table_location: an argument one side
    renames would otherwise be dropped silently (the job ignores arguments it does not know)."""
    resources = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Resources"]
    [glue_job] = [r for r in resources.values() if r["Type"] == "AWS::Glue::Job"]
    assert "--database" in glue_job["Properties"]["DefaultArguments"]
    contract = parse_contract({"dataset": "orders", "columns": [{"name": "id", "type": "integer"}]},
                              "test")
    sent = JobArguments(source_path="s3://b/staging/orders/x.csv",
                        output_path="s3://b/transformed/orders/", table="orders",
                        source_id="orders-x-ab12",
                        contract_uri="s3://b/staging/orders/x.contract.json").as_glue()
    received = sent | {"--database": "lake"}
    args = job.parse_args([item for pair in received.items() for item in pair])
    assert {f"--{name}" for name in vars(args)} == received.keys() | {"--table_location"}
    assert args.table_location is None


def test_glue_arguments_are_ignored() -> None:
    args = job.parse_args([
        "--JOB_ID", "j_1", "--source_path", "s3://b/staging/orders/x.csv", "--JOB_RUN_ID", "r",
        "--output_path", "s3://b/transformed/orders/",
        "--job-bookmark-option", "job-bookmark-disable",
        "--database", "lake", "--table", "orders", "--source_id", "orders-x-ab12",
        "--contract_uri", "s3://b/staging/orders/x.contract.json",
        "--TempDir", "s3://tmp/", "--JOB_NAME", "csv_to_parquet"])
    assert (args.source_path, args.output_path, args.table_location, args.source_id) == (
        "s3://b/staging/orders/x.csv", "s3://b/transformed/orders/", None, "orders-x-ab12")


def test_unsafe_source_id_is_rejected() -> None:
    with pytest.raises(SystemExit):
        job.parse_args(["--source_path", "a", "--output_path", "b", "--database", "d",
                        "--table", "t", "--source_id", "../x*", "--contract_uri", "s3://b/c.json"])
