"""Glue 5.0 job: one validated, staged CSV file -> partitioned Parquet + a Glue Data Catalog table.

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
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Dates and timestamps are parsed with the column's strptime format; other types are cast.
DATETIME_PARSERS = {"date": F.to_date, "timestamp": F.to_timestamp}
# Validated files contain no NUL byte, so this token never matches a value: Spark then reports
# unquoted empty fields as null and quoted ones as "", which is how the validator read them.
NEVER_IN_DATA = "\u0000"
UNPARSED = "__unparsed"
FILE_NUMBER = "[0-9]" * 5
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_BATCH = 100

# strptime directive -> (Spark pattern alone, fixed-width pattern next to another number).
# strptime reads 1 or 2 digits for %m, %d, ...; Spark's one-letter forms do too, but two
# numbers without a separator between them need fixed widths to be told apart.
NUMERIC_DIRECTIVES = {
    "Y": ("yyyy", "yyyy"), "y": ("yy", "yy"), "m": ("M", "MM"), "d": ("d", "dd"),
    "j": ("D", "DDD"), "H": ("H", "HH"), "I": ("h", "hh"), "M": ("m", "mm"), "S": ("s", "ss"),
    "f": ("SSSSSS", "SSSSSS"),
}
# %z: strptime accepts +HHMM, +HH:MM and Z; Spark needs one optional section per form.
TEXT_DIRECTIVES = {"b": "MMM", "B": "MMMM", "p": "a", "z": "[XXX][XX]", "Z": "z"}
UNQUOTED_LITERALS = re.compile(r"[^ \-:/.,_]+")


def spark_datetime_pattern(strptime_format: str) -> str:
    """Translate a contract's strptime format into a Spark 3 datetime pattern.

    Spark cannot parse day names (%a, %A), week-based fields or locale formats, so those raise
    instead of silently producing nulls. Two-digit years (%y) follow Spark's rule (2000-2099).
    """
    tokens = _strptime_tokens(strptime_format)
    pieces = []
    for index, (kind, text) in enumerate(tokens):
        if kind == "literal":
            pieces.append(UNQUOTED_LITERALS.sub(lambda m: "'" + m.group().replace("'", "''") + "'",
                                                text))
        elif text in NUMERIC_DIRECTIVES:
            neighbours = tokens[max(index - 1, 0):index] + tokens[index + 1:index + 2]
            fixed = any(k == "directive" and t in NUMERIC_DIRECTIVES for k, t in neighbours)
            pieces.append(NUMERIC_DIRECTIVES[text][fixed])
        else:
            pieces.append(TEXT_DIRECTIVES[text])
    return "".join(pieces)


def _strptime_tokens(strptime_format: str) -> list[tuple[str, str]]:
    """Split a format into ("directive", letter) and ("literal", text) tokens."""
    tokens: list[tuple[str, str]] = []
    literal = ""
    chars = iter(strptime_format)
    for char in chars:
        if char != "%":
            literal += char
            continue
        directive = next(chars, "")
        if directive == "%":
            literal += "%"
            continue
        if directive not in NUMERIC_DIRECTIVES and directive not in TEXT_DIRECTIVES:
            raise ValueError(f"strptime directive %{directive} in {strptime_format!r} "
                             "has no Spark datetime pattern equivalent")
        if literal:
            tokens.append(("literal", literal))
            literal = ""
        tokens.append(("directive", directive))
    if literal:
        tokens.append(("literal", literal))
    return tokens


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
    parser.add_argument("--contract", required=True, help="the contract's job part, as JSON")
    args, _glue_arguments = parser.parse_known_args(argv)
    if not SOURCE_ID.fullmatch(args.source_id):
        parser.error(f"--source_id {args.source_id!r} may hold only letters, digits, '.', '_', '-'")
    return args


def session() -> SparkSession:
    """The running session, set so timestamps are read as UTC and stored as Parquet micros.

    Without this, wall-clock values would shift with the machine's time zone, and Spark's
    default INT96 timestamps are a legacy encoding.
    """
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    return spark


def read_strings(spark: SparkSession, path: str, contract: dict[str, Any]) -> DataFrame:
    """Every field as text, split exactly as the validator split it.

    With a header the columns are named by the file (the validator accepts any column order)
    and all are strings because schema inference stays off; without one the contract's
    column order is the schema.
    """
    dialect = contract["dialect"]
    reader = spark.read.options(
        header=dialect["header"], sep=dialect["delimiter"], quote=dialect["quote_char"],
        escape=dialect["quote_char"], multiLine=True, encoding=dialect["encoding"],
        nullValue=NEVER_IN_DATA, inferSchema=False, mode="FAILFAST")
    if not dialect["header"]:
        reader = reader.schema(StructType([StructField(c["name"], StringType())
                                           for c in contract["columns"]]))
    return reader.csv(path)


def with_null_tokens(text: Column, null_values: list[str]) -> Column:
    """Apply the contract's null tokens; an unquoted empty field is null only if "" is one."""
    value = text if "" in null_values else F.coalesce(text, F.lit(""))
    tokens = [token for token in null_values if token]
    return F.when(value.isin(tokens), F.lit(None)).otherwise(value) if tokens else value


def typed_value(text: Column, column: dict[str, Any]) -> Column:
    """Cast one column like the validator did (values trimmed first, except strings).

    The contract gives the Spark type name, so this script, which runs in Glue without the
    pipeline's code, keeps no type table of its own.
    """
    spark_type = column["spark_type"]
    if spark_type == "string":
        return text
    value = F.regexp_replace(text, r"^\s+|\s+$", "")
    if spark_type in DATETIME_PARSERS:
        return DATETIME_PARSERS[spark_type](value, spark_datetime_pattern(column["format"]))
    # Spark's string -> boolean cast accepts exactly true/false/t/f/yes/no/y/n/1/0, any case.
    return value.cast(spark_type)


def typed_frame(strings: DataFrame, contract: dict[str, Any]) -> DataFrame:
    """The contract's columns, typed, plus UNPARSED: values present but null after the cast.

    The file was validated, so UNPARSED stays 0 unless Spark and the validator disagree on a
    value; counting it costs nothing and turns silent data loss into a failed run.
    """
    by_name = {name.strip(): name for name in strings.columns}
    null_values = contract["dialect"]["null_values"]
    typed, unparsed = [], []
    for column in contract["columns"]:
        text = with_null_tokens(strings[_quoted(by_name[column["name"]])], null_values)
        value = typed_value(text, column)
        typed.append(value.alias(column["name"]))
        if column["spark_type"] != "string":
            unparsed.append(F.when(text.isNotNull() & value.isNull(), 1).otherwise(0))
    return strings.select(*typed, sum(unparsed, F.lit(0)).alias(UNPARSED))


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
        "Columns": [{"Name": c["name"], "Type": c["glue_type"]} for c in columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE,
                      "Parameters": {"serialization.format": "1"}},
    }


def table_input(table: str, contract: dict[str, Any], location: str) -> dict[str, Any]:
    """The catalog entry: data columns in the files, partition columns in the directory names."""
    partition_by = contract["partition_by"]
    by_name = {c["name"]: c for c in contract["columns"]}
    return {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": storage_descriptor(
            [c for c in contract["columns"] if c["name"] not in partition_by], f"{location}/"),
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


def glue_client() -> Any:
    """Default credential and endpoint chain, so AWS_ENDPOINT_URL or moto serve it locally."""
    return boto3.client("glue", region_name=os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION"))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the job; print the summary as one JSON line and return it for in-process callers."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    contract = json.loads(args.contract)
    output = args.output_path.rstrip("/")
    location = (args.table_location or args.output_path).rstrip("/")
    partition_by = contract["partition_by"]
    spark = session()
    storage = Storage.for_uri(spark, output)
    tmp = f"{output}/_tmp/{args.source_id}"
    storage.delete(tmp, recursive=True)

    observation = Observation()
    frame = typed_frame(read_strings(spark, args.source_path, contract), contract)
    observed = frame.observe(observation, F.count(F.lit(1)).alias("rows"),
                             F.coalesce(F.sum(UNPARSED), F.lit(0)).alias("unparsed"))
    write_parquet(observed.drop(UNPARSED), tmp, partition_by, contract["compression"])
    metrics = observation.get
    if metrics["unparsed"]:
        storage.delete(tmp, recursive=True)
        raise ValueError(f"{metrics['unparsed']} values of {args.source_path} did not parse with "
                         "the contract's types; nothing was written")

    files = publish(storage, tmp, output, args.source_id, partition_by, contract["compression"])
    partitions = sorted({f.rsplit("/", 1)[0] for f in files}) if partition_by else []
    glue = glue_client()
    table = table_input(args.table, contract, location)
    register_table(glue, args.database, table)
    register_partitions(glue, args.database, table, location, partitions)

    summary = {"source_id": args.source_id, "database": args.database, "table": args.table,
               "rows": metrics["rows"], "partitions": partitions, "files": files}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
