"""The few places where moto (pinned below) cannot run this pipeline as AWS would, patched.

Every patch names the gap it fills. `check()` fails loudly when a moto upgrade moves one of
the patched internals; tests/infra/test_seams.py runs it.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import threading
import uuid
import time
from importlib.metadata import version
from typing import Any, Callable

from . import timing

MOTO_VERSION = "5.2.5"
NEVER = {"progression": "manual", "times": 10**9}
PAYLOAD_LIMIT = 262_144  # bytes: Step Functions' input/output quota, UTF-8
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
KEY_LIMIT = 1024  # bytes of UTF-8: the longest S3 object key
# The S3 backend methods that create an object under a key the caller names, and that key's parameter.
KEY_WRITES = {"put_object": "key_name", "copy_object": "dest_key_name", "create_multipart_upload": "key_name"}

_installed = False
_time_scale_installed = False
_key_limit_installed = False


def check() -> None:
    """Raise if the moto internals the seams patch are not where they were in MOTO_VERSION."""
    if version("moto") != MOTO_VERSION:
        raise RuntimeError(f"seams are written for moto {MOTO_VERSION}, found {version('moto')}")
    from moto.awslambda.models import LambdaFunction
    from moto.glue.models import FakeCrawler, FakeJob, FakeJobRun
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk, state_task_service_glue as glue_task)

    for owner, name in [(LambdaFunction, "_invoke_lambda"), (FakeCrawler, "start_crawler"), (FakeCrawler, "as_dict"),
                        (FakeJob, "start_job_run"), (FakeJobRun, "as_dict"), (glue_task.StateTaskServiceGlue, "__init__")]:
        if not callable(getattr(owner, name, None)):
            raise RuntimeError(f"moto internal {owner.__name__}.{name} moved")
    from moto.kms import responses as kms_responses

    if not callable(getattr(kms_responses, "validate_policy", None)):
        raise RuntimeError("moto internal kms.responses.validate_policy moved")
    if not isinstance(getattr(aws_sdk, "_SERVICE_ERROR_NAMES", None), dict):
        raise RuntimeError("moto internal state_task_service_aws_sdk._SERVICE_ERROR_NAMES moved")
    _dynamodb_task()
    from moto.core import responses as core_responses
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    if "cause" in inspect.getsource(StepFunctionResponse.send_task_failure):
        raise RuntimeError("moto's SendTaskFailure passes the cause now: remove the seam")
    if "cause" not in inspect.signature(StepFunctionsParserBackend.send_task_failure).parameters:
        raise RuntimeError("moto internal StepFunctionsParserBackend.send_task_failure lost its cause parameter")
    if not callable(getattr(core_responses, "EmptyResult", None)):
        raise RuntimeError("moto internal core.responses.EmptyResult moved")
    _check_payload_limit()
    _check_time_scale()
    _check_key_limit()
    task_client_modules()


def _payload_modules() -> list[Any]:
    """The modules that bound moto's `is_within_size_quota` by name when they imported it."""
    from moto.stepfunctions.parser import quotas
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service

    return [quotas, state, state_task_lambda, state_task_service]


def _check_payload_limit() -> None:
    from moto.stepfunctions.parser import quotas
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if getattr(quotas, "MAX_STATE_SIZE_UTF8_BYTES", None) != PAYLOAD_LIMIT:
        raise RuntimeError("moto internal parser.quotas.MAX_STATE_SIZE_UTF8_BYTES moved or changed")
    for module in _payload_modules():
        if not callable(getattr(module, "is_within_size_quota", None)):
            raise RuntimeError(f"moto internal {module.__name__}.is_within_size_quota moved")
    # The state's output is checked once OutputPath is applied, after (outside) its Catch; a task's
    # connector output inside it. Both through the module-level is_within_size_quota patched here.
    if "_verify_size_quota" not in inspect.getsource(CommonStateField._eval_body):
        raise RuntimeError("moto internal CommonStateField._eval_body no longer checks the output size")
    for owner in (CommonStateField, StateTaskLambda, StateTaskService):
        if "is_within_size_quota(" not in inspect.getsource(owner._verify_size_quota):
            raise RuntimeError(f"moto internal {owner.__name__}._verify_size_quota no longer uses is_within_size_quota")
    for owner, name in [(ErrorEqualsDecl, "_eval_body"), (StepFunctionsParserBackend, "start_execution")]:
        if not callable(getattr(owner, name, None)):
            raise RuntimeError(f"moto internal {owner.__name__}.{name} moved")
    if list(inspect.signature(StepFunctionsParserBackend.start_execution).parameters)[:4] != [
            "self", "state_machine_arn", "name", "execution_input"]:
        raise RuntimeError("moto internal StepFunctionsParserBackend.start_execution changed its parameters")
    if StatesErrorNameType.StatesStatesDataLimitExceeded.to_name() != DATA_LIMIT_EXCEEDED:
        raise RuntimeError("moto internal StatesErrorNameType.StatesStatesDataLimitExceeded moved")
    for module in (branches_decl, iteration_worker):
        if not callable(getattr(module, "CustomErrorName", None)):
            raise RuntimeError(f"moto internal {module.__name__}.CustomErrorName moved")


def payload_bytes(value: Any) -> int:
    """The size Step Functions counts: the payload as compact JSON, in UTF-8 bytes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o))
    return len(text.encode("utf-8", "surrogatepass"))


def install(on_invoke: Callable[[Any, Any], tuple[str, bool, str]],
            on_crawl: Callable[[Any], None],
            on_job_run: Callable[[Any, Any], None]) -> None:
    """Patch moto once per process; the callbacks are the local stack's real implementations."""
    global _installed
    if _installed:
        return
    check()
    from moto.awslambda.models import LambdaFunction
    from moto.glue.models import FakeCrawler, FakeJob, FakeJobRun
    from moto.kms import responses as kms_responses
    from moto.moto_api import state_manager
    from moto.stepfunctions.parser.api import HistoryEventType  # noqa: F401  (import check)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk, state_task_service_glue as glue_task)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition)

    # Gap: Lambda invoke needs Docker. Every invoke (API, state machine) passes through here.
    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return on_invoke(self, event if event is not None else {})

    LambdaFunction._invoke_lambda = _invoke_lambda

    # Gap: a started crawler never finishes and never creates tables. Run the stand-in crawl
    # in the background; the crawl's state only moves when the stand-in says so.
    state_manager.set_transition("glue::crawl", NEVER)
    original_start_crawler = FakeCrawler.start_crawler

    def start_crawler(self: Any) -> None:
        original_start_crawler(self)
        threading.Thread(target=on_crawl, args=(self,), daemon=True, name=f"crawl-{self.name}").start()

    FakeCrawler.start_crawler = start_crawler

    # Gap: GetCrawler's LastCrawl is the newest crawl even while it runs, with its ListCrawls
    # state (COMPLETED). Glue reports the last finished crawl there, as SUCCEEDED, CANCELLED or FAILED.
    original_crawler_as_dict = FakeCrawler.as_dict
    finished = {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED", "FAILED": "FAILED"}

    def crawler_as_dict(self: Any) -> dict[str, Any]:
        described = original_crawler_as_dict(self)
        done = [c for c in self.crawls if c.status in finished]
        described.pop("LastCrawl", None)
        if done:
            last = done[-1]
            described["LastCrawl"] = {"LogGroup": last.log_group, "LogStream": last.log_stream,
                                      "MessagePrefix": last.message_prefix, "StartTime": last.start_time,
                                      "Status": finished[last.status]}
            if getattr(last, "error_message", None):
                described["LastCrawl"]["ErrorMessage"] = last.error_message
        return described

    FakeCrawler.as_dict = crawler_as_dict

    # Gap: a job run reports SUCCEEDED without running anything. Run the real script.
    state_manager.set_transition("glue::job_run", NEVER)
    original_start_job_run = FakeJob.start_job_run

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original_start_job_run(self, *args, **kwargs)
        run = next(r for r in self.job_runs if r.job_run_id == run_id)
        run.status = "RUNNING"
        threading.Thread(target=on_job_run, args=(self, run), daemon=True, name=f"job-{run_id[:8]}").start()
        return run_id

    FakeJob.start_job_run = start_job_run

    # Gap: GetJobRun never reports ErrorMessage, which a failed `.sync` task carries as its cause.
    original_run_as_dict = FakeJobRun.as_dict

    def run_as_dict(self: Any) -> dict[str, Any]:
        described = original_run_as_dict(self)
        if getattr(self, "error_message", None):
            described["ErrorMessage"] = self.error_message
        return described

    FakeJobRun.as_dict = run_as_dict

    # Gap: every Glue `.sync` task fails ('NoneType' object has no attribute 'interrupt_all'):
    # the callback endpoint is only created for services that allow .waitForTaskToken.
    original_glue_init = glue_task.StateTaskServiceGlue.__init__

    def glue_init(self: Any) -> None:
        original_glue_init(self)
        self._supported_integration_patterns = set(self._supported_integration_patterns) | {
            ResourceCondition.WaitForTaskToken}

    glue_task.StateTaskServiceGlue.__init__ = glue_init

    # Gap: CloudFormation stores a KMS key's KeyPolicy as an object, and every later call on the
    # key fails parsing it as JSON text. Store it as the text KMS keeps.
    original_validate_policy = kms_responses.validate_policy

    def validate_policy(key: Any, action: str) -> None:
        if isinstance(key.policy, dict):
            key.policy = json.dumps(key.policy)
        original_validate_policy(key, action)

    kms_responses.validate_policy = validate_policy

    # Gap: aws-sdk error names come out lower-case (`glue.CrawlerRunningException`), so a
    # Retry on `Glue.CrawlerRunningException` never matches. AWS capitalises the service.
    aws_sdk._SERVICE_ERROR_NAMES.update({"glue": "Glue", "s3": "S3", "sns": "Sns", "sqs": "Sqs"})
    install_error_names()

    # Gap: SendTaskFailure drops its `cause`, so a waiting task fails with the error alone and the
    # failure notification loses why. AWS hands both to the task's Catch (`Error`, `Cause`).
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                                    cause=self._get_param("cause"))
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure
    _install_payload_limit()
    install_time_scale()
    install_key_limit()
    _installed = True


def _dynamodb_task() -> Any:
    """moto's optimized DynamoDB task (dynamodb:putItem, ...), whose error names install_error_names completes."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
        StateTaskServiceDynamoDB)

    if not callable(getattr(StateTaskServiceDynamoDB, "_error_cause_from_client_error", None)):
        raise RuntimeError("moto internal StateTaskServiceDynamoDB._error_cause_from_client_error moved")
    return StateTaskServiceDynamoDB


def install_error_names() -> None:
    """Gap: an optimized DynamoDB task fails with the service's error code as it is
    (`DynamoDB.RequestLimitExceeded`, `DynamoDB.InternalServerError`). AWS names the SDK's
    exception, with the Exception suffix (`DynamoDB.RequestLimitExceededException`), as moto's
    SNS task and aws-sdk tasks already do: a Retry written for AWS would never match locally."""
    task = _dynamodb_task()
    original = task._error_cause_from_client_error
    if getattr(original, "aws_error_names", False):
        return

    def error_cause(client_error: Any) -> tuple[str, str]:
        error, cause = original(client_error)
        return (error if error.endswith("Exception") else error + "Exception"), cause

    error_cause.aws_error_names = True  # type: ignore[attr-defined]
    task._error_cause_from_client_error = staticmethod(error_cause)


def _install_payload_limit() -> None:
    """Gap: the 256 KiB payload quota is enforced, but not as AWS documents it.

    Quotas (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, formerly
    limits.html): "Maximum input or output size for a task, state, or execution: 262,144 bytes of
    data as a UTF-8 encoded string. This quota affects tasks (activity, Lambda function, or integrated
    service), state or execution output, and input data when scheduling a task, entering a state, or
    starting an execution." Error handling
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): States.ALL
    "can't catch the States.DataLimitExceeded terminal error type and runtime error types";
    States.DataLimitExceeded is thrown when a connector's output or a state's output is larger than
    the quota, or a state's input after Parameters, and "is a terminal error that can't be caught by
    the States.ALL error type".

    moto 5.2.5 already fails a task whose connector output is too large
    (StateTaskService/StateTaskLambda._verify_size_quota) and a state whose output is, once
    ResultSelector, ResultPath and OutputPath are applied (CommonStateField._eval_body ->
    _verify_size_quota, after and outside the state's Catch). What it gets wrong:
    - it counts ASCII-escaped JSON with spaces and refuses exactly 262,144 bytes, so payloads AWS
      takes fail locally (non-ASCII text counts 6 bytes a character: ~44,000 characters is too many);
    - States.ALL in a Catch or Retry matches States.DataLimitExceeded from a connector's output;
    - leaving a Parallel branch or Map iteration, the error is re-made as a custom error name, which
      refuses the `States.` prefix: a Parallel fails with States.Runtime, a Map's States.ALL catches it;
    - StartExecution takes an input over the quota (the API's input: "Maximum length of 262144").
    Not emulated: a state's input after Parameters is not checked. Caveat: LocalStack's snapshots
    recorded on AWS in 2024 show a Lambda task's oversized result caught by States.ALL; this follows
    the documentation, the stricter reading, so the local stack never hides the failure.
    """
    from moto.stepfunctions.exceptions import ValidationException
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    def is_within_size_quota(value: Any) -> bool:
        return payload_bytes(value) <= PAYLOAD_LIMIT

    for module in _payload_modules():
        module.is_within_size_quota = is_within_size_quota

    # Terminal: States.ALL neither catches nor retries it; a catcher or retrier naming it still does.
    data_limit = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)
    original_error_equals = ErrorEqualsDecl._eval_body

    def error_equals(self: Any, env: Any) -> None:
        if env.stack and env.stack[-1] == data_limit and data_limit not in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return
        original_error_equals(self, env)

    ErrorEqualsDecl._eval_body = error_equals

    # A branch or iteration that failed with it fails its Parallel or Map state with it.
    def branch_error_name(error_name: Any) -> Any:
        if error_name == DATA_LIMIT_EXCEEDED:
            return StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)
        return original_custom_error_name(error_name=error_name)

    original_custom_error_name = branches_decl.CustomErrorName
    branches_decl.CustomErrorName = branch_error_name
    iteration_worker.CustomErrorName = branch_error_name

    original_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None,
                        *args: Any, **kwargs: Any) -> Any:
        if isinstance(execution_input, str) and len(execution_input.encode("utf-8", "surrogatepass")) > PAYLOAD_LIMIT:
            raise ValidationException(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {PAYLOAD_LIMIT}")
        # Gap: an execution started without a name is named `None`, so a second one fails with
        # ExecutionAlreadyExists. AWS names it with a UUID (API_StartExecution, `name`).
        return original_start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input,
                                        *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution


def _check_key_limit() -> None:
    from moto.s3.exceptions import S3ClientError  # noqa: F401  (import check: the error raised)
    from moto.s3.models import S3Backend

    for name, parameter in KEY_WRITES.items():
        method = getattr(S3Backend, name, None)
        if not callable(method) or parameter not in inspect.signature(method).parameters:
            raise RuntimeError(f"moto internal S3Backend.{name}({parameter}=...) moved")


def install_key_limit() -> None:
    """Gap: moto stores an object under a key of any length. S3 refuses a key over 1,024 bytes
    ("The object key name consists of a sequence of Unicode characters encoded in UTF-8, with a
    maximum length of 1,024 bytes", "Naming Amazon S3 objects",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html) with `KeyTooLongError`,
    "Your key is too long.", 400 Bad Request ("Error responses", Amazon S3 API Reference,
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). PutObject, CopyObject and
    CreateMultipartUpload (under upload_file, upload_fileobj and the managed copy) of such a key
    fail so here too, so a derived key that only moto takes fails its test. Idempotent."""
    global _key_limit_installed
    if _key_limit_installed:
        return
    _check_key_limit()
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    def limited(original: Callable[..., Any], parameter: str) -> Callable[..., Any]:
        signature = inspect.signature(original)

        @functools.wraps(original)  # its signature stays the original's, for check()
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            key = signature.bind(self, *args, **kwargs).arguments[parameter]
            if len(str(key).encode("utf-8", "surrogatepass")) > KEY_LIMIT:
                raise S3ClientError("KeyTooLongError", "Your key is too long.")
            return original(self, *args, **kwargs)

        return write

    for name, parameter in KEY_WRITES.items():
        setattr(S3Backend, name, limited(getattr(S3Backend, name), parameter))
    _key_limit_installed = True


def task_client_modules() -> list[Any]:
    """The modules of moto's Step Functions engine that make a task's boto3 client with
    `boto_client_for(region, service, state_credentials)`, bound by name at import (calls.py
    wraps each to mark the client with the task's role)."""
    import importlib
    from pathlib import Path

    from moto.stepfunctions.parser import asl
    from moto.stepfunctions.parser.asl.utils import boto_client

    parameters = list(inspect.signature(boto_client.boto_client_for).parameters)
    if parameters != ["region", "service", "state_credentials"]:
        raise RuntimeError(f"moto internal boto_client_for(...) changed: {parameters}")
    root = Path(asl.__file__).parent
    found = [importlib.import_module(f"{asl.__name__}.{'.'.join(path.relative_to(root).with_suffix('').parts)}")
             for path in sorted(root.rglob("*.py"))
             if "import boto_client_for" in path.read_text(encoding="utf-8")]
    if not found:
        raise RuntimeError("moto internal: no module of the Step Functions engine uses boto_client_for")
    return found


def _module_uses(module: Any, name: str) -> set[str]:
    """The attributes `module` reads from its global `name` (e.g. {"sleep"} for time.sleep)."""
    return set(re.findall(rf"\b{name}\.(\w+)", inspect.getsource(module)))


def _time_scale_internals() -> dict[str, Any]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
    from moto.stepfunctions.parser.asl.eval.callback import callback

    return {"retrier_decl": retrier_decl, "program": program, "execute_state": execute_state,
            "wait_function": wait_function, "callback": callback}


def _check_time_scale() -> None:
    """The places moto's engine waits for a duration the state machine declares."""
    found = _time_scale_internals()
    retrier_decl, program, execute_state = found["retrier_decl"], found["program"], found["execute_state"]
    wait_function, callback = found["wait_function"], found["callback"]
    expected = [
        # Retry: the retrier computes IntervalSeconds x BackoffRate^n, capped by MaxDelaySeconds and
        # jittered, then sleeps it with the module's `time.sleep`.
        (retrier_decl, "time", {"sleep"}, retrier_decl.RetrierDecl._eval_body, "time.sleep(interval_seconds)"),
        # TimeoutSeconds of a Task, Map or Parallel state: the state runs on a thread that the state
        # waits for with a `threading.Event` made in this module.
        (execute_state, "threading", {"Event"}, execute_state.ExecutionState._evaluate_with_timeout,
         "terminated_event.wait(timeout_seconds)"),
        # The state machine's TimeoutSeconds: the program runs on a thread joined with the timeout.
        (program, "threading", {"Thread"}, program.Program.eval, "worker_thread.join(timeout=timeout)"),
    ]
    for module, name, uses, function, line in expected:
        if _module_uses(module, name) != uses or line not in inspect.getsource(function):
            raise RuntimeError(f"moto internal {module.__name__} no longer waits with {name}.{'/'.join(sorted(uses))} "
                               f"as `{line}`")
    # Wait: Seconds, SecondsPath, Timestamp and TimestampPath all end in _wait_interval.
    if "self._wait_interval(env=env, wait_seconds=w_sec)" not in inspect.getsource(
            wait_function.WaitFunction._eval_body):
        raise RuntimeError("moto internal WaitFunction._eval_body no longer waits through _wait_interval")
    # .waitForTaskToken's TimeoutSeconds and every HeartbeatSeconds wait on the callback endpoints.
    signatures = [(callback.CallbackEndpoint.wait, ["self", "timeout"]),
                  (callback.ActivityTaskStartEndpoint.wait, ["self", "timeout_seconds"]),
                  (callback.HeartbeatEndpoint.__init__, ["self", "heartbeat_seconds"])]
    for function, parameters in signatures:
        if list(inspect.signature(function).parameters) != parameters:
            raise RuntimeError(f"moto internal {function.__qualname__} changed its parameters")
    if "timeout=self._heartbeat_seconds" not in inspect.getsource(callback.HeartbeatEndpoint.clear_and_wait):
        raise RuntimeError("moto internal HeartbeatEndpoint.clear_and_wait no longer waits _heartbeat_seconds")


class _ModuleProxy:
    """A module's global `time` or `threading` with some attributes replaced."""

    def __init__(self, module: Any, **replaced: Any) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class _ScaledEvent(threading.Event):
    def wait(self, timeout: float | None = None) -> bool:
        return super().wait(timing.scaled(timeout))


class _ScaledJoinThread(threading.Thread):
    def join(self, timeout: float | None = None) -> None:
        super().join(timing.scaled(timeout))


def install_time_scale() -> None:
    """Gap: moto waits every duration a state machine declares in real seconds, so a Retry's 60 s
    delay or a `.waitForTaskToken` task's TimeoutSeconds takes as long locally as in AWS. Divide
    each by the current scale (`timing.set_scale`): Wait states
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html), Retry delays, that is
    IntervalSeconds, BackoffRate and MaxDelaySeconds, jitter included
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), Task
    TimeoutSeconds and HeartbeatSeconds, after which the task fails with States.Timeout
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html,
    https://docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html), and the state
    machine's TimeoutSeconds. The execution history keeps the declared values.

    Also fixed: moto's Wait re-enters its wait while the whole seconds waited fall short of the
    duration, which never ends for a wait under one second; the replacement waits the exact time.
    Idempotent; at scale 1 every wait is as moto had it.
    """
    global _time_scale_installed
    if _time_scale_installed:
        return
    _check_time_scale()
    found = _time_scale_internals()

    def scaled_sleep(seconds: float) -> None:
        time.sleep(timing.scaled(seconds))

    found["retrier_decl"].time = _ModuleProxy(time, sleep=scaled_sleep)
    found["execute_state"].threading = _ModuleProxy(threading, Event=_ScaledEvent)
    found["program"].threading = _ModuleProxy(threading, Thread=_ScaledJoinThread)

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        # program_state_event is pulsed (set, then cleared) when the execution ends, stops or times out.
        deadline = time.monotonic() + timing.scaled(max(wait_seconds, 0))
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(remaining)

    found["wait_function"].WaitFunction._wait_interval = wait_interval

    callback = found["callback"]
    original_callback_wait = callback.CallbackEndpoint.wait
    original_activity_wait = callback.ActivityTaskStartEndpoint.wait
    original_heartbeat_init = callback.HeartbeatEndpoint.__init__

    def callback_wait(self: Any, timeout: float | None = None) -> Any:
        return original_callback_wait(self, timeout=timing.scaled(timeout))

    def activity_wait(self: Any, timeout_seconds: float) -> Any:
        return original_activity_wait(self, timeout_seconds=timing.scaled(timeout_seconds))

    def heartbeat_init(self: Any, heartbeat_seconds: int) -> None:
        original_heartbeat_init(self, heartbeat_seconds=timing.scaled(heartbeat_seconds))

    callback.CallbackEndpoint.wait = callback_wait
    callback.ActivityTaskStartEndpoint.wait = activity_wait
    callback.HeartbeatEndpoint.__init__ = heartbeat_init
    _time_scale_installed = True
