"""cast_column: each contract type, bad values flagged row by row, nulls never flagged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from etl_common.column_types import DEFAULT_FORMATS
from etl_validator.casting import arrow_type, cast_column
from etl_validator.contract import ColumnSpec


def cast(type_: str, values: list, fmt: str | None = None) -> list[tuple]:
    """(value, cast value, bad) for each input."""
    column = ColumnSpec("x", type_, format=fmt or DEFAULT_FORMATS.get(type_))
    result = cast_column(pa.array(values, pa.string()), column)
    assert len(result.values) == len(result.bad) == len(values)
    assert result.values.type == arrow_type(column)
    assert result.bad.null_count == 0
    return list(zip(values, result.values.to_pylist(), result.bad.to_pylist()))


def good(type_: str, values: list, fmt: str | None = None) -> list:
    rows = cast(type_, values, fmt)
    assert [bad for _, _, bad in rows] == [False] * len(values), rows
    return [v for _, v, _ in rows]


def bad(type_: str, values: list, fmt: str | None = None) -> None:
    rows = cast(type_, values, fmt)
    assert [bad for _, _, bad in rows] == [True] * len(values), rows
    assert [v for _, v, _ in rows] == [None] * len(values)


# -- types -----------------------------------------------------------------------------------

def test_arrow_types():
    assert arrow_type(ColumnSpec("x", "integer")) == pa.int64()
    assert arrow_type(ColumnSpec("x", "float")) == pa.float64()
    assert arrow_type(ColumnSpec("x", "decimal(12,2)")) == pa.decimal128(12, 2)
    assert arrow_type(ColumnSpec("x", "boolean")) == pa.bool_()
    assert arrow_type(ColumnSpec("x", "date")) == pa.date32()
    assert arrow_type(ColumnSpec("x", "timestamp")) == pa.timestamp("us")
    assert arrow_type(ColumnSpec("x", "string")) == pa.string()


def test_empty_array():
    result = cast_column(pa.array([], pa.string()), ColumnSpec("x", "integer"))
    assert len(result.values) == 0 and len(result.bad) == 0


# -- integer ---------------------------------------------------------------------------------

def test_integer_good_values():
    assert good("integer", ["1", "-7", "0", "-0", " 42 ", "\t3\n", "00012",
                            "123456789012345678", "-123456789012345678"]) == [
        1, -7, 0, 0, 42, 3, 12, 123456789012345678, -123456789012345678]


def test_integer_bad_values():
    bad("integer", ["1.0", "abc", "1e3", "1_000", "0x1F", "1 000", "--1", "+-1", "12a", "٣",
                    "1234567890123456789",          # 19 digits: refused before it can overflow
                    "99999999999999999999999"])


def test_integer_null_is_not_bad():
    assert cast("integer", [None, "5", None]) == [(None, None, False), ("5", 5, False), (None, None, False)]


def test_integer_empty_string_is_bad():
    # Null tokens are turned into nulls by the reader; a string that reaches casting is a value.
    assert cast("integer", [""]) == [("", None, True)]


def test_integer_leading_plus():
    assert good("integer", ["+5", "+0"]) == [5, 0]


def test_integer_one_bad_value_fails_one_row_only():
    rows = cast("integer", ["1", "x", "3"])
    assert rows == [("1", 1, False), ("x", None, True), ("3", 3, False)]


# -- float -----------------------------------------------------------------------------------

def test_float_good_values():
    assert good("float", ["1.5", "+1.5", "-2", ".5", "5.", "1e3", "1E-3", " 2.5 ", "0"]) == [
        1.5, 1.5, -2.0, 0.5, 5.0, 1000.0, 0.001, 2.5, 0.0]


def test_float_bad_values():
    bad("float", ["nan", "inf", "-inf", "abc", "1,5", "1.2.3", "e3", "1e", "0x10", ""])


def test_float_null_is_not_bad():
    assert cast("float", [None]) == [(None, None, False)]


def test_float_overflow_is_bad():
    bad("float", ["1e400", "-1e309"])


# -- decimal ---------------------------------------------------------------------------------

def test_decimal_good_values():
    assert good("decimal(12,2)", ["129.90", "15", "0.5", "-5.00", "+1.5", " 3.14 ", "-0.01",
                                  "1234567890.12"]) == [
        Decimal("129.90"), Decimal("15.00"), Decimal("0.50"), Decimal("-5.00"), Decimal("1.50"),
        Decimal("3.14"), Decimal("-0.01"), Decimal("1234567890.12")]


def test_decimal_precision_and_scale_limits():
    # decimal(12,2): at most 10 digits before the point and 2 after.
    bad("decimal(12,2)", ["12345678901.00", "12345678901", "1.234", "45.101", "abc", "1e3",
                          "1,50", "NaN", ""])


def test_decimal_without_integer_digits():
    assert good("decimal(2,2)", ["0.5", "-0.99", ".25"]) == [Decimal("0.50"), Decimal("-0.99"),
                                                              Decimal("0.25")]
    bad("decimal(2,2)", ["1.5", "0.999", "10.00"])


def test_decimal_wide():
    value = "1234567890123456789012345678.0123456789"
    assert good("decimal(38,10)", [value, "1"]) == [Decimal(value), Decimal("1.0000000000")]


def test_decimal_null_is_not_bad():
    assert cast("decimal(12,2)", [None, "1"]) == [(None, None, False), ("1", Decimal("1.00"), False)]


# -- boolean ---------------------------------------------------------------------------------

def test_boolean_tokens():
    assert good("boolean", ["true", "TRUE", "True", "t", "yes", "Y", "1", " true "]) == [True] * 8
    assert good("boolean", ["false", "FALSE", "f", "no", "N", "0", "\tno"]) == [False] * 7


def test_boolean_bad_values():
    bad("boolean", ["maybe", "2", "-1", "ja", "truee", "on", ""])


def test_boolean_null_is_not_bad():
    assert cast("boolean", [None, "y"]) == [(None, None, False), ("y", True, False)]


# -- date and timestamp -----------------------------------------------------------------------

def test_date_default_format():
    assert good("date", ["2026-11-20", " 2026-11-21 ", "2024-02-29", "2026-12-31"]) == [
        dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2024, 2, 29), dt.date(2026, 12, 31)]


def test_date_bad_values():
    bad("date", ["2026-13-45", "2026-00-10", "2026-01-00", "2026-11-20T10:00:00", "20261120",
                 "20/11/2026", "x", ""])


def test_date_custom_format():
    assert good("date", ["20/11/2026"], "%d/%m/%Y") == [dt.date(2026, 11, 20)]
    bad("date", ["2026-11-20"], "%d/%m/%Y")


def test_date_impossible_day_is_bad():
    bad("date", ["2026-02-29", "2026-02-30", "2026-04-31"])


def test_date_null_is_not_bad():
    assert cast("date", [None]) == [(None, None, False)]


def test_timestamp_default_format():
    assert good("timestamp", ["2025-01-03T09:15:00", " 2023-02-28T07:00:00"]) == [
        dt.datetime(2025, 1, 3, 9, 15), dt.datetime(2023, 2, 28, 7, 0)]
    bad("timestamp", ["2025-01-03 09:15:00", "2025-01-03T25:00:00", "2025-01-03", "yesterday"])


def test_timestamp_custom_format():
    assert good("timestamp", ["2025-01-03 09:15"], "%Y-%m-%d %H:%M") == [dt.datetime(2025, 1, 3, 9, 15)]
    bad("timestamp", ["2025-01-03T09:15:00"], "%Y-%m-%d %H:%M")


def test_timestamp_null_is_not_bad():
    assert cast("timestamp", [None, "2025-01-03T09:15:00"])[0] == (None, None, False)


# -- string ----------------------------------------------------------------------------------

def test_string_is_never_bad():
    assert cast("string", ["a", "", " ", None, "été"]) == [
        ("a", "a", False), ("", "", False), (" ", " ", False), (None, None, False), ("été", "été", False)]


# -- fast paths give the same answers -------------------------------------------------------

def test_integer_column_arrow_would_parse_but_the_contract_refuses():
    # Each value alone in an otherwise plain column: Arrow's parse takes hex and 19 digits.
    for odd in ["0x1F", "0X1f", "1234567890123456789", "-0x10"]:
        assert cast("integer", ["1", odd, "-3"]) == [("1", 1, False), (odd, None, True), ("-3", -3, False)]


def test_integer_plain_column_with_nulls():
    assert cast("integer", ["12", None, "-007"]) == [("12", 12, False), (None, None, False), ("-007", -7, False)]


def test_timestamp_seconds_60_and_61_are_bad():
    bad("timestamp", ["2025-01-03T09:15:60", "2025-01-03T09:15:61", "2025-12-31T23:59:60"])
    assert good("timestamp", ["2025-01-03T09:16:00", "2025-01-03T09:16:01"]) == [
        dt.datetime(2025, 1, 3, 9, 16), dt.datetime(2025, 1, 3, 9, 16, 1)]


def test_dates_a_rollover_could_have_produced_are_good_when_written_so():
    assert good("date", ["2026-03-01", "2026-03-03", "2026-05-01", "2029-03-01", "2026-1-5"]) == [
        dt.date(2026, 3, 1), dt.date(2026, 3, 3), dt.date(2026, 5, 1), dt.date(2029, 3, 1), dt.date(2026, 1, 5)]
    bad("date", ["2025-02-29", "2024-02-30", "2026-02-31", "2026-06-31", "2026-09-31", "2026-11-31"])


# -- time zones: the value stored is the UTC instant, naive ----------------------------------

ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%z"


def test_offset_values_are_stored_as_naive_utc():
    assert good("timestamp", ["2026-11-20T10:30:00+01:00", "2026-11-20T10:30:00+0100", "2026-11-20T10:30:00Z",
                              "2026-11-20T10:30:00+05:30", "2026-11-20T10:30:00-03:30",
                              "2026-11-20T10:30:00-00:00", " 2026-11-20T10:30:00+23:59 "], ISO_WITH_OFFSET) == [
        dt.datetime(2026, 11, 20, 9, 30), dt.datetime(2026, 11, 20, 9, 30), dt.datetime(2026, 11, 20, 10, 30),
        dt.datetime(2026, 11, 20, 5, 0), dt.datetime(2026, 11, 20, 14, 0),
        dt.datetime(2026, 11, 20, 10, 30), dt.datetime(2026, 11, 19, 10, 31)]


def test_offsets_with_seconds_as_strptime_takes_them():
    assert good("timestamp", ["2026-11-20T10:30:00+01:00:30", "2026-11-20T10:30:00-010030"], ISO_WITH_OFFSET) == [
        dt.datetime(2026, 11, 20, 9, 29, 30), dt.datetime(2026, 11, 20, 11, 30, 30)]


def test_offsets_strptime_refuses_are_bad():
    bad("timestamp", ["2026-11-20T10:30:00", "2026-11-20T10:30:00+01", "2026-11-20T10:30:00+1:00",
                      "2026-11-20T10:30:00+24:00", "2026-11-20T10:30:00+01:60", "2026-11-20T10:30:00z",
                      "2026-11-20T10:30:00+01:0030", "2026-11-20T10:30:00+01:00:30.5",
                      "2026-11-20T10:30:00 +01:00", "2026-11-20T10:30:00+01:00x"], ISO_WITH_OFFSET)


@pytest.mark.parametrize("value", ["2026-11-20T10:30:00+01:00", "2026-11-20T10:30:00-0330", "2026-11-20T10:30:00Z",
                                   "2026-11-20T10:30:00+01:00:30", "2026-11-20T10:30:00+01", "2026-11-20T10:30:00"])
def test_offsets_agree_with_python_strptime(value):
    try:
        expected = dt.datetime.strptime(value, ISO_WITH_OFFSET).astimezone(dt.UTC).replace(tzinfo=None)
    except ValueError:
        expected = None
    assert cast("timestamp", [value], ISO_WITH_OFFSET)[0][1] == expected


def test_rollover_is_caught_on_the_written_time_not_the_utc_one():
    # 2026-02-29 rolls over to March 1 in wall time, but 00:30+05:00 is February 28 in UTC.
    bad("timestamp", ["2026-02-29T00:30:00+05:00", "2026-04-31T10:00:00Z", "2026-11-20T10:30:60+01:00"],
        ISO_WITH_OFFSET)
    assert good("timestamp", ["2026-03-01T00:30:00+01:00", "2024-02-29T23:30:00-01:00"], ISO_WITH_OFFSET) == [
        dt.datetime(2026, 2, 28, 23, 30), dt.datetime(2024, 3, 1, 0, 30)]


def test_time_zone_anywhere_in_the_format():
    assert good("timestamp", ["[+0100] 20/11/2026 10:30 %z"], "[%z] %d/%m/%Y %H:%M %%z") == [
        dt.datetime(2026, 11, 20, 9, 30)]


def test_time_zone_names_are_utc_only():
    # %Z is read as the zone it names, so only names of UTC can be stored without a zone table.
    assert good("timestamp", ["2026-11-20 10:30 UTC", "2026-11-20 10:30 gmt"], "%Y-%m-%d %H:%M %Z") == [
        dt.datetime(2026, 11, 20, 10, 30)] * 2
    bad("timestamp", ["2026-11-20 10:30 CET", "2026-11-20 10:30"], "%Y-%m-%d %H:%M %Z")


def test_instants_outside_years_1_to_9999_are_bad():
    bad("timestamp", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"], ISO_WITH_OFFSET)
    bad("date", ["0000-01-01"])
    assert good("timestamp", ["0001-01-01T00:30:00-01:00"], ISO_WITH_OFFSET) == [dt.datetime(1, 1, 1, 1, 30)]
