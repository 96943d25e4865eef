"""Glue 5.1 job: a batch of validated, staged CSV files -> partitioned Parquet + Glue Data Catalog tables.

Glue 5.1 runs Spark 3.5.6 (https://docs.aws.amazon.com/glue/latest/dg/release-notes.html); local
pyspark is pinned to the same Spark minor (3.5).

One run converts the files a manifest lists (`--manifest_uri`, the JSON of
`etl_common.messages.Manifest`) and writes each file's result, in the manifest's order, to
`--results_uri` (the JSON of `etl_common.messages.BatchResults`). Each file is converted as one
run of the per-file job was: its own deterministic Parquet names, so a rerun of a source replaces
its own files and never touches other sources'. A file that cannot be converted fails only itself;
the run fails only when it cannot read the manifest or write the results.

The same script runs in AWS Glue and in local pyspark started by the local stack in its own
process, possibly several times: it takes the running session (`getOrCreate`, never `stop`) and
`main` returns its summary to an in-process caller.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import traceback
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import unquote

import boto3
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
FILE_NUMBER = "[0-9]" * 5
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_BATCH = 100  # BatchCreatePartition takes at most 100 partitions a call
ERROR_CHARS = 4096
# The hidden column that tells a group's files apart in its temporary output: a hyphen is outside
# the catalog names' alphabet ([a-z0-9_]), so no contract column can be called this.
FILE_COLUMN = "__batch-file"
# The runs' temporary output, under each Parquet root (a leading `_`: readers skip it); each run
# writes its own subdirectory and prunes this one when it is left empty.
TMP_DIR = "_tmp"
CONTRACT_READERS = 16  # contracts read at once (one small GetObject each)
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
# ConcurrentModificationException on catalog calls: bounded attempts, exponential backoff with
# full jitter (sleep uniform(0, min(cap, base * 2**attempt)) seconds; "Exponential Backoff And
# Jitter", https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
CATALOG_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 2.0
CONCURRENT_MODIFICATION = "ConcurrentModificationException"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The run's arguments; Glue's own (--JOB_NAME, --TempDir, ...) are ignored rather than rejected."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--manifest_uri", required=True,
                        help="URI of the batch's manifest (JSON), read through Hadoop (s3://, file://)")
    parser.add_argument("--results_uri", required=True,
                        help="s3:// URI where the run writes each file's result (JSON)")
    parser.add_argument("--database", required=True, help="catalog database (a DefaultArgument)")
    args, _glue_arguments = parser.parse_known_args(argv)
    return args


class InvalidArguments(ValueError):
    """A manifest entry's arguments that the per-file parser refuses; fails only that file."""


class _FileArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # raise, never exit
        raise InvalidArguments(f"{self.prog}: error: {message}")


def parse_file_args(arguments: Any) -> argparse.Namespace:
    """One manifest entry's `arguments` (the validator's `JobArguments.as_glue()`, plus
    `--table_location` from the local stack): the names of one file's conversion.

    Strict: an unknown or missing name raises InvalidArguments, so an argument one side renames
    fails its file with a message instead of being dropped."""
    if not isinstance(arguments, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in arguments.items()):
        raise InvalidArguments("a manifest entry's arguments must be an object of strings")
    parser = _FileArgumentParser(prog="csv_to_parquet.py (a manifest entry)", allow_abbrev=False,
                                 add_help=False)
    parser.add_argument("--source_path", required=True, help="URI of the staged CSV")
    parser.add_argument("--output_path", required=True, help="URI of the dataset's Parquet root")
    parser.add_argument("--table_location", help="location registered in the catalog "
                        "(default: output_path)")
    parser.add_argument("--table", required=True)
    parser.add_argument("--source_id", required=True, help="deterministic id of the source file")
    parser.add_argument("--contract_uri", required=True, help="s3:// URI of the contract's job part (JSON)")
    args = parser.parse_args([item for pair in arguments.items() for item in pair])
    if not SOURCE_ID.fullmatch(args.source_id):
        parser.error(f"--source_id {args.source_id!r} may hold only letters, digits, '.', '_', '-'")
    return args


def session() -> SparkSession:
    """The running session, set so timestamps are read as UTC and stored as Parquet micros,
    dates and timestamps are parsed strictly, and dates before 1582-10-15 and timestamps before
    1900 are written as they are.

    Without this, wall-clock values would shift with the machine's time zone, Spark's default
    INT96 timestamps are a legacy encoding, and Spark 3 refuses to write ancient datetimes
    (SparkUpgradeException, WRITE_ANCIENT_DATETIME) unless the rebase mode is set: CORRECTED
    writes the proleptic Gregorian values Arrow, Athena and the validator use (Spark SQL
    migration guide, "Upgrading from Spark SQL 3.0 to 3.1"). The time parser policy is pinned
    too: LEGACY (a cluster or job `--conf` may set it) parses leniently, so 2026-02-30 would
    silently become 2026-03-02; the default, EXCEPTION, fails such a value with a
    SparkUpgradeException instead of FAILFAST's malformed-record error.
    """
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    spark.conf.set("spark.sql.parquet.int96RebaseModeInWrite", "CORRECTED")
    return spark


def read_staged(spark: SparkSession, paths: list[str], contract: dict[str, Any]) -> DataFrame:
    """The validator's staged CSV files (all written with `contract`), typed by the schema they
    were written with: nothing is reinterpreted. One fixed dialect (the contract's `staged`
    format); each file's header is skipped, not read (the columns are the contract's, in its
    order, named by their catalog names). FAILFAST: a value that does not parse fails the read
    instead of becoming a null.

    The null value is the staged format's `null_value`, a NUL, which a validated file never
    holds: Spark then reads an unquoted empty field as null and a quoted one as "", as the
    validator wrote them, and reads the NUL itself, which the validator writes for a null in a
    one-column file (there an empty field is an empty line, which Spark skips), as null.
    """
    staged = contract["staged"]
    schema = ", ".join(f"{_quoted(c['catalog_name'])} {c['spark_type']}" for c in contract["columns"])
    return (spark.read.schema(schema)
            .options(header=True, enforceSchema=True, sep=",", quote='"', escape='"', multiLine=True,
                     encoding="utf-8", nullValue=staged["null_value"], mode="FAILFAST",
                     dateFormat=staged["date_format"], timestampFormat=staged["timestamp_format"])
            .csv(paths))


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def write_parquet(frame: DataFrame, path: str, partition_by: list[str], compression: str) -> None:
    """Write `frame` partitioned by `partition_by`, one part file per directory per task.

    No shuffle: a multiLine CSV file is not splittable, so one task reads each staged file
    whole and each (file, partition) directory gets one part file (`publish` numbers more, if
    there ever are)."""
    (frame.write.mode("overwrite").partitionBy(*partition_by)
     .option("compression", compression).parquet(path))


class Storage:
    """Hadoop FileSystem calls through py4j: the same code reads and moves files on file:// and
    s3:// (in Glue 5.1 the S3A connector: "S3A filesystem has replaced EMRFS as the default S3
    connector", Migrating AWS Glue for Spark jobs to AWS Glue version 5.1,
    https://docs.aws.amazon.com/glue/latest/dg/migrating-version-51.html).

    No directory marker is left under the Parquet roots. On S3 a directory is only a prefix, so
    the connectors mark a directory that has to exist on its own with an empty object: "Amazon S3
    directories created using EMRFS are marked with a '_$folder$' suffix, while directories
    created using S3A file system end with a '/' suffix" (Amazon EMR, Migration Guide: EMRFS to
    S3A Filesystem, https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-s3a-migrate.html;
    the `_$folder$` files "are placeholders. Apache Hadoop creates these files when you use the
    -mkdir command", https://repost.aws/knowledge-center/emr-s3-empty-files). S3A writes one when
    `mkdirs` is called and when the last file of a directory is deleted, and does not delete it
    when files are written below it (Hadoop 3.4, Glue 5.1's, keeps markers: "S3A Directory Marker
    Behavior", https://hadoop.apache.org/docs/stable/hadoop-aws/tools/hadoop-aws/directory_markers.html).
    So the job never calls `mkdirs` on its output (a rename creates the destination's parents:
    "S3A FileSystem: The outcome is as a normal rename, with the additional (implicit) feature
    that the parent directories of the destination then exist", and so does the local file
    system; Hadoop FileSystem specification, `rename()`,
    https://hadoop.apache.org/docs/stable/hadoop-project-dist/hadoop-common/filesystem/filesystem.html),
    never deletes the last file of a directory it then refills (`replace`), and deletes the
    directories it leaves empty below a dataset's root (`prune`), which removes their markers.

    A plain class, not a dataclass: dataclasses need the module in sys.modules, which a script
    loaded from its path (importlib, runpy) may not be.
    """

    def __init__(self, fs: Any, jvm: Any) -> None:
        self.fs, self.jvm, self.path_class = fs, jvm, jvm.org.apache.hadoop.fs.Path

    @classmethod
    def for_uri(cls, spark: SparkSession, uri: str) -> Storage:
        jvm = spark._jvm
        return cls(jvm.org.apache.hadoop.fs.Path(uri).getFileSystem(spark._jsc.hadoopConfiguration()), jvm)

    def read(self, uri: str) -> bytes:
        """The whole file (small files only: it is held in memory twice)."""
        out = self.jvm.java.io.ByteArrayOutputStream()
        # copyBytes(in, out, buffer size, close both streams)
        self.jvm.org.apache.hadoop.io.IOUtils.copyBytes(self.fs.open(self.path_class(uri)), out, 65536, True)
        return bytes(out.toByteArray())

    def glob(self, pattern: str) -> list[Any]:
        """Matching paths sorted by name; globStatus gives null when nothing matches."""
        statuses = self.fs.globStatus(self.path_class(pattern)) or []
        return sorted((status.getPath() for status in statuses), key=lambda p: p.toString())

    def qualified(self, uri: str) -> str:
        return self.fs.makeQualified(self.path_class(uri)).toString()

    def input_file_name(self, uri: str) -> str:
        """The name Spark's `input_file_name()` gives rows read from `uri`: the qualified path as
        a URI string (SparkPath.fromPath: `path.toUri.toString`, so a space is `%20`)."""
        return self.fs.makeQualified(self.path_class(uri)).toUri().toString()

    def replace(self, source: Any, target: str) -> None:
        """Move a file onto `target`, replacing a file already there.

        The new file is first moved beside the old one under a hidden name (a leading `.`, which
        Spark and Hive skip), so deleting the old one never empties its directory (S3A would mark
        the emptied directory, and keep the marker once the new file is in)."""
        target_path = self.path_class(target)
        if not self.fs.exists(target_path):
            self._move(source, target_path)
            return
        beside = self.path_class(target_path.getParent(), f".{target_path.getName()}.new")
        self.fs.delete(beside, False)  # left by a run that stopped here
        self._move(source, beside)
        self.fs.delete(target_path, False)
        self._move(beside, target_path)

    def _move(self, source: Any, target: Any) -> None:
        """Rename, which creates the target's parents on S3A and local files. A file system that
        refuses a rename into a missing directory instead ("Other filesystems strictly reject the
        operation", the specification above) gets the directory made first."""
        if self.fs.rename(source, target):
            return
        parent = target.getParent()
        if self.fs.exists(parent) or not self.fs.mkdirs(parent) or not self.fs.rename(source, target):
            raise OSError(f"could not move {source.toString()} to {target.toString()}")

    def delete(self, uri: str, recursive: bool = False) -> None:
        self.fs.delete(self.path_class(uri), recursive)

    def prune(self, directory: str, root: str) -> None:
        """Delete the directory `directory`, then each parent below `root`, while it is empty (a
        non-recursive delete: a directory another run has just written into stays). On S3 this
        deletes the marker the connector wrote when the directory's last entry went.

        `root`, a dataset's Parquet root and its table's location, is never deleted: S3A marks
        it only when it is left with no Parquet at all (every file of the dataset so far empty or
        failed)."""
        top = self.qualified(root)
        path = self.fs.makeQualified(self.path_class(directory))
        while path.toString().startswith(f"{top}/"):
            try:
                if len(self.fs.listStatus(path)) or not self.fs.delete(path, False):
                    return
            except Exception:  # gone already, or not empty any more
                return
            path = path.getParent()


def publish(storage: Storage, tmp: str, output: str, source_id: str, partition_by: list[str],
            compression: str) -> list[str]:
    """Give Spark's part files their deterministic names under `output`; return them relative.

    Files replace same-named ones one at a time, so a partition never goes without this
    source's data; this source's files that the run did not rewrite (a partition it no longer
    has) are deleted afterwards, with a partition directory they leave empty. Other sources'
    files do not match the name pattern.
    """
    levels = "".join(f"/{column}=*" for column in partition_by)
    own_files = f"{output}{levels}/{source_id}-{FILE_NUMBER}.*parquet"
    previous = {path.toString() for path in storage.glob(own_files)}
    parts_by_dir: dict[str, list[Any]] = defaultdict(list)
    for part in storage.glob(f"{tmp}{levels}/part-*.parquet"):
        parts_by_dir[_partition_dir(part, len(partition_by))].append(part)
    suffix = ".parquet" if compression == "none" else f".{compression}.parquet"
    files = []
    for directory, parts in sorted(parts_by_dir.items()):
        for number, part in enumerate(parts):
            name = f"{source_id}-{number:05d}{suffix}"
            relative = f"{directory}/{name}" if directory else name
            storage.replace(part, f"{output}/{relative}")
            files.append(relative)
    for stale in previous - {storage.qualified(f"{output}/{relative}") for relative in files}:
        storage.delete(stale)
        storage.prune(stale.rsplit("/", 1)[0], output)
    storage.delete(tmp, recursive=True)
    return files


def _partition_dir(path: Any, depth: int) -> str:
    """The `col=value/...` directories a part file sits in, as Spark escaped them."""
    names = []
    for _ in range(depth):
        path = path.getParent()
        names.append(path.getName())
    return "/".join(reversed(names))


def storage_descriptor(columns: list[dict[str, Any]], location: str) -> dict[str, Any]:
    return {
        "Columns": [{"Name": c["catalog_name"], "Type": c["glue_type"]} for c in columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE,
                      "Parameters": {"serialization.format": "1"}},
    }


def table_input(table: str, contract: dict[str, Any], location: str) -> dict[str, Any]:
    """The catalog entry: data columns in the files, partition columns in the directory names."""
    partition_by = contract["partition_by"]
    by_name = {c["catalog_name"]: c for c in contract["columns"]}
    return {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": storage_descriptor(
            [c for c in contract["columns"] if c["catalog_name"] not in partition_by], f"{location}/"),
        "PartitionKeys": [{"Name": name, "Type": by_name[name]["glue_type"]}
                          for name in partition_by],
        "Parameters": {"classification": "parquet", "compression": contract["compression"],
                       "contract_version": str(contract["version"])},
    }


def schema_of(table: dict[str, Any], parameters: Any) -> dict[str, Any]:
    """What the job decides in a table (a TableInput or a GetTable `Table`): columns, partition
    keys, location, formats, SerDe and the values of `parameters` (the keys the job sets; others
    are not the job's). Type names compare case-insensitively, as Hive types are."""
    descriptor = table.get("StorageDescriptor") or {}
    serde = descriptor.get("SerdeInfo") or {}
    own = table.get("Parameters") or {}
    return {
        "TableType": table.get("TableType"),
        "Columns": [(c["Name"], c.get("Type", "").lower()) for c in descriptor.get("Columns", [])],
        "PartitionKeys": [(c["Name"], c.get("Type", "").lower()) for c in table.get("PartitionKeys", [])],
        "Location": descriptor.get("Location"),
        "Formats": (descriptor.get("InputFormat"), descriptor.get("OutputFormat"),
                    serde.get("SerializationLibrary"), serde.get("Parameters") or {}),
        "Parameters": {key: own.get(key) for key in parameters},
    }


def register_table(glue: Any, database: str, table: dict[str, Any]) -> str:
    """Create the table if it is missing, or update it when its schema (`schema_of`) differs
    from `table`; return "created", "updated" or "unchanged".

    UpdateTable is called only on a difference, and then with SkipArchive: "By default,
    UpdateTable always creates an archived version of the table before updating it. However, if
    skipArchive is set to true, UpdateTable does not create the archived version"
    (https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateTable.html), and a table holds at
    most 100,000 versions (quotas: https://docs.aws.amazon.com/general/latest/gr/glue.html; past
    it UpdateTable fails with ResourceNumberLimitExceededException, "Number of TABLE_VERSION
    resources exceeds the limit 100000 per TABLE":
    https://repost.aws/knowledge-center/glue-table-version-errors). A table whose `contract_version`
    is newer than `table`'s is left as it is: a late file of an older contract never takes the
    table back. Each call retries ConcurrentModificationException (`with_retries`).
    """
    name = table["Name"]
    try:
        current = with_retries(glue.get_table, DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        try:
            with_retries(glue.create_table, DatabaseName=database, TableInput=table)
            return "created"
        except glue.exceptions.AlreadyExistsException:  # another run created it meanwhile
            current = with_retries(glue.get_table, DatabaseName=database, Name=name)["Table"]
    if schema_of(current, table["Parameters"]) == schema_of(table, table["Parameters"]):
        return "unchanged"
    if _version(current) > _version(table):
        return "unchanged"
    with_retries(glue.update_table, DatabaseName=database, TableInput=table, SkipArchive=True)
    return "updated"


def _version(table: dict[str, Any]) -> int:
    try:
        return int((table.get("Parameters") or {}).get("contract_version", -1))
    except ValueError:
        return -1


def register_partitions(glue: Any, database: str, table: dict[str, Any], location: str,
                        directories: list[str]) -> None:
    """Add the partitions (`col=value/...` directories under `location`) in calls of
    PARTITION_BATCH; ones already in the catalog are fine as they are. A call whose result holds
    a ConcurrentModificationException is sent again whole (`with_retries`): the partitions it
    did create come back as AlreadyExistsException, which is ignored."""
    inputs = [{"Values": [unquote(part.split("=", 1)[1]) for part in directory.split("/")],
               "StorageDescriptor": {**table["StorageDescriptor"],
                                     "Location": f"{location}/{directory}/"}}
              for directory in directories]
    for start in range(0, len(inputs), PARTITION_BATCH):
        with_retries(_create_partitions, glue=glue, database=database, table=table["Name"],
                     partitions=inputs[start:start + PARTITION_BATCH])


def _create_partitions(glue: Any, database: str, table: str, partitions: list[dict[str, Any]]) -> None:
    response = glue.batch_create_partition(DatabaseName=database, TableName=table,
                                           PartitionInputList=partitions)
    errors = [e for e in response.get("Errors", [])
              if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
    if any(e["ErrorDetail"]["ErrorCode"] == CONCURRENT_MODIFICATION for e in errors):
        raise CatalogConflict(f"could not create partitions: {errors}")
    if errors:
        raise RuntimeError(f"could not create partitions: {errors}")


class CatalogConflict(Exception):
    """A catalog call's result reported ConcurrentModificationException for some of its items."""


def with_retries(call: Callable[..., Any], **kwargs: Any) -> Any:
    """`call(**kwargs)`, again after a ConcurrentModificationException (another run changed the
    same table), at most CATALOG_ATTEMPTS times with exponential backoff and full jitter; any
    other error, or the last attempt's, is raised. botocore's own retry modes do not retry this
    error code."""
    for attempt in range(CATALOG_ATTEMPTS - 1):
        try:
            return call(**kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if not (isinstance(exc, CatalogConflict) or code == CONCURRENT_MODIFICATION):
                raise
            time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)))
    return call(**kwargs)


def client(service: str) -> Any:
    """Default credential and endpoint chain, so AWS_ENDPOINT_URL or moto serve it locally."""
    return boto3.client(service, region_name=os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION"))


def read_contract(s3: Any, uri: str) -> dict[str, Any]:
    """The contract's job part the validator wrote beside the staged file (s3://bucket/key)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


class JobFailed(Exception):
    """The run's failure with its message clipped to ERROR_CHARS (head and tail, where Spark puts
    the cause and the mode). Glue reports it as the run's ErrorMessage, which a failed `.sync`
    task carries into the state machine as its Cause: Step Functions caps a cause at 32,768
    characters (API Reference, TaskFailedEventDetails) and a state at 256 KiB, and a Spark error
    can quote a whole malformed record. The full error stays in the job's log. A file's error in
    the results is clipped the same way."""


def clipped(text: str, limit: int = ERROR_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} ... [{len(text) - 2 * half} characters cut] ... {text[-half:]}"


def describe(exc: BaseException) -> str:
    """A Java error as its chain of causes, each clipped (Spark quotes a whole malformed record
    in one of them); the stack traces are in the job's log."""
    error = getattr(exc, "java_exception", None)
    if error is None:
        return f"{type(exc).__name__}: {exc}"
    causes = []
    while error is not None and len(causes) < 10:
        causes.append(clipped(str(error.toString()), ERROR_CHARS // 4))
        error = error.getCause()
    return " <- caused by ".join(causes)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the job; print the summary as one JSON line and return it for in-process callers.

    Raises SystemExit for bad arguments (argparse) and JobFailed when the manifest cannot be read
    or the results cannot be written; a file that fails is a FAILED result, not a failed run."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except Exception as exc:
        raise JobFailed(clipped(describe(exc))) from exc


class StagedFile:
    """One manifest entry the job converts: its position, its parsed arguments and contract."""

    def __init__(self, index: int, args: argparse.Namespace) -> None:
        self.index, self.args = index, args
        self.contract: dict[str, Any] = {}

    @property
    def output(self) -> str:
        return self.args.output_path.rstrip("/")

    @property
    def location(self) -> str:
        return (self.args.table_location or self.args.output_path).rstrip("/")

    def group(self) -> tuple[str, str, str, str]:
        """Files that can be read together: one table, one output, one contract."""
        return (self.args.table, self.output, self.location, json.dumps(self.contract, sort_keys=True))


def read_manifest(storage: Storage, uri: str) -> tuple[str, list[Any]]:
    """The batch id and the entries of the manifest at `uri` (Manifest JSON:
    `{"batch_id": str, "files": [{"arguments": {...}, ...}, ...]}`; other fields are for the
    state machine). Raises ValueError when it is not of that shape."""
    manifest = json.loads(storage.read(uri))
    if not (isinstance(manifest, dict) and isinstance(manifest.get("batch_id"), str)
            and isinstance(manifest.get("files"), list)):
        raise ValueError(f"{uri} is not a manifest: an object with batch_id (string) and files (list)")
    return manifest["batch_id"], manifest["files"]


def file_result(source_id: str, status: str, *, rows: int | None = None, files: list[str] | None = None,
                partitions: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    """One file's result (FileResult JSON): rows written, its Parquet files relative to the
    dataset's Parquet root, their `col=value/...` partitions, and a FAILED file's clipped error.
    A file FAILED by the catalog keeps the rows and files it wrote."""
    return {"source_id": source_id, "status": status, "rows": rows, "files": files or [],
            "partitions": partitions or [], "error": error}


def batch_results(batch_id: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's results (BatchResults JSON): `files[i]` is the manifest's `files[i]`'s."""
    return {"batch_id": batch_id, "files": files}


def _failed(source_id: str, exc: BaseException) -> dict[str, Any]:
    error = clipped(describe(exc))
    trace = "".join(traceback.format_exception(exc))
    print(f"{source_id or '(no source id)'}: {FAILED}\n{clipped(trace, 1 << 16)}", file=sys.stderr)
    return file_result(source_id, FAILED, error=error)


def _listed_source_id(entry: Any) -> str:
    arguments = entry.get("arguments") if isinstance(entry, dict) else None
    source_id = arguments.get("--source_id") if isinstance(arguments, dict) else None
    return source_id if isinstance(source_id, str) else ""


def write_results(uri: str, results: dict[str, Any]) -> None:
    """PutObject the results JSON to `uri` (s3://bucket/key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"--results_uri must be an s3:// URI, not {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(results).encode("utf-8"),
                            ContentType="application/json")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Convert every file of the manifest, register each table once, write the results.

    Entries with invalid arguments or an unreadable contract fail alone; the others are grouped
    (`convert`), then each table's catalog entry and all its new partitions are registered in one
    pass (`register_catalog`)."""
    spark = session()
    batch_id, listed = read_manifest(Storage.for_uri(spark, args.manifest_uri), args.manifest_uri)
    results: list[dict[str, Any]] = [{} for _ in listed]  # each index is set below
    staged: list[StagedFile] = []
    for index, entry in enumerate(listed):
        try:
            staged.append(StagedFile(index, parse_file_args(
                entry.get("arguments") if isinstance(entry, dict) else None)))
        except InvalidArguments as exc:
            results[index] = _failed(_listed_source_id(entry), exc)

    s3 = client("s3")
    uris = sorted({f.args.contract_uri for f in staged})
    with ThreadPoolExecutor(CONTRACT_READERS) as pool:
        contracts = dict(zip(uris, pool.map(lambda uri: _contract_or_error(s3, uri), uris)))
    groups: dict[tuple[str, ...], list[StagedFile]] = {}
    for f in staged:
        contract = contracts[f.args.contract_uri]
        if isinstance(contract, Exception):
            results[f.index] = _failed(f.args.source_id, contract)
            continue
        f.contract = contract
        groups.setdefault(f.group(), []).append(f)
    converted = [f for group in groups.values() for f in group]
    for group in groups.values():
        for index, result in convert_group(spark, group).items():
            results[index] = result

    register_catalog(client("glue"), args.database, converted, results)
    write_results(args.results_uri, batch_results(batch_id, results))
    succeeded = [r for r in results if r["status"] == SUCCEEDED]
    summary = {"batch_id": batch_id, "database": args.database, "files": len(results),
               "succeeded": len(succeeded), "failed": len(results) - len(succeeded),
               "rows": sum(r["rows"] for r in succeeded), "results_uri": args.results_uri}
    print(json.dumps(summary))
    return summary


def _contract_or_error(s3: Any, uri: str) -> dict[str, Any] | Exception:
    try:
        return read_contract(s3, uri)
    except Exception as exc:  # the files of this contract fail, the others go on
        return exc


def convert_group(spark: SparkSession, group: list[StagedFile]) -> dict[int, dict[str, Any]]:
    """Convert files of one group (`StagedFile.group`); their results by manifest index.

    A staged file listed more than once (same source id and path) is converted once and each
    listing gets its result. A source id listed with different paths is converted once per
    path, in the manifest's order (the last one's files stay, as after separate runs): each
    round of `convert` holds a source id at most once.
    """
    first: dict[tuple[str, str], StagedFile] = {}
    repeats: list[tuple[StagedFile, StagedFile]] = []
    rounds: list[list[StagedFile]] = []
    seen: dict[str, int] = defaultdict(int)
    for f in group:
        listing = (f.args.source_id, f.args.source_path)
        if listing in first:
            repeats.append((f, first[listing]))
            continue
        first[listing] = f
        number = seen[f.args.source_id]
        seen[f.args.source_id] += 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(f)
    results: dict[int, dict[str, Any]] = {}
    for files in rounds:
        results |= convert(spark, files)
    for repeat, original in repeats:
        results[repeat.index] = results[original.index]
    return results


def convert(spark: SparkSession, files: list[StagedFile]) -> dict[int, dict[str, Any]]:
    """Convert files of one group with distinct source ids together (`convert_together`); if
    that fails, convert each half the same way, down to single files, so a file that cannot be
    read fails alone (about 2 log2(n) reads for one bad file among n, instead of n)."""
    try:
        return convert_together(spark, files)
    except Exception as exc:
        if len(files) == 1:
            return {files[0].index: _failed(files[0].args.source_id, exc)}
        print(f"{len(files)} files read together failed, splitting: {clipped(describe(exc), 512)}",
              file=sys.stderr)
        half = len(files) // 2
        return convert(spark, files[:half]) | convert(spark, files[half:])


def convert_together(spark: SparkSession, files: list[StagedFile]) -> dict[int, dict[str, Any]]:
    """Read the files in one Spark read, write them to a temporary directory partitioned by a
    hidden column (each row's file, from `input_file_name()`) and the contract's partition
    columns, count each file's rows in what was written, then publish each source's part files
    under its deterministic names. Raises when the read, write or count fails (nothing is
    published then); a file whose publishing fails is FAILED alone."""
    first = files[0]
    contract, output = first.contract, first.output
    partition_by, compression = contract["partition_by"], contract["compression"]
    storage = Storage.for_uri(spark, output)
    tmp = f"{output}/{TMP_DIR}/{uuid.uuid4().hex}"
    try:
        frame = read_staged(spark, [f.args.source_path for f in files], contract)
        write_parquet(frame.withColumn(FILE_COLUMN, _file_number(spark, files)), tmp,
                      [FILE_COLUMN, *partition_by], compression)
        rows = _rows_written(spark, storage, tmp, len(files))
        results = {}
        for number, f in enumerate(files):
            try:
                written = publish(storage, f"{tmp}/{FILE_COLUMN}={number}", output, f.args.source_id,
                                  partition_by, compression)
            except Exception as exc:
                results[f.index] = _failed(f.args.source_id, exc)
                continue
            partitions = sorted({w.rsplit("/", 1)[0] for w in written}) if partition_by else []
            results[f.index] = file_result(f.args.source_id, SUCCEEDED, rows=rows.get(number, 0),
                                           files=written, partitions=partitions)
        return results
    finally:
        storage.delete(tmp, recursive=True)
        storage.prune(f"{output}/{TMP_DIR}", output)


def _file_number(spark: SparkSession, files: list[StagedFile]) -> Column:
    """Each row's file as its position in `files`: a literal for one file, else a map from the
    name `input_file_name()` gives the file. A row it cannot place gets null, which
    `_rows_written` refuses."""
    if len(files) == 1:
        return F.lit(0)
    names = [Storage.for_uri(spark, f.args.source_path).input_file_name(f.args.source_path) for f in files]
    mapping = F.create_map(*[item for number, name in enumerate(names)
                             for item in (F.lit(name), F.lit(number))])
    return mapping[F.input_file_name()]


def _rows_written(spark: SparkSession, storage: Storage, tmp: str, count: int) -> dict[int, int]:
    """Rows in the temporary output by file position (from the Parquet files, read without
    partition discovery); a file with no rows has no directory. Raises when rows sit outside
    the positions 0..count-1 (a file `_file_number` could not place)."""
    if not storage.glob(f"{tmp}/{FILE_COLUMN}=*"):
        return {}
    number = F.regexp_extract(F.input_file_name(), f"/{re.escape(FILE_COLUMN)}=([^/]*)/", 1)
    counted = (spark.read.option("recursiveFileLookup", "true").parquet(tmp)
               .select(number.alias("number")).groupBy("number").count().collect())
    rows = {}
    for row in counted:
        if not row["number"].isdigit() or int(row["number"]) >= count:
            raise RuntimeError(f"{row['count']} rows could not be told apart by file "
                               f"({FILE_COLUMN}={row['number']!r})")
        rows[int(row["number"])] = row["count"]
    return rows


def register_catalog(glue: Any, database: str, files: list[StagedFile],
                     results: list[dict[str, Any]]) -> None:
    """For each table with converted files: register the table once (`register_table`, from
    the newest contract among them: highest version, then latest in the manifest) and all their
    partitions in one pass (`register_partitions`). If that fails, the table's files become
    FAILED with the error; their Parquet stays written, and a rerun converges."""
    by_table: dict[str, list[StagedFile]] = {}
    for f in files:
        if results[f.index]["status"] == SUCCEEDED:
            by_table.setdefault(f.args.table, []).append(f)
    for name, members in by_table.items():
        try:
            newest = max(members, key=lambda f: (f.contract["version"], f.index))
            table = table_input(name, newest.contract, newest.location)
            directories = sorted({d for f in members for d in results[f.index]["partitions"]})
            register_table(glue, database, table)
            register_partitions(glue, database, table, newest.location, directories)
        except Exception as exc:
            error = clipped(describe(exc))
            print(f"table {name}: {FAILED}: {error}", file=sys.stderr)
            for f in members:
                results[f.index] = {**results[f.index], "status": FAILED, "error": error}


if __name__ == "__main__":
    main()
