"""Glue 5.1 job: one validated, staged CSV file -> partitioned Parquet + a Glue Data Catalog table.

Glue 5.1 runs Spark 3.5.6 (https://docs.aws.amazon.com/glue/latest/dg/release-notes.html); local
pyspark is pinned to the same Spark minor (3.5).

The same script runs in AWS Glue (Spark 3.5) and in local pyspark started by the local stack in
its own process, possibly several times: it takes the running session (`getOrCreate`, never
`stop`) and `main` returns its summary to an in-process caller. Output file names derive from
the source id, so a rerun of a source replaces its own files and never touches other sources'.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from typing import Any
from urllib.parse import unquote

import boto3
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Validated files contain no NUL byte, so this token never matches a value: Spark then reports
# unquoted empty fields as null and quoted ones as "", which is how the validator read them.
NEVER_IN_DATA = "\u0000"
FILE_NUMBER = "[0-9]" * 5
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_BATCH = 100
ERROR_CHARS = 4096

def parse_args(argv: list[str]) -> argparse.Namespace:
    """Job arguments; Glue's own (--JOB_NAME, --TempDir, ...) are ignored rather than rejected."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--source_path", required=True, help="URI of the staged CSV")
    parser.add_argument("--output_path", required=True, help="URI of the dataset's Parquet root")
    parser.add_argument("--table_location", help="location registered in the catalog "
                        "(default: output_path)")
    parser.add_argument("--database", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--source_id", required=True, help="deterministic id of the source file")
    parser.add_argument("--contract_uri", required=True, help="s3:// URI of the contract's job part (JSON)")
    args, _glue_arguments = parser.parse_known_args(argv)
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


def read_staged(spark: SparkSession, path: str, contract: dict[str, Any]) -> DataFrame:
    """The validator's staged CSV, typed by the schema it was written with: nothing is
    reinterpreted. One fixed dialect (the contract's `staged` format); the header's names are
    not read (the columns are the contract's, in its order, named by their catalog names).
    FAILFAST: a value that does not parse fails the run instead of becoming a null.

    The null value is a NUL, which a validated file never holds: Spark then reads an unquoted
    empty field as null and a quoted one as "", as the validator wrote them.
    """
    staged = contract["staged"]
    schema = ", ".join(f"{_quoted(c['catalog_name'])} {c['spark_type']}" for c in contract["columns"])
    return (spark.read.schema(schema)
            .options(header=True, enforceSchema=True, sep=",", quote='"', escape='"', multiLine=True,
                     encoding="utf-8", nullValue=NEVER_IN_DATA, mode="FAILFAST",
                     dateFormat=staged["date_format"], timestampFormat=staged["timestamp_format"])
            .csv(path))


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def write_parquet(frame: DataFrame, path: str, partition_by: list[str], compression: str) -> None:
    """One file per partition (one in all if unpartitioned), so names can be numbered per source."""
    laid_out = frame.repartition(*partition_by) if partition_by else frame.coalesce(1)
    (laid_out.write.mode("overwrite").partitionBy(*partition_by)
     .option("compression", compression).parquet(path))


class Storage:
    """Hadoop FileSystem calls through py4j: the same code moves files on file:// and s3://.

    A plain class, not a dataclass: dataclasses need the module in sys.modules, which a script
    loaded from its path (importlib, runpy) may not be.
    """

    def __init__(self, fs: Any, path_class: Any) -> None:
        self.fs, self.path_class = fs, path_class

    @classmethod
    def for_uri(cls, spark: SparkSession, uri: str) -> Storage:
        path_class = spark._jvm.org.apache.hadoop.fs.Path
        return cls(path_class(uri).getFileSystem(spark._jsc.hadoopConfiguration()), path_class)

    def glob(self, pattern: str) -> list[Any]:
        """Matching paths sorted by name; globStatus gives null when nothing matches."""
        statuses = self.fs.globStatus(self.path_class(pattern)) or []
        return sorted((status.getPath() for status in statuses), key=lambda p: p.toString())

    def qualified(self, uri: str) -> str:
        return self.fs.makeQualified(self.path_class(uri)).toString()

    def replace(self, source: Any, target: str) -> None:
        """Move a file onto `target`, replacing a file already there."""
        target_path = self.path_class(target)
        self.fs.mkdirs(target_path.getParent())
        if self.fs.exists(target_path):
            self.fs.delete(target_path, False)
        if not self.fs.rename(source, target_path):
            raise OSError(f"could not move {source.toString()} to {target}")

    def delete(self, uri: str, recursive: bool = False) -> None:
        self.fs.delete(self.path_class(uri), recursive)


def publish(storage: Storage, tmp: str, output: str, source_id: str, partition_by: list[str],
            compression: str) -> list[str]:
    """Give Spark's part files their deterministic names under `output`; return them relative.

    Files replace same-named ones one at a time, so a partition never goes without this
    source's data; this source's files that the run did not rewrite (a partition it no longer
    has) are deleted afterwards. Other sources' files do not match the name pattern.
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


def register_table(glue: Any, database: str, table: dict[str, Any]) -> None:
    """Create the table, or refresh it so a changed contract reaches the catalog."""
    try:
        glue.create_table(DatabaseName=database, TableInput=table)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=table)


def register_partitions(glue: Any, database: str, table: dict[str, Any], location: str,
                        directories: list[str]) -> None:
    """Add the partitions this run wrote; ones already in the catalog are fine as they are."""
    inputs = [{"Values": [unquote(part.split("=", 1)[1]) for part in directory.split("/")],
               "StorageDescriptor": {**table["StorageDescriptor"],
                                     "Location": f"{location}/{directory}/"}}
              for directory in directories]
    for start in range(0, len(inputs), PARTITION_BATCH):
        batch = inputs[start:start + PARTITION_BATCH]
        response = glue.batch_create_partition(DatabaseName=database, TableName=table["Name"],
                                               PartitionInputList=batch)
        errors = [e for e in response.get("Errors", [])
                  if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
        if errors:
            raise RuntimeError(f"could not create partitions: {errors}")


def client(service: str) -> Any:
    """Default credential and endpoint chain, so AWS_ENDPOINT_URL or moto serve it locally."""
    return boto3.client(service, region_name=os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION"))


def read_contract(uri: str) -> dict[str, Any]:
    """The contract's job part the validator wrote beside the staged file (s3://bucket/key)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


class JobFailed(Exception):
    """The run's failure with its message clipped to ERROR_CHARS (head and tail, where Spark puts
    the cause and the mode). Glue reports it as the run's ErrorMessage, which a failed `.sync`
    task carries into the state machine as its Cause: Step Functions caps a cause at 32,768
    characters (API Reference, TaskFailedEventDetails) and a state at 256 KiB, and a Spark error
    can quote a whole malformed record. The full error stays in the job's log."""


def clipped(text: str, limit: int = ERROR_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} ... [{len(text) - 2 * half} characters cut] ... {text[-half:]}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the job; print the summary as one JSON line and return it for in-process callers.

    Raises SystemExit for bad arguments (argparse) and JobFailed for anything else."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except Exception as exc:
        raise JobFailed(clipped(describe(exc))) from exc


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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Stage to Parquet under deterministic names, then register the table and partitions."""
    contract = read_contract(args.contract_uri)
    output = args.output_path.rstrip("/")
    location = (args.table_location or args.output_path).rstrip("/")
    partition_by = contract["partition_by"]
    spark = session()
    storage = Storage.for_uri(spark, output)
    tmp = f"{output}/_tmp/{args.source_id}"
    storage.delete(tmp, recursive=True)

    observation = Observation()
    frame = read_staged(spark, args.source_path, contract)
    observed = frame.observe(observation, F.count(F.lit(1)).alias("rows"))
    write_parquet(observed, tmp, partition_by, contract["compression"])
    metrics = observation.get

    files = publish(storage, tmp, output, args.source_id, partition_by, contract["compression"])
    partitions = sorted({f.rsplit("/", 1)[0] for f in files}) if partition_by else []
    glue = client("glue")
    table = table_input(args.table, contract, location)
    register_table(glue, args.database, table)
    register_partitions(glue, args.database, table, location, partitions)

    summary = {"source_id": args.source_id, "database": args.database, "table": args.table,
               "rows": metrics["rows"], "partitions": partitions, "files": files}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
