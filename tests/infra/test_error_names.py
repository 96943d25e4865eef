"""Every name a Retry or Catch waits for is a name its Task can fail with, spelled as AWS spells it.

A name no error ever carries is accepted by every validator and deploys fine: the Retry silently
never retries and the Catch never catches, so the error falls through to the next catcher (or
fails the execution). This test takes each Task's integration from its `Resource` and checks every
`ErrorEquals` name of its Retry and Catch against the names that integration reports:

- `States.*`: the names listed in "Handling errors in Step Functions workflows"
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
- AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): "Learning to use AWS
  service SDK integrations in Step Functions"
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html says the
  error is `ServiceName.ErrorName`, both in PascalCase, and the error name always carries the
  `Exception` suffix, even where the service's own name for it has none (`acmpca` ->
  `AcmPca.ResourceNotFoundException`; S3's `BucketAlreadyExists` ->
  `S3.BucketAlreadyExistsException`). The service part is the service id in PascalCase, one
  capital per word (`ACM PCA` -> `AcmPca`, `DynamoDB` -> `DynamoDb`, `SQS` -> `Sqs`), which gives
  both documented examples; the error part is one of the service's modeled errors (botocore's
  model), or the SDK's base exception (`DynamoDb.DynamoDbException`).
- Optimized integrations (`arn:aws:states:::lambda:invoke`, `dynamodb:putItem`, `sns:publish`,
  `glue:startJobRun.sync`, ...): the integration's own prefix (`Lambda`, `DynamoDB`, `SNS`,
  `Glue`) and the name of the SDK exception. "Handle Lambda service exceptions"
  https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html documents
  them for Lambda: the modeled `Lambda.ServiceException` and `Lambda.TooManyRequestsException`,
  the SDK's base `Lambda.AWSLambdaException`, the client-side `Lambda.SdkClientException` and
  `Lambda.ClientExecutionTimeoutException`, and `Lambda.Unknown` for unhandled function errors.
  The other optimized integrations follow the same SDK naming: a modeled error with the
  `Exception` suffix (DynamoDB's `RequestLimitExceeded` is `DynamoDB.RequestLimitExceededException`),
  the service's base exception (`Glue.AWSGlueException`) and the two client-side exceptions.

The errors are checked against the service's modeled errors, not only the operation's: AWS
services also return common errors the operation does not list (Glue's `ThrottlingException`,
for instance), and the SDK names those by the service's model. A name of another service than
the Task's is never valid, whatever its spelling.

Our own names: a Lambda task also fails with the `errorType` of an unhandled exception, so the
exception classes defined under functions/ are valid on Lambda tasks; a `.waitForTaskToken` task
fails with the `error` its answer sends (SendTaskFailure), so the names the code sends are valid
there, each defined at one place in the code.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import botocore.exceptions
import botocore.session
import pytest

from tests.helpers import load_asl

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
ASLS = [ROOT / "statemachine" / "pipeline.asl.json", ROOT / "statemachine" / "batch.asl.json"]

# Handling errors in Step Functions workflows (concepts-error-handling.html): every `States.` name.
STATES_ERRORS = frozenset({
    "States.ALL", "States.BranchFailed", "States.DataLimitExceeded", "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout", "States.Http.Socket", "States.IntrinsicFailure", "States.ItemReaderFailed",
    "States.NoChoiceMatched", "States.ParameterPathFailure", "States.Permissions", "States.QueryEvaluationError",
    "States.ResultPathMatchFailure", "States.ResultWriterFailed", "States.Runtime", "States.TaskFailed",
    "States.Timeout",
})

# Optimized integrations: the Resource's service -> (botocore service, error prefix, the SDK's base
# exception). An integration missing here fails the test until its names are looked up.
OPTIMIZED = {
    "lambda": ("lambda", "Lambda", "AWSLambdaException"),
    "dynamodb": ("dynamodb", "DynamoDB", "AmazonDynamoDBException"),
    "sns": ("sns", "SNS", "AmazonSNSException"),
    "glue": ("glue", "Glue", "AWSGlueException"),
}
# Client-side errors of the SDK that calls the service (Handle Lambda service exceptions).
SDK_CLIENT_ERRORS = ("SdkClientException", "ClientExecutionTimeoutException")
# Not a Java SDK exception: an unhandled function error (Handle Lambda service exceptions).
LAMBDA_UNKNOWN = "Lambda.Unknown"
# The aws-sdk service names whose botocore name differs.
AWS_SDK_BOTOCORE_NAMES = {"sfn": "stepfunctions", "acmpca": "acm-pca", "cloudwatchlogs": "logs"}
FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:")


@dataclass(frozen=True)
class Integration:
    """What a Task's Resource calls: `kind` is "aws-sdk", "optimized" or "function"."""

    kind: str
    service: str  # as in the Resource: "sqs", "lambda", ...
    action: str  # as in the Resource: "getQueueAttributes", "invoke", ...
    pattern: str  # "", "sync", "sync:2", "waitForTaskToken"


# --- the names each integration reports -------------------------------------------------------

def sdk_service_name(service_id: str) -> str:
    """The PascalCase service part of an aws-sdk error: one capital per word of the service id."""
    words = [w for chunk in re.split(r"[^A-Za-z0-9]+", service_id)
             for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", chunk)]
    return "".join(w[:1].upper() + w[1:].lower() for w in words)


def exception_name(shape: str) -> str:
    return shape if shape.endswith("Exception") else shape + "Exception"


@cache
def _model(botocore_name: str) -> Any:
    return botocore.session.get_session().get_service_model(botocore_name)


def _operation(botocore_name: str, action: str) -> str | None:
    """The model's operation for a Resource's camelCase action, or None."""
    wanted = action[:1].upper() + action[1:]
    return wanted if wanted in _model(botocore_name).operation_names else None


def parse_resource(resource: str) -> Integration | None:
    if FUNCTION_ARN.match(resource):
        return Integration("function", "lambda", "invoke", "")
    match = re.fullmatch(r"arn:aws[a-z-]*:states:::(.+)", resource)
    if not match:
        return None
    parts = match.group(1).split(":", 2)
    if parts[0] == "aws-sdk" and len(parts) == 3:
        action, _, pattern = parts[2].partition(".")
        return Integration("aws-sdk", parts[1], action, pattern)
    if len(parts) >= 2:
        action, _, pattern = ":".join(parts[1:]).partition(".")
        return Integration("optimized", parts[0], action, pattern)
    return None


def integration_errors(integration: Integration) -> tuple[frozenset[str], str]:
    """The service names `integration` reports, and a line saying where they come from.

    Raises LookupError when the integration is not one this test knows how to name."""
    if integration.kind == "aws-sdk":
        botocore_name = AWS_SDK_BOTOCORE_NAMES.get(integration.service, integration.service)
        try:
            model = _model(botocore_name)
        except botocore.exceptions.UnknownServiceError:
            raise LookupError(f"aws-sdk service {integration.service!r} is no botocore service: add it to "
                              "AWS_SDK_BOTOCORE_NAMES") from None
        if _operation(botocore_name, integration.action) is None:
            raise LookupError(f"{botocore_name} has no operation {integration.action!r}")
        prefix = sdk_service_name(model.service_id)
        names = {f"{prefix}.{exception_name(shape.name)}" for shape in model.error_shapes}
        names.add(f"{prefix}.{prefix}Exception")
        return frozenset(names), f"{prefix}.<a modeled {botocore_name} error, with the Exception suffix>"
    if integration.service not in OPTIMIZED:
        raise LookupError(f"optimized integration {integration.service!r} has no entry in OPTIMIZED: "
                          "add its error prefix and SDK base exception from its Step Functions page")
    botocore_name, prefix, base = OPTIMIZED[integration.service]
    if _operation(botocore_name, integration.action) is None:
        raise LookupError(f"{botocore_name} has no operation {integration.action!r}")
    names = {f"{prefix}.{exception_name(shape.name)}" for shape in _model(botocore_name).error_shapes}
    names |= {f"{prefix}.{base}", *(f"{prefix}.{e}" for e in SDK_CLIENT_ERRORS)}
    if integration.service == "lambda":
        names.add(LAMBDA_UNKNOWN)
    return frozenset(names), (f"{prefix}.<a modeled {botocore_name} error, with the Exception suffix>, "
                              f"{prefix}.{base}, {prefix}.SdkClientException")


# --- the names our own code raises and sends --------------------------------------------------

def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(FUNCTIONS.rglob("*.py")):
        if "tests" not in path.relative_to(FUNCTIONS).parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


@cache
def function_exception_classes() -> frozenset[str]:
    """Exception classes defined under functions/: a Lambda task fails with their name as `errorType`."""
    classes = {node.name: {_base_name(b) for b in node.bases}
               for _, tree in _sources() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in classes.items():
            if name in found:
                continue
            if any(b in found or (isinstance(getattr(builtins, b, None), type)
                                  and issubclass(getattr(builtins, b), BaseException)) for b in bases):
                found.add(name)
                changed = True
    return frozenset(found)


def _sends_task_failure(call: ast.Call) -> bool:
    callee = [call.func, *call.args]
    return any(isinstance(node, ast.Attribute) and node.attr == "send_task_failure" for node in callee)


def _literals_assigned(function: ast.AST, name: str) -> list[ast.expr]:
    """The values assigned to `name` in `function`, unpacked from tuples."""
    values = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id == name:
                values.append(node.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                values += [value for element, value in zip(target.elts, node.value.elts)
                           if isinstance(element, ast.Name) and element.id == name]
    return values


@cache
def task_failure_errors() -> tuple[tuple[str, str], ...]:
    """(error, where) for every `error` our code sends with SendTaskFailure."""
    sent: list[tuple[str, str]] = []
    for path, tree in _sources():
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call) and _sends_task_failure(n)):
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                error = next((k.value for k in call.keywords if k.arg == "error"), None)
                while isinstance(error, ast.Subscript):  # error[:ERROR_CHARS]
                    error = error.value
                values = _literals_assigned(function, error.id) if isinstance(error, ast.Name) else [error]
                for value in values:
                    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                        raise AssertionError(f"{where}: SendTaskFailure sends an error that is no string literal "
                                             f"({ast.unparse(value) if value is not None else 'none'}): a state "
                                             "machine can only wait for names it can read in the code")
                    sent.append((value.value, f"{path.relative_to(ROOT)}:{value.lineno}"))
    return tuple(sent)


# --- the check --------------------------------------------------------------------------------

def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key]["States"])


def valid_names(state: dict[str, Any]) -> tuple[frozenset[str], list[str]]:
    """The names a state can fail with, besides `States.*`, and how to spell them (for messages)."""
    if state["Type"] in ("Parallel", "Map"):
        inner = [s for branch in state.get("Branches", []) for s in branch["States"].values()]
        inner += [s for key in ("Iterator", "ItemProcessor") if key in state for s in state[key]["States"].values()]
        names: set[str] = set()
        rules: list[str] = []
        for child in inner:
            if child["Type"] in ("Task", "Parallel", "Map"):
                child_names, child_rules = valid_names(child)
                names |= child_names
                rules += [r for r in child_rules if r not in rules]
        return frozenset(names), rules
    integration = parse_resource(state.get("Resource", ""))
    if integration is None:
        raise LookupError(f"Resource {state.get('Resource')!r} is no integration this test can name errors for")
    if integration.kind == "function":
        names, rule = integration_errors(Integration("optimized", "lambda", "invoke", ""))
    else:
        names, rule = integration_errors(integration)
    rules = [rule]
    if integration.service == "lambda":
        names |= function_exception_classes()
        rules.append("an exception class defined under functions/")
    if integration.pattern == "waitForTaskToken":
        names |= {error for error, _ in task_failure_errors()}
        rules.append("an error our code sends with SendTaskFailure")
    return names, rules


def error_name_problems(asl: dict[str, Any]) -> list[str]:
    problems = []
    for name, state in _tasks(asl["States"]):
        handlers = [(f"Retry[{i}]", r) for i, r in enumerate(state.get("Retry", []))]
        handlers += [(f"Catch[{i}]", c) for i, c in enumerate(state.get("Catch", []))]
        if not handlers:
            continue
        try:
            valid, rules = valid_names(state) if state["Type"] in ("Task", "Parallel", "Map") else (frozenset(), [])
        except LookupError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for where, handler in handlers:
            for error in handler["ErrorEquals"]:
                if error in STATES_ERRORS or error in valid:
                    continue
                if error.startswith("States."):
                    hint = f"the States.* names are {', '.join(sorted(STATES_ERRORS))}"
                else:
                    close = difflib.get_close_matches(error, sorted(valid), n=3, cutoff=0.6)
                    hint = (f"did you mean {' or '.join(close)}? " if close else "") + \
                        f"valid: States.*, {'; '.join(rules)}"
                problems.append(f"{name} {where}: {error!r} is no error of {state.get('Resource', state['Type'])}; "
                                f"{hint}")
    return problems


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ASLS, ids=lambda p: p.name)
def test_every_error_equals_name_is_one_its_task_can_raise(path: Path):
    asl = load_asl(path)
    assert any(s["Type"] == "Task" for _, s in _tasks(asl["States"])), f"{path.name} has no Task"
    problems = error_name_problems(asl)
    assert not problems, f"{path.name}: ErrorEquals names no error carries:\n" + "\n".join(problems)


def test_the_rules_give_the_documented_names():
    """The examples of the AWS pages come out of the rules, so the rules are not only ours."""
    acmpca, _ = integration_errors(parse_resource("arn:aws:states:::aws-sdk:acmpca:deleteCertificateAuthority"))
    assert "AcmPca.ResourceNotFoundException" in acmpca
    s3, _ = integration_errors(parse_resource("arn:aws:states:::aws-sdk:s3:createBucket"))
    assert "S3.BucketAlreadyExistsException" in s3 and "S3.BucketAlreadyExists" not in s3
    lambda_names, _ = integration_errors(parse_resource("arn:aws:states:::lambda:invoke"))
    assert {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
            "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException",
            "Lambda.Unknown"} <= lambda_names
    assert [sdk_service_name(s) for s in ("ACM PCA", "DynamoDB", "SQS", "SFN", "CloudWatch Logs", "S3", "EC2")] == [
        "AcmPca", "DynamoDb", "Sqs", "Sfn", "CloudWatchLogs", "S3", "Ec2"]


@pytest.mark.parametrize("resource, error", [
    ("arn:aws:states:::dynamodb:putItem", "DynamoDB.RequestLimitExceeded"),  # the model's name, no suffix
    ("arn:aws:states:::dynamodb:putItem", "DynamoDb.ConditionalCheckFailedException"),  # the aws-sdk spelling
    ("arn:aws:states:::aws-sdk:dynamodb:putItem", "DynamoDB.ConditionalCheckFailedException"),  # the optimized one
    ("arn:aws:states:::aws-sdk:sqs:getQueueAttributes", "SQS.QueueDoesNotExistException"),
    ("arn:aws:states:::sns:publish", "Lambda.TooManyRequestsException"),  # another service
    ("arn:aws:states:::glue:startJobRun.sync", "Glue.NoSuchThingException"),
    ("arn:aws:states:::lambda:invoke", "States.TaskFailure"),
])
def test_wrong_names_are_found(resource: str, error: str):
    """The check finds each kind of wrong name, so an empty result means something."""
    state = {"Type": "Task", "Resource": resource, "Retry": [{"ErrorEquals": [error]}]}
    problems = error_name_problems({"States": {"T": state}})
    assert len(problems) == 1 and repr(error) in problems[0] and problems[0].startswith("T Retry[0]"), problems


@pytest.mark.parametrize("resource, error", [
    ("arn:aws:states:::dynamodb:putItem", "DynamoDB.RequestLimitExceededException"),
    ("arn:aws:states:::aws-sdk:dynamodb:putItem", "DynamoDb.ConditionalCheckFailedException"),
    ("arn:aws:states:::aws-sdk:sqs:getQueueAttributes", "Sqs.QueueDoesNotExistException"),
    ("arn:aws:states:::aws-sdk:glue:startCrawler", "Glue.CrawlerRunningException"),
    ("arn:aws:states:::glue:startJobRun.sync", "Glue.AWSGlueException"),
    ("arn:aws:states:::sns:publish", "SNS.KMSThrottlingException"),
])
def test_right_names_pass(resource: str, error: str):
    state = {"Type": "Task", "Resource": resource, "Catch": [{"ErrorEquals": [error], "Next": "X"}]}
    assert error_name_problems({"States": {"T": state}}) == []


def test_our_own_error_names_are_found_in_the_code():
    """The names a waiting task can get from SendTaskFailure are read from the code, one place each;
    the exception classes of the functions are found."""
    sent = task_failure_errors()
    assert sent, "no SendTaskFailure error found under functions/"
    where: dict[str, set[str]] = {}
    for error, place in sent:
        where.setdefault(error, set()).add(place)
    assert {e: p for e, p in where.items() if len(p) > 1} == {}, "an error sent is written at several places"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9.]*", e) and not e.startswith("States.") for e in where), where
    assert {"CopyMismatch", "UnreadableFile", "ContractError"} <= function_exception_classes()
    wait = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Catch": [{"ErrorEquals": sorted(where), "Next": "X"}]}
    plain = {**wait, "Resource": "arn:aws:states:::sns:publish"}
    assert error_name_problems({"States": {"T": wait}}) == []
    assert len(error_name_problems({"States": {"T": plain}})) == len(where)
