"""Run a deployed function's real handler in this process, as `sam local invoke` would in a container.

The function's folder and its Python layers go on sys.path; layers without a build method
are what Lambda mounts at /opt, so environment values under /opt point at them instead.
Output the handler prints (Powertools logs, EMF metrics) is captured per invocation
(`capture`), like CloudWatch Logs, instead of reaching the terminal.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import calls, capture

_LOCK = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout: int
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """One function of the template, ready to invoke."""

    name: str
    handler: str
    code_dir: Path
    python_layers: list[Path]
    opt_dirs: list[Path]
    environment: dict[str, str]
    memory: int = 128
    timeout: int = 3
    arn: str = ""
    role: str = ""

    def _env(self) -> dict[str, str]:
        env = {}
        for key, value in self.environment.items():
            if self.opt_dirs and (value == "/opt" or value.startswith("/opt/")):
                value = str(self.opt_dirs[0]) + value[len("/opt"):]
            env[key] = value
        return env | {"AWS_LAMBDA_FUNCTION_NAME": self.name, "_HANDLER": self.handler}


class LambdaRunner:
    """Imports each function's handler module once and invokes it under its own environment."""

    def __init__(self) -> None:
        self.functions: dict[str, LocalFunction] = {}
        self._modules: dict[str, ModuleType] = {}

    def register(self, function: LocalFunction) -> None:
        self.functions[function.name] = function
        for path in [function.code_dir, *function.python_layers]:
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))

    def _module(self, function: LocalFunction) -> ModuleType:
        if function.name not in self._modules:
            module_name, _ = function.handler.rsplit(".", 1)
            path = function.code_dir / (module_name.replace(".", "/") + ".py")
            spec = importlib.util.spec_from_file_location(f"lambda_{function.name.replace('-', '_')}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[function.name] = module
        return self._modules[function.name]

    def invoke(self, name: str, event: Any) -> tuple[Any, bool, str]:
        """Returns (result or error payload, errored, log text), like Lambda's Invoke."""
        function = self.functions[name]
        buffer = io.StringIO()
        with _LOCK:
            saved = dict(os.environ)
            os.environ.update(function._env())
            try:
                with capture.into(buffer), calls.acting_as(function.role or None):
                    handler = getattr(self._module(function), function.handler.rsplit(".", 1)[1])
                    context = LambdaContext(function.name, function.memory, function.arn, function.timeout)
                    result, errored = handler(event, context), False
            except Exception as exc:  # the handler's failure becomes Lambda's error payload
                result = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                          "stackTrace": traceback.format_exception(exc)}
                errored = True
            finally:
                os.environ.clear()
                os.environ.update(saved)
        return result, errored, buffer.getvalue()

    def invoke_json(self, name: str, event: Any) -> tuple[str, bool, str]:
        result, errored, logs = self.invoke(name, event)
        return json.dumps(result, default=str), errored, logs
