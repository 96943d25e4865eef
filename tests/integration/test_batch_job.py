"""One Glue job run over a batch's manifest, in local Spark against moto's catalog and S3.

Each file converts to its own deterministic Parquet files with its exact rows; a file that
cannot be converted fails alone; each table is registered once a batch (UpdateTable only when
its schema changes, with SkipArchive) with all its new partitions in one pass; catalog conflicts
are retried; a rerun of a manifest changes nothing. The catalog calls are counted with botocore
event hooks on the job's Glue client.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.awsrequest import AWSResponse
from etl_validator.contract import Contract, parse_contract
from pyspark.sql import SparkSession

from tests.integration.job_harness import (
    DATABASE, DATA_BUCKET, SCRIPT, file_arguments, job, output_root, parquet_files, read_rows, run_batch, s3, stage,
    staged_path)

ORDERS_RAW: dict[str, Any] = {
    "dataset": "orders", "version": 1,
    "columns": [{"name": "order_id", "type": "integer"},
                {"name": "order_date", "type": "date", "nullable": False},
                {"name": "amount", "type": "decimal(12,2)"}],
    "parquet": {"partition_by": ["order_date"], "compression": "snappy"},
}
ORDERS = parse_contract(ORDERS_RAW, "test")
# v2 adds a column: the table's schema changes.
ORDERS_V2 = parse_contract({**ORDERS_RAW, "version": 2,
                            "columns": [*ORDERS_RAW["columns"], {"name": "channel", "type": "string"}]}, "test")
CUSTOMERS = parse_contract({
    "dataset": "customers", "version": 1,
    "columns": [{"name": "customer_id", "type": "integer"}, {"name": "name", "type": "string"}],
    "parquet": {"compression": "zstd"}}, "test")

HEADER = "order_id,order_date,amount\n"
A_CSV = HEADER + "1,2026-11-20,1.50\n2,2026-11-20,2.00\n3,2026-11-21,3.25\n"
B_CSV = HEADER + "10,2026-11-20,9.99\n11,2026-11-22,0.01\n"
C_CSV = "customer_id,name\n7,Ana\n8,Bo\n9,\n"


class CatalogCalls:
    """The job's Glue calls by operation (with their parameters), and conflicts to inject:
    `conflicts[operation] = n` makes the next n calls fail with ConcurrentModificationException
    (a before-call handler that returns a response short-circuits the request)."""

    def __init__(self) -> None:
        self.params: dict[str, list[dict[str, Any]]] = {}
        self.conflicts: Counter[str] = Counter()

    def count(self) -> Counter[str]:
        return Counter({name: len(calls) for name, calls in self.params.items()})

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.params.setdefault(model.name, []).append(params)

    def conflict(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.conflicts[model.name] <= 0:
            return None
        self.conflicts[model.name] -= 1
        return (AWSResponse("https://glue", 400, {}, None),
                {"Error": {"Code": "ConcurrentModificationException", "Message": "injected"},
                 "ResponseMetadata": {"HTTPStatusCode": 400}})


@pytest.fixture
def calls(glue: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[CatalogCalls]:
    log = CatalogCalls()
    create = job.client

    def hooked(service: str) -> Any:
        client = create(service)
        if service == "glue":
            client.meta.events.register("before-parameter-build.glue", log.record)
            client.meta.events.register("before-call.glue", log.conflict)
        return client

    monkeypatch.setattr(job, "client", hooked)
    monkeypatch.setattr(job, "BACKOFF_BASE_SECONDS", 0.001)
    yield log


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of files of each Spark read of staged files."""
    counted: list[int] = []
    read = job.read_staged

    def counting(spark: SparkSession, paths: list[str], contract: dict[str, Any]) -> Any:
        counted.append(len(paths))
        return read(spark, paths, contract)

    monkeypatch.setattr(job, "read_staged", counting)
    return counted


class S3AMarkers:
    """The directory markers S3A would leave for the job's own FileSystem calls, which pass
    through to the local file system. The rules are those of "S3A Directory Marker Behavior"
    (https://hadoop.apache.org/docs/stable/hadoop-aws/tools/hadoop-aws/directory_markers.html):
    `mkdirs(a/b)` writes `a/b/`; deleting a file or a directory writes its parent's marker when
    the parent is left empty; a rename deletes its source the same way; markers above files stay
    (Hadoop 3.4, Glue 5.1's, keeps them); deleting a directory deletes the markers in it. Spark's
    own calls are not seen: they stay in the run's temporary output, which the job deletes."""

    def __init__(self, fs: Any, markers: set[str]) -> None:
        self.fs, self.markers = fs, markers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)

    def mkdirs(self, path: Any) -> bool:
        self.markers.add(self._name(path))
        return self.fs.mkdirs(path)

    def delete(self, path: Any, recursive: bool) -> bool:
        deleted = self.fs.delete(path, recursive)
        name = self._name(path)
        self.markers.difference_update({m for m in self.markers if m == name or m.startswith(f"{name}/")})
        if deleted:
            self._mark_if_empty(path.getParent())
        return deleted

    def rename(self, source: Any, target: Any) -> bool:
        renamed = self.fs.rename(source, target)
        if renamed:
            self._mark_if_empty(source.getParent())
        return renamed

    def _mark_if_empty(self, directory: Any) -> None:
        if self.fs.exists(directory) and len(self.fs.listStatus(directory)) == 0:
            self.markers.add(self._name(directory))

    def _name(self, path: Any) -> str:
        return self.fs.makeQualified(path).toString()


@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The markers S3A would have left for the job's FileSystem calls so far (`S3AMarkers`)."""
    found: set[str] = set()
    for_uri = job.Storage.for_uri

    def observed(cls: Any, spark: SparkSession, uri: str) -> Any:
        storage = for_uri(spark, uri)
        return cls(S3AMarkers(storage.fs, found), storage.jvm)

    monkeypatch.setattr(job.Storage, "for_uri", classmethod(observed))
    return found


def staged(tmp_path: Path, contract: Contract, source_id: str, raw: str) -> tuple[Path, str, Contract]:
    return stage(contract, raw, staged_path(tmp_path, contract, source_id)).path, source_id, contract


def rows_in(root: Path, files: list[str]) -> int:
    return sum(pq.ParquetFile(root / f).metadata.num_rows for f in files)


def partitions(glue: Any, table: str) -> list[list[str]]:
    found = glue.get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return sorted(p["Values"] for p in found)


def test_a_batch_of_two_datasets_converts_each_file_to_its_own_files(
        spark: SparkSession, glue: Any, calls: CatalogCalls, reads: list[int], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    listed = [staged(tmp_path, ORDERS, "orders-a", A_CSV), staged(tmp_path, CUSTOMERS, "customers-c", C_CSV),
              staged(tmp_path, ORDERS, "orders-b", B_CSV), staged(tmp_path, ORDERS, "orders-empty", HEADER)]

    summary, results = run_batch(tmp_path, listed)

    orders, customers = output_root(tmp_path, "orders"), output_root(tmp_path, "customers")
    a, c, b, empty = results["files"]
    assert a == {"source_id": "orders-a", "status": "SUCCEEDED", "rows": 3, "error": None,
                 "partitions": ["order_date=2026-11-20", "order_date=2026-11-21"],
                 "files": ["order_date=2026-11-20/orders-a-00000.snappy.parquet",
                           "order_date=2026-11-21/orders-a-00000.snappy.parquet"]}
    assert b == {"source_id": "orders-b", "status": "SUCCEEDED", "rows": 2, "error": None,
                 "partitions": ["order_date=2026-11-20", "order_date=2026-11-22"],
                 "files": ["order_date=2026-11-20/orders-b-00000.snappy.parquet",
                           "order_date=2026-11-22/orders-b-00000.snappy.parquet"]}
    assert c == {"source_id": "customers-c", "status": "SUCCEEDED", "rows": 3, "error": None,
                 "partitions": [], "files": ["customers-c-00000.zstd.parquet"]}
    assert empty == {"source_id": "orders-empty", "status": "SUCCEEDED", "rows": 0, "error": None,
                     "partitions": [], "files": []}
    assert parquet_files(orders) == sorted(a["files"] + b["files"])
    assert parquet_files(customers) == c["files"]
    assert (rows_in(orders, a["files"]), rows_in(orders, b["files"]), rows_in(customers, c["files"])) == (3, 2, 3)
    assert [r["order_id"] for r in read_rows(orders)] == [1, 2, 3, 10, 11]
    assert not list(orders.glob("_tmp/*")) and not list(customers.glob("_tmp/*"))
    assert summary == {"batch_id": "batch-1", "database": DATABASE, "files": 4, "succeeded": 4, "failed": 0,
                       "rows": 8, "results_uri": f"s3://{DATA_BUCKET}/batches/batch-1/results.json"}
    assert capsys.readouterr().out.strip().splitlines()[-1] == job.json.dumps(summary)

    assert sorted(reads) == [1, 3]  # one read per group: orders' three files, customers' one
    assert calls.count() == {"GetTable": 2, "CreateTable": 2, "BatchCreatePartition": 1}
    [request] = calls.params["BatchCreatePartition"]
    assert request["TableName"] == "orders" and len(request["PartitionInputList"]) == 3
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"], ["2026-11-22"]]
    assert glue.get_table(DatabaseName=DATABASE, Name="customers")["Table"]["PartitionKeys"] == []


def test_a_file_that_cannot_be_converted_fails_alone(
        spark: SparkSession, glue: Any, calls: CatalogCalls, reads: list[int], tmp_path: Path) -> None:
    a = staged(tmp_path, ORDERS, "orders-a", A_CSV)
    bad = staged(tmp_path, ORDERS, "orders-bad", B_CSV)
    bad[0].write_text(bad[0].read_text(encoding="utf-8").replace('"9.99"', '"x9.99"'), encoding="utf-8")
    c = staged(tmp_path, ORDERS, "orders-c", HEADER + "20,2026-11-23,5\n")
    missing = (tmp_path / "staging" / "orders" / "orders-missing.csv", "orders-missing", ORDERS)
    unsafe_id = file_arguments(tmp_path, a[0], "orders-a", ORDERS) | {"--source_id": "../a*"}
    no_contract = file_arguments(tmp_path, c[0], "orders-n", ORDERS) | {
        "--contract_uri": f"s3://{DATA_BUCKET}/staging/orders/none.contract.json"}

    summary, results = run_batch(tmp_path, [a, bad, c, missing, unsafe_id, no_contract])

    statuses = [(r["source_id"], r["status"]) for r in results["files"]]
    assert statuses == [("orders-a", "SUCCEEDED"), ("orders-bad", "FAILED"), ("orders-c", "SUCCEEDED"),
                        ("orders-missing", "FAILED"), ("../a*", "FAILED"), ("orders-n", "FAILED")]
    _, failed_bad, _, failed_missing, failed_id, failed_contract = results["files"]
    assert "Parse Mode: FAILFAST" in failed_bad["error"] and "orders-bad.csv" in failed_bad["error"]
    assert "PATH_NOT_FOUND" in failed_missing["error"]
    assert "may hold only letters" in failed_id["error"]
    assert "NoSuchKey" in failed_contract["error"]
    assert all((r["rows"], r["files"]) == (None, []) for r in results["files"] if r["status"] == "FAILED")
    assert [r["rows"] for r in results["files"][::2]] == [3, 1, None]
    assert (summary["succeeded"], summary["failed"], summary["rows"]) == (2, 4, 4)

    root = output_root(tmp_path, "orders")
    assert parquet_files(root) == sorted(results["files"][0]["files"] + results["files"][2]["files"])
    assert [r["order_id"] for r in read_rows(root)] == [1, 2, 3, 20]
    # The four readable files together, then halves down to the bad one and the missing one.
    assert reads[0] == 4 and len(reads) <= 1 + 2 * 2 * 2
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"], ["2026-11-23"]]


def test_update_table_only_when_the_schema_changes_and_then_without_archive(
        spark: SparkSession, glue: Any, calls: CatalogCalls, tmp_path: Path) -> None:
    run_batch(tmp_path, [staged(tmp_path, ORDERS, "orders-a", A_CSV)], batch_id="b1")
    assert (calls.count()["CreateTable"], calls.count()["UpdateTable"]) == (1, 0)

    # The same contract, a partition already there (2026-11-20) and a new one: no UpdateTable.
    _, results = run_batch(tmp_path, [staged(tmp_path, ORDERS, "orders-b", B_CSV)], batch_id="b2")
    assert results["files"][0]["status"] == "SUCCEEDED"
    assert (calls.count()["CreateTable"], calls.count()["UpdateTable"]) == (1, 0)
    assert calls.count()["BatchCreatePartition"] == 2
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"], ["2026-11-22"]]

    # A changed contract: exactly one UpdateTable, with SkipArchive.
    v2 = HEADER.rstrip("\n") + ",channel\n" + "30,2026-11-20,1,web\n"
    run_batch(tmp_path, [staged(tmp_path, ORDERS_V2, "orders-d", v2),
                         staged(tmp_path, ORDERS_V2, "orders-e", v2.replace("30,", "31,"))], batch_id="b3")
    [update] = calls.params["UpdateTable"]
    assert update["SkipArchive"] is True
    table = glue.get_table(DatabaseName=DATABASE, Name="orders")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["order_id", "amount", "channel"]
    assert table["Parameters"]["contract_version"] == "2"

    # A late file of the older contract does not take the table back.
    run_batch(tmp_path, [staged(tmp_path, ORDERS, "orders-f", B_CSV)], batch_id="b4")
    assert calls.count()["UpdateTable"] == 1
    assert glue.get_table(DatabaseName=DATABASE, Name="orders")["Table"]["Parameters"]["contract_version"] == "2"


def test_a_catalog_conflict_is_retried(
        spark: SparkSession, glue: Any, calls: CatalogCalls, tmp_path: Path) -> None:
    calls.conflicts.update({"CreateTable": 1, "BatchCreatePartition": 1})

    _, results = run_batch(tmp_path, [staged(tmp_path, ORDERS, "orders-a", A_CSV)], batch_id="b1")

    assert results["files"][0]["status"] == "SUCCEEDED"
    assert (calls.count()["CreateTable"], calls.count()["BatchCreatePartition"]) == (2, 2)
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"]]

    # Conflicts that outlast the attempts: the table's files fail, their Parquet stays written.
    calls.conflicts.update({"BatchCreatePartition": job.CATALOG_ATTEMPTS})
    listed = [staged(tmp_path, ORDERS, "orders-b", B_CSV), staged(tmp_path, CUSTOMERS, "customers-c", C_CSV)]
    summary, results = run_batch(tmp_path, listed, batch_id="b2")

    b, c = results["files"]
    assert (b["status"], c["status"]) == ("FAILED", "SUCCEEDED")
    assert "ConcurrentModificationException" in b["error"]
    assert b["rows"] == 2 and rows_in(output_root(tmp_path, "orders"), b["files"]) == 2
    assert (summary["succeeded"], summary["failed"]) == (1, 1)
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"]]


def test_a_rerun_of_a_manifest_converts_each_file_once(
        spark: SparkSession, glue: Any, calls: CatalogCalls, reads: list[int], tmp_path: Path) -> None:
    a = staged(tmp_path, ORDERS, "orders-a", A_CSV)
    listed = [a, staged(tmp_path, ORDERS, "orders-b", B_CSV), a, staged(tmp_path, CUSTOMERS, "customers-c", C_CSV)]

    _, first = run_batch(tmp_path, listed)
    assert sorted(reads) == [1, 2]  # a file listed twice is read once
    root = output_root(tmp_path, "orders")
    written = {name: (root / name).read_bytes() for name in parquet_files(root)}
    _, second = run_batch(tmp_path, listed)

    assert second == first
    assert first["files"][0] == first["files"][2]  # a source listed twice: the same files
    assert {name: (root / name).read_bytes() for name in parquet_files(root)} == written
    assert parquet_files(root) == sorted(first["files"][0]["files"] + first["files"][1]["files"])
    assert [r["order_id"] for r in read_rows(root)] == [1, 2, 3, 10, 11]
    assert len(read_rows(output_root(tmp_path, "customers"))) == 3
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"], ["2026-11-22"]]
    assert (calls.count()["CreateTable"], calls.count()["UpdateTable"]) == (2, 0)


def test_the_job_leaves_no_directory_marker(
        spark: SparkSession, glue: Any, markers: set[str], tmp_path: Path) -> None:
    """On S3 a directory made with mkdirs, or emptied of its last file, is a marker object
    (`<dir>/` with Glue 5.1's S3A, `<dir>_$folder$` with EMRFS). The job makes no directory (a
    rename makes the parents), replaces a file that is alone in its partition without emptying
    the partition first, and removes the directories it empties: its temporary output and a
    partition a rerun no longer has."""
    root = output_root(tmp_path, "orders")
    run_batch(tmp_path, [staged(tmp_path, ORDERS, "orders-a", A_CSV), staged(tmp_path, ORDERS, "orders-b", B_CSV)])
    assert parquet_files(root) == [
        "order_date=2026-11-20/orders-a-00000.snappy.parquet", "order_date=2026-11-20/orders-b-00000.snappy.parquet",
        "order_date=2026-11-21/orders-a-00000.snappy.parquet", "order_date=2026-11-22/orders-b-00000.snappy.parquet"]

    # The rerun: orders-a now only on 11-21 (alone there), orders-b only on 11-20 (alone there
    # once orders-a's 11-20 file is gone), and 11-22 left with nothing.
    rerun = [(stage(ORDERS, HEADER + "4,2026-11-21,4\n", tmp_path / "rerun" / "orders-a.csv").path, "orders-a", ORDERS),
             (stage(ORDERS, HEADER + "12,2026-11-20,1\n", tmp_path / "rerun" / "orders-b.csv").path, "orders-b", ORDERS)]
    _, results = run_batch(tmp_path, rerun, batch_id="batch-2")

    assert [r["status"] for r in results["files"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert parquet_files(root) == ["order_date=2026-11-20/orders-b-00000.snappy.parquet",
                                   "order_date=2026-11-21/orders-a-00000.snappy.parquet"]
    assert [r["order_id"] for r in read_rows(root)] == [4, 12]
    assert markers == set()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()) == [
        "order_date=2026-11-20", "order_date=2026-11-21"]  # no _tmp, no emptied 11-22
    assert not [p for p in root.rglob("*") if p.name.startswith(".") and not p.name.endswith(".crc")]


def test_the_run_fails_only_without_a_manifest_or_a_place_for_its_results(
        spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    arguments = ["--manifest_uri", manifest.as_uri(), "--results_uri", f"s3://{DATA_BUCKET}/r.json",
                 "--database", DATABASE]
    with pytest.raises(job.JobFailed, match="FileNotFoundException"):
        job.main(arguments)
    manifest.write_text('{"batch_id": "b", "files": {}}')
    with pytest.raises(job.JobFailed, match="is not a manifest"):
        job.main(arguments)

    manifest.write_text('{"batch_id": "b", "files": []}')
    with pytest.raises(job.JobFailed, match="NoSuchBucket"):
        job.main(arguments)
    s3().create_bucket(Bucket=DATA_BUCKET)
    assert job.main(arguments)["files"] == 0
    assert job.json.loads(s3().get_object(Bucket=DATA_BUCKET, Key="r.json")["Body"].read()) == {
        "batch_id": "b", "files": []}


def test_the_local_runner_runs_a_batch_from_s3(spark: SparkSession, glue: Any, tmp_path: Path) -> None:
    """The local stack's runner: staged objects, contracts and the manifest in (moto's) S3; the
    job reads each staged object under its own key from a local mirror (one with a space in its
    key) and its Parquet lands in S3, cataloged at its S3 location."""
    from etl_common.messages import Manifest, PendingFile
    from etl_local.glue_runner import GlueRunner

    client = s3()
    client.create_bucket(Bucket=DATA_BUCKET)
    client.put_object(Bucket=DATA_BUCKET, Key="scripts/csv_to_parquet.py", Body=SCRIPT.read_bytes())
    entries = []
    for number, (contract, source_id, key, raw) in enumerate([
            (ORDERS, "orders-a", "staging/orders/2026 11/orders-a.csv", A_CSV),
            (ORDERS, "orders-b", "staging/orders/orders-b.csv", B_CSV),
            (CUSTOMERS, "customers-c", "staging/customers/customers-c.csv", C_CSV)]):
        path, _, _ = staged(tmp_path, contract, source_id, raw)
        client.put_object(Bucket=DATA_BUCKET, Key=key, Body=path.read_bytes())
        arguments = file_arguments(tmp_path, path, source_id, contract) | {
            "--source_path": f"s3://{DATA_BUCKET}/{key}",
            "--output_path": f"s3://{DATA_BUCKET}/transformed/{contract.dataset}/"}
        del arguments["--table_location"]
        entries.append(PendingFile(task_token=f"t{number}", execution="e", dataset=contract.dataset,
                                   arguments=arguments))
    client.put_object(Bucket=DATA_BUCKET, Key="batches/b1/manifest.json",
                      Body=Manifest(batch_id="b1", files=entries).model_dump_json().encode())
    client.put_object(Bucket=DATA_BUCKET, Key="transformed/orders/order_date=2026-11-21/orders-b-00000.snappy.parquet",
                      Body=b"stale: orders-b has no 2026-11-21 rows any more")

    (tmp_path / "work").mkdir()
    summary = GlueRunner(tmp_path / "work").run(
        client, f"s3://{DATA_BUCKET}/scripts/csv_to_parquet.py",
        {"--manifest_uri": f"s3://{DATA_BUCKET}/batches/b1/manifest.json",
         "--results_uri": f"s3://{DATA_BUCKET}/batches/b1/results.json", "--database": DATABASE},
        "jr_1", "csv-to-parquet")

    assert (summary["succeeded"], summary["rows"]) == (3, 8)
    results = job.json.loads(client.get_object(Bucket=DATA_BUCKET, Key="batches/b1/results.json")["Body"].read())
    written = sorted(f"transformed/{dataset}/{name}" for dataset, result in
                     zip(["orders", "orders", "customers"], results["files"]) for name in result["files"])
    listed = client.list_objects_v2(Bucket=DATA_BUCKET, Prefix="transformed/")["Contents"]
    # No directory marker (S3A's `<dir>/`, EMRFS's `<dir>_$folder$`): the runner syncs back a
    # directory the job left empty as one.
    assert not [o["Key"] for o in listed if o["Key"].endswith("/") or "$folder$" in o["Key"]]
    assert sorted(o["Key"] for o in listed) == written
    assert len(written) == 5
    table = glue.get_table(DatabaseName=DATABASE, Name="orders")["Table"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{DATA_BUCKET}/transformed/orders/"
    assert partitions(glue, "orders") == [["2026-11-20"], ["2026-11-21"], ["2026-11-22"]]


def test_a_source_listed_with_two_staged_files_keeps_the_last(
        spark: SparkSession, glue: Any, reads: list[int], tmp_path: Path) -> None:
    """As after two runs, one per listing: the later listing's files replace the earlier's."""
    earlier = staged(tmp_path, ORDERS, "orders-a", A_CSV)
    later_path = tmp_path / "later" / "orders-a.csv"
    later = (stage(ORDERS, HEADER + "5,2026-11-24,5\n", later_path).path, "orders-a", ORDERS)

    _, results = run_batch(tmp_path, [earlier, staged(tmp_path, ORDERS, "orders-b", B_CSV), later])

    assert [r["rows"] for r in results["files"]] == [3, 2, 1]
    assert reads == [2, 1]
    root = output_root(tmp_path, "orders")
    assert parquet_files(root) == sorted(results["files"][1]["files"] + results["files"][2]["files"])
    assert [r["order_id"] for r in read_rows(root)] == [5, 10, 11]
