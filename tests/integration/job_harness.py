"""Running the Glue job as Glue would, on staged files the validator's own code wrote.

Shared by the job's tests and the differential test of one reading: a raw upload goes through
`validate` and `StagedWriter` (so the staged format cannot drift from the validator's), then the
real job script runs in local Spark on a manifest of those files (etl_common's Manifest, as the
state machine writes it) against moto's catalog and S3, and its results are read back as
etl_common's BatchResults.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from etl_common.messages import BatchResults, JobArguments, Manifest, PendingFile
from etl_validator.casting import arrow_type
from etl_validator.checks import CheckedBatch
from etl_validator.contract import Contract
from etl_validator.staged import StagedWriter
from etl_validator.validation import validate

from tests.helpers import load_module

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "csv_to_parquet.py"
DATABASE = "lake"
DATA_BUCKET = "etl-data"


job = load_module(SCRIPT)


@dataclass
class Upload:
    """A raw upload as validation.Source: a key, a size and a body read from the start."""

    key: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def body(self) -> BinaryIO:
        return io.BytesIO(self.data)


@dataclass
class Staged:
    """A staged file the validator wrote, and the typed values it wrote it from."""

    path: Path
    typed: pa.Table


def stage(contract: Contract, raw: str | bytes, path: Path, *, compress: bool = False) -> Staged:
    """Validate a raw upload and write its staged form to `path`, as the validator does.

    With `compress` the upload is gzipped (its key ends in .gz) and so is the staged file.
    Fails the test when the validator rejects the upload.
    """
    staged, report = try_stage(contract, raw, path, compress=compress)
    assert staged is not None, report
    return staged


def try_stage(contract: Contract, raw: str | bytes, path: Path, *,
              compress: bool = False) -> tuple[Staged | None, list[dict[str, Any]]]:
    """`stage`, or None and the report's failures when the validator rejects the upload."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if compress:
        data = gzip.compress(data)
    upload = Upload(f"{contract.dataset}/upload.csv{'.gz' if compress else ''}", data)
    typed: list[pa.Table] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        writer = StagedWriter(contract, out, None, compress=compress)

        def on_batch(batch: pa.RecordBatch, checked: CheckedBatch) -> None:
            typed.append(checked.typed)
            writer.write(batch, checked)

        reading = validate(upload, contract, on_batch=on_batch)
        writer.close()
    if not reading.report.ok:
        return None, reading.report.to_list()
    assert writer.rows_staged == reading.rows
    schema = pa.schema([(c.name, arrow_type(c)) for c in contract.columns])
    return Staged(path, pa.concat_tables(typed) if typed else schema.empty_table()), []


def stage_typed(contract: Contract, typed: pa.Table, path: Path) -> Staged:
    """Write typed values with the validator's StagedWriter directly, for values an upload cannot
    reach today (sub-second timestamps: pyarrow 26's strptime does not read %f)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        writer = StagedWriter(contract, out, None, compress=False)
        writer.write(pa.record_batch([], names=[]), CheckedBatch(typed, pa.array([], pa.int64())))
        writer.close()
    return Staged(path, typed)


def staged_path(tmp_path: Path, contract: Contract, source_id: str, *, compress: bool = False) -> Path:
    suffix = ".csv.gz" if compress else ".csv"
    return tmp_path / "staging" / contract.dataset / f"{source_id}{suffix}"


def run_staged(tmp_path: Path, source: Path, *, source_id: str, contract: Contract) -> dict[str, Any]:
    """Convert one staged file in a batch of its own; its result (FileResult JSON), which must
    be SUCCEEDED (the assertion shows the error otherwise)."""
    result = convert_staged(tmp_path, source, source_id=source_id, contract=contract)
    assert result["status"] == "SUCCEEDED", result["error"]
    return result


def convert_staged(tmp_path: Path, source: Path, *, source_id: str, contract: Contract) -> dict[str, Any]:
    """Convert one staged file in a batch of its own; its result, whatever its status."""
    _summary, results = run_batch(tmp_path, [(source, source_id, contract)])
    return results["files"][0]


Listed = tuple[Path, str, Contract] | dict[str, str]


def run_batch(tmp_path: Path, files: list[Listed], *,
              batch_id: str = "batch-1") -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the job the way Glue would call it (its arguments plus Glue's own) on a manifest of
    staged files `(path, source id, contract)` (or an entry's raw arguments), written as the
    state machine writes it (etl_common's Manifest of JobArguments); return the run's summary
    and its results (BatchResults JSON, checked against the model, one per listed file)."""
    entries = [PendingFile(task_token=f"token-{number}", dataset="any",
                           execution=f"arn:aws:states:us-east-1:123456789012:execution:sm:{number}",
                           arguments=listed if isinstance(listed, dict) else file_arguments(tmp_path, *listed))
               for number, listed in enumerate(files)]
    s3().create_bucket(Bucket=DATA_BUCKET)
    manifest = tmp_path / "batches" / batch_id / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(Manifest(batch_id=batch_id, files=entries).model_dump_json(), encoding="utf-8")
    results_key = f"batches/{batch_id}/results.json"
    summary = job.main([
        "--JOB_NAME", "csv_to_parquet", "--JOB_RUN_ID", "jr_1",
        "--manifest_uri", manifest.as_uri(),
        "--results_uri", f"s3://{DATA_BUCKET}/{results_key}",
        "--database", DATABASE,
        "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://bucket/tmp/",
    ])
    body = s3().get_object(Bucket=DATA_BUCKET, Key=results_key)["Body"].read()
    results = BatchResults.model_validate_json(body).model_dump()
    assert results["batch_id"] == batch_id and len(results["files"]) == len(files)
    return summary, results


def file_arguments(tmp_path: Path, source: Path, source_id: str, contract: Contract) -> dict[str, str]:
    """One manifest entry's arguments: the validator's JobArguments for a staged file on disk,
    its Parquet under tmp_path and an S3 table location (what the local stack adds)."""
    dataset = contract.dataset
    return JobArguments(
        source_path=source.as_uri(), output_path=output_root(tmp_path, dataset).as_uri() + "/",
        table=dataset, source_id=source_id, contract_uri=put_contract(contract, source_id),
    ).as_glue() | {"--table_location": f"s3://bucket/transformed/{dataset}/"}


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def put_contract(contract: Contract, source_id: str) -> str:
    """The contract's job part in (moto's) S3, where the validator writes it; its URI."""
    client = s3()
    client.create_bucket(Bucket=DATA_BUCKET)
    key = f"staging/{contract.dataset}/{source_id}.contract.json"
    client.put_object(Bucket=DATA_BUCKET, Key=key, Body=contract.for_job().model_dump_json().encode())
    return f"s3://{DATA_BUCKET}/{key}"


def output_root(tmp_path: Path, dataset: str) -> Path:
    return tmp_path / "transformed" / dataset


def parquet_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def read_rows(root: Path) -> list[dict[str, Any]]:
    """The data columns of every file (partition columns are in the directory names)."""
    rows = [row for path in root.rglob("*.parquet") for row in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda row: next(iter(row.values())))


def dataset_rows(root: Path, contract: Contract) -> list[dict[str, Any]]:
    """Every row with all the contract's columns, partition columns read from the directory
    names as their contract types, and timestamps as the naive UTC values the validator holds."""
    partitioning = ds.partitioning(
        pa.schema([(c.name, arrow_type(c)) for c in contract.columns if c.name in contract.partition_by]),
        flavor="hive")
    table = ds.dataset(root, format="parquet", partitioning=partitioning).to_table()
    rows = [{c.name: _naive_utc(row[c.name]) for c in contract.columns} for row in table.to_pylist()]
    return sorted(rows, key=repr)


def typed_rows(typed: pa.Table) -> list[dict[str, Any]]:
    return sorted(typed.to_pylist(), key=repr)


def _naive_utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        assert value.utcoffset() == dt.timedelta(0)
        return value.replace(tzinfo=None)
    return value


