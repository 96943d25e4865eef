"""`etl-local contract infer`: drafted contracts load, and pass the sample they were drafted from."""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from etl_common.messages import ObjectVersion, Plan
from etl_local.cli import main
from etl_validator.contract import load_contract, parse_contract
from etl_validator.drafting import infer, to_yaml
from etl_validator.plan import plan_object

from tests.helpers import ROOT, moto_bucket


BUCKET = "etl-infer"
SAMPLES = [("orders", ROOT / "samples" / "orders" / "orders-2026-11-20.csv"),
           ("customers", ROOT / "samples" / "customers" / "customers-2026-11.csv")]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"


@pytest.fixture
def s3() -> Iterator[Any]:
    with moto_bucket(BUCKET) as client:
        yield client


def draft(path: Path, dataset: str, rows: int = 10_000) -> tuple[dict[str, Any], str]:
    contract, sample = infer(path, dataset, rows)
    return contract, to_yaml(contract, path.name, sample)


def columns(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in contract["columns"]}


def validate(s3: Any, tmp_path: Path, dataset: str, path: Path, text: str) -> Plan:
    folder = tmp_path / "contracts"
    folder.mkdir(exist_ok=True)
    (folder / f"{dataset}.yaml").write_text(text, encoding="utf-8")
    load_contract(folder / f"{dataset}.yaml")
    key = f"incoming/{dataset}/{path.name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return plan_object(s3, ObjectVersion(bucket=BUCKET, key=key), folder)


@pytest.mark.parametrize(("dataset", "path"), SAMPLES, ids=[d for d, _ in SAMPLES])
def test_drafts_of_the_samples_load_and_accept_their_sample(s3, tmp_path, dataset, path):
    _, text = draft(path, dataset)
    assert text.startswith(f"# Drafted by etl-local contract infer from {path.name} (")
    assert "review every field before use." in text.splitlines()[0]
    parse_contract(yaml.safe_load(text), "drafted")
    plan = validate(s3, tmp_path, dataset, path, text)
    assert plan.valid, plan


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


def test_semicolon_bom_dates_isin_nulls(s3, tmp_path):
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
    assert validate(s3, tmp_path, "parcels", path, text).valid


def test_latin1_gzip_and_row_limit(s3, tmp_path):
    body = "name,score\n" + "".join(f"Jos\xe9 {i},{i}.5\n" for i in range(50))
    path = tmp_path / "people.csv.gz"
    path.write_bytes(gzip.compress(body.encode("latin-1")))
    contract, text = draft(path, "people", rows=10)
    assert contract["dialect"]["encoding"] == "latin-1"
    assert "(10 rows sampled)" in text and "gzip" in text
    assert columns(contract)["score"]["type"] == "float" or columns(contract)["score"]["type"].startswith("decimal")
    assert validate(s3, tmp_path, "people", path, text).valid


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


def test_utf16_without_a_mark_is_read_as_the_validator_reads_it(s3, tmp_path):
    path = HOSTILE / "utf16le-nobom.csv"
    contract, text = draft(path, "orders")
    assert contract["dialect"]["encoding"] == "utf-16-le"
    assert validate(s3, tmp_path, "orders", path, text).valid


@pytest.mark.parametrize(("name", "reason"), [
    ("workbook.xlsx", "an Excel workbook"), ("binary.csv", "NUL bytes"),
    ("truncated.csv.gz", "gzip data is corrupt or truncated"), ("empty.csv", "is empty")])
def test_what_the_validator_cannot_read_is_refused_with_its_reason(name, reason):
    with pytest.raises(ValueError, match=reason):
        infer(HOSTILE / name, "orders")
