"""The few places where moto (pinned below) cannot run this pipeline as AWS would, patched.

Every patch names the gap it fills. `check()` fails loudly when a moto upgrade moves one of
the patched internals; tests/infra/test_seams.py runs it.
"""

from __future__ import annotations

import json
import threading
from importlib.metadata import version
from typing import Any, Callable

MOTO_VERSION = "5.2.5"
NEVER = {"progression": "manual", "times": 10**9}

_installed = False


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
    _installed = True
