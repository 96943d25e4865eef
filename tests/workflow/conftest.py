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
    local = LocalStack(ROOT, stack_name="etl-workflow", time_scale=120, record_calls=True).start()
    yield local
    local.stop()
    _fail_on_missing_permissions(local)
    os.environ.clear()
    os.environ.update(saved)


_checked = {"up_to": 0}


def _fail_on_missing_permissions(local) -> None:
    """Check the calls recorded since the last check (a test's own, and what ran between tests)."""
    from etl_local.calls import RECORDER

    since, _checked["up_to"] = _checked["up_to"], RECORDER.mark()
    problems = local.permission_problems(since)
    if problems:
        pytest.fail("AWS calls the template's roles do not allow (in AWS they would fail with "
                    "AccessDenied):\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def permissions_used(request):
    """After each test on a local stack: every AWS call its code made (handlers, Glue job,
    crawler, both state machines' tasks, schedules, rule targets) is allowed by the policy of
    the role that made it in the template, or the test fails naming the call and the role."""
    if "stack" not in request.fixturenames:
        yield
        return
    local = request.getfixturevalue("stack")
    yield
    _fail_on_missing_permissions(local)


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
