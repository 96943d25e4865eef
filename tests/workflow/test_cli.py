"""`etl-local run --json` as a user runs it: one JSON object per file, exit code by outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.workflow


def test_run_json_prints_one_object_per_file_and_exits_by_outcome(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "etl_local.cli", "run", "samples/orders/orders-2026-11-20.csv",
         "samples/orders/orders-bad.csv", "--dataset", "orders", "--json"],
        cwd=ROOT, env=os.environ | {"HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)

    assert done.returncode == 1, done.stderr[-3000:]
    good, bad = [json.loads(line) for line in done.stdout.splitlines()]
    expected = {"outcome", "execution_status", "states", "staging_key", "error_key", "report_key",
                "parquet_keys", "rows", "notifications"}
    assert expected <= good.keys() and expected <= bad.keys()
    assert (good["outcome"], good["execution_status"], good["rows"]) == ("processed", "SUCCEEDED", 6)
    assert good["staging_key"].startswith("staging/orders/orders-2026-11-20-") and good["parquet_keys"]
    assert (bad["outcome"], bad["error_key"]) == ("rejected", "error/orders/orders-bad.csv")
    assert bad["report_key"] == "error/_reports/orders/orders-bad.csv.report.json"
    assert [n["attributes"]["outcome"] for n in good["notifications"] + bad["notifications"]] == [
        "processed", "rejected"]
    assert good["batch_id"] and bad["batch_id"] is None  # only a staged file goes into a batch
    assert good["run"] == bad["run"] and good["run"]["glue_job_runs"] == 1 and good["run"]["crawls"] == 1
    assert good["run"]["lambda_invocations"] >= 5 and good["run"]["transitions"] >= 17


def test_invalid_contract_is_named_with_its_field(tmp_path):
    project = tmp_path / "project"
    (project / "contracts").mkdir(parents=True)
    (project / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    (project / "functions").symlink_to(ROOT / "functions")
    (project / "contracts" / "orders.yaml").write_text(
        "dataset: orders\ncolumns:\n  - {name: id, type: integr}\n")
    done = subprocess.run([sys.executable, "-m", "etl_local.cli", "--root", str(project), "demo"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "orders.yaml: columns[id].type: unknown type 'integr'" in done.stderr


def test_run_output_dir_keeps_what_the_run_produced(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "etl_local.cli", "run", "samples/readings/readings-2026-11-23-partial.csv",
         "--dataset", "readings", "--json", "--output-dir", str(out)],
        cwd=ROOT, env=os.environ | {"HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)

    assert done.returncode == 1, done.stderr[-3000:]
    result = json.loads(done.stdout)  # the JSON object alone: where the files went is on stderr
    assert result["outcome"] == "processed_with_rejects"
    assert f"copied to {out}" in done.stderr
    kept = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {result["staging_key"], result["rejects_key"], result["report_key"], *result["parquet_keys"]} <= kept
    assert result["parquet_keys"]
    rows = sum(pq.read_metadata(out / key).num_rows for key in result["parquet_keys"])
    assert rows == result["rows"] - result["rejected_rows"]


def test_run_that_outlasts_its_timeout_says_so_and_exits_3(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "etl_local.cli", "run", "samples/orders/orders-2026-11-20.csv",
         "--dataset", "orders", "--json", "--timeout", "0.01"],
        cwd=ROOT, env=os.environ | {"HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)

    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stdout == "" and "raise --timeout" in done.stderr
    assert "Traceback" not in done.stderr
