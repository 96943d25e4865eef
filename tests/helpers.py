"""Test helpers shared across suites: loading a module from a path, handlers under moto."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def load_asl(path: Path, numbers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ASL file as JSON; its number placeholders as `numbers` gives them, or as "${name}"."""
    from etl_local.template import definition

    return definition(path.read_text(encoding="utf-8"), numbers)


def load_module(path: Path, name: str | None = None) -> ModuleType:
    """Import a file that is not on a package path (a Glue script, a Lambda's app.py)."""
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def lambda_context(function_name: str, memory_mb: int = 512) -> LambdaContext:
    """Powertools' LambdaContext with the attributes a handler and its decorators read."""
    context = LambdaContext()
    context._function_name = function_name
    context._function_version = "$LATEST"
    context._invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
    context._memory_limit_in_mb = memory_mb
    context._aws_request_id = f"req-{uuid.uuid4().hex[:12]}"
    context._log_group_name = f"/aws/lambda/{function_name}"
    context._log_stream_name = "stream"
    return context


@contextmanager
def mocked_handler(app: Path, env: dict[str, str], prefix: str) -> Iterator[tuple[ModuleType, Any]]:
    """Env, moto, then the handler module: it makes its boto3 client and reads env at import.

    Every function's entry point is `app.py`, so each gets a unique module name.
    """
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            name = f"{prefix}_app_{uuid.uuid4().hex}"
            try:
                yield load_module(app, name), boto3.client("s3", region_name=REGION)
            finally:
                sys.modules.pop(name, None)


@contextmanager
def moto_bucket(bucket: str) -> Iterator[Any]:
    """An S3 client on moto with one bucket, whatever AWS settings the shell has."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            mp.delenv(name, raising=False)
        with mock_aws():
            client = boto3.client("s3", region_name=REGION)
            client.create_bucket(Bucket=bucket)
            yield client
