"""Every AWS call the pipeline's code makes on the local stack, with the role that made it.

In AWS each caller has its own role: a function its execution role, the Glue job and the
crawler the job's role, a state machine's tasks the state machine's role, a schedule or a rule
target the role it names. Locally they all share one process and one set of credentials, so
the caller is tracked instead: `acting_as(role_arn)` marks the work a role does (the Lambda
runner wraps an invocation, the stack a crawl, a job run or a delivery), and a client made
by moto's Step Functions engine for a task is marked with the task's role. Threads started
inside (boto3's managed transfers) inherit the mark. Calls with no role (the harness's own
uploads and queries) are not recorded.

The recorded calls are checked against the template's policies by `permissions.py`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import botocore.session
from botocore.exceptions import ClientError

_ROLE: contextvars.ContextVar[str | None] = contextvars.ContextVar("etl_local_role", default=None)
_TAG = "_etl_local_role"


@dataclass(frozen=True)
class Call:
    """One API call: the role ARN that made it, botocore's service and operation names, the
    parameters it sent, and the error code AWS answered with (None for a success)."""

    role: str
    service: str
    operation: str
    params: dict[str, Any] = field(hash=False)
    error: str | None = None


class Recorder:
    """Collects calls; `since(mark)` gives the ones after a `mark()` (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return self.calls[mark:]


RECORDER = Recorder()


@contextmanager
def acting_as(role_arn: str | None) -> Iterator[None]:
    """While inside, this thread's AWS calls (and those of threads it starts) are `role_arn`'s."""
    token = _ROLE.set(role_arn)
    try:
        yield
    finally:
        _ROLE.reset(token)


def current_role() -> str | None:
    return _ROLE.get()


def tag(client: Any, role_arn: str | None) -> Any:
    """Mark a client as one role's: its calls outside any `acting_as` are that role's."""
    setattr(client, _TAG, role_arn)
    return client


def _role_of(client: Any) -> str | None:
    return _ROLE.get() or getattr(client, _TAG, None)


_installed = False


def install() -> None:
    """Patch botocore (record each call), threading (threads inherit the caller's role) and
    moto's Step Functions engine (its task clients carry the task's role). Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    make_api_call = botocore.client.BaseClient._make_api_call

    def recorded_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        role = _role_of(self)
        if role is None:
            return make_api_call(self, operation_name, api_params)
        service = self.meta.service_model.service_name
        try:
            result = make_api_call(self, operation_name, api_params)
        except ClientError as exc:
            RECORDER.add(Call(role, service, operation_name, dict(api_params),
                              str(exc.response.get("Error", {}).get("Code"))))
            raise
        RECORDER.add(Call(role, service, operation_name, dict(api_params)))
        return result

    botocore.client.BaseClient._make_api_call = recorded_call

    start = threading.Thread.start

    def start_in_context(self: threading.Thread) -> None:
        if _ROLE.get() is not None:
            context, run = contextvars.copy_context(), self.run
            self.run = lambda: context.run(run)  # type: ignore[method-assign]
        start(self)

    threading.Thread.start = start_in_context  # type: ignore[method-assign]

    from . import seams

    for module in seams.task_client_modules():
        original = module.boto_client_for

        def boto_client_for(region: str, service: str, state_credentials: Any = None,
                            _original: Any = original) -> Any:
            client = _original(region, service, state_credentials)
            return tag(client, getattr(state_credentials, "role_arn", None))

        module.boto_client_for = boto_client_for
