"""Step Functions' 256 KiB payload quota on the local engine (seams._install_payload_limit).

A state whose output would exceed 262,144 bytes (compact JSON, UTF-8) fails with
States.DataLimitExceeded, which `States.ALL` does not catch: the execution fails. Small Pass-only
state machines, created beside the pipeline on the session's local stack.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from etl_local.seams import PAYLOAD_LIMIT, payload_bytes

pytestmark = pytest.mark.workflow
ROLE_ARN = "arn:aws:iam::123456789012:role/payload-limit-test"
CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
# Output = input with one more byte in `s`: an exact step across the limit.
GROW_ONE_BYTE = {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}b', $.s)"}, "End": True}
# Output = `s` four times: far over the limit from an input well under it.
QUADRUPLE = {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}{}{}{}', $.s, $.s, $.s, $.s)"}, "End": True}


def _sized(total: int, char: str = "a") -> str:
    """Compact JSON `{"s": ...}` of exactly `total` UTF-8 bytes, `s` made of `char` (ASCII-padded)."""
    room = total - payload_bytes({"s": ""})
    width = len(char.encode("utf-8"))
    text = char * (room // width) + "a" * (room % width)
    document = json.dumps({"s": text}, ensure_ascii=False, separators=(",", ":"))
    assert payload_bytes({"s": text}) == len(document.encode("utf-8")) == total
    return document


def _run(stack, definition: dict, execution_input: str) -> dict:
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name=f"payload-limit-{uuid.uuid4().hex[:12]}",
                                       definition=json.dumps(definition), roleArn=ROLE_ARN)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=execution_input)["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution still running: {arn}"
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return {"status": described["status"], "error": described.get("error"), "output": described.get("output"),
            "types": [e["type"] for e in events],
            "entered": [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]}


def _wrapped(kind: str, inner: dict, catch: list[dict]) -> dict:
    """`inner` as the only state of a Parallel branch or Map iteration whose Catch is `catch`."""
    program = {"StartAt": "Grow", "States": {"Grow": inner}}
    if kind == "Parallel":
        outer = {"Type": "Parallel", "Branches": [program]}
    else:
        outer = {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"s.$": "$$.Execution.Input.s"},
                 "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **program}}
    return {"StartAt": "Outer", "States": {"Outer": {**outer, "Catch": catch, "End": True},
                                           "Caught": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("kind", ["Parallel", "Map"])
def test_oversized_state_output_fails_the_execution_past_a_catch_all(stack, kind):
    execution_input = json.dumps({"s": "x" * 70_000, "items": [0]})
    result = _run(stack, _wrapped(kind, QUADRUPLE, CATCH_ALL), execution_input)

    assert result["status"] == "FAILED", result
    assert result["error"] == "States.DataLimitExceeded", result
    assert "Caught" not in result["entered"], "States.ALL must not catch States.DataLimitExceeded"
    assert result["types"][-1] == "ExecutionFailed"


def test_a_catcher_naming_the_error_still_catches_it(stack):
    named = [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}]
    result = _run(stack, _wrapped("Parallel", QUADRUPLE, named), json.dumps({"s": "x" * 70_000}))

    assert result["status"] == "SUCCEEDED", result
    assert result["entered"][-1] == "Caught"


def test_oversized_output_of_a_lone_pass_state_fails_the_execution(stack):
    definition = {"StartAt": "Grow", "States": {"Grow": GROW_ONE_BYTE}}
    result = _run(stack, definition, _sized(PAYLOAD_LIMIT))  # the input is at the limit, the output one over

    assert result["status"] == "FAILED", result
    assert result["error"] == "States.DataLimitExceeded", result
    assert result["types"] == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize("char", ["a", "é", "€"], ids=["ascii", "2-byte", "3-byte"])
def test_output_of_exactly_the_limit_succeeds(stack, char):
    definition = {"StartAt": "Grow", "States": {"Grow": GROW_ONE_BYTE}}
    result = _run(stack, definition, _sized(PAYLOAD_LIMIT - 1, char))  # the output is exactly the limit

    assert result["status"] == "SUCCEEDED", result
    assert payload_bytes(json.loads(result["output"])) == PAYLOAD_LIMIT


def test_start_execution_refuses_an_input_over_the_limit(stack):
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"payload-limit-{uuid.uuid4().hex[:12]}", roleArn=ROLE_ARN,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, input=_sized(PAYLOAD_LIMIT + 1))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    sfn.start_execution(stateMachineArn=machine, input=_sized(PAYLOAD_LIMIT))  # at the limit: accepted
