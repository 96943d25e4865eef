"""Contract strptime formats -> Spark datetime patterns, and the job's arguments (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import load_module

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "csv_to_parquet.py"


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
    ("decimal(12,2)", "decimal(12,2)"), ("decimal(38, 0)", "decimal(38,0)"),
])
def test_spark_types(column_type: str, spark_type: str) -> None:
    assert job.spark_type(column_type).simpleString() == spark_type


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
