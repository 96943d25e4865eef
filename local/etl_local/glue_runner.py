"""Run a Glue job's real script in local Spark, with S3 paths staged through local files.

Spark cannot reach S3 here (the hadoop-aws jars are not on PyPI), so S3 arguments are
swapped for a local mirror: inputs are downloaded before the run, outputs synced back
after it. The catalog location stays the S3 URI, as in the cloud.
"""

from __future__ import annotations

import hashlib
import io
import importlib.util
import shutil
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from etl_common.layout import parse_s3_uri

from . import capture

_SPARK_LOCK = threading.Lock()


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class GlueRunner:
    """Runs job scripts (`main(argv)`) one at a time in one shared local SparkSession."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._modules: dict[str, ModuleType] = {}

    def _script(self, s3: Any, location: str) -> ModuleType:
        if location not in self._modules:
            bucket, key = parse_s3_uri(location)
            path = self.workdir / "scripts" / Path(key).name
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(path))
            spec = importlib.util.spec_from_file_location(f"glue_job_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[location] = module
        return self._modules[location]

    @staticmethod
    def spark() -> Any:
        """The session the job's getOrCreate() will find: small, quiet, local."""
        from pyspark.sql import SparkSession

        session = (SparkSession.builder.master("local[2]").appName("etl-local-glue")
                   .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
                   .config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        return session

    def run(self, s3: Any, script_location: str, arguments: dict[str, str], run_id: str,
            job_name: str) -> dict[str, Any]:
        """Run one job; raises whatever the script raises, as a failed job run.

        A SystemExit (argparse refusing the arguments) becomes a RuntimeError with the last line
        the script printed (argparse's message), so the run fails like any other instead of the
        exit escaping the caller and leaving the run RUNNING.
        """
        mirror = Path(tempfile.mkdtemp(prefix=f"{run_id[:16]}-", dir=self.workdir))
        try:
            args = dict(arguments)
            source_bucket, source_key = parse_s3_uri(args["--source_path"])
            # The staged object under its own key, as Spark reads it in S3 (the validator names it
            # by source id and version: ASCII, no glob characters).
            local_source = mirror / "in" / source_key
            local_source.parent.mkdir(parents=True)
            s3.download_file(source_bucket, source_key, str(local_source))
            args["--source_path"] = local_source.as_uri()
            out_bucket, out_prefix = parse_s3_uri(args["--output_path"])
            local_out = mirror / "out"
            before = self._download_prefix(s3, out_bucket, out_prefix, local_out)
            args.setdefault("--table_location", arguments["--output_path"])
            args["--output_path"] = local_out.as_uri() + "/"
            argv = [item for pair in ({"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id} | args).items()
                    for item in pair]
            log = io.StringIO()
            with _SPARK_LOCK, capture.into(log):
                self.spark()
                try:
                    result = self._script(s3, script_location).main(argv)
                except SystemExit as exc:
                    printed = log.getvalue().strip().splitlines()
                    raise RuntimeError(f"the job script exited with status {exc.code}"
                                       + (f": {printed[-1]}" if printed else "")) from exc
            self._sync_back(s3, out_bucket, out_prefix, local_out, before)
            return result
        finally:
            shutil.rmtree(mirror, ignore_errors=True)

    @staticmethod
    def _download_prefix(s3: Any, bucket: str, prefix: str, local: Path) -> dict[str, str]:
        local.mkdir(parents=True, exist_ok=True)
        seen = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                path = local / obj["Key"][len(prefix):]
                path.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(path))
                seen[obj["Key"]] = _digest(path)
        return seen

    @staticmethod
    def _sync_back(s3: Any, bucket: str, prefix: str, local: Path, before: dict[str, str]) -> None:
        after = {}
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            if any(part.startswith(("_", ".")) for part in path.relative_to(local).parts):
                continue
            relative = path.relative_to(local).as_posix()
            key = prefix + relative
            after[key] = path
            if before.get(key) != _digest(path):
                s3.upload_file(str(path), bucket, key)
        for key in before.keys() - after.keys():
            s3.delete_object(Bucket=bucket, Key=key)
