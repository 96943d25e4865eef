"""Each kind of disagreement between the validator's reading and the Glue job's, as a fixture run
through the whole pipeline: the outcome is right and, when processed, the Parquet holds exactly
the values the validator checked."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_validator import plan
from etl_validator.contract import ContractError, parse_contract

from .conftest import single_notification

pytestmark = pytest.mark.workflow
UTC = dt.timezone.utc


def contract(dataset: str, columns: list[dict[str, Any]], **raw: Any) -> dict[str, Any]:
    return {"dataset": dataset, "columns": columns, **raw}


CASES = {
    # 1. A quoted value equal to a null token is text; the unquoted token is null.
    "quoted-null-token": (
        contract("countries", [{"name": "code", "type": "string"}, {"name": "name", "type": "string"},
                               {"name": "gdp", "type": "float"}], dialect={"null_values": ["", "NA"]}),
        b'code,name,gdp\n"NA","Namibia",2.6\nNA,Nowhere,1.0\n',
        [{"code": "NA", "name": "Namibia", "gdp": 2.6}, {"code": None, "name": "Nowhere", "gdp": 1.0}]),
    # 2. Two-digit years as Python reads them: 69-99 are 19xx.
    "two-digit-years": (
        contract("births", [{"name": "born", "type": "date", "format": "%d/%m/%y"}]),
        b"born\n15/03/85\n31/12/69\n01/01/68\n",
        [{"born": dt.date(1985, 3, 15)}, {"born": dt.date(1969, 12, 31)}, {"born": dt.date(2068, 1, 1)}]),
    # 3. CR LF inside a quoted value of a CR LF file.
    "crlf-inside-quotes": (
        contract("notes", [{"name": "id", "type": "integer"}, {"name": "note", "type": "string"}]),
        b'id,note\r\n1,"first\r\nsecond"\r\n2,plain\r\n',
        [{"id": 1, "note": "first\r\nsecond"}, {"id": 2, "note": "plain"}]),
    # 4. Backslash-escaped quotes, declared in the dialect (undeclared, the file is rejected:
    #    test_hostile.py, undeclared_escape).
    "backslash-escapes": (
        contract("exports", [{"name": "id", "type": "integer"}, {"name": "quote", "type": "string"}],
                 dialect={"escape_char": "\\"}),
        b'id,quote\n1,"say \\"hi\\""\n2,"C:\\\\dir"\n',
        [{"id": 1, "quote": 'say "hi"'}, {"id": 2, "quote": "C:\\dir"}]),
    # 5. Unicode whitespace around a number.
    "unicode-whitespace": (
        contract("counts", [{"name": "id", "type": "integer"}, {"name": "n", "type": "decimal(10,2)"}]),
        "id,n\n1,42\u00a0\n2,\u20097.5\u3000\n".encode(),
        [{"id": 1, "n": Decimal("42.00")}, {"id": 2, "n": Decimal("7.50")}]),
    # 7. Dates before 1582-10-15 and timestamps before 1900, written as they are.
    "ancient-datetimes": (
        contract("history", [{"name": "day", "type": "date"}, {"name": "at", "type": "timestamp"}]),
        b"day,at\n0001-01-01,1899-12-30T00:00:00\n1582-10-04,0001-01-01T00:00:01\n",
        [{"day": dt.date(1, 1, 1), "at": dt.datetime(1899, 12, 30, tzinfo=UTC)},
         {"day": dt.date(1582, 10, 4), "at": dt.datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC)}]),
    # 10. Time-zone offsets, stored as UTC.
    "offset-timestamps": (
        contract("events", [{"name": "at", "type": "timestamp", "format": "%Y-%m-%dT%H:%M:%S%z"}]),
        b"at\n2026-11-20T10:30:00+01:00\n2026-11-20T10:30:00+05:30\n2026-11-20T10:30:00Z\n",
        [{"at": dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)}, {"at": dt.datetime(2026, 11, 20, 5, 0, tzinfo=UTC)},
         {"at": dt.datetime(2026, 11, 20, 10, 30, tzinfo=UTC)}]),
    # 12. Column names the catalog cannot store are mapped to catalog names.
    "catalog-names": (
        contract("people", [{"name": "Order ID", "type": "integer"}, {"name": "Customer.Name", "type": "string"}]),
        b"Order ID,Customer.Name\n1,Ana\n",
        [{"order_id": 1, "customer_name": "Ana"}]),
}

REJECTED = {
    # 11. Decimal range checks are exact, beyond float precision.
    "decimal-range": (
        contract("ledger", [{"name": "amount", "type": "decimal(38,2)",
                             "checks": {"le": Decimal("9999999999999999.99")}}]),
        b"amount\n9999999999999999.99\n10000000000000000.00\n", "check_failed"),
}


@pytest.fixture
def contracts(monkeypatch: pytest.MonkeyPatch):
    """The validator runs in this process: each case's dataset gets the case's contract."""
    by_dataset: dict[str, Any] = {}
    find = plan.find_contract
    monkeypatch.setattr(plan, "find_contract",
                        lambda folder, dataset: by_dataset.get(dataset) or find(folder, dataset))
    return by_dataset


def parquet_rows(s3: Any, bucket: str, keys: list[str]) -> list[dict[str, Any]]:
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]
    return pa.concat_tables(tables).to_pylist()


def run_case(stack: Any, tmp_path: Any, contracts: dict[str, Any], name: str, raw: dict[str, Any],
             data: bytes) -> tuple[str, dict[str, Any]]:
    """Upload `data` under the case's dataset, whose contract is `raw`; the key and the result."""
    contracts[raw["dataset"]] = parse_contract(raw, f"{raw['dataset']}.yaml")
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    key = f"incoming/{raw['dataset']}/{name}.csv"
    return key, stack.run_file(path, key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_processed_values_are_the_validated_ones(stack, s3, tmp_path, contracts, name):
    raw, data, expected = CASES[name]
    key, result = run_case(stack, tmp_path, contracts, name, raw, data)

    assert result["outcome"] == "processed", result
    single_notification(result, "processed", key)
    assert parquet_rows(s3, stack.bucket, result["parquet_keys"]) == expected


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_as_the_validator_reads_it(stack, tmp_path, contracts, name):
    raw, data, reason = REJECTED[name]
    _, result = run_case(stack, tmp_path, contracts, name, raw, data)

    assert (result["outcome"], result["reason"]) == ("rejected", reason), result


@pytest.mark.parametrize(("columns", "raw", "problem"), [
    # 6. Names equal but for case: Spark, Glue and Athena would not tell them apart.
    ([{"name": "executorID", "type": "string"}, {"name": "executorId", "type": "string"}], {}, "case"),
    # 12. A nullable partition column would become __HIVE_DEFAULT_PARTITION__.
    ([{"name": "day", "type": "date"}], {"parquet": {"partition_by": ["day"]}}, "nullable"),
])
def test_contracts_the_engines_cannot_hold_are_refused(columns, raw, problem):
    with pytest.raises(ContractError, match=problem):
        parse_contract(contract("refused", columns, **raw), "refused.yaml")


@pytest.mark.parametrize("name", ["été.csv", "_x.csv", "(1).csv", "twice*.csv", "a:b [c] {d}.csv"])
def test_names_that_are_no_path_still_convert(stack, s3, tmp_path, name):
    """9. The staged key and source id come from the layout, never the uploaded name."""
    path = tmp_path / "upload.csv"
    path.write_bytes(b"order_id,customer_id,order_date,status,amount,currency,email\n"
                     b"1,2,2026-11-20,NEW,1.00,EUR,a@example.com\n")
    key = f"incoming/orders/{name}"
    result = stack.run_file(path, key)

    assert result["outcome"] == "processed", result
    assert result["staging_key"].isascii() and not set("*?[]{}:\\") & set(result["staging_key"])
    assert len(parquet_rows(s3, stack.bucket, result["parquet_keys"])) == 1


def test_a_wide_file_converts_and_its_states_stay_small(stack, s3, tmp_path, contracts):
    """8. A wide contract travels by reference: no state grows with it."""
    width = 1000
    raw = contract("wide", [{"name": f"c{i}", "type": "integer"} for i in range(width)])
    data = (",".join(f"c{i}" for i in range(width)) + "\n"
            + "\n".join(",".join(str(r + i) for i in range(width)) for r in range(3)) + "\n").encode()
    _, result = run_case(stack, tmp_path, contracts, "wide", raw, data)

    assert result["outcome"] == "processed", result
    rows = parquet_rows(s3, stack.bucket, result["parquet_keys"])
    assert [row["c999"] for row in rows] == [999, 1000, 1001]
    history = stack.client("stepfunctions").get_execution_history(
        executionArn=result["execution_arn"], maxResults=1000)["events"]
    largest = max(len(str(event)) for event in history)
    assert largest < 16 * 1024, largest


def test_a_contract_wider_than_the_pipeline_takes_rejects_with_a_reason(stack, tmp_path, contracts, monkeypatch):
    """A 1,500-column contract (drafted from a wide export) is refused when it loads: the upload
    ends rejected with one notification naming the limit, never in a state too large to notify."""
    raw = contract("wider", [{"name": f"c{i}", "type": "integer"} for i in range(1500)])

    def refuse(folder, dataset):
        return parse_contract(raw, "wider.yaml") if dataset == "wider" else None

    monkeypatch.setattr(plan, "find_contract", refuse)
    path = tmp_path / "wider.csv"
    path.write_text(",".join(f"c{i}" for i in range(1500)) + "\n" + ",".join("1" * 1500) + "\n")
    result = stack.run_file(path, "incoming/wider/wider.csv")

    assert (result["outcome"], result["reason"]) == ("rejected", "contract_invalid"), result
    note = single_notification(result, "rejected", "incoming/wider/wider.csv")
    assert "at most 1000" in note["message"]["summary"]
