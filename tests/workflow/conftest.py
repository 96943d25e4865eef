"""One local stack for the workflow tests: the real template, state machine and code on moto."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack():
    from etl_local.stack import LocalStack

    saved = dict(os.environ)
    os.environ["HOME"] = tempfile.mkdtemp(prefix="etl-home-")
    # Twice the default time scale: the 5-minute batch window is 2.5 s, so a test's file waits less.
    local = LocalStack(ROOT, stack_name="etl-workflow", time_scale=120).start()
    yield local
    local.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def s3(stack):
    return stack.client("s3")


def keys(s3, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]


def exists(s3, bucket: str, key: str) -> bool:
    return key in keys(s3, bucket, key)


def single_notification(result: dict, outcome: str, key: str) -> dict:
    """The one SNS message of an execution, with the attributes subscribers filter on."""
    assert len(result["notifications"]) == 1, result["notifications"]
    note = result["notifications"][0]
    assert note["attributes"] == {"outcome": outcome, "dataset": note["message"]["dataset"], "key": key}
    return note
