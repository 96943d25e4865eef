"""Contract strptime formats -> Spark datetime patterns, the job's types and arguments (no Spark)."""

from __future__ import annotations

import pytest
from etl_common.messages import JobArguments
from etl_validator.contract import parse_contract
from samtranslator.yaml_helper import yaml_parse

from tests.helpers import ROOT, load_module

SCRIPT = ROOT / "glue" / "csv_to_parquet.py"


job = load_module(SCRIPT)


@pytest.mark.parametrize(("strptime_format", "pattern"), [
    # Separated numbers use Spark's one-letter forms, which read 1 or 2 digits like strptime.
    ("%Y-%m-%d", "yyyy-M-d"),
    ("%d/%m/%Y", "d/M/yyyy"),
    ("%Y-%m-%dT%H:%M:%S", "yyyy-M-d'T'H:m:s"),
    ("%Y-%m-%d %H:%M:%S.%f", "yyyy-M-d H:m:s.SSSSSS"),
    ("%m/%d/%y %I:%M %p", "M/d/yy h:m a"),
    ("%Y %j", "yyyy D"),
    ("%d %b %Y", "d MMM yyyy"),
    ("%B %d, %Y", "MMMM d, yyyy"),
    ("%Y-%m-%d %H:%M%z", "yyyy-M-d H:m[XXX][XX]"),
    ("%Y-%m-%d %H:%M %Z", "yyyy-M-d H:m z"),
])
def test_common_formats(strptime_format: str, pattern: str) -> None:
    assert job.spark_datetime_pattern(strptime_format) == pattern


@pytest.mark.parametrize(("strptime_format", "pattern"), [
    ("%Y%m%d", "yyyyMMdd"),
    ("%Y%m%d%H%M%S", "yyyyMMddHHmmss"),
    ("%Y%j", "yyyyDDD"),
    ("%d.%m%y", "d.MMyy"),
])
def test_adjacent_numbers_get_fixed_widths(strptime_format: str, pattern: str) -> None:
    assert job.spark_datetime_pattern(strptime_format) == pattern


@pytest.mark.parametrize(("strptime_format", "pattern"), [
    ("%Y-%m-%dT%H:%M:%SZ", "yyyy-M-d'T'H:m:s'Z'"),
    ("%d de %B de %Y", "d 'de' MMMM 'de' yyyy"),
    ("%H o'clock", "H 'o''clock'"),
    ("'%Y'", "''''yyyy''''"),
    ("[%Y]", "'['yyyy']'"),
    ("%Y#%m", "yyyy'#'M"),
    ("%Y%%%m", "yyyy'%'M"),
    ("week 01 %Y", "'week' '01' yyyy"),
])
def test_literal_text_is_quoted(strptime_format: str, pattern: str) -> None:
    assert job.spark_datetime_pattern(strptime_format) == pattern


def test_safe_punctuation_stays_unquoted() -> None:
    assert job.spark_datetime_pattern("%Y/%m/%d %H:%M:%S,%f") == "yyyy/M/d H:m:s,SSSSSS"


@pytest.mark.parametrize("strptime_format", ["%a %d %b %Y", "%A", "%G-W%V-%u", "%U", "%c", "%x",
                                             "%X", "%Y-%m-%e", "%Y%"])
def test_directives_spark_cannot_parse_raise(strptime_format: str) -> None:
    with pytest.raises(ValueError, match="no Spark datetime pattern"):
        job.spark_datetime_pattern(strptime_format)


@pytest.mark.parametrize(("column_type", "spark_type"), [
    ("integer", "bigint"), ("float", "double"), ("boolean", "boolean"),
    ("decimal(12,2)", "decimal(12,2)"), ("decimal(38, 2)", "decimal(38,2)"),  # contracts need scale > 0
])
def test_spark_types(column_type: str, spark_type: str) -> None:
    """The job casts to the Spark type the contract code names for the column."""
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
                        source_id="orders-x-ab12", contract=contract.for_job()).as_glue()
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
        "--contract", "{}",
        "--TempDir", "s3://tmp/", "--JOB_NAME", "csv_to_parquet"])
    assert (args.source_path, args.output_path, args.table_location, args.source_id) == (
        "s3://b/staging/orders/x.csv", "s3://b/transformed/orders/", None, "orders-x-ab12")


def test_unsafe_source_id_is_rejected() -> None:
    with pytest.raises(SystemExit):
        job.parse_args(["--source_path", "a", "--output_path", "b", "--database", "d",
                        "--table", "t", "--source_id", "../x*", "--contract", "{}"])
