"""Run a Glue job's real script in local Spark, with S3 paths staged through local files.

Spark cannot reach S3 here (the hadoop-aws jars are not on PyPI), so the batch job's manifest is
rewritten to a local mirror: every staged object it lists is downloaded under its own key, every
Parquet root it names is downloaded before the run and synced back (changes and deletions) after
it, and the job reads the rewritten manifest from a local file. The catalog location stays the
S3 URI, and the results go to S3 (`--results_uri` as given), as in the cloud.

Directories are objects too on S3, and the sync-back shows them: a directory the run left
empty (created, or emptied of its files) exists on S3 only as its connector's marker object,
which the sync-back uploads (`marker_key`). Glue 5.1's connector is S3A ("S3A filesystem has
replaced EMRFS as the default S3 connector",
https://docs.aws.amazon.com/glue/latest/dg/migrating-version-51.html), whose markers end in `/`;
a job whose Spark session sets `fs.s3.impl` to EMRFS (the documented way back) gets EMRFS's
`_$folder$` markers ("Amazon S3 directories created using EMRFS are marked with a '_$folder$'
suffix, while directories created using S3A file system end with a '/' suffix",
https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-s3a-migrate.html). S3A writes a marker
when a directory is made and when its last file is deleted ("S3A Directory Marker Behavior",
https://hadoop.apache.org/docs/stable/hadoop-aws/tools/hadoop-aws/directory_markers.html); the
markers it keeps above files (Hadoop 3.4 keeps them) are not shown: locally a directory with
files looks the same whether or not it was made first.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import shutil
import tempfile
import threading
from collections.abc import Set
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError
from etl_common.layout import parse_s3_uri

from . import capture

_SPARK_LOCK = threading.Lock()
_DOWNLOADERS = 8
S3A_MARKER, EMRFS_MARKER = "/", "_$folder$"
EMRFS = "com.amazon.ws.emr.hadoop.fs.EmrFileSystem"


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _hadoop_uri(path: Path) -> str:
    """`file://` and the path as it is, not percent-encoded (`Path.as_uri`): Hadoop's Path
    encodes the string it is given, so `%20` would name a file called `%20`. Unencoded, a local
    path behaves as an S3 key does in Glue: glob characters glob and `:` fails."""
    return "file://" + path.as_posix()


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

        What the script wrote under the mirrored Parquet roots is synced back to S3 whether or
        not it then failed, as its S3 writes would stay in the cloud. A SystemExit (argparse
        refusing the arguments) becomes a RuntimeError with the last line the script printed
        (argparse's message), so the run fails like any other instead of the exit escaping the
        caller and leaving the run RUNNING.
        """
        mirror = Path(tempfile.mkdtemp(prefix=f"{run_id[:16]}-", dir=self.workdir))
        try:
            args = dict(arguments)
            outputs: dict[tuple[str, str], Path] = {}
            if "--manifest_uri" in args:
                args["--manifest_uri"], outputs = self._mirror_manifest(s3, args["--manifest_uri"], mirror)
            before = {root: self._download_prefix(s3, *root, local) for root, local in outputs.items()}
            empty_before = {root: _empty_directories(local) for root, local in outputs.items()}
            argv = [item for pair in ({"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id} | args).items()
                    for item in pair]
            log = io.StringIO()
            marker = S3A_MARKER
            try:
                with _SPARK_LOCK, capture.into(log):
                    session = self.spark()
                    try:
                        return self._script(s3, script_location).main(argv)
                    except SystemExit as exc:
                        printed = log.getvalue().strip().splitlines()
                        raise RuntimeError(f"the job script exited with status {exc.code}"
                                           + (f": {printed[-1]}" if printed else "")) from exc
                    finally:
                        marker = marker_suffix(session)
            finally:
                for (bucket, prefix), local in outputs.items():
                    self._sync_back(s3, bucket, prefix, local, before[(bucket, prefix)],
                                    empty_before[(bucket, prefix)], marker)
        finally:
            shutil.rmtree(mirror, ignore_errors=True)

    def _mirror_manifest(self, s3: Any, uri: str, mirror: Path) -> tuple[str, dict[tuple[str, str], Path]]:
        """Download the manifest and rewrite its entries for the local mirror; return the local
        manifest's URI and the Parquet roots to sync, `(bucket, prefix) -> local directory`.

        Each staged object goes to `<mirror>/in/<bucket>/<key>`, under its own key (in S3 Spark
        reads exactly the key listed); each entry's `--output_path` becomes its root's local
        directory and `--table_location` the S3 output path, unless given. A staged object that
        cannot be downloaded stays missing locally, so the job fails that file as it would in S3;
        a manifest that is not of the expected shape is handed over as it is, for the job to refuse.
        """
        bucket, key = parse_s3_uri(uri)
        raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        local_manifest = mirror / "manifest.json"
        try:
            manifest = json.loads(raw)
        except ValueError:
            manifest = None
        entries = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(entries, list):
            local_manifest.write_bytes(raw)
            return _hadoop_uri(local_manifest), {}
        inputs: dict[tuple[str, str], Path] = {}
        outputs: dict[tuple[str, str], Path] = {}
        for entry in entries:
            arguments = entry.get("arguments") if isinstance(entry, dict) else None
            if not isinstance(arguments, dict):
                continue
            local = _local(mirror / "in", arguments.get("--source_path"), directory=False)
            if local is not None:
                inputs[local[0]] = local[1]
                arguments["--source_path"] = _hadoop_uri(local[1])
            output = arguments.get("--output_path")
            local = _local(mirror / "out", output, directory=True)
            if local is not None:
                outputs[local[0]] = local[1]
                arguments.setdefault("--table_location", output)
                arguments["--output_path"] = _hadoop_uri(local[1]) + "/"
        self._download_all(s3, [(b, k, path) for (b, k), path in inputs.items()])
        local_manifest.write_text(json.dumps(manifest), encoding="utf-8")
        return _hadoop_uri(local_manifest), outputs

    @staticmethod
    def _download_all(s3: Any, objects: list[tuple[str, str, Path]]) -> None:
        """Download `(bucket, key, path)` in parallel; an object S3 refuses (missing, denied)
        is left out."""
        def download(item: tuple[str, str, Path]) -> None:
            bucket, key, path = item
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                s3.download_file(bucket, key, str(path))
            except ClientError:
                pass

        with ThreadPoolExecutor(_DOWNLOADERS) as pool:
            list(pool.map(download, objects))

    def _download_prefix(self, s3: Any, bucket: str, prefix: str, local: Path) -> dict[str, str]:
        local.mkdir(parents=True, exist_ok=True)
        objects = [(bucket, obj["Key"], local / obj["Key"][len(prefix):])
                   for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                   for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]
        self._download_all(s3, objects)
        return {key: _digest(path) for _, key, path in objects if path.is_file()}

    @staticmethod
    def _sync_back(s3: Any, bucket: str, prefix: str, local: Path, before: dict[str, str],
                   empty_before: Set[Path] = frozenset(), marker: str = S3A_MARKER) -> None:
        """Upload what changed under `local`, delete what went, and put the marker of each
        directory the run left empty (one that was not an empty directory before it)."""
        for directory in sorted(_empty_directories(local) - empty_before):
            relative = directory.relative_to(local).as_posix()
            if prefix or relative != ".":  # the bucket itself has no marker
                s3.put_object(Bucket=bucket, Key=marker_key(prefix, relative, marker), Body=b"")
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


def marker_suffix(session: Any) -> str:
    """The marker the job's S3 connector would write, from its Spark session's Hadoop
    configuration: EMRFS's when `fs.s3.impl` names it, else S3A's (Glue 5.1's default)."""
    if session is None:
        return S3A_MARKER
    impl = session.sparkContext._jsc.hadoopConfiguration().get("fs.s3.impl")
    return EMRFS_MARKER if impl == EMRFS else S3A_MARKER


def marker_key(prefix: str, relative: str, marker: str) -> str:
    """The key of the marker of the directory `relative` (`.` for the root) under `prefix`:
    `<dir>/` (S3A) or `<dir>_$folder$` (EMRFS)."""
    directory = prefix.rstrip("/") if relative == "." else prefix + relative
    return directory + marker


def _empty_directories(local: Path) -> set[Path]:
    """Directories under `local` (itself included) that hold nothing but the local file
    system's checksum files (`.<name>.crc`, which S3 does not have)."""
    if not local.is_dir():
        return set()
    directories = [local, *(p for p in local.rglob("*") if p.is_dir())]
    return {d for d in directories
            if all(c.name.startswith(".") and c.name.endswith(".crc") for c in d.iterdir())}


def _local(root: Path, uri: Any, *, directory: bool) -> tuple[tuple[str, str], Path] | None:
    """`(bucket, key)` of an s3:// URI and where it is mirrored under `root`, or None for
    anything else (left as it is: the job fails that file) and for keys that would leave `root`.
    A directory's key is a prefix ending in `/`."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket, key = parse_s3_uri(uri)
    if directory and key and not key.endswith("/"):
        key += "/"
    path = root / bucket / key
    if not bucket or (not key and not directory) or not path.resolve().is_relative_to(root.resolve()):
        return None
    return (bucket, key), path
