"""The validator Lambda end to end on moto S3: EventBridge event in, plan out, report in S3."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from etl_common.layout import Upload, parse_s3_uri
from etl_common.messages import Plan
from tests.helpers import lambda_context, load_module, mocked_handler

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "functions" / "validator" / "app.py"
SAMPLES = ROOT / "samples"
BUCKET = "etl-data-test"
REGION = "us-east-1"
CONTEXT = lambda_context("ValidatorFunction", memory_mb=1024)

ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "CONTRACTS_DIR": str(ROOT / "contracts"),
    "POWERTOOLS_METRICS_NAMESPACE": "EtlTest", "POWERTOOLS_SERVICE_NAME": "validator",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture(scope="module")
def mocked():
    with mocked_handler(APP, ENV, "validator") as pair:
        yield pair


@pytest.fixture
def app(mocked):
    return mocked[0]


@pytest.fixture
def aws(mocked, monkeypatch):
    """A fresh versioned bucket for each test."""
    s3 = mocked[1]
    bucket = f"etl-data-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setitem(globals(), "BUCKET", bucket)
    return s3


def event_for(s3, key: str, bucket: str | None = None) -> dict:
    """The EventBridge 'Object Created' event S3 sends for `key` (key URL-encoded as AWS does)."""
    bucket = bucket or BUCKET
    head = s3.head_object(Bucket=bucket, Key=key) if not key.endswith("/") else {
        "ContentLength": 0, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"', "VersionId": "null"}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-20T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "version-id": head.get("VersionId", "null"),
                "sequencer": "0062E99A88DC407460",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def put(s3, key: str, body: bytes) -> str:
    return s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]


def put_sample(s3, dataset: str, name: str, key: str | None = None) -> str:
    key = key or f"incoming/{dataset}/{name}"
    put(s3, key, (SAMPLES / dataset / name).read_bytes())
    return key


def invoke(app, s3, key: str) -> dict:
    return handle(app, event_for(s3, key))


def handle(app, event: dict) -> dict:
    """The handler's answer: the plan's JSON, small enough for a state's payload."""
    plan = app.lambda_handler(event, CONTEXT)
    stored = {k: v for k, v in plan.items() if k not in Plan.model_computed_fields}  # derived on dump
    assert Plan.model_validate(stored).model_dump(mode="json") == plan
    assert len(json.dumps(plan).encode()) < 256 * 1024
    return plan


def job_contract(s3, plan: dict) -> dict:
    """The contract's job part the validator wrote beside the staged file."""
    return read_json(s3, parse_s3_uri(plan["job_arguments"]["--contract_uri"])[1])


def read_json(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_contracts_are_read_where_the_layer_is_mounted(monkeypatch):
    """The contracts layer (ContentUri contracts/) is mounted at /opt: the files are /opt/<dataset>.yaml."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CONTRACTS_DIR")
    try:
        assert load_module(APP, "validator_app_defaults").CONTRACTS_DIR == Path("/opt")
    finally:
        sys.modules.pop("validator_app_defaults", None)


# -- valid files -----------------------------------------------------------------------------

def test_good_orders_sample_is_valid(app, aws):
    key = put_sample(aws, "orders", "orders-2026-11-20.csv")
    version = aws.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    plan = invoke(app, aws, key)

    assert plan["valid"] is True and plan["ignored"] is False
    assert (plan["outcome"], plan["reason"], plan["message"]) == ("processed", None, None)
    assert plan["dataset"] == "orders" and plan["job_arguments"]["--table"] == "orders"
    assert plan["rows"] == 6 and plan["failed_rows"] == 0 and plan["rejected_rows"] == 0
    assert plan["source"] == {"bucket": BUCKET, "key": key, "version_id": version}
    assert plan["size"] == (SAMPLES / "orders" / "orders-2026-11-20.csv").stat().st_size
    staged_key = Upload.parse(key).staged_key(version)
    assert staged_key.startswith("staging/orders/orders-2026-11-20-") and staged_key.endswith(".csv")
    # The validator wrote the staged form: the mover only removes the upload (its version stays).
    assert plan["move"] == {"source": plan["source"], "target_key": staged_key, "staged_key": staged_key}
    assert plan["report_key"] == "reports/orders/orders-2026-11-20.csv.report.json"
    assert plan["report_uri"] == f"s3://{BUCKET}/{plan['report_key']}"
    assert plan["rejects_key"] is None
    assert plan["parquet_path"] == f"s3://{BUCKET}/transformed/orders/"

    arguments = plan["job_arguments"]
    assert set(arguments) == {"--source_path", "--output_path", "--table", "--source_id", "--contract_uri"}
    assert arguments["--contract_uri"] == f"s3://{BUCKET}/{Upload.parse(key).job_contract_key(version)}"
    assert arguments["--source_path"] == f"s3://{BUCKET}/{staged_key}"
    assert arguments["--output_path"] == plan["parquet_path"]
    assert arguments["--source_id"] == plan["source_id"]
    contract = job_contract(aws, plan)
    assert contract["dataset"] == "orders"
    assert [c["name"] for c in contract["columns"]][:2] == ["order_id", "customer_id"]
    amount = {c["name"]: c for c in contract["columns"]}["amount"]
    assert (amount["glue_type"], amount["spark_type"]) == ("decimal(12,2)", "decimal(12,2)")
    assert plan["source_id"].startswith("orders-2026-11-20-")
    assert plan["source_id"] == Upload.parse(key).source_id

    report = read_json(aws, plan["report_key"])
    assert report["valid"] is True and report["failures"] == []
    assert report["rows"] == 6 and report["contract_version"] == 1
    assert report["version_id"] == version
    assert report["size"] == (SAMPLES / "orders" / "orders-2026-11-20.csv").stat().st_size
    assert report["staged_key"] == staged_key and report["rows_staged"] == 6
    # A valid file leaves nothing in error/, the source where it was, and its canonical form staged.
    assert not any(k.startswith("error/") for k in keys(aws))
    assert key in keys(aws)
    staged = aws.get_object(Bucket=BUCKET, Key=staged_key)["Body"].read().decode().splitlines()
    assert staged[0] == '"order_id","customer_id","order_date","status","amount","currency","email"'
    assert len(staged) == 7 and all(line.startswith('"') for line in staged[1:])


def test_source_id_is_deterministic_and_distinct(app, aws):
    first = put_sample(aws, "orders", "orders-2026-11-20.csv")
    second = put_sample(aws, "orders", "orders-2026-11-20.csv", "incoming/orders/2026/orders-2026-11-20.csv")
    a1, a2, b = invoke(app, aws, first), invoke(app, aws, first), invoke(app, aws, second)
    assert a1["source_id"] == a2["source_id"]
    assert a1["source_id"] != b["source_id"]
    assert a1["job_arguments"]["--source_id"] == a1["source_id"]


def test_event_version_null_reads_latest(app, aws):
    key = put_sample(aws, "orders", "orders-2026-11-20.csv")
    event = event_for(aws, key)
    event["detail"]["object"]["version-id"] = "null"
    plan = handle(app, event)
    assert plan["valid"] is True
    assert plan["source"]["version_id"] == aws.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    assert plan["move"]["source"] == plan["source"]


def test_event_version_is_the_one_validated(app, aws):
    key = "incoming/orders/o.csv"
    put(aws, key, (SAMPLES / "orders" / "orders-2026-11-20.csv").read_bytes())
    event = event_for(aws, key)       # the event of the good version...
    put(aws, key, (SAMPLES / "orders" / "orders-bad.csv").read_bytes())   # ...then a bad upload
    plan = handle(app, event)
    assert plan["valid"] is True
    assert plan["source"]["version_id"] == event["detail"]["object"]["version-id"]


def test_key_with_spaces_and_unicode(app, aws):
    key = "incoming/orders/Q4 ventes été.csv"
    put_sample(aws, "orders", "orders-2026-11-20.csv", key)
    event = event_for(aws, key)
    assert event["detail"]["object"]["key"] == "incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv"
    plan = handle(app, event)
    assert plan["source"]["key"] == key
    assert plan["valid"] is True, plan["message"]
    assert plan["move"]["target_key"] == Upload.parse(key).staged_key(plan["source"]["version_id"])
    assert plan["move"]["target_key"].isascii()
    assert plan["report_key"] == "reports/orders/Q4 ventes été.csv.report.json"
    assert plan["source_id"].startswith("Q4_ventes_")
    assert read_json(aws, plan["report_key"])["key"] == key


def test_key_with_a_plus_sign(app, aws):
    key = "incoming/orders/a+b.csv"
    put_sample(aws, "orders", "orders-2026-11-20.csv", key)
    plan = invoke(app, aws, key)
    assert plan["source"]["key"] == key and plan["valid"] is True


def test_customers_sample_semicolon_dialect(app, aws):
    key = put_sample(aws, "customers", "customers-2026-11.csv")
    plan = invoke(app, aws, key)
    assert plan["valid"] is True, plan["message"]
    assert plan["rows"] == 4
    assert "dialect" not in job_contract(aws, plan)  # the job reads the staged form, always one dialect
    assert job_contract(aws, plan)["partition_by"] == ["country"]


# -- invalid files ---------------------------------------------------------------------------

def test_bad_orders_sample_is_invalid(app, aws):
    key = put_sample(aws, "orders", "orders-bad.csv")
    plan = invoke(app, aws, key)

    assert plan["valid"] is False and plan["ignored"] is False
    assert (plan["outcome"], plan["reason"]) == ("rejected", "wrong_type")
    assert "wrong_type in customer_id (1)" in plan["message"]
    assert plan["rows"] == 5
    assert plan["failed_rows"] == 4
    assert plan["move"]["target_key"] == "error/orders/orders-bad.csv"
    assert plan["move"]["staged_key"] is None
    assert plan["report_key"] == "error/_reports/orders/orders-bad.csv.report.json"
    assert (plan["job_arguments"], plan["source_id"], plan["parquet_path"]) == (None, None, None)

    report = read_json(aws, plan["report_key"])
    assert report["valid"] is False and report["rows"] == 5 and report["failed_rows"] == 4
    failures = {(f["column"], f["reason"]): f for f in report["failures"]}
    cases = {k: [(c["row"], c["value"]) for c in f["cases"]] for k, f in failures.items()}
    assert cases[("customer_id", "wrong_type")] == [(2, "abc")]
    assert cases[("order_date", "wrong_type")] == [(3, "2026-13-45")]
    assert cases[("amount", "wrong_type")] == [(5, "45.101")]
    assert cases[("order_id", "duplicate_value")] == [(4, 2001)]
    assert cases[("status", "check_failed")] == [(4, "LOST")]
    assert cases[("amount", "check_failed")] == [(4, "-5.00")]   # decimals as their exact text
    assert cases[("currency", "check_failed")] == [(4, "eur")]
    assert cases[("email", "check_failed")] == [(4, "not-an-email")]
    assert all(f["count"] == len(f["cases"]) for f in report["failures"])
    # Nothing is written under reports/ for an invalid file.
    assert not any(k.startswith("reports/") for k in keys(aws))


def test_bad_customers_sample_is_missing_a_column(app, aws):
    key = put_sample(aws, "customers", "customers-bad.csv")
    plan = invoke(app, aws, key)
    assert plan["valid"] is False
    assert plan["reason"] == "missing_columns"
    assert plan["report_key"] == "error/_reports/customers/customers-bad.csv.report.json"
    report = read_json(aws, plan["report_key"])
    assert report["failures"][0]["cases"] == [{"row": None, "value": "credit_limit"}]


def test_customers_row_level_failures(app, aws):
    body = ("customer_id;name;country;signup_ts;vip;credit_limit\n"
            "8;Dan;NO;2025-01-03T09:15:00;false;1500\n"
            "8;Bob;Norway;yesterday;maybe;60000\n").encode()
    key = "incoming/customers/c.csv"
    put(aws, key, body)
    plan = invoke(app, aws, key)
    assert plan["valid"] is False
    report = read_json(aws, plan["report_key"])
    got = {(f["column"], f["reason"]): [c["row"] for c in f["cases"]] for f in report["failures"]}
    assert got[("signup_ts", "wrong_type")] == [2]
    assert got[("vip", "wrong_type")] == [2]
    assert got[("customer_id", "duplicate_value")] == [2]
    assert report["failed_rows"] == 1


def test_unknown_dataset(app, aws):
    key = "incoming/invoices/inv-1.csv"
    put(aws, key, b"a,b\n1,2\n")
    plan = invoke(app, aws, key)
    assert plan["valid"] is False
    assert plan["reason"] == "unknown_dataset"
    assert plan["dataset"] == "invoices"
    assert "invoices" in plan["message"]
    assert plan["move"]["target_key"] == "error/invoices/inv-1.csv"
    assert plan["report_key"] == "error/_reports/invoices/inv-1.csv.report.json"
    assert read_json(aws, plan["report_key"])["contract_version"] is None


def test_file_without_dataset_folder(app, aws):
    key = "incoming/loose.csv"
    put(aws, key, b"a,b\n1,2\n")
    plan = invoke(app, aws, key)
    assert (plan["dataset"], plan["reason"]) == ("_unknown", "unknown_dataset")
    assert plan["move"]["target_key"] == "error/_unknown/loose.csv"


def test_empty_file(app, aws):
    key = "incoming/orders/empty.csv"
    put(aws, key, b"")
    plan = invoke(app, aws, key)
    assert (plan["valid"], plan["ignored"], plan["reason"]) == (False, False, "empty_file")


def test_binary_file(app, aws):
    key = "incoming/orders/picture.csv"
    put(aws, key, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert invoke(app, aws, key)["reason"] == "not_text"


def test_header_only_file_has_too_few_rows(app, aws):
    key = "incoming/orders/none.csv"
    put(aws, key, b"order_id,customer_id,order_date,status,amount,currency,email\n")
    plan = invoke(app, aws, key)
    assert (plan["valid"], plan["reason"], plan["rows"]) == (False, "too_few_rows", 0)


def test_ragged_rows_fail_the_file(app, aws):
    good = (SAMPLES / "orders" / "orders-2026-11-20.csv").read_bytes()
    key = "incoming/orders/ragged.csv"
    put(aws, key, good + b"1007,8,2026-11-22,PAID\n")
    plan = invoke(app, aws, key)
    assert plan["valid"] is False and plan["reason"] == "ragged_rows"
    assert plan["rows"] == 7
    report = read_json(aws, plan["report_key"])
    assert report["failures"][0]["cases"][0]["value"].startswith("expected 7 fields, got 4")


def test_many_failures_keep_the_plan_small(app, aws):
    header = b"order_id,customer_id,order_date,status,amount,currency,email\n"
    rows = b"".join(f"{i},x,bad,LOST,-1,eur,{'y' * 500}\n".encode() for i in range(1, 3001))
    key = "incoming/orders/huge-failures.csv"
    put(aws, key, header + rows)
    plan = invoke(app, aws, key)
    assert plan["valid"] is False and plan["failed_rows"] == 3000
    assert len(json.dumps(plan)) < 8 * 1024
    report = read_json(aws, plan["report_key"])
    assert all(len(f["cases"]) <= 20 for f in report["failures"])
    assert {f["count"] for f in report["failures"] if f["reason"] == "wrong_type"} == {3000}


# -- ignored objects -------------------------------------------------------------------------

def test_folder_marker_is_ignored(app, aws):
    key = "incoming/orders/"
    put(aws, key, b"")
    plan = invoke(app, aws, key)
    assert plan["ignored"] is True and plan["valid"] is False
    assert (plan["outcome"], plan["message"]) == ("ignored", "folder marker")
    assert (plan["move"], plan["report_key"], plan["report_uri"]) == (None, None, None)
    assert keys(aws) == {key}


@pytest.mark.parametrize("key", ["incoming/orders/payload/", "incoming/orders/"])
def test_bytes_under_a_folder_key_are_rejected_not_ignored(app, aws, key):
    """Only an empty folder marker is ignored: CSV at `incoming/orders/payload/` gets an outcome,
    a reason and a report, and the mover takes it out of incoming/."""
    body = (SAMPLES / "orders" / "orders-2026-11-20.csv").read_bytes()
    put(aws, key, body)
    plan = invoke(app, aws, key)
    assert plan["ignored"] is False and (plan["outcome"], plan["reason"]) == ("rejected", "folder_key")
    assert plan["move"]["target_key"].startswith("error/orders/") and plan["size"] == len(body)
    report = read_json(aws, plan["report_key"])
    assert report["failures"][0]["reason"] == "folder_key"


@pytest.mark.parametrize("name", ["_SUCCESS", ".keep"])
def test_zero_byte_markers_are_ignored(app, aws, name):
    key = f"incoming/orders/{name}"
    put(aws, key, b"")
    plan = invoke(app, aws, key)
    assert plan["ignored"] is True and plan["outcome"] == "ignored"
    assert (plan["move"], plan["report_key"], plan["size"]) == (None, None, 0)
    assert plan["source"]["version_id"] == aws.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    assert keys(aws) == {key}


def test_metrics_are_emitted(app, aws, capsys):
    key = put_sample(aws, "orders", "orders-bad.csv")
    invoke(app, aws, key)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines()
           if line.startswith("{") and "_aws" in line]
    assert emf, "no EMF metrics line printed"
    metrics = emf[-1]
    assert metrics["FilesValidated"] == [1.0] or metrics["FilesValidated"] == 1.0
    assert "FilesRejected" in metrics and metrics["dataset"] == "orders"


def test_rows_sent_to_a_rejects_file_are_counted(app, aws, capsys):
    key = put_sample(aws, "readings", "readings-2026-11-23-partial.csv")
    plan = invoke(app, aws, key)
    assert (plan["outcome"], plan["rejected_rows"]) == ("processed_with_rejects", 3)
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{") and "_aws" in line][-1]
    assert metrics["RowsRejected"] in (3.0, [3.0]) and "FilesRejected" not in metrics


def test_logs_carry_the_execution_id_and_duration_is_measured(app, aws, capsys):
    key = put_sample(aws, "orders", "orders-2026-11-20.csv")
    execution = "arn:aws:states:us-east-1:123456789012:execution:pipeline:run-1"
    handle(app, event_for(aws, key) | {"config": {"execution": execution}})
    assert app.logger.get_correlation_id() == execution
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and "ValidationDuration" in emf[-1]


# -- known bugs, seen from the handler ----------------------------------------------------------

ORDERS_HEADER = b"order_id,customer_id,order_date,status,amount,currency,email\n"


def test_null_in_required_column_reports_that_row(app, aws):
    key = "incoming/orders/null-customer.csv"
    put(aws, key, ORDERS_HEADER + b"1,17,2026-11-20,PAID,1.00,EUR,\n2,,2026-11-20,PAID,1.00,EUR,\n"
                                  b"3,18,2026-11-20,PAID,1.00,EUR,\n")
    plan = invoke(app, aws, key)
    assert (plan["valid"], plan["reason"]) == (False, "null_value")
    assert plan["failed_rows"] == 1
    failure = read_json(aws, plan["report_key"])["failures"][0]
    assert (failure["column"], failure["count"], failure["cases"]) == (
        "customer_id", 1, [{"row": 2, "value": None}])


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_integer_with_plus_sign_does_not_crash(app, aws):
    key = "incoming/orders/plus.csv"
    put(aws, key, ORDERS_HEADER + b"+1001,17,2026-11-20,PAID,1.00,EUR,\n")
    plan = invoke(app, aws, key)
    assert plan["valid"] is True


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_header_only_without_newline_does_not_crash(app, aws):
    key = "incoming/orders/none-no-newline.csv"
    put(aws, key, ORDERS_HEADER.rstrip(b"\n"))
    plan = invoke(app, aws, key)
    assert (plan["valid"], plan["reason"], plan["rows"]) == (False, "too_few_rows", 0)


def test_impossible_date_is_rejected(app, aws):
    key = "incoming/orders/feb30.csv"
    put(aws, key, ORDERS_HEADER + b"1,17,2026-02-30,PAID,1.00,EUR,\n")
    plan = invoke(app, aws, key)
    assert (plan["valid"], plan["reason"]) == (False, "wrong_type")
