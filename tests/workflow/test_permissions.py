"""The permission check (conftest `permissions_used`) sees what only AWS enforces.

Every workflow test already fails when a call its code made is not allowed by the role's
policy in the template; these tests show that the check is real: it records the calls of
the deployed handlers with their roles, and it would have caught the mover's HeadObject of a
missing key without s3:ListBucket (a 403 in AWS, a 404 on moto).
"""

from __future__ import annotations

import copy

import pytest

from etl_local import permissions
from etl_local.calls import RECORDER

pytestmark = pytest.mark.workflow


def _without_statement(roles: dict[str, permissions.Role], logical_id: str, sid: str) -> dict[str, permissions.Role]:
    changed = copy.deepcopy(roles)
    for role in changed.values():
        if role.logical_id == logical_id:
            assert any(s.get("Sid") == sid for s in role.statements), sid
            role.statements = [s for s in role.statements if s.get("Sid") != sid]
    return changed


def test_a_rerun_move_heads_a_missing_key_which_needs_list_bucket(stack, s3):
    """The rerun-converges path: the source is gone and the target is there. HeadObject of the
    missing source answers 404 only with s3:ListBucket (a 403 without it); the check requires
    it, and without the mover's HeadMissingKeysAs404 statement it names the call and the role."""
    target = "staging/orders/permissions-already-moved.csv"
    s3.put_object(Bucket=stack.bucket, Key=target, Body=b"order_id\n1\n")
    mark = RECORDER.mark()
    event = {"move": {"source": {"bucket": stack.bucket, "key": "incoming/orders/permissions-already-moved.csv",
                                 "version_id": None}, "target_key": target, "staged_key": None}}
    result, errored, logs = stack.lambdas.invoke(stack.resolve.ref("MoverFunction"), event)
    assert not errored and result["already_moved"], (result, logs)

    recorded = RECORDER.since(mark)
    mover_role = stack.lambdas.functions[stack.resolve.ref("MoverFunction")].role
    missing = [c for c in recorded if c.operation == "HeadObject" and c.error in {"404", "NoSuchKey", "NotFound"}]
    assert missing and {c.role for c in missing} == {mover_role}
    assert stack.permission_problems(mark) == []

    roles = _without_statement(stack.roles, "MoverFunctionRole", "HeadMissingKeysAs404")
    problems = permissions.problems(recorded, roles, stack.account)
    assert any(p.startswith("s3:HeadObject by MoverFunctionRole needs s3:ListBucket on arn:aws:s3:::"
                            f"{stack.bucket} with s3:prefix='incoming/orders/permissions-already-moved.csv'")
               for p in problems), problems


def test_every_caller_is_recorded_with_its_own_role(stack, tmp_path):
    """A file's way through: the state machines' tasks, each function, the crawler and the Glue
    job each call AWS as their own role, and every one of those roles is the template's."""
    mark = RECORDER.mark()
    path = tmp_path / "permissions-roles.csv"
    path.write_bytes((stack.root / "samples" / "orders" / "orders-2026-11-20.csv").read_bytes())
    result = stack.run_file(path, "incoming/orders/permissions-roles.csv")
    assert result["outcome"] == "processed", result

    by_role = {}
    for call in RECORDER.since(mark):
        by_role.setdefault(stack.roles[call.role].logical_id, set()).add(f"{call.service}:{call.operation}")
    assert {"dynamodb:PutItem", "lambda:Invoke", "sns:Publish"} <= by_role["PipelineStateMachineRole"]
    assert {"sqs:GetQueueAttributes", "lambda:Invoke", "glue:StartJobRun", "glue:GetJobRun"} <= by_role[
        "BatchStateMachineRole"]
    assert {"s3:GetObject", "s3:PutObject"} <= by_role["ValidatorFunctionRole"]
    assert {"s3:HeadObject", "s3:DeleteObject"} <= by_role["MoverFunctionRole"]
    assert "sqs:SendMessage" in by_role["BatchHandoffFunctionRole"]
    assert {"sqs:ReceiveMessage", "dynamodb:PutItem"} <= by_role["BatchCollectFunctionRole"]
    assert "stepfunctions:SendTaskSuccess" in by_role["BatchResumeFunctionRole"]
    assert {"glue:GetTable", "s3:PutObject"} <= by_role["GlueRole"]
    assert "stepfunctions:StartExecution" in by_role["BatchSchedulerRole"]
    assert any(role.startswith("PipelineStateMachineObjectCreated") for role in by_role), sorted(by_role)
