"""Static checks of template.yaml and the state machine: linters, substitutions, error paths, trigger.

The linters (cfn-lint, SAM CLI, asl-validator) are installed by `make test`; a missing tool fails
the test instead of skipping it. `SAM_CLI` names the sam executable (the Makefile sets it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import pytest
from samtranslator.yaml_helper import yaml_parse

from etl_common.layout import ERROR, INCOMING, REPORTS, STAGING, TRANSFORMED
from tests.helpers import load_asl

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "pipeline.asl.json"
BATCH_ASL = ROOT / "statemachine" / "batch.asl.json"
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
REGION = "us-east-1"
TIMEOUT = 300

SNS_PUBLISH = "arn:aws:states:::sns:publish"
NOTIFY_STATES = {"NotifyProcessed", "NotifyRejected", "NotifyFailure"}
# A repeated delivery of an object version ends silently: the execution that claimed the
# version sends that version's one notification (docs/reliability.md).
SILENT_CATCHES = {("ClaimObjectVersion", "DynamoDB.ConditionalCheckFailedException"): "Duplicate"}
WRITTEN_ZONES = [STAGING, ERROR, REPORTS, TRANSFORMED]


# --- helpers -------------------------------------------------------------------------------

def _run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT,
         timeout: int = TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, cmd))} did not finish in {timeout}s\n"
                    f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return (f"$ {' '.join(result.args)}\nexit code {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")


def _cfn_lint() -> list[str]:
    exe = Path(sys.executable).parent / "cfn-lint"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("cfn-lint")
    assert found, f"cfn-lint is not installed next to {sys.executable} nor on PATH (pip install -e '.[dev]')"
    return [found]


def _sam() -> str:
    sam = os.environ.get("SAM_CLI") or shutil.which("sam")
    assert sam, "SAM CLI not found: set SAM_CLI to the sam executable (make test does) or put sam on PATH"
    assert Path(sam).exists(), f"SAM_CLI={sam} does not exist"
    return sam


def _sam_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(home), SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
    return env


def _sam_template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text(encoding="utf-8"))


def _asl() -> dict[str, Any]:
    return load_asl(ASL)


def _state_machine(asl: Path = ASL) -> dict[str, Any]:
    """The template's state machine resource whose definition is `asl`."""
    machines = [r for r in _sam_template()["Resources"].values()
                if r["Type"] == "AWS::Serverless::StateMachine"
                and (ROOT / r["Properties"].get("DefinitionUri", "")).resolve() == asl.resolve()]
    assert len(machines) == 1, f"expected one state machine with DefinitionUri {asl.relative_to(ROOT)}"
    return machines[0]


def _all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, state, the States map it belongs to), including states nested in Parallel and Map."""
    for name, state in states.items():
        yield name, state, states
        for branch in state.get("Branches", []):
            yield from _all_states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _all_states(state[key]["States"])


def _successors(state: dict[str, Any]) -> list[str]:
    """Normal transitions only (Next, Choices, Default), not Catch."""
    nexts = [state["Next"]] if "Next" in state else []
    nexts += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        nexts.append(state["Default"])
    return nexts


def _publish_path(states: dict[str, Any], start: str) -> list[str] | None:
    """The shortest path from `start` to an SNS publish Task along normal transitions, or None."""
    queue, seen = deque([[start]]), {start}
    while queue:
        path = queue.popleft()
        state = states[path[-1]]
        if state["Type"] == "Task" and state.get("Resource") == SNS_PUBLISH:
            return path
        for nxt in _successors(state):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(path + [nxt])
    return None


def _event_pattern_matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for what the template uses: nested fields, value lists, {prefix: ...}."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            field in event and _event_pattern_matches(sub, event[field]) for field, sub in pattern.items())
    assert isinstance(pattern, list), f"unsupported pattern {pattern!r}"
    for allowed in pattern:
        if isinstance(allowed, dict):
            assert set(allowed) == {"prefix"}, f"unsupported filter {allowed!r}"
            if isinstance(event, str) and event.startswith(allowed["prefix"]):
                return True
        elif allowed == event:
            return True
    return False


# --- linters -------------------------------------------------------------------------------

def test_cfn_lint_template_has_no_findings():
    result = _run(_cfn_lint() + ["--regions", REGION, "--", TEMPLATE])
    assert result.returncode == 0 and not result.stdout.strip(), "cfn-lint findings:\n" + _report(result)


def test_sam_validate_lint(tmp_path):
    result = _run([_sam(), "validate", "--lint", "--template-file", TEMPLATE, "--region", REGION],
                  env=_sam_env(tmp_path))
    assert result.returncode == 0, "sam validate --lint failed:\n" + _report(result)
    assert "is a valid SAM Template" in result.stdout + result.stderr, _report(result)


def test_samconfig_makes_plain_sam_validate_lint(tmp_path):
    """`sam validate` with no flags reads samconfig.toml (lint = true): no AWS credentials needed."""
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["version"] == 0.1
    assert config["default"]["validate"]["parameters"]["lint"] is True
    assert config["default"]["global"]["parameters"]["stack_name"] == "s3-parquet-pipeline"
    deploy = config["default"]["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    env = _sam_env(tmp_path)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(var, None)
    result = _run([_sam(), "validate", "--debug"], env=env)
    assert result.returncode == 0, "sam validate (samconfig.toml) failed:\n" + _report(result)
    assert "--lint" in result.stderr, "samconfig.toml's lint = true was not applied:\n" + _report(result)


def _literal_joins_folded(node: Any) -> Any:
    """`Fn::Join` of plain strings as the one string it makes (the same value to CloudFormation).

    SAM writes a state machine definition as a Join of one string per line; cfn-lint 1.58
    expands a Join one recursive call per element and aborts the interpreter past about 750.
    """
    if isinstance(node, dict):
        join = node.get("Fn::Join")
        if len(node) == 1 and isinstance(join, list) and len(join) == 2 and isinstance(join[1], list) \
                and all(isinstance(part, str) for part in [join[0], *join[1]]):
            return join[0].join(join[1])
        return {key: _literal_joins_folded(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_literal_joins_folded(value) for value in node]
    return node


def test_translated_template_passes_cfn_lint(tmp_path, monkeypatch):
    from etl_local.template import load_template

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    translated = load_template(TEMPLATE).cfn
    assert "Transform" not in translated, "the translation still has a Transform"
    assert not [r for r in translated["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(_literal_joins_folded(translated), indent=2), encoding="utf-8")
    result = _run(_cfn_lint() + ["--regions", REGION, "--", path])
    assert result.returncode == 0 and not result.stdout.strip(), (
        "cfn-lint findings in the translated template:\n" + _report(result))


@pytest.mark.parametrize("asl", [ASL, BATCH_ASL], ids=lambda p: p.name)
def test_asl_validator_accepts_the_definition(asl, tmp_path):
    assert ASL_VALIDATOR.exists(), f"{ASL_VALIDATOR} missing: run `npm install` (make test does)"
    defaults = {name: spec["Default"] for name, spec in _sam_template()["Parameters"].items() if "Default" in spec}
    checked = tmp_path / asl.name  # with the number placeholders substituted, as CloudFormation does
    checked.write_text(json.dumps(load_asl(asl, defaults)), encoding="utf-8")
    result = _run([ASL_VALIDATOR, "--json-path", checked])
    assert result.returncode == 0, "asl-validator rejected the definition:\n" + _report(result)


# --- state machine -------------------------------------------------------------------------

@pytest.mark.parametrize("asl", [ASL, BATCH_ASL], ids=lambda p: p.name)
def test_definition_substitutions_match_placeholders(asl):
    substitutions = set(_state_machine(asl)["Properties"].get("DefinitionSubstitutions", {}))
    text = asl.read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{([^}]*)\}", text))
    missing = placeholders - substitutions
    unused = substitutions - placeholders
    assert not missing, f"ASL placeholders with no DefinitionSubstitutions entry: {sorted(missing)}"
    assert not unused, f"DefinitionSubstitutions never used in {asl.name}: {sorted(unused)}"


def test_tasks_retry_and_catch_to_a_notification():
    asl = _asl()
    tasks = {name: (state, states) for name, state, states in _all_states(asl["States"])
             if state["Type"] == "Task"}
    assert NOTIFY_STATES <= set(tasks), f"notification tasks missing: {sorted(NOTIFY_STATES - set(tasks))}"
    problems = []
    for name, (state, states) in sorted(tasks.items()):
        if not state.get("Retry"):
            problems.append(f"{name}: no Retry")
        if name in NOTIFY_STATES:
            if state.get("Resource") != SNS_PUBLISH:
                problems.append(f"{name}: Resource is {state.get('Resource')}, not {SNS_PUBLISH}")
            continue
        if not state.get("Catch"):
            problems.append(f"{name}: no Catch")
        for catcher in state.get("Catch", []):
            target = catcher["Next"]
            if SILENT_CATCHES.get((name, catcher["ErrorEquals"][0])) == target == "Duplicate":
                assert states[target]["Type"] == "Succeed"
                continue
            if target not in states:
                problems.append(f"{name}: Catch goes to unknown state {target}")
            elif _publish_path(states, target) is None:
                problems.append(f"{name}: Catch {catcher['ErrorEquals']} -> {target} never reaches an SNS publish")
    assert not problems, "Task error handling:\n" + "\n".join(problems)


def test_notifications_cannot_be_skipped_by_their_own_failure():
    """A notification task has no Catch, so its failure fails the execution visibly instead."""
    for name, state, _ in _all_states(_asl()["States"]):
        if name in NOTIFY_STATES:
            assert "Catch" not in state, f"{name} catches its own failure: the file's outcome would go unreported"


# --- trigger -------------------------------------------------------------------------------

def _object_created_pattern() -> dict[str, Any]:
    events = _state_machine()["Properties"].get("Events", {})
    rules = [e["Properties"]["Pattern"] for e in events.values() if e["Type"] == "EventBridgeRule"]
    assert len(rules) == 1, f"expected one EventBridgeRule event on the state machine, found {len(rules)}"
    return rules[0]


def test_trigger_only_matches_incoming_keys():
    pattern = _object_created_pattern()
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"], pattern
    key_filters = pattern["detail"]["object"]["key"]
    assert key_filters == [{"prefix": INCOMING}], f"object key filter is {key_filters}, not prefix {INCOMING}"
    for zone in WRITTEN_ZONES:
        assert not zone.startswith(INCOMING), f"the pipeline writes to {zone}, which the rule would match"


def test_trigger_pattern_against_events():
    """The sample events match; the same objects written to the pipeline's other zones do not."""
    from etl_common.layout import Upload, parquet_prefix

    pattern = json.loads(json.dumps(_object_created_pattern()).replace('{"Ref": "DataBucket"}', '"example-data-bucket"'))
    good = json.loads((ROOT / "events" / "object-created-good.json").read_text(encoding="utf-8"))
    assert _event_pattern_matches(pattern, good), f"the good sample event does not match {pattern}"
    upload = Upload.parse(good["detail"]["object"]["key"])
    written = [upload.staged_key("a-version"), *upload.derived_keys().values(),
               upload.history_report_key("20261130T000000Z"),
               parquet_prefix(upload.dataset) + upload.source_id + "-00000.snappy.parquet"]
    for key in written:
        event = json.loads(json.dumps(good))
        event["detail"]["object"]["key"] = key
        assert not _event_pattern_matches(pattern, event), f"writing {key} would start another execution"
    other_bucket = json.loads(json.dumps(good))
    other_bucket["detail"]["bucket"]["name"] = "some-other-bucket"
    assert not _event_pattern_matches(pattern, other_bucket), "the rule matches uploads to other buckets"


def test_dashboard_finds_the_metrics_the_validator_emits():
    """The validator's metrics carry `service` and `dataset` dimensions: a query naming only
    `service` would match no metric, so the dashboard sums a SEARCH over both."""
    template = _sam_template()
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    expressions = [m[0]["expression"] for w in widgets for m in w["properties"]["metrics"]
                   if isinstance(m[0], dict)]
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    emitted = set(re.findall(r'add_metric\(name="(\w+)"', (ROOT / "functions" / "validator" / "app.py").read_text()))
    searched = {re.search(r'MetricName="(\w+)"', e).group(1) for e in expressions}
    assert searched == emitted - {"ValidationDuration"}
    assert all(f"{{{namespace},dataset,service}}" in e for e in expressions)


# --- the plan's corridor --------------------------------------------------------------------

def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_state_machine_reads_only_fields_the_plan_has():
    """Every `$.validation.plan...` path names a field of the validator's Plan model (nested
    models followed), so renaming a field cannot silently give the state machine nulls."""
    from etl_common.messages import Plan

    paths = _paths(ASL, "$.validation.plan")
    assert paths, "the state machine reads no plan field"
    problems = _model_path_problems(paths, Plan, "$.validation.plan")
    assert not problems, "\n".join(problems)


def test_state_machine_outcomes_are_the_vocabulary():
    """Outcomes the state machine writes as literals are members of `Outcome`."""
    from etl_common.vocabulary import Outcome

    states = load_asl(ASL)["States"]
    literals = {params["outcome"] for state in states.values()
                for params in [state.get("Parameters", {})] if isinstance(params.get("outcome"), str)}
    assert literals and literals <= {o.value for o in Outcome}, literals


# --- the batch state machine and the messages between the two ------------------------------

def _model_path_problems(paths: set[str], root: Any, prefix: str) -> list[str]:
    """Paths (`.a.b`) that do not name fields of the pydantic model `root`, nested models followed."""
    from pydantic import BaseModel

    problems = []
    for path in paths:
        model: Any = root
        for name in filter(None, path.split(".")):
            fields = ({**model.model_fields, **model.model_computed_fields}
                      if isinstance(model, type) and issubclass(model, BaseModel) else {})
            if name not in fields:
                problems.append(f"{prefix}{path}: {name!r} is not a field of {getattr(model, '__name__', model)}")
                break
            field = fields[name]
            annotation = getattr(field, "annotation", None) or field.return_type
            model = next((a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)), annotation)
    return problems


def _paths(asl: Path, prefix: str) -> set[str]:
    pattern = re.escape(prefix) + r"((?:\.\w+)*)"
    return {m for text in _strings(load_asl(asl)) for m in re.findall(pattern, text)}


def _task(asl: Path, name: str) -> dict[str, Any]:
    return load_asl(asl)["States"][name]


def test_batch_state_machine_reads_only_fields_the_batch_has():
    """`$.collect.batch...` names fields of `Batch`; the per-file machine's `$.conversion...`
    names fields of `Conversion`, the result the resume sends each waiting execution."""
    from etl_common.messages import Batch, Conversion

    batch_paths, conversion_paths = _paths(BATCH_ASL, "$.collect.batch"), _paths(ASL, "$.conversion")
    assert batch_paths and conversion_paths
    problems = (_model_path_problems(batch_paths, Batch, "$.collect.batch")
                + _model_path_problems(conversion_paths, Conversion, "$.conversion"))
    assert not problems, "\n".join(problems)


def test_payloads_between_the_machines_and_the_batch_functions_are_their_models():
    """What each task sends a batch function is exactly that function's request model."""
    from etl_common.messages import CollectRequest, PendingFile, ResumeRequest

    def keys(payload: dict[str, Any]) -> set[str]:
        return {k.removesuffix(".$") for k in payload}

    assert keys(_task(ASL, "HandToBatch")["Parameters"]["Payload"]) == set(PendingFile.model_fields)
    assert keys(_task(BATCH_ASL, "Collect")["Parameters"]["Payload"]) <= set(CollectRequest.model_fields)
    for name in ("Resume", "ResumeAfterJobFailure"):
        assert keys(_task(BATCH_ASL, name)["Parameters"]["Payload"]) <= set(ResumeRequest.model_fields), name


def test_schedule_input_has_what_the_batch_machine_reads():
    """The batch machine reads `$.rerun_batch_id`: the schedule's input is a `BatchInput`, as the
    hand-off's early start and a rerun send (tests/integration/test_batcher.py)."""
    from etl_common.messages import BatchInput

    schedule = _sam_template()["Resources"]["BatchSchedule"]["Properties"]
    assert json.loads(schedule["Target"]["Input"]) == json.loads(BatchInput(trigger="schedule").as_input())
    assert schedule["Target"]["Arn"] == {"Ref": "BatchStateMachine"}


def test_batch_tasks_retry_and_catch():
    """Every Task of the batch machine has Retry and Catch; only the crawl's failure is not the
    batch's (it is reported and the batch goes on)."""
    problems = []
    for name, state, states in _all_states(load_asl(BATCH_ASL)["States"]):
        if state["Type"] != "Task":
            continue
        if not state.get("Retry"):
            problems.append(f"{name}: no Retry")
        if not state.get("Catch"):
            problems.append(f"{name}: no Catch")
        for catcher in state.get("Catch", []):
            if catcher["Next"] not in states:
                problems.append(f"{name}: Catch goes to unknown state {catcher['Next']}")
    assert not problems, "\n".join(problems)


def test_the_glue_job_queues_runs_and_the_crawler_crawls_new_folders_only():
    resources = _sam_template()["Resources"]
    assert resources["CsvToParquetJob"]["Properties"]["JobRunQueuingEnabled"] is True
    crawler = resources["StagingCrawler"]["Properties"]
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    convert = _task(BATCH_ASL, "ConvertBatch")
    assert any("Glue.AWSGlueException" in r["ErrorEquals"] for r in convert["Retry"])


@pytest.mark.parametrize("asl", [ASL, BATCH_ASL], ids=lambda p: p.name)
def test_lambda_throttling_has_its_own_long_retry(asl):
    """New accounts have low Lambda concurrency quotas: a burst is throttled
    (`Lambda.TooManyRequestsException`), and three quick retries would end in a failure, or a
    quarantine on the same throttled functions. Every Lambda task retries throttling on its own,
    about 10 times, growing to a minute, before any other retrier could take the error."""
    tasks = [(name, state) for name, state, _ in _all_states(load_asl(asl)["States"])
             if state["Type"] == "Task" and ":::lambda:invoke" in state.get("Resource", "")]
    assert tasks
    for name, state in tasks:
        retriers = state.get("Retry", [])
        matching = [r for r in retriers if "Lambda.TooManyRequestsException" in r["ErrorEquals"]
                    or "States.ALL" in r["ErrorEquals"] or "States.TaskFailed" in r["ErrorEquals"]]
        assert matching, f"{name}: no retrier for Lambda.TooManyRequestsException"
        first = matching[0]
        assert first["ErrorEquals"] == ["Lambda.TooManyRequestsException"], f"{name}: {first}"
        assert first["MaxAttempts"] >= 10 and first.get("MaxDelaySeconds", 0) >= 60, f"{name}: {first}"
        assert first.get("JitterStrategy") == "FULL", name


def test_every_notification_subject_comes_from_the_subject_rule():
    """SNS refuses a Subject of 100 characters or more, or with control characters: every Notify
    task takes the subject its message was built with, from `notification_subject` (the plan's,
    the mover's), and the one literal is what the rule gives."""
    from etl_common.vocabulary import notification_subject

    states = _asl()["States"]
    for name in NOTIFY_STATES:
        assert states[name]["Parameters"]["Subject.$"] == "$.notification.subject", name
    builds = {n: s["Parameters"] for n, s in states.items() if n.startswith("Build") and n.endswith("Message")}
    assert builds and all("subject" in p or "subject.$" in p for p in builds.values()), builds
    literals = {p["subject"] for p in builds.values() if "subject" in p}
    assert literals == {notification_subject("failed", "_unknown")}


def test_pipeline_executions_time_out_after_the_execution_timeout_parameter():
    """Without a TimeoutSeconds an execution runs for up to a year and TimedOutExecutionsAlarm
    (AWS/States ExecutionsTimedOut) never fires. The parameter goes in as a JSON number: a
    DefinitionSubstitutions placeholder outside any string."""
    text = ASL.read_text(encoding="utf-8")
    assert re.search(r'^  "TimeoutSeconds": \$\{ExecutionTimeoutSeconds\},$', text, re.M), "no top-level TimeoutSeconds"
    assert load_asl(ASL)["TimeoutSeconds"] == "${ExecutionTimeoutSeconds}"
    parameters = _sam_template()["Parameters"]
    timeout, handoff = parameters["ExecutionTimeoutSeconds"], parameters["HandoffTimeoutSeconds"]
    validator = _sam_template()["Resources"]["ValidatorFunction"]["Properties"]["Timeout"]
    # the wait for a batch, and a validation and a move of up to their Lambda timeouts, retried once
    assert timeout["Default"] >= handoff["Default"] + 2 * 2 * validator
    assert timeout["MaxValue"] <= 31_536_000  # a standard workflow runs at most one year
    alarm = _sam_template()["Resources"]["TimedOutExecutionsAlarm"]["Properties"]
    assert alarm["MetricName"] == "ExecutionsTimedOut"
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "PipelineStateMachine"}}]
