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
    local = LocalStack(ROOT, stack_name="etl-workflow").start()
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
