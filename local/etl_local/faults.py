"""Fault injection for the local stack: make the next N calls of an AWS action fail.

Every SDK call in this process (the state machine's tasks, the functions, the Glue job) passes
through botocore's `BaseClient._make_api_call`; a registered fault raises the named AWS error
there, before the request is sent, exactly as a failing service would surface to the caller.
The local stack's own clients (uploads, queries) carry a marker and are never faulted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient

HARNESS_MARKER = "etl-local-harness"


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    remaining: int
    message: str = "injected fault"
    status: int = 500


class Faults:
    """The registry of pending faults; `install()` hooks it into botocore once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, service: str, operation: str, code: str, count: int = 1, status: int = 500,
            message: str = "injected fault") -> None:
        """Fail the next `count` calls of `service.operation` (e.g. "glue", "StartCrawler") with `code`."""
        with self._lock:
            self._faults.append(Fault(service.lower(), operation, code, count, message, status))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.service == service.lower() and fault.operation == operation and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None


REGISTRY = Faults()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    original = BaseClient._make_api_call

    def _make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if HARNESS_MARKER not in (self.meta.config.user_agent_extra or ""):
            fault = REGISTRY.take(self.meta.service_model.service_name, operation_name)
            if fault:  # the modeled exception class, as botocore raises for a real error response
                raise self.exceptions.from_code(fault.code)(
                    {"Error": {"Code": fault.code, "Message": fault.message},
                     "ResponseMetadata": {"HTTPStatusCode": fault.status, "RequestId": "injected"}},
                    operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call
    _installed = True
