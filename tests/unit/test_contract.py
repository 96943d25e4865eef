"""Contracts: the shipped files load, malformed files fail with the file and the field named."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from etl_common.messages import JobContract
from etl_validator.contract import (
    DEFAULT_MAX_BYTES,
    MAX_COLUMNS,
    MAX_CONTRACT_BYTES,
    Contract,
    ContractError,
    find_contract,
    load_all,
    load_contract,
    parse_contract,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"

GOOD = """\
dataset: {name}
version: 2
dialect:
  delimiter: ","
columns:
  - name: id
    type: integer
    nullable: false
    unique: true
    checks: {{ge: 1}}
  - name: price
    type: decimal(12,2)
  - name: ratio
    type: float
  - name: day
    type: date
    nullable: false
  - name: at
    type: timestamp
    format: "%Y-%m-%d %H:%M"
  - name: flag
    type: boolean
  - name: label
    type: string
parquet:
  partition_by: [day]
  compression: zstd
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def base(**overrides) -> dict:
    raw = {"dataset": "t", "columns": [{"name": "a", "type": "integer"},
                                       {"name": "b", "type": "string"}]}
    raw.update(overrides)
    return raw


# -- shipped contracts -----------------------------------------------------------------------

def test_shipped_contracts_load():
    contracts = load_all(CONTRACTS)
    assert [c.dataset for c in contracts] == ["customers", "orders", "readings"]
    assert all(isinstance(c, Contract) for c in contracts)


def test_orders_contract_content():
    orders = find_contract(CONTRACTS, "orders")
    assert orders is not None
    assert orders.max_bytes == 1 << 30 and orders.max_field_bytes == 4 << 10
    assert orders.column_names == ["order_id", "customer_id", "order_date", "status", "amount",
                                   "currency", "email"]
    assert orders.dialect.null_values == ("", "NULL")
    assert orders.min_rows == 1 and orders.max_rows is None
    assert orders.partition_by == ("order_date",)
    amount = next(c for c in orders.columns if c.name == "amount")
    assert amount.decimal == (12, 2)
    assert (amount.column_type.precision, amount.column_type.scale) == (12, 2)
    assert orders.columns[0].decimal is None
    order_id = orders.columns[0]
    assert (order_id.nullable, order_id.unique, order_id.checks) == (False, True, {"ge": 1})


def test_customers_contract_uses_semicolons():
    customers = find_contract(CONTRACTS, "customers")
    assert customers is not None
    assert customers.dialect.delimiter == ";"
    assert customers.partition_by == ("country",)


# -- for_job ----------------------------------------------------------------------------------

def test_for_job_shape_and_glue_types(tmp_path):
    contract = load_contract(write(tmp_path, "things", GOOD.format(name="things")))
    assert isinstance(contract.for_job(), JobContract)
    job = contract.for_job().model_dump()
    assert {"dataset", "version", "columns", "partition_by", "compression"} <= set(job)
    assert job["dataset"] == "things" and job["version"] == 2
    assert job["partition_by"] == ["day"] and job["compression"] == "zstd"
    columns = {c["name"]: c for c in job["columns"]}
    assert [c["name"] for c in job["columns"]] == ["id", "price", "ratio", "day", "at", "flag", "label"]
    assert {n: c["glue_type"] for n, c in columns.items()} == {
        "id": "bigint", "price": "decimal(12,2)", "ratio": "double", "day": "date",
        "at": "timestamp", "flag": "boolean", "label": "string",
    }
    assert {n: c["spark_type"] for n, c in columns.items()} == {
        "id": "bigint", "price": "decimal(12,2)", "ratio": "double", "day": "date",
        "at": "timestamp", "flag": "boolean", "label": "string",
    }
    assert columns["price"]["type"] == "decimal(12,2)"
    assert {n: c["catalog_name"] for n, c in columns.items()} == {n: n for n in columns}
    assert all(set(c) == {"name", "type", "spark_type", "glue_type", "catalog_name"} for c in job["columns"])


def test_every_date_and_timestamp_has_a_format():
    raw = base(columns=[{"name": "d", "type": "date"}, {"name": "t", "type": "timestamp"},
                        {"name": "s", "type": "date", "format": "%d/%m/%Y"}])
    formats = {c.name: c.format for c in parse_contract(raw, "t.yaml").columns}
    assert formats == {"d": "%Y-%m-%d", "t": "%Y-%m-%dT%H:%M:%S", "s": "%d/%m/%Y"}


def test_decimal_type_is_written_one_way():
    raw = base(columns=[{"name": "a", "type": " decimal(38, 2) "}])
    [column] = parse_contract(raw, "t.yaml").for_job().columns
    assert (column.type, column.spark_type, column.glue_type) == ("decimal(38,2)",) * 3


def test_for_job_of_shipped_orders_contract():
    job = find_contract(CONTRACTS, "orders").for_job().model_dump()
    glue = {c["name"]: c["glue_type"] for c in job["columns"]}
    assert glue["amount"] == "decimal(12,2)"
    assert glue["order_id"] == "bigint"
    assert glue["order_date"] == "date"


def test_defaults():
    contract = parse_contract(base(), "t.yaml")
    assert contract.version == 1
    assert contract.dialect.delimiter == "," and contract.dialect.header is True
    assert contract.dialect.encoding == "utf-8"
    assert contract.max_bytes == DEFAULT_MAX_BYTES == 10 << 30 and contract.max_field_bytes == 1 << 20
    assert contract.compression == "snappy"
    assert contract.partition_by == ()
    assert contract.allow_extra_columns is False


@pytest.mark.parametrize(("value", "size"), [
    (1000, 1000), ("1000", 1000), ("512 B", 512), ("64KiB", 64 << 10), ("1 MiB", 1 << 20),
    (" 2 GiB ", 2 << 30), ("1 TiB", 1 << 40),
])
def test_sizes(value, size):
    contract = parse_contract(base(max_bytes=value, max_field_bytes=value), "t.yaml")
    assert contract.max_bytes == size and contract.max_field_bytes == size


@pytest.mark.parametrize(("declared", "codec"), [
    ("utf-8", "utf-8"), ("UTF8", "utf-8"), ("latin-1", "iso8859-1"), ("latin1", "iso8859-1"),
    ("windows-1252", "cp1252"), ("ascii", "ascii"), ("utf-16", "utf-16"), ("UTF-16LE", "utf-16-le"),
])
def test_encoding_names(declared, codec):
    """The validator decodes with Python's codec, whatever alias the contract gives."""
    assert parse_contract(base(dialect={"encoding": declared}), "t.yaml").dialect.encoding == codec


# -- malformed contracts ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "field", "words"), [
    (base(columns=[{"name": "a", "type": "int"}]), "columns[a].type", "unknown type"),
    (base(columns=[{"name": "a", "type": "decimal(40,2)"}]), "columns[a].type", "precision"),
    (base(columns=[{"name": "a", "type": "decimal(2,3)"}]), "columns[a].type", "scale"),
    (base(columns=[{"name": "a", "type": "integer", "checks": {"between": 1}}]),
     "columns[a].checks.between", "unknown check"),
    (base(columns=[{"name": "a", "type": "integer", "colour": "red"}]), "columns[a].colour",
     "unknown field"),
    (base(columns=[{"type": "integer"}]), "columns[0].name", "required"),
    (base(columns=[{"name": "a"}]), "columns[a].type", "required"),
    (base(columns=["a"]), "columns[0]", "mapping"),
    (base(columns=[{"name": "a", "type": "integer", "nullable": "no"}]), "columns[a].nullable",
     "must be bool"),
    ({"dataset": "t"}, "columns", "required"),
    (base(columns=[]), "columns", "at least one"),
    (base(columns=[{"name": "a", "type": "integer"}, {"name": "a", "type": "string"}]), "columns",
     "unique"),
    (base(parquet={"partition_by": ["nope"]}), "parquet.partition_by", "'nope' is not a column"),
    (base(parquet={"compression": "lz4"}), "parquet.compression", "snappy"),
    (base(dialect={"delimiter": ";;"}), "dialect.delimiter", "one character"),
    (base(dialect={"delimiter": ""}), "dialect.delimiter", "one character"),
    (base(dialect={"delimiter": "§"}), "dialect.delimiter", "ASCII"),
    (base(dialect={"header": "yes"}), "dialect.header", "must be bool"),
    (base(dialect={"escape_char": "\\\\"}), "dialect.escape_char", "one character"),
    (base(dialect={"escape_char": "§"}), "dialect.escape_char", "ASCII"),
    (base(dialect={"escape_char": 1}), "dialect.escape_char", "must be str"),
    (base(dialect={"escape_char": '"'}), "dialect.escape_char", "differ from the delimiter and the quote_char"),
    (base(dialect={"delimiter": ";", "escape_char": ";"}), "dialect.escape_char", "differ"),
    (base(dialect={"escapechar": "\\"}), "dialect.escapechar", "unknown field"),
    (base(dialect={"encoding": "no-such-codec"}), "dialect.encoding", "unsupported encoding"),
    (base(dialect={"encoding": "utf-32"}), "dialect.encoding", "unsupported encoding"),
    (base(dialect={"encoding": "utf-8-sig"}), "dialect.encoding", "utf-16-le"),
    (base(max_bytes="big"), "max_bytes", "not a size"),
    (base(max_bytes="5 GB"), "max_bytes", "MiB"),
    (base(max_bytes=0), "max_bytes", "positive"),
    (base(max_bytes=1.5), "max_bytes", "must be int or str"),
    (base(max_field_bytes=-1), "max_field_bytes", "positive"),
    (base(version=True), "version", "must be int"),
    (base(version="1"), "version", "must be int"),
    (base(rows={"min": "1"}), "rows.min", "must be int"),
    (base(error_threshold=5), "error_threshold", "must be dict"),
    (base(error_threshold={}), "error_threshold", "max_rows and/or max_fraction"),
    (base(error_threshold={"max_percent": 5}), "error_threshold.max_percent", "max_rows"),
    (base(error_threshold={"max_rows": -1}), "error_threshold.max_rows", "0 or more"),
    (base(error_threshold={"max_rows": 0.5}), "error_threshold.max_rows", "must be int"),
    (base(error_threshold={"max_fraction": 1}), "error_threshold.max_fraction", "below 1"),
    (base(error_threshold={"max_fraction": "1%"}), "error_threshold.max_fraction", "must be int or float"),
    ({"columns": [{"name": "a", "type": "integer"}]}, "dataset", "required"),
    (["not", "a", "mapping"], "(root)", "mapping"),
])
def test_malformed_contract_names_the_field(raw, field, words):
    with pytest.raises(ContractError) as info:
        parse_contract(raw, "contracts/t.yaml")
    assert info.value.path == "contracts/t.yaml"
    assert info.value.field == field
    assert words in info.value.problem
    assert str(info.value).startswith(f"contracts/t.yaml: {field}: ")


@pytest.mark.parametrize("limits, bad, rows, allowed", [
    ({"max_rows": 2}, 2, 10, True),
    ({"max_rows": 2}, 3, 1000, False),
    ({"max_fraction": 0.1}, 10, 100, True),
    ({"max_fraction": 0.1}, 11, 100, False),
    ({"max_rows": 5, "max_fraction": 0.1}, 5, 40, False),
    ({"max_rows": 5, "max_fraction": 0.1}, 4, 40, True),
])
def test_error_threshold_needs_every_limit_it_sets(limits, bad, rows, allowed):
    threshold = parse_contract(base(error_threshold=limits), "contracts/t.yaml").error_threshold
    assert threshold.allows(bad, rows) is allowed


def test_no_error_threshold_by_default():
    assert parse_contract(base(), "contracts/t.yaml").error_threshold is None


def test_bad_files_name_the_file(tmp_path):
    path = write(tmp_path, "things", GOOD.format(name="things").replace("type: float", "type: real"))
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(path) in str(info.value)
    assert "columns[ratio].type" in str(info.value)
    assert "unknown type 'real'" in str(info.value)


def test_dataset_must_match_file_name(tmp_path):
    path = write(tmp_path, "things", GOOD.format(name="other"))
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert info.value.path == str(path)
    assert info.value.field == "dataset"
    assert "'things'" in info.value.problem


def test_invalid_yaml(tmp_path):
    path = write(tmp_path, "things", "dataset: things\ncolumns: [a, b\n")
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert info.value.path == str(path)
    assert info.value.field == "(yaml)"
    assert "\n" not in str(info.value)


def test_empty_file_is_not_a_mapping(tmp_path):
    with pytest.raises(ContractError) as info:
        load_contract(write(tmp_path, "things", ""))
    assert info.value.field == "(root)"


def test_load_all_fails_on_any_bad_file(tmp_path):
    write(tmp_path, "good", GOOD.format(name="good"))
    write(tmp_path, "bad", GOOD.format(name="bad").replace("compression: zstd", "compression: brotli"))
    with pytest.raises(ContractError) as info:
        load_all(tmp_path)
    assert info.value.path.endswith("bad.yaml")
    assert info.value.field == "parquet.compression"


def test_load_all_reads_yml_too(tmp_path):
    (tmp_path / "things.yml").write_text(GOOD.format(name="things"), encoding="utf-8")
    assert [c.dataset for c in load_all(tmp_path)] == ["things"]
    assert find_contract(tmp_path, "things").dataset == "things"


# -- find_contract ----------------------------------------------------------------------------

def test_find_contract_unknown_dataset():
    assert find_contract(CONTRACTS, "invoices") is None
    assert find_contract(CONTRACTS, "_unknown") is None


@pytest.mark.parametrize("dataset", ["../x", "../contracts/orders", "..", ".", ".orders", "a/b",
                                     "/etc/passwd", "", "orders\x00", "ord ers", "orders/"])
def test_find_contract_rejects_path_tricks(tmp_path, dataset):
    inner = tmp_path / "contracts"
    inner.mkdir()
    # A contract one level up: a `../x` dataset must never reach it.
    write(tmp_path, "x", GOOD.format(name="x"))
    write(inner, "orders", GOOD.format(name="orders"))
    assert find_contract(inner, dataset) is None


def test_find_contract_raises_for_a_bad_file(tmp_path):
    write(tmp_path, "things", GOOD.format(name="things").replace("type: date", "type: datetime"))
    with pytest.raises(ContractError):
        find_contract(tmp_path, "things")


# -- gaps: contracts that load but cannot be used -----------------------------------------------

def test_bad_check_arguments_are_a_contract_error():
    raw = base(columns=[{"name": "a", "type": "integer", "checks": {"in_range": 5}}])
    with pytest.raises(ContractError) as info:
        parse_contract(raw, "t.yaml")
    assert info.value.field == "columns[a].checks.in_range"


def test_escape_char_is_absent_by_default_and_one_character_when_set():
    assert parse_contract(base(), "t.yaml").dialect.escape_char is None
    assert parse_contract(base(dialect={"escape_char": "\\"}), "t.yaml").dialect.escape_char == "\\"


def test_quote_char_of_two_chars_is_a_contract_error():
    with pytest.raises(ContractError) as info:
        parse_contract(base(dialect={"quote_char": "''"}), "t.yaml")
    assert info.value.field == "dialect.quote_char"


def test_unknown_top_level_field_is_a_contract_error():
    with pytest.raises(ContractError) as info:
        parse_contract(base(allow_extra_column=True), "t.yaml")
    assert info.value.field == "allow_extra_column"


def test_loading_a_contract_imports_no_module_that_imports_contract():
    """contract -> check_factory -> custom_checks; checks and casting import contract, not the reverse."""
    code = ("import sys, etl_validator.contract\n"
            "print(sorted(m for m in sys.modules if m.startswith('etl_validator.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env={"PYTHONPATH": f"{ROOT / 'functions/validator'}:{ROOT / 'functions/common'}"})
    assert done.stdout.split("\n")[0] == str(["etl_validator.check_factory", "etl_validator.contract",
                                              "etl_validator.custom_checks"])


# -- what the engines downstream cannot hold ----------------------------------------------------

@pytest.mark.parametrize(("columns", "field", "words"), [
    ([{"name": "executorID", "type": "integer"}, {"name": "executorId", "type": "integer"}],
     "columns[executorId].name", "differs from 'executorID' only in case"),
    ([{"name": "order-id", "type": "integer"}, {"name": "Order_ID", "type": "integer"}],
     "columns[Order_ID].name", "'order-id' and 'Order_ID' both become 'order_id'"),
    ([{"name": "", "type": "integer"}], "columns[].name", "1 to 255 characters"),
    ([{"name": "x" * 256, "type": "integer"}], f"columns[{'x' * 256}].name", "1 to 255 characters"),
])
def test_columns_need_catalog_names_of_their_own(columns, field, words):
    with pytest.raises(ContractError) as info:
        parse_contract(base(columns=columns), "contracts/t.yaml")
    assert (info.value.path, info.value.field) == ("contracts/t.yaml", field)
    assert words in info.value.problem


def test_catalog_name_is_the_header_name_in_athena_s_alphabet():
    raw = base(columns=[{"name": "executorID", "type": "integer"}, {"name": "Unit Price (€)", "type": "float"},
                        {"name": "already_ok_1", "type": "string"}])
    contract = parse_contract(raw, "t.yaml")
    assert contract.column_names == ["executorID", "Unit Price (€)", "already_ok_1"]   # the header's names
    assert [c.catalog_name for c in contract.for_job().columns] == ["executorid", "unit_price____", "already_ok_1"]


def test_partition_column_must_not_be_nullable():
    with pytest.raises(ContractError) as info:
        parse_contract(base(parquet={"partition_by": ["a"]}), "contracts/t.yaml")
    assert info.value.field == "parquet.partition_by"
    assert "nullable: false" in info.value.problem and "__HIVE_DEFAULT_PARTITION__" in info.value.problem
    columns = [{"name": "a", "type": "integer", "nullable": False}]
    assert parse_contract(base(columns=columns, parquet={"partition_by": ["a"]}), "t.yaml").partition_by == ("a",)


def test_column_count_is_capped():
    columns = [{"name": f"c{i}", "type": "string"} for i in range(MAX_COLUMNS + 1)]
    with pytest.raises(ContractError) as info:
        parse_contract(base(columns=columns), "contracts/t.yaml")
    assert info.value.field == "columns" and str(MAX_COLUMNS) in info.value.problem
    assert len(parse_contract(base(columns=columns[:MAX_COLUMNS]), "t.yaml").columns) == MAX_COLUMNS


# -- decimal checks compare exact values ---------------------------------------------------------

def test_yaml_decimal_check_values_are_kept_as_written(tmp_path):
    path = write(tmp_path, "t", """\
        dataset: t
        columns:
          - {name: x, type: "decimal(38,2)", checks: {le: 9999999999999999.99, isin: [0.10, 7], in_range: {min_value: -1.5, max_value: 2, include_max: false}}}
          - {name: y, type: float, checks: {le: 9999999999999999.99}}
        error_threshold: {max_fraction: 0.25}
        """)
    contract = load_contract(path)
    x, y = contract.columns
    assert x.checks == {"le": Decimal("9999999999999999.99"), "isin": [Decimal("0.10"), Decimal(7)],
                        "in_range": {"min_value": Decimal("-1.5"), "max_value": Decimal(2), "include_max": False}}
    assert y.checks == {"le": 1e16}                           # a float column compares floats
    assert contract.error_threshold.max_fraction == 0.25


@pytest.mark.parametrize(("checks", "field", "words"), [
    ({"le": 0.001}, "columns[x].checks.le", "not a decimal(12,2) value"),
    ({"ge": 10_000_000_000}, "columns[x].checks.ge", "not a decimal(12,2) value"),
    ({"isin": [1, "2"]}, "columns[x].checks.isin", "'2' is not a number"),
    ({"in_range": {"min_value": 0, "max_value": float("inf")}}, "columns[x].checks.in_range", "not a decimal"),
    ({"eq": True}, "columns[x].checks.eq", "not a number"),
])
def test_decimal_check_values_must_be_values_of_the_column_type(checks, field, words):
    with pytest.raises(ContractError) as info:
        parse_contract(base(columns=[{"name": "x", "type": "decimal(12,2)", "checks": checks}]), "t.yaml")
    assert info.value.field == field and words in info.value.problem


def test_decimal_check_values_at_the_edges_of_the_type():
    checks = {"ge": Decimal("-9999999999.99"), "le": 9999999999.99, "ne": 0}
    column = parse_contract(base(columns=[{"name": "x", "type": "decimal(12,2)", "checks": checks}]), "t.yaml").columns[0]
    assert column.checks == {"ge": Decimal("-9999999999.99"), "le": Decimal("9999999999.99"), "ne": Decimal(0)}


# -- time zones in formats ---------------------------------------------------------------------

@pytest.mark.parametrize(("column", "field"), [
    ({"name": "d", "type": "date", "format": "%Y-%m-%d%z"}, "columns[d].format"),
    ({"name": "t", "type": "timestamp", "format": "%Y-%m-%dT%H:%M:%S%z %Z"}, "columns[t].format"),
])
def test_a_time_zone_belongs_once_in_a_timestamp_format(column, field):
    with pytest.raises(ContractError) as info:
        parse_contract(base(columns=[column]), "t.yaml")
    assert info.value.field == field and "time zone" in info.value.problem


def test_time_zone_formats_that_load():
    formats = ["%Y-%m-%dT%H:%M:%S%z", "%d/%m/%Y %H:%M %Z", "%Y-%m-%d %%z"]
    columns = [{"name": f"t{i}", "type": "timestamp", "format": f} for i, f in enumerate(formats)]
    assert [c.format for c in parse_contract(base(columns=columns), "t.yaml").columns] == formats


# -- regexes: checked by the engine that runs them ------------------------------------------------

@pytest.mark.parametrize(("check", "pattern", "words"), [
    ("str_matches", "^(?=[A-Z])[A-Z]{3}$", "invalid perl operator"),  # lookahead
    ("str_matches", "(?<!x)[A-Z]{3}", "invalid perl operator"),  # lookbehind, anchored by pandera
    ("str_contains", r"(a)\1", "invalid escape sequence"),  # backreference
    ("str_contains", "a{1001}", "invalid repetition size"),
    ("str_matches", "a*+", "bad repetition operator"),  # possessive
])
def test_a_regex_re2_refuses_is_a_contract_error(check, pattern, words):
    raw = base(columns=[{"name": "code", "type": "string", "checks": {check: pattern}}])
    with pytest.raises(ContractError) as info:
        parse_contract(raw, "t.yaml")
    assert (info.value.path, info.value.field) == ("t.yaml", f"columns[code].checks.{check}")
    assert words in info.value.problem and "RE2" in info.value.problem and "lookaround" in info.value.problem


def test_regexes_re2_runs_load():
    checks = {"str_matches": r"^[A-Z]{3}(-\d+)?$", "str_contains": {"pattern": r"\d"}}
    column = parse_contract(base(columns=[{"name": "code", "type": "string", "checks": checks}]), "t.yaml").columns[0]
    assert column.checks == checks


# -- YAML: no aliases, a bounded size -----------------------------------------------------------

BOMB = "dataset: things\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    path = write(tmp_path, "things", BOMB)
    assert path.stat().st_size < 1024
    started = time.perf_counter()
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert time.perf_counter() - started < 0.5
    assert (info.value.path, info.value.field) == (str(path), "(yaml)")
    assert "YAML aliases are not allowed in contracts" in info.value.problem
    assert "line 3" in info.value.problem


def test_a_merge_key_is_an_alias_too(tmp_path):
    path = write(tmp_path, "things", GOOD.format(name="things") + "x: &id {name: id}\ny: {<<: *id}\n")
    with pytest.raises(ContractError, match="YAML aliases are not allowed"):
        load_contract(path)


def test_a_contract_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = write(tmp_path, "things", GOOD.format(name="things"))
    with path.open("a", encoding="utf-8") as file:
        file.write("#" * MAX_CONTRACT_BYTES + "\n")
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert info.value.field == "(file)" and "larger than 1 MiB" in info.value.problem
