"""The batch job's JSON and catalog logic without Spark: the manifest and results it reads and
writes match etl_common's models field for field, and its catalog calls retry conflicts."""

from __future__ import annotations

import json
from typing import Any, get_args

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from etl_common.messages import BatchResults, FileResult, FileStatus, JobArguments, Manifest, PendingFile
from etl_validator.contract import parse_contract

from tests.helpers import REGION, ROOT, load_module

job = load_module(ROOT / "glue" / "csv_to_parquet.py")


class Bytes:
    """A Storage stand-in that reads one document."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, uri: str) -> bytes:
        return self.data


def test_results_have_exactly_the_models_fields() -> None:
    """The job cannot import etl_common: its results must still parse as BatchResults, field
    for field (extra="forbid" refuses a renamed field, a missing one fails validation)."""
    succeeded = job.file_result("orders-1", job.SUCCEEDED, rows=3, files=["d=1/orders-1-00000.parquet"],
                                partitions=["d=1"])
    failed = job.file_result("orders-2", job.FAILED, error="boom")
    assert succeeded.keys() == failed.keys() == FileResult.model_fields.keys()
    results = job.batch_results("b1", [succeeded, failed])
    assert results.keys() == BatchResults.model_fields.keys()
    parsed = BatchResults.model_validate_json(json.dumps(results))
    assert [f.status for f in parsed.files] == ["SUCCEEDED", "FAILED"]
    assert parsed.model_dump() == results
    assert set(get_args(FileStatus)) == {job.SUCCEEDED, job.FAILED}


def test_the_job_reads_the_manifest_the_models_write() -> None:
    arguments = JobArguments(source_path="s3://b/staging/orders/x.csv", output_path="s3://b/transformed/orders/",
                             table="orders", source_id="orders-x",
                             contract_uri="s3://b/staging/orders/x.contract.json").as_glue()
    manifest = Manifest(batch_id="b1", files=[PendingFile(task_token="t", execution="arn:e", dataset="orders",
                                                          arguments=arguments)])
    batch_id, files = job.read_manifest(Bytes(manifest.model_dump_json().encode()), "s3://b/m.json")
    assert batch_id == "b1"
    assert vars(job.parse_file_args(files[0]["arguments"])) == {
        name[2:]: value for name, value in arguments.items()} | {"table_location": None}


@pytest.mark.parametrize("document", [b"[]", b'{"files": []}', b'{"batch_id": "b", "files": {}}', b"{"])
def test_a_document_that_is_not_a_manifest_is_refused(document: bytes) -> None:
    with pytest.raises(ValueError):
        job.read_manifest(Bytes(document), "s3://b/m.json")


def conflict(operation: str = "UpdateTable") -> ClientError:
    return ClientError({"Error": {"Code": "ConcurrentModificationException", "Message": "busy"}}, operation)


def test_conflicts_are_retried_with_bounded_full_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    class Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            sleeps.append(seconds)

    monkeypatch.setattr(job, "time", Clock)
    outcomes: list[Any] = [conflict(), job.CatalogConflict("partitions"), "done"]

    def call(**kwargs: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return (outcome, kwargs)

    assert job.with_retries(call, Name="t") == ("done", {"Name": "t"})
    assert len(sleeps) == 2
    assert all(0 <= s <= min(job.BACKOFF_CAP_SECONDS, job.BACKOFF_BASE_SECONDS * 2 ** n)
               for n, s in enumerate(sleeps))

    calls = []

    def always(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise conflict()

    with pytest.raises(ClientError, match="ConcurrentModificationException"):
        job.with_retries(always)
    assert len(calls) == job.CATALOG_ATTEMPTS

    def denied(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateTable")

    calls.clear()
    with pytest.raises(ClientError, match="AccessDenied"):
        job.with_retries(denied)
    assert len(calls) == 1


CONTRACT = parse_contract({"dataset": "orders", "version": 2,
                           "columns": [{"name": "id", "type": "integer"},
                                       {"name": "day", "type": "date", "nullable": False}],
                           "parquet": {"partition_by": ["day"]}}, "test").for_job().model_dump()
TABLE = job.table_input("orders", CONTRACT, "s3://b/transformed/orders")


def as_catalog_returns(table: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`table` as GetTable gives it back: with the catalog's own fields and others' parameters."""
    descriptor = {**table["StorageDescriptor"],
                  "Columns": [{**c, "Type": c["Type"].upper(), "Comment": ""} for c in
                              table["StorageDescriptor"]["Columns"]]}
    return {**table, "DatabaseName": "lake", "VersionId": "3", "CreateTime": "2026-11-30",
            "StorageDescriptor": descriptor,
            "Parameters": {**table["Parameters"], "projection.enabled": "false"}} | changes


def test_a_table_is_updated_only_when_its_schema_differs() -> None:
    same = as_catalog_returns(TABLE)
    assert job.schema_of(same, TABLE["Parameters"]) == job.schema_of(TABLE, TABLE["Parameters"])
    for changed in (as_catalog_returns(TABLE, PartitionKeys=[]),
                    as_catalog_returns(TABLE, Parameters={**TABLE["Parameters"], "compression": "zstd"}),
                    as_catalog_returns({**TABLE, "StorageDescriptor": {**TABLE["StorageDescriptor"],
                                                                        "Columns": []}})):
        assert job.schema_of(changed, TABLE["Parameters"]) != job.schema_of(TABLE, TABLE["Parameters"])


def stubbed_glue() -> tuple[Any, Stubber]:
    glue = boto3.client("glue", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return glue, Stubber(glue)


def test_register_table_calls_update_table_once_with_skip_archive() -> None:
    glue, stub = stubbed_glue()
    older = {**TABLE, "Parameters": {**TABLE["Parameters"], "contract_version": "1"}, "PartitionKeys": []}
    stub.add_response("get_table", {"Table": as_catalog_returns(older)}, {"DatabaseName": "lake", "Name": "orders"})
    stub.add_response("update_table", {}, {"DatabaseName": "lake", "TableInput": TABLE, "SkipArchive": True})
    stub.add_response("get_table", {"Table": as_catalog_returns(TABLE)}, {"DatabaseName": "lake", "Name": "orders"})
    newer = {**TABLE, "Parameters": {**TABLE["Parameters"], "contract_version": "3"}, "PartitionKeys": []}
    stub.add_response("get_table", {"Table": as_catalog_returns(newer)}, {"DatabaseName": "lake", "Name": "orders"})
    with stub:
        assert job.register_table(glue, "lake", TABLE) == "updated"
        assert job.register_table(glue, "lake", TABLE) == "unchanged"
        # A late file of an older contract never takes a newer table back.
        assert job.register_table(glue, "lake", TABLE) == "unchanged"
    stub.assert_no_pending_responses()


def test_a_table_another_run_created_meanwhile_is_compared_not_failed() -> None:
    glue, stub = stubbed_glue()
    stub.add_client_error("get_table", "EntityNotFoundException")
    stub.add_client_error("create_table", "AlreadyExistsException")
    stub.add_response("get_table", {"Table": as_catalog_returns(TABLE)})
    stub.add_client_error("get_table", "EntityNotFoundException")
    stub.add_response("create_table", {}, {"DatabaseName": "lake", "TableInput": TABLE})
    with stub:
        assert job.register_table(glue, "lake", TABLE) == "unchanged"
        assert job.register_table(glue, "lake", TABLE) == "created"
    stub.assert_no_pending_responses()


def test_partitions_go_in_calls_of_100_and_a_conflict_resends_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job, "BACKOFF_BASE_SECONDS", 0.0)
    glue, stub = stubbed_glue()
    directories = [f"day=2026-01-{n:03d}" for n in range(150)]
    stub.add_response("batch_create_partition", {"Errors": [
        {"PartitionValues": ["2026-01-000"], "ErrorDetail": {"ErrorCode": "AlreadyExistsException"}},
        {"PartitionValues": ["2026-01-001"], "ErrorDetail": {"ErrorCode": "ConcurrentModificationException"}}]})
    stub.add_response("batch_create_partition", {"Errors": [
        {"PartitionValues": ["2026-01-000"], "ErrorDetail": {"ErrorCode": "AlreadyExistsException"}}]})
    stub.add_response("batch_create_partition", {})
    sent: list[int] = []
    glue.meta.events.register("before-parameter-build.glue.BatchCreatePartition",
                              lambda params, **_: sent.append(len(params["PartitionInputList"])))
    with stub:
        job.register_partitions(glue, "lake", TABLE, "s3://b/transformed/orders", directories)
    stub.assert_no_pending_responses()
    assert sent == [100, 100, 50]

    stub.add_response("batch_create_partition", {"Errors": [
        {"PartitionValues": ["2026-01-000"], "ErrorDetail": {"ErrorCode": "InvalidInputException"}}]})
    with stub, pytest.raises(RuntimeError, match="InvalidInputException"):
        job.register_partitions(glue, "lake", TABLE, "s3://b/transformed/orders", directories[:1])
