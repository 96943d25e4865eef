"""`etl-local contract infer`: drafted contracts load, and pass the whole file they were drafted from."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.method import LocalFile
from etl_local.cli import main
from etl_validator import drafting
from etl_validator.contract import load_contract, parse_contract
from etl_validator.drafting import infer, to_yaml
from etl_validator.validation import Reading, validate

from tests.helpers import ROOT

SAMPLES = [("orders", ROOT / "samples" / "orders" / "orders-2026-11-20.csv"),
           ("customers", ROOT / "samples" / "customers" / "customers-2026-11.csv")]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"


def draft(path: Path, dataset: str, rows: int = 10_000) -> tuple[dict[str, Any], str]:
    drafted = infer(path, dataset, rows)
    return drafted.contract, to_yaml(drafted, path.name)


def columns(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in contract["columns"]}


def check(tmp_path: Path, dataset: str, path: Path, text: str) -> Reading:
    """The validator's reading of `path` against the draft, saved as a contract file."""
    folder = tmp_path / "contracts"
    folder.mkdir(exist_ok=True)
    (folder / f"{dataset}.yaml").write_text(text, encoding="utf-8")
    return validate(LocalFile(path), load_contract(folder / f"{dataset}.yaml"))


@pytest.mark.parametrize(("dataset", "path"), SAMPLES, ids=[d for d, _ in SAMPLES])
def test_drafts_of_the_samples_load_and_accept_their_sample(tmp_path, dataset, path):
    _, text = draft(path, dataset)
    assert text.startswith(f"# Drafted by etl-local contract infer from {path.name} (")
    assert "review every field before use." in text.splitlines()[0]
    parse_contract(yaml.safe_load(text), "drafted")
    reading = check(tmp_path, dataset, path, text)
    assert reading.report.ok, reading.report.to_list()


def test_orders_types_and_checks():
    contract, _ = draft(SAMPLES[0][1], "orders")
    cols = columns(contract)
    assert contract["dialect"]["delimiter"] == ","
    assert cols["order_id"] == {"name": "order_id", "type": "integer", "nullable": False, "unique": True,
                                "checks": {"ge": 0}}
    assert "unique" not in cols["customer_id"]  # repeats in the sample
    assert cols["order_date"]["type"] == "date" and cols["order_date"]["format"] == "%Y-%m-%d"
    assert cols["amount"]["type"] == "decimal(10,2)"
    assert cols["currency"]["checks"]["str_matches"] == "^[A-Z]{3}$"
    assert cols["email"]["nullable"] is True
    assert "@" in cols["email"]["checks"]["str_matches"]


def test_customers_semicolon_timestamp_boolean():
    contract, _ = draft(SAMPLES[1][1], "customers")
    cols = columns(contract)
    assert contract["dialect"]["delimiter"] == ";"
    assert cols["signup_ts"]["type"] == "timestamp"
    assert cols["signup_ts"]["format"] == "%Y-%m-%dT%H:%M:%S"
    assert cols["vip"]["type"] == "boolean"
    assert cols["credit_limit"]["nullable"] is True


def test_semicolon_bom_dates_isin_nulls(tmp_path):
    lines = ["id;shipped;state;weight;is_gift;quantity"]
    states = ["open", "closed", "held"]
    for i in range(1, 31):
        shipped = "NULL" if i % 7 == 0 else f"{i % 28 + 1:02d}/11/2026"
        lines.append(f"{i};{shipped};{states[i % 3]};{i * 1.5:.3f};{i % 2};{i % 2}")
    path = tmp_path / "parcels.csv"
    path.write_bytes(codecs.BOM_UTF8 + ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    contract, text = draft(path, "parcels")
    cols = columns(contract)
    assert contract["dialect"] | {} == {"delimiter": ";", "quote_char": '"', "encoding": "utf-8",
                                        "header": True, "null_values": ["", "NULL"]}
    assert cols["shipped"] == {"name": "shipped", "type": "date", "format": "%d/%m/%Y", "nullable": True}
    assert cols["state"]["checks"] == {"isin": ["closed", "held", "open"]}
    assert cols["weight"]["type"] == "decimal(10,3)"
    assert cols["is_gift"]["type"] == "boolean"          # 0/1 with a flag-like name
    assert cols["quantity"]["type"] == "integer"       # 0/1 without one: integer
    assert cols["id"]["unique"] is True
    assert check(tmp_path, "parcels", path, text).report.ok


def test_latin1_gzip_and_row_limit(tmp_path):
    body = "name,score\n" + "".join(f"Jos\xe9 {i},{i}.5\n" for i in range(50))
    path = tmp_path / "people.csv.gz"
    path.write_bytes(gzip.compress(body.encode("latin-1")))
    contract, text = draft(path, "people", rows=10)
    assert contract["dialect"]["encoding"] == "latin-1"
    assert "(types from 10 sampled rows; nullability, uniqueness and checks from all 50)" in text
    assert "gzip" in text
    assert columns(contract)["score"]["type"] == "float" or columns(contract)["score"]["type"].startswith("decimal")
    assert check(tmp_path, "people", path, text).report.ok


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "orders.yaml"
    assert main(["contract", "infer", str(SAMPLES[0][1]), "--dataset", "orders", "--output", str(out)]) == 0
    assert load_contract(out).dataset == "orders"
    with pytest.raises(SystemExit, match="exists"):
        main(["contract", "infer", str(SAMPLES[0][1]), "--dataset", "orders", "--output", str(out)])
    assert main(["contract", "infer", str(SAMPLES[0][1]), "--dataset", "orders", "--output", str(out),
                 "--force"]) == 0
    assert main(["contract", "infer", str(SAMPLES[1][1]), "--dataset", "customers"]) == 0
    assert "dataset: customers" in capsys.readouterr().out


def test_utf16_without_a_mark_is_read_as_the_validator_reads_it(tmp_path):
    path = HOSTILE / "utf16le-nobom.csv"
    contract, text = draft(path, "orders")
    assert contract["dialect"]["encoding"] == "utf-16-le"
    assert check(tmp_path, "orders", path, text).report.ok


@pytest.mark.parametrize(("name", "reason"), [
    ("workbook.xlsx", "an Excel workbook"), ("binary.csv", "NUL bytes"),
    ("truncated.csv.gz", "gzip data is corrupt or truncated"), ("empty.csv", "is empty"),
    ("duplicate-columns.csv", "the header repeats a column name")])
def test_what_the_validator_cannot_read_is_refused_with_its_reason(name, reason):
    with pytest.raises(ValueError, match=reason):
        infer(HOSTILE / name, "orders")


def late_values(tmp_path: Path) -> Path:
    """60 records; the first 10 are the sample, the rest say what the sample could not."""
    lines = ["order_id,state,code,qty,ref,amount,note,shipped"]
    for i in range(1, 61):
        late = i > 10
        lines.append(",".join([
            str(i if i != 40 else 3),                            # a repeat at record 40
            "open" if i % 2 else ("closed" if late and i % 3 == 0 else "held"),
            f"C{i % 25 if late else i % 2}",                     # 25 distinct codes in the end
            "2.5" if i == 35 else str(i),                        # record 35 is no integer
            "n/a" if i == 50 else ("1.5" if i == 45 else "7"),   # integer, then float, then text
            "-3.10" if i == 30 else f"{i}.25",                   # a negative amount at record 30
            "" if i == 20 else "ok",                             # a null at record 20
            "soon" if i == 55 else f"2026-11-{i % 28 + 1:02d}",  # no date at record 55
        ]))
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_what_the_sample_missed_is_taken_from_the_whole_file(tmp_path):
    path = late_values(tmp_path)
    drafted = infer(path, "late", max_rows=10)
    cols = columns(drafted.contract)
    assert (len(drafted.sample.rows), drafted.rows) == (10, 60)
    assert cols["state"]["checks"] == {"isin": ["closed", "held", "open"]}      # closed only later
    assert "checks" not in cols["code"]                      # 25 distinct: more than an isin may list
    assert cols["qty"]["type"] == "float" and cols["qty"]["checks"] == {"ge": 0}
    assert cols["ref"]["type"] == "string"
    assert cols["amount"]["type"] == "decimal(10,2)" and "checks" not in cols["amount"]
    assert cols["note"]["nullable"] is True
    assert "unique" not in cols["order_id"]
    assert cols["shipped"] == {"name": "shipped", "type": "string", "nullable": False}
    assert drafted.notes == [
        "qty: integer in the sample, but record 35 has '2.5': drafted as float.",
        "ref: integer in the sample, but record 45 has '1.5': drafted as float.",
        "ref: float in the sample, but record 50 has 'n/a': drafted as string.",
        "shipped: date in the sample, but record 55 has 'soon': drafted as string.",
    ]
    text = to_yaml(drafted, path.name)
    assert "# qty: integer in the sample, but record 35 has '2.5': drafted as float." in text
    assert check(tmp_path, "late", path, text).report.ok


def test_a_column_unique_in_the_sample_only_is_not_drafted_unique(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,name\n" + "".join(f"{i % 30},n{i}\n" for i in range(60)), encoding="utf-8")
    assert columns(infer(path, "ids", max_rows=30).contract)["id"].get("unique") is None
    path.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(60)), encoding="utf-8")
    assert columns(infer(path, "ids", max_rows=30).contract)["id"]["unique"] is True


def test_uniqueness_is_not_checked_past_the_key_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(drafting, "MAX_UNIQUE_KEYS", 20)
    path = tmp_path / "ids.csv"
    path.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(60)), encoding="utf-8")
    drafted = infer(path, "ids", max_rows=10)
    assert "unique" not in columns(drafted.contract)["id"]
    assert drafted.notes == ["id: more than 20 values, not checked for uniqueness; add `unique: true` if it is."]


def test_a_file_that_is_not_utf8_past_the_sample_is_drafted_as_latin1(tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes(("name,n\n" + "".join(f"Jose {i},{i}\n" for i in range(30)) + "Jos\xe9,31\n").encode("latin-1"))
    contract, text = draft(path, "names", rows=10)
    assert contract["dialect"]["encoding"] == "latin-1"
    assert check(tmp_path, "names", path, text).report.ok


def test_ragged_records_of_the_whole_file_are_counted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("number,word\n" + "".join(f"{i},x\n" for i in range(20)) + "1,2,3\n4\n", encoding="utf-8")
    drafted = infer(path, "ragged", max_rows=5)
    assert (drafted.rows, drafted.ragged) == (20, 2)
    assert "# 2 record(s) had the wrong number of fields and were left out" in to_yaml(drafted, path.name)


@pytest.mark.parametrize("last", ['"hello, world"', '"say ""hi"" now"'])
def test_a_crlf_export_with_quoted_text_keeps_its_header(tmp_path, last):
    """csv.Sniffer.has_header re-sniffs without our delimiters and took `\\r` or a space for one:
    the header became a data row of a `column_1..n` draft that passed its own file."""
    path = tmp_path / "export.csv"
    path.write_bytes(("id,ship_date,amount,note\r\n1,03/02/2026,12.50," + last + "\r\n"
                      "2,04/02/2026,7.00,\"x\"\r\n").encode())
    contract, _ = draft(path, "export")
    assert contract["dialect"]["header"] is True
    assert [c["name"] for c in contract["columns"]] == ["id", "ship_date", "amount", "note"]
