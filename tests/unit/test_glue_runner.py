"""The local Glue runner: a job script that exits (argparse) fails the run like any error."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from etl_local.glue_runner import GlueRunner
from moto import mock_aws

from tests.helpers import REGION

BUCKET = "etl-glue-runner"
SCRIPT = '''\
import argparse


def main(argv):
    parser = argparse.ArgumentParser(prog="job.py")
    parser.add_argument("--needed", required=True)
    parser.parse_known_args(argv)
'''


def test_an_argparse_exit_is_a_runtime_error_with_its_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GlueRunner, "spark", staticmethod(lambda: None))  # the script needs no Spark
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="scripts/job.py", Body=SCRIPT.encode())
        s3.put_object(Bucket=BUCKET, Key="staging/orders/x.csv", Body=b"id\n1\n")
        arguments = {"--source_path": f"s3://{BUCKET}/staging/orders/x.csv",
                     "--output_path": f"s3://{BUCKET}/transformed/orders/"}
        with pytest.raises(RuntimeError, match=r"status 2: job.py: error: the following arguments "
                                               r"are required: --needed"):
            GlueRunner(tmp_path).run(s3, f"s3://{BUCKET}/scripts/job.py", arguments, "jr_1", "job")
