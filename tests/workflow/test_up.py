"""`etl-local up` serves the stack; a file copied with the AWS CLI runs the pipeline."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.workflow


def _aws_cli() -> str:
    sam = os.environ.get("SAM_CLI")
    candidate = Path(sam).parent / "aws" if sam else None
    found = str(candidate) if candidate and candidate.exists() else shutil.which("aws")
    assert found, "the AWS CLI is installed by `make test` into .venv-sam"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lines(process: subprocess.Popen) -> "queue.Queue[str]":
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def _until(lines: "queue.Queue[str]", pattern: str, timeout: float, seen: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in {timeout}s; output:\n{''.join(seen)}")


def test_aws_cli_copy_into_served_bucket_is_processed(tmp_path):
    port = _free_port()
    env = os.environ | {"HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "etl_local.cli", "up", "--port", str(port)], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    try:
        lines = _lines(process)
        bucket = _until(lines, r"bucket:\s+(\S+)", 120, seen).group(1)
        cli_env = env | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                         "AWS_DEFAULT_REGION": "us-east-1"}
        cli_env.pop("AWS_ENDPOINT_URL", None)
        copy = subprocess.run(
            [_aws_cli(), "--endpoint-url", f"http://127.0.0.1:{port}", "s3", "cp",
             str(ROOT / "samples/orders/orders-2026-11-20.csv"), f"s3://{bucket}/incoming/orders/cli copy.csv"],
            env=cli_env, capture_output=True, text=True, timeout=120)
        assert copy.returncode == 0, copy.stderr
        _until(lines, r"started for s3://\S+/incoming/orders/cli copy\.csv", 60, seen)
        _until(lines, r"SUCCEEDED: processed", 240, seen)
        assert any("HandToBatch" in line for line in seen), "".join(seen)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
