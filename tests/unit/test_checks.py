"""BatchValidator and Report: every check kind reports its reason, column, count and 1-based rows."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pyarrow as pa
import pytest
import yaml

from etl_common.vocabulary import Reason
from etl_validator import checks
from etl_validator.checks import BatchValidator, SeenKeys, check_header
from etl_validator.contract import ContractError, ContractLoader, parse_contract
from etl_validator.report import MAX_CASES, MAX_VALUE_CHARS, Report


def contract(columns: list[dict], **extra):
    return parse_contract({"dataset": "t", "columns": columns, **extra}, "t.yaml")


def run(contract_, *batches: dict[str, list]) -> Report:
    report = Report()
    validator = BatchValidator(contract_, report)
    for batch in batches:
        validator.validate(pa.record_batch({k: pa.array(v, pa.string()) for k, v in batch.items()}))
    validator.finish()
    return report


def only(report: Report) -> dict:
    """The single failure in `report`, with rows and values pulled out of its cases."""
    failures = report.to_list()
    assert len(failures) == 1, failures
    failure = failures[0]
    failure["rows"] = [c["row"] for c in failure["cases"]]
    failure["values"] = [c["value"] for c in failure["cases"]]
    return failure


def by_column(report: Report) -> dict[str, dict]:
    return {f["column"]: f for f in report.to_list()}


# -- a clean batch ---------------------------------------------------------------------------

def test_valid_batch_has_no_failures():
    c = contract([
        {"name": "id", "type": "integer", "nullable": False, "unique": True, "checks": {"ge": 1}},
        {"name": "status", "type": "string", "checks": {"isin": ["A", "B"]}},
        {"name": "amount", "type": "decimal(6,2)", "checks": {"in_range": {"min_value": 0, "max_value": 100}}},
        {"name": "day", "type": "date", "nullable": False},
    ], rows={"min": 1, "max": 10})
    report = run(c, {"id": ["1", "2", "3"], "status": ["A", "B", None],
                     "amount": ["0", "99.99", None], "day": ["2026-01-01"] * 3})
    assert report.ok
    assert report.to_list() == []
    assert report.failed_row_count == 0


def test_rows_are_counted_across_batches():
    c = contract([{"name": "a", "type": "string"}])
    report = Report()
    validator = BatchValidator(c, report)
    validator.validate(pa.record_batch({"a": pa.array(["x", "y"])}))
    validator.validate(pa.record_batch({"a": pa.array(["z"])}))
    assert validator.rows == 3


# -- types -----------------------------------------------------------------------------------

def test_wrong_type():
    c = contract([{"name": "n", "type": "integer"}, {"name": "s", "type": "string"}])
    failure = only(run(c, {"n": ["1", "x", None, "2.5"], "s": ["a", "b", "c", "d"]}))
    assert failure["check"] == "type:integer"
    assert (failure["column"], failure["reason"], failure["count"]) == ("n", "wrong_type", 2)
    assert failure["rows"] == [2, 4]
    assert failure["values"] == ["x", "2.5"]


def test_wrong_type_rows_continue_across_batches():
    c = contract([{"name": "d", "type": "date"}])
    failure = only(run(c, {"d": ["2026-01-01", "2026-01-02"]}, {"d": ["2026-01-03", "nope"]}))
    assert failure["rows"] == [4] and failure["values"] == ["nope"]


def test_a_bad_typed_value_is_not_reported_again_as_null():
    c = contract([{"name": "n", "type": "integer", "nullable": False}])
    failure = only(run(c, {"n": ["1", "x", "3"]}))
    assert failure["reason"] == "wrong_type" and failure["rows"] == [2]


# -- nullable --------------------------------------------------------------------------------

def test_nullable_column_accepts_nulls():
    c = contract([{"name": "n", "type": "integer", "nullable": True, "checks": {"ge": 1}}])
    assert run(c, {"n": [None, "1", None]}).ok


@pytest.mark.parametrize("type_", ["integer", "string", "date"])
def test_not_nullable(type_):
    values = {"integer": ["1", "2", None, "4"], "string": ["a", "b", None, "d"],
              "date": ["2026-01-01", "2026-01-02", None, "2026-01-04"]}[type_]
    c = contract([{"name": "n", "type": type_, "nullable": False}])
    report = run(c, {"n": values})
    failure = only(report)
    assert (failure["column"], failure["reason"], failure["count"]) == ("n", "null_value", 1)
    assert failure["rows"] == [3]
    assert failure["values"] == [None]
    assert report.failed_row_count == 1


def test_not_nullable_reason_and_column():
    # The part of the nullable check that works today: it is found, with its reason and column.
    c = contract([{"name": "n", "type": "integer", "nullable": False}])
    failure = only(run(c, {"n": ["1", None, "3"]}))
    assert (failure["check"], failure["column"], failure["reason"]) == ("not_nullable", "n", "null_value")


# -- value checks ----------------------------------------------------------------------------

def test_isin():
    c = contract([{"name": "status", "type": "string", "checks": {"isin": ["NEW", "PAID"]}}])
    failure = only(run(c, {"status": ["NEW", "LOST", None, "paid", "PAID"]}))
    assert failure["check"].startswith("isin(")
    assert (failure["column"], failure["reason"], failure["count"]) == ("status", "check_failed", 2)
    assert failure["rows"] == [2, 4]
    assert failure["values"] == ["LOST", "paid"]


def test_in_range_on_floats():
    c = contract([{"name": "x", "type": "float",
                   "checks": {"in_range": {"min_value": 0, "max_value": 10}}}])
    failure = only(run(c, {"x": ["0", "10", "10.5", None, "-0.1", "5"]}))
    assert failure["check"] == "in_range(0, 10)"
    assert (failure["column"], failure["reason"], failure["count"]) == ("x", "check_failed", 2)
    assert failure["rows"] == [3, 5]
    assert failure["values"] == [10.5, -0.1]


def test_ge_le_on_decimals():
    c = contract([{"name": "amount", "type": "decimal(12,2)", "checks": {"ge": 0, "le": 100}}])
    failures = run(c, {"amount": ["-5.00", "0", "100.00", "100.01", None]}).to_list()
    assert {(f["check"], f["count"], tuple(x["row"] for x in f["cases"])) for f in failures} == {
        ("greater_than_or_equal_to(0)", 1, (1,)),
        ("less_than_or_equal_to(100)", 1, (4,)),
    }
    assert all(f["column"] == "amount" and f["reason"] == "check_failed" for f in failures)


BEYOND_FLOATS = ["10000000000000000.00", "9999999999999999.99", "9999999999999999.98", None]


@pytest.mark.parametrize(("check", "failing"), [
    ("le: 9999999999999999.99", [1]),
    ("lt: 9999999999999999.99", [1, 2]),
    ("ge: 9999999999999999.99", [3]),
    ("gt: 9999999999999999.98", [3]),
    ("eq: 9999999999999999.99", [1, 3]),
    ("ne: 9999999999999999.99", [2]),
    ("in_range: {min_value: 9999999999999999.98, max_value: 9999999999999999.99, include_min: false}", [1, 3]),
    ("isin: [9999999999999999.99, 1]", [1, 3]),
    ("notin: [9999999999999999.98]", [3]),
])
def test_decimal_comparisons_are_exact_beyond_float_precision(check, failing):
    """As floats the three values are all 1e16: every one of these checks would pass or fail them alike."""
    raw = yaml.load(f"dataset: t\ncolumns: [{{name: x, type: 'decimal(38,2)', checks: {{{check}}}}}]",
                    Loader=ContractLoader)
    failure = only(run(parse_contract(raw, "t.yaml"), {"x": BEYOND_FLOATS}))
    assert (failure["column"], failure["reason"]) == ("x", "check_failed")
    assert failure["rows"] == failing
    assert failure["values"] == [BEYOND_FLOATS[row - 1] for row in failing]


def test_decimal_check_labels_read_as_the_contract_writes_them():
    c = contract([{"name": "x", "type": "decimal(12,2)",
                   "checks": {"isin": [1.5, 2], "in_range": {"min_value": 0, "max_value": 10.25}}}])
    failures = run(c, {"x": ["3.00", "1.50", "-1"]}).to_list()
    assert [(f["check"], f["count"]) for f in failures] == [("isin([1.5, 2])", 2), ("in_range(0, 10.25)", 1)]
    assert failures[0]["cases"] == [{"row": 1, "value": "3.00"}, {"row": 3, "value": "-1.00"}]


def test_integer_ge():
    c = contract([{"name": "id", "type": "integer", "checks": {"gt": 0}}])
    failure = only(run(c, {"id": ["1", "0", "-3", "7"]}))
    assert failure["rows"] == [2, 3] and failure["values"] == [0, -3]


def test_regex():
    c = contract([{"name": "cur", "type": "string", "checks": {"str_matches": "^[A-Z]{3}$"}}])
    failure = only(run(c, {"cur": ["EUR", "eur", "EURO", None, "US"]}))
    assert failure["check"] == "str_matches('^[A-Z]{3}$')"
    assert (failure["column"], failure["reason"], failure["count"]) == ("cur", "check_failed", 3)
    assert failure["rows"] == [2, 3, 5]
    assert failure["values"] == ["eur", "EURO", "US"]


def test_str_length():
    c = contract([{"name": "name", "type": "string",
                   "checks": {"str_length": {"min_value": 2, "max_value": 4}}}])
    failure = only(run(c, {"name": ["ab", "a", "abcde", None, "abcd", ""]}))
    assert failure["check"] == "str_length(2, 4)"
    assert (failure["column"], failure["reason"], failure["count"]) == ("name", "check_failed", 3)
    assert failure["rows"] == [2, 3, 6]
    assert failure["values"] == ["a", "abcde", ""]


def test_checks_rows_continue_across_batches():
    c = contract([{"name": "s", "type": "string", "checks": {"isin": ["A"]}}])
    failure = only(run(c, {"s": ["A", "B"]}, {"s": ["A", "A", "C"]}))
    assert failure["count"] == 2 and failure["rows"] == [2, 5]


def test_rows_with_a_type_error_skip_value_checks():
    c = contract([{"name": "n", "type": "integer", "checks": {"ge": 10}}])
    failures = {f["reason"]: f for f in run(c, {"n": ["x", "5", "20"]}).to_list()}
    assert set(failures) == {"wrong_type", "check_failed"}
    assert [x["row"] for x in failures["check_failed"]["cases"]] == [2]


def test_several_columns_fail_on_the_same_row():
    c = contract([
        {"name": "s", "type": "string", "checks": {"isin": ["A"]}},
        {"name": "n", "type": "integer", "checks": {"le": 1}},
    ])
    report = run(c, {"s": ["A", "B", "A"], "n": ["1", "9", "1"]})
    assert set(by_column(report)) == {"s", "n"}
    assert report.failed_row_count == 1  # one row, two failed checks


# -- uniqueness ------------------------------------------------------------------------------

def test_unique_within_a_batch():
    c = contract([{"name": "id", "type": "integer", "unique": True}])
    failure = only(run(c, {"id": ["1", "2", "1", None, None, "2", "1"]}))
    assert (failure["check"], failure["column"], failure["reason"]) == ("unique", "id", "duplicate_value")
    assert failure["count"] == 3
    assert failure["rows"] == [3, 6, 7]
    assert failure["values"] == [1, 2, 1]


def test_unique_across_batches():
    c = contract([{"name": "id", "type": "integer", "unique": True}])
    failure = only(run(c, {"id": ["1", "2", "3"]}, {"id": ["4", "2"]}, {"id": ["1"]}))
    assert failure["count"] == 2
    assert failure["rows"] == [5, 6]
    assert failure["values"] == [2, 1]


def test_unique_compares_typed_values():
    # " 7" and "07" are both the integer 7.
    c = contract([{"name": "id", "type": "integer", "unique": True}])
    failure = only(run(c, {"id": ["7", " 7"]}, {"id": ["07"]}))
    assert failure["rows"] == [2, 3]


def test_unique_string_column_is_case_sensitive():
    c = contract([{"name": "code", "type": "string", "unique": True}])
    assert run(c, {"code": ["a", "A", "b"]}).ok


# -- row counts ------------------------------------------------------------------------------

def test_min_rows():
    c = contract([{"name": "a", "type": "string"}], rows={"min": 3})
    failure = only(run(c, {"a": ["x"]}, {"a": ["y"]}))
    assert (failure["check"], failure["column"], failure["reason"], failure["count"]) == (
        "rows.min", None, "too_few_rows", 1)
    assert failure["rows"] == [None]
    assert "2 rows" in failure["values"][0] and "at least 3" in failure["values"][0]


def test_min_rows_with_no_batches():
    c = contract([{"name": "a", "type": "string"}], rows={"min": 1})
    failure = only(run(c))
    assert failure["reason"] == "too_few_rows" and "0 rows" in failure["values"][0]


def test_max_rows():
    c = contract([{"name": "a", "type": "string"}], rows={"max": 2})
    failure = only(run(c, {"a": ["x", "y"]}, {"a": ["z"]}))
    assert (failure["check"], failure["reason"]) == ("rows.max", "too_many_rows")
    assert "3 rows" in failure["values"][0] and "at most 2" in failure["values"][0]


def test_row_limits_met_exactly():
    c = contract([{"name": "a", "type": "string"}], rows={"min": 2, "max": 2})
    assert run(c, {"a": ["x"]}, {"a": ["y"]}).ok


# -- the report ------------------------------------------------------------------------------

def test_report_caps_cases_but_counts_everything():
    c = contract([{"name": "n", "type": "integer"}])
    values = ["bad"] * (MAX_CASES + 15)
    report = run(c, {"n": values[:10]}, {"n": values[10:]})
    failure = only(report)
    assert failure["count"] == MAX_CASES + 15
    assert len(failure["cases"]) == MAX_CASES
    assert failure["rows"] == list(range(1, MAX_CASES + 1))
    assert report.failed_row_count == MAX_CASES + 15


def test_failed_rows_are_counted_once_each_across_batches():
    """Distinct failed rows as a number: a row failing three checks counts once, and rows of
    later batches add to it (the count, not the rows, is kept: memory stays flat)."""
    c = contract([{"name": "id", "type": "integer", "unique": True, "checks": {"ge": 1}},
                  {"name": "s", "type": "string", "nullable": False, "checks": {"isin": ["A"]}}])
    report = run(c, {"id": ["1", "0", "x"], "s": ["A", "B", None]},
                 {"id": ["1", "2", "3"], "s": ["B", "A", "A"]})
    assert report.failed_row_count == 3  # rows 2, 3 and 4 (a duplicate id and a bad s)
    assert sum(f["count"] for f in report.to_list()) > report.failed_row_count


def test_report_clips_long_values():
    report = Report()
    report.add("c", "col", "check_failed", [1, 2], ["x" * (MAX_VALUE_CHARS + 50), 12345])
    cases = report.to_list()[0]["cases"]
    assert cases[0]["value"] == "x" * MAX_VALUE_CHARS + "..."
    assert cases[1]["value"] == 12345


def test_report_merges_same_check_and_column():
    report = Report()
    report.add("c", "col", "check_failed", [1], ["a"])
    report.add("c", "col", "check_failed", [9], ["b"])
    report.add("c", "other", "check_failed", [None], ["z"])
    failures = report.to_list()
    assert [(f["column"], f["count"]) for f in failures] == [("col", 2), ("other", 1)]
    assert report.failed_row_count == 0  # add counts no rows: the validator counts each batch's
    assert not report.ok


def test_report_lines_and_sample_counts():
    report = Report()
    report.add("row.fields", None, "ragged_rows", [None] * 3, ["s1", "s2", "s3"], [4, 9], count=40)
    failure = report.to_list()[0]
    assert failure["count"] == 40
    assert failure["cases"] == [{"row": None, "value": "s1", "line": 4},
                                {"row": None, "value": "s2", "line": 9}, {"row": None, "value": "s3"}]


def test_report_lists_file_level_failures_first():
    report = Report()
    report.add("type:integer", "n", "wrong_type", [3], ["x"])
    report.add_file("row.quotes", "unclosed_quote", "never closed", line=3)
    assert [f["reason"] for f in report.to_list()] == ["unclosed_quote", "wrong_type"]
    assert report.to_list()[0]["cases"] == [{"row": None, "value": "never closed", "line": 3}]


# -- field sizes -----------------------------------------------------------------------------

def test_fields_over_max_field_bytes():
    c = contract([{"name": "s", "type": "string"}], max_field_bytes=8)
    report = Report()
    validator = BatchValidator(c, report)
    # Bytes, not characters: "éééé" is 8 bytes, "ééééé" 10. Extra columns are held to it too.
    validator.validate(pa.record_batch({"s": pa.array(["x" * 8, "ééééé", None]),
                                        "extra": pa.array(["", "", "y" * 9])}))
    failures = {f["column"]: f for f in report.to_list()}
    assert set(failures) == {"s", "extra"}
    assert failures["s"]["reason"] == "field_too_large" and failures["s"]["check"] == "field.max_bytes"
    assert failures["s"]["cases"] == [{"row": 2, "value": "10 bytes, over the limit of 8"}]
    assert failures["extra"]["cases"][0]["row"] == 3
    assert report.failed_row_count == 2


# -- header ----------------------------------------------------------------------------------

HEADER_CONTRACT = [{"name": n, "type": "string"} for n in ("a", "b", "c")]


def header_failures(header: list[str], **extra) -> dict[str, dict]:
    report = Report()
    check_header(contract(HEADER_CONTRACT, **extra), header, report)
    return {f["reason"]: f for f in report.to_list()}


def test_header_ok_in_any_order():
    assert header_failures(["c", "a", "b"]) == {}


def test_header_missing_columns():
    failures = header_failures(["a"])
    assert set(failures) == {"missing_columns"}
    f = failures["missing_columns"]
    assert (f["check"], f["column"], f["count"]) == ("header.required", None, 2)
    assert [x["value"] for x in f["cases"]] == ["b", "c"]


def test_header_extra_columns():
    failures = header_failures(["a", "b", "c", "d", "e"])
    assert set(failures) == {"unexpected_columns"}
    assert [x["value"] for x in failures["unexpected_columns"]["cases"]] == ["d", "e"]
    assert failures["unexpected_columns"]["check"] == "header.extra"


def test_header_extra_columns_allowed():
    assert header_failures(["a", "b", "c", "d"], allow_extra_columns=True) == {}


def test_header_duplicates():
    failures = header_failures(["a", "b", "c", "b", "a", "a"])
    assert set(failures) == {"duplicate_columns"}
    f = failures["duplicate_columns"]
    assert f["check"] == "header.duplicates"
    assert [x["value"] for x in f["cases"]] == ["a", "b"]
    assert f["count"] == 2


def test_header_several_problems_at_once():
    failures = header_failures(["a", "a", "x"])
    assert set(failures) == {"duplicate_columns", "missing_columns", "unexpected_columns"}


@pytest.mark.parametrize("header", ["a;b;c", "a\tb\tc", "a|b|c"])
def test_header_in_another_delimiter(header):
    failures = header_failures([header])
    assert set(failures) == {"wrong_delimiter"}
    case = failures["wrong_delimiter"]["cases"][0]
    assert case["line"] == 1 and repr(header[1]) in case["value"] and "','" in case["value"]


def test_comma_header_under_a_semicolon_contract():
    failures = header_failures(["a,b,c"], dialect={"delimiter": ";"})
    assert set(failures) == {"wrong_delimiter"}


def test_one_column_header_is_no_delimiter_problem_for_a_one_column_contract():
    report = Report()
    check_header(contract([{"name": "a;b", "type": "string"}]), ["a;b"], report)
    assert report.ok


def test_one_column_header_without_other_delimiters_is_missing_columns():
    assert set(header_failures(["a b c"])) == {"missing_columns", "unexpected_columns"}


def _grouped_contract(**extra):
    raw = {"dataset": "t", "columns": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"},
                                       {"name": "c", "type": "integer", "nullable": True}]} | extra
    return parse_contract(raw, "t.yaml")


def test_unique_together_reports_repeated_combinations_across_batches():
    report = Report()
    validator = BatchValidator(_grouped_contract(unique_together=[["a", "b"]]), report)
    validator.validate(pa.record_batch({"a": ["1", "1", "2"], "b": ["x", "y", "x"], "c": ["1", "2", "3"]}))
    validator.validate(pa.record_batch({"a": ["1", "2", None], "b": ["y", "z", "x"], "c": ["4", "5", "6"]}))
    [failure] = report.to_list()
    assert (failure["reason"], failure["column"], failure["count"]) == ("duplicate_combination", "a+b", 1)
    assert failure["cases"] == [{"row": 4, "value": "a=1, b=y"}]


def test_ordered_contract_rejects_reordered_columns():
    ordered, loose = Report(), Report()
    check_header(_grouped_contract(ordered=True), ["b", "a", "c"], ordered)
    check_header(_grouped_contract(), ["b", "a", "c"], loose)
    assert [f["reason"] for f in ordered.to_list()] == ["column_order"]
    assert loose.ok


@pytest.mark.parametrize("groups", [[["a"]], [["a", "zz"]], [["a", "a"]]])
def test_unique_together_needs_two_distinct_known_columns(groups):
    with pytest.raises(ContractError, match=r"unique_together\[0\]"):
        _grouped_contract(unique_together=groups)


@pytest.mark.parametrize(("check", "values", "failing"), [
    ("trimmed", ["EUR", " USD", "GBP "], [2, 3]),
    ("no_control_characters", ["ok", "tab\there", "nul\x00"], [2, 3]),
])
def test_named_custom_checks_from_code(check, values, failing):
    raw = {"dataset": "t", "columns": [{"name": "s", "type": "string", "checks": {check: {}}}]}
    report = Report()
    BatchValidator(parse_contract(raw, "t.yaml"), report).validate(pa.record_batch({"s": values}))
    [failure] = report.to_list()
    assert (failure["column"], [c["row"] for c in failure["cases"]]) == ("s", failing)


# -- uniqueness state and split batches -----------------------------------------------------

def repeats(seen: SeenKeys, values: list, type_: pa.DataType = pa.int64()) -> list[int]:
    return seen.repeats(pa.array(values, type_)).to_pylist()


def test_seen_keys_counting_ids_collapse_into_ranges():
    seen = SeenKeys()
    for start in range(0, 10_000, 1_000):
        assert repeats(seen, list(range(start, start + 1_000))) == []
    assert [len(lo) for lo, _ in seen._levels] == [1]
    assert repeats(seen, [9_999, 10_000, 0, 10_000, None, 5]) == [0, 2, 3, 5]


def test_seen_keys_in_random_order_stay_exact():
    keys = random.Random(1).sample(range(-10**12, 10**12), 5_000)
    seen = SeenKeys()
    for start in range(0, 5_000, 300):
        assert repeats(seen, keys[start:start + 300]) == []
    assert repeats(seen, [keys[17], keys[4_999] + 1, keys[0]]) == [0, 2]
    assert sum(len(lo) for lo, _ in seen._levels) <= 5_001


@pytest.mark.parametrize(("values", "type_", "repeated"), [
    (["b", "a", "b", None, None, "a"], pa.string(), [2, 5]),
    ([Decimal("1.50"), Decimal("2.00"), Decimal("1.50")], pa.decimal128(12, 2), [2]),
    ([0.0, -0.0, 1.5], pa.float64(), [1]),
    ([dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 1)], pa.date32(), [2]),
])
def test_seen_keys_other_types(values, type_, repeated):
    assert repeats(SeenKeys(), values, type_) == repeated


def test_a_split_batch_reports_exactly_what_an_unsplit_one_does(monkeypatch):
    c = contract([
        {"name": "id", "type": "integer", "nullable": False, "unique": True, "checks": {"ge": 1}},
        {"name": "day", "type": "date", "nullable": False},
        {"name": "code", "type": "string", "checks": {"isin": ["A", "B"]}},
    ], unique_together=[["day", "code"]])
    rng = random.Random(3)
    rows = 400
    batch = {"id": [str(rng.choice([rng.randint(-2, 300), "x", None])) for _ in range(rows)],
             "day": [rng.choice(["2026-01-01", "2026-02-30", None, "2026-01-02"]) for _ in range(rows)],
             "code": [rng.choice(["A", "B", "C", None]) for _ in range(rows)]}
    batch["id"] = [None if v == "None" else v for v in batch["id"]]
    monkeypatch.setattr(checks, "SPLIT_ROWS", 10**9)
    whole = run(c, batch, batch)
    monkeypatch.setattr(checks, "SPLIT_ROWS", 50)
    split = run(c, batch, batch)
    assert split.to_list() == whole.to_list()
    assert split.failed_row_count == whole.failed_row_count > 0
    assert {f["reason"] for f in whole.to_list()} == {
        "wrong_type", "null_value", "check_failed", "duplicate_value", "duplicate_combination"}


def test_a_value_of_the_wrong_type_skips_the_other_checks_of_its_row():
    c = contract([{"name": "day", "type": "date", "nullable": False},
                  {"name": "code", "type": "string", "nullable": False, "checks": {"isin": ["A"]}}])
    report = run(c, {"day": ["2026-02-30", "2026-01-01", None], "code": ["Z", "Z", None]})
    assert {(f["column"], f["reason"], tuple(x["row"] for x in f["cases"])) for f in report.to_list()} == {
        ("day", "wrong_type", (1,)), ("code", "check_failed", (2,)),
        ("day", "null_value", (3,)), ("code", "null_value", (3,))}


def test_place_rows_renumbers_the_cases():
    report = Report()
    report.add("type:integer", "n", Reason.WRONG_TYPE, [2, 5], ["x", "y"])
    report.add("row.fields", None, Reason.RAGGED_ROWS, [None], ["expected 2 fields, got 1: 3"], [4])
    assert report.case_rows() == {2, 5}
    report.place_rows({2: (3, 4), 7: (9, 12)})
    [ragged, typed] = report.to_list()
    assert typed["cases"] == [{"row": 3, "value": "x", "line": 4}, {"row": 5, "value": "y"}]
    assert ragged["cases"] == [{"row": None, "value": "expected 2 fields, got 1: 3", "line": 4}]


def test_undeclared_escape_is_searched_in_the_batch_s_own_values():
    """A batch may be a slice of larger buffers: the values before and after it are not its own."""
    batch = pa.record_batch({"s": pa.array(['say \\hi\\""', "x", "y", 'and \\again\\""'])})
    reports = {}
    for rows in ((1, 2), (1, 3)):
        reports[rows] = Report()
        BatchValidator(contract([{"name": "s", "type": "string"}]), reports[rows]).validate(batch.slice(*rows))
    assert reports[1, 2].ok
    assert only(reports[1, 3])["values"][0].endswith('(first: s, row 3: and \\again\\"")')
