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
    """The run's argparse names are the manifest's and results' URIs plus the template's
    DefaultArgument --database; each manifest entry's names equal what the validator sends
    (JobArguments.as_glue) plus the optional --table_location: an argument one side renames
    would otherwise be dropped (the run ignores arguments it does not know; an entry refuses them)."""
    resources = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Resources"]
    [glue_job] = [r for r in resources.values() if r["Type"] == "AWS::Glue::Job"]
    assert "--database" in glue_job["Properties"]["DefaultArguments"]
    received = {"--manifest_uri": "s3://b/batches/b1/manifest.json",
                "--results_uri": "s3://b/batches/b1/results.json", "--database": "lake"}
    args = job.parse_args([item for pair in received.items() for item in pair])
    assert {f"--{name}" for name in vars(args)} == received.keys()

    sent = JobArguments(source_path="s3://b/staging/orders/x.csv",
                        output_path="s3://b/transformed/orders/", table="orders",
                        source_id="orders-x-ab12",
                        contract_uri="s3://b/staging/orders/x.contract.json").as_glue()
    file_args = job.parse_file_args(sent)
    assert {f"--{name}" for name in vars(file_args)} == sent.keys() | {"--table_location"}
    assert file_args.table_location is None


def test_glue_arguments_are_ignored() -> None:
    args = job.parse_args([
        "--JOB_ID", "j_1", "--manifest_uri", "s3://b/batches/b1/manifest.json", "--JOB_RUN_ID", "r",
        "--job-bookmark-option", "job-bookmark-disable", "--database", "lake",
        "--results_uri", "s3://b/batches/b1/results.json",
        "--TempDir", "s3://tmp/", "--JOB_NAME", "csv_to_parquet"])
    assert (args.manifest_uri, args.results_uri, args.database) == (
        "s3://b/batches/b1/manifest.json", "s3://b/batches/b1/results.json", "lake")


FILE_ARGUMENTS = {"--source_path": "a", "--output_path": "b", "--table": "t",
                  "--source_id": "orders-x", "--contract_uri": "s3://b/c.json"}


@pytest.mark.parametrize(("change", "message"), [
    ({"--source_id": "../x*"}, "may hold only letters"),
    ({"--source_id": None}, "the following arguments are required: --source_id"),
    ({"--database": "lake"}, "unrecognized arguments: --database lake"),
    ({"--table": 7}, "an object of strings"),
])
def test_a_manifest_entry_with_bad_arguments_is_refused(change: dict, message: str) -> None:
    """Refused with a message (InvalidArguments, which fails only that file), never an exit."""
    arguments = {k: v for k, v in (FILE_ARGUMENTS | change).items() if v is not None}
    with pytest.raises(job.InvalidArguments, match=message):
        job.parse_file_args(arguments)
    with pytest.raises(job.InvalidArguments):
        job.parse_file_args(["--table", "t"])
