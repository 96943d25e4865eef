"""The local Glue runner: a batch's manifest mirrored to local files for the job script, its
Parquet roots synced back, and a script that exits (argparse) failing the run like any error.
The scripts here stand in for the job and need no Spark."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from etl_local.glue_runner import GlueRunner
from moto import mock_aws

from tests.helpers import REGION

BUCKET = "etl-glue-runner"
EXITING = '''\
import argparse


def main(argv):
    parser = argparse.ArgumentParser(prog="job.py")
    parser.add_argument("--needed", required=True)
    parser.parse_known_args(argv)
'''
# Records what it is given and finds, then writes and deletes Parquet as the job would.
RECORDING = '''\
import json
from pathlib import Path


def main(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    manifest = json.loads(Path(args["--manifest_uri"].removeprefix("file://")).read_text())
    seen = []
    for entry in manifest["files"]:
        arguments = entry["arguments"]
        source = Path(arguments["--source_path"].removeprefix("file://"))
        seen.append({"arguments": arguments, "exists": source.is_file(),
                     "data": source.read_text() if source.is_file() else None})
    out = Path(manifest["files"][0]["arguments"]["--output_path"].removeprefix("file://"))
    (out / "day=1").mkdir(parents=True, exist_ok=True)
    (out / "day=1" / "a-00000.parquet").write_text("new")
    (out / "day=2" / "old-00000.parquet").unlink()
    (out / "_tmp" / "x").mkdir(parents=True)
    (out / "_tmp" / "x" / "part-0.parquet").write_text("scratch")
    if manifest["batch_id"] == "fails":
        raise ValueError("after writing")
    return {"args": args, "seen": seen}
'''


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(GlueRunner, "spark", staticmethod(lambda: None))  # the scripts need no Spark
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="scripts/exiting.py", Body=EXITING.encode())
        client.put_object(Bucket=BUCKET, Key="scripts/recording.py", Body=RECORDING.encode())
        yield client


def put_manifest(s3: Any, batch_id: str, entries: list[dict[str, str]]) -> str:
    key = f"batches/{batch_id}/manifest.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps({"batch_id": batch_id, "files": [
        {"task_token": "t", "execution": "e", "dataset": "orders", "arguments": a} for a in entries]}).encode())
    return f"s3://{BUCKET}/{key}"


def entry(key: str, source_id: str) -> dict[str, str]:
    return {"--source_path": f"s3://{BUCKET}/{key}", "--output_path": f"s3://{BUCKET}/transformed/orders/",
            "--table": "orders", "--source_id": source_id,
            "--contract_uri": f"s3://{BUCKET}/staging/orders/{source_id}.contract.json"}


def objects(s3: Any, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_an_argparse_exit_is_a_runtime_error_with_its_message(s3: Any, tmp_path: Path) -> None:
    arguments = {"--manifest_uri": put_manifest(s3, "b1", [entry("staging/orders/x.csv", "x")])}
    with pytest.raises(RuntimeError, match=r"status 2: job.py: error: the following arguments "
                                           r"are required: --needed"):
        GlueRunner(tmp_path).run(s3, f"s3://{BUCKET}/scripts/exiting.py", arguments, "jr_1", "job")


def test_every_staged_object_is_mirrored_under_its_own_key_and_outputs_sync_back(
        s3: Any, tmp_path: Path) -> None:
    for key, body in {"staging/orders/a-v1.csv": b"a", "staging/orders/2026/b-v2.csv": b"b",
                      "transformed/orders/day=2/old-00000.parquet": b"old",
                      "transformed/orders/day=2/kept-00000.parquet": b"kept"}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    manifest_uri = put_manifest(s3, "b1", [entry("staging/orders/a-v1.csv", "a"),
                                           entry("staging/orders/2026/b-v2.csv", "b"),
                                           entry("staging/orders/missing.csv", "c"),
                                           entry("staging/orders/a-v1.csv", "a")])
    arguments = {"--manifest_uri": manifest_uri, "--results_uri": f"s3://{BUCKET}/batches/b1/results.json",
                 "--database": "lake"}

    result = GlueRunner(tmp_path).run(s3, f"s3://{BUCKET}/scripts/recording.py", arguments, "jr_1", "job")

    args = result["args"]
    assert args["--manifest_uri"].startswith("file:///") and args["--manifest_uri"] != manifest_uri
    assert (args["--results_uri"], args["--database"], args["--JOB_RUN_ID"]) == (
        f"s3://{BUCKET}/batches/b1/results.json", "lake", "jr_1")
    seen = result["seen"]
    assert [(s["exists"], s["data"]) for s in seen] == [(True, "a"), (True, "b"), (False, None), (True, "a")]
    for listed, key in zip(seen, ["staging/orders/a-v1.csv", "staging/orders/2026/b-v2.csv",
                                  "staging/orders/missing.csv", "staging/orders/a-v1.csv"]):
        assert listed["arguments"]["--source_path"].endswith(f"/in/{BUCKET}/{key}")
        assert listed["arguments"]["--output_path"].endswith(f"/out/{BUCKET}/transformed/orders/")
        assert listed["arguments"]["--table_location"] == f"s3://{BUCKET}/transformed/orders/"
        assert listed["arguments"]["--contract_uri"].startswith("s3://")
    assert objects(s3, "transformed/") == {"transformed/orders/day=1/a-00000.parquet": b"new",
                                           "transformed/orders/day=2/kept-00000.parquet": b"kept"}
    assert not list(tmp_path.glob("jr_1-*"))  # the mirror is gone


def test_what_a_failing_script_wrote_is_synced_back(s3: Any, tmp_path: Path) -> None:
    """In the cloud a job's S3 writes stay when it fails afterwards; so they do here."""
    s3.put_object(Bucket=BUCKET, Key="staging/orders/a-v1.csv", Body=b"a")
    s3.put_object(Bucket=BUCKET, Key="transformed/orders/day=2/old-00000.parquet", Body=b"old")
    arguments = {"--manifest_uri": put_manifest(s3, "fails", [entry("staging/orders/a-v1.csv", "a")])}

    with pytest.raises(ValueError, match="after writing"):
        GlueRunner(tmp_path).run(s3, f"s3://{BUCKET}/scripts/recording.py", arguments, "jr_2", "job")

    # day=2 lost its only file: on S3 the emptied directory is left as S3A's marker.
    assert objects(s3, "transformed/") == {"transformed/orders/day=1/a-00000.parquet": b"new",
                                           "transformed/orders/day=2/": b""}


# Makes, empties and removes directories as a job's Hadoop calls would leave them locally.
DIRECTORIES = '''\
import json
from pathlib import Path


def main(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    manifest = json.loads(Path(args["--manifest_uri"].removeprefix("file://")).read_text())
    out = Path(manifest["files"][0]["arguments"]["--output_path"].removeprefix("file://"))
    (out / "made" / "deeper").mkdir(parents=True)           # made, left empty (made holds deeper)
    (out / "day=2" / "old-00000.parquet").unlink()          # emptied
    (out / "day=3" / "old-00000.parquet").unlink()          # emptied, then removed
    (out / "day=3").rmdir()
    (out / "_tmp").mkdir()                                  # scratch left empty
    (out / "day=4").mkdir()                                 # made and filled
    (out / "day=4" / "a-00000.parquet").write_text("new")
    (out / "day=4" / ".a-00000.parquet.crc").write_text("checksum")
    (out / "day=5").mkdir()                                 # holds only a local checksum file
    (out / "day=5" / ".b-00000.parquet.crc").write_text("checksum")
    return {}
'''


class HadoopConfiguration:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        return self.values.get(name)


class Session:
    """What the runner reads of a Spark session: its Hadoop configuration."""

    def __init__(self, values: dict[str, str]) -> None:
        configuration = HadoopConfiguration(values)
        self.sparkContext = type("Context", (), {"_jsc": type("Jsc", (), {
            "hadoopConfiguration": staticmethod(lambda: configuration)})()})()


@pytest.mark.parametrize(("configuration", "marker"), [
    ({}, "/"),  # Glue 5.1's S3A
    ({"fs.s3.impl": "com.amazon.ws.emr.hadoop.fs.EmrFileSystem"}, "_$folder$"),  # EMRFS put back
])
def test_a_directory_the_run_left_empty_is_synced_back_as_its_connectors_marker(
        s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configuration: dict[str, str],
        marker: str) -> None:
    monkeypatch.setattr(GlueRunner, "spark", staticmethod(lambda: Session(configuration)))
    s3.put_object(Bucket=BUCKET, Key="scripts/directories.py", Body=DIRECTORIES.encode())
    for key in ["day=2/old-00000.parquet", "day=3/old-00000.parquet", "day=6/kept-00000.parquet"]:
        s3.put_object(Bucket=BUCKET, Key=f"transformed/orders/{key}", Body=b"old")
    arguments = {"--manifest_uri": put_manifest(s3, "b1", [entry("staging/orders/a-v1.csv", "a")])}

    GlueRunner(tmp_path).run(s3, f"s3://{BUCKET}/scripts/directories.py", arguments, "jr_3", "job")

    root = "transformed/orders/"
    assert objects(s3, root) == {f"{root}{key}": body for key, body in {
        f"made/deeper{marker}": b"", f"day=2{marker}": b"", f"_tmp{marker}": b"",
        f"day=5{marker}": b"", "day=4/a-00000.parquet": b"new", "day=6/kept-00000.parquet": b"old"}.items()}
