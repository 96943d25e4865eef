"""The messages that cross the state machine, as typed models (pydantic, from Powertools' parser).

The validator decides every key once and returns a `Plan`; the state machine only routes on it
and passes its fields through: `plan.move` to the mover, `plan.job_arguments` to the Glue job,
`plan.report_uri` and friends to the notification. Each model's JSON is what a state holds, so
nothing here grows with the file (Step Functions caps a state's payload at 256 KiB).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .layout import s3_uri
from .vocabulary import Outcome, Reason


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectVersion(Message):
    """One version of one object; `version_id` None means the latest (an unversioned bucket)."""

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    def version_args(self) -> dict[str, str]:
        """`VersionId=...` for S3 calls on this version, nothing for the latest."""
        return {"VersionId": self.version_id} if self.version_id else {}


class JobColumn(Message):
    """A contract column as the Glue job reads and catalogs it: the type names it is given."""

    name: str
    type: str          # the contract's logical type (`integer`, `decimal(12,2)`, ...)
    spark_type: str    # Spark SQL DDL name of the column in the staged file's schema
    glue_type: str     # catalog type of the Parquet table
    catalog_name: str  # name in the Parquet files and the catalog: [a-z0-9_] only


class StagedFormat(Message):
    """How the validator writes every staged file, so the job reads it with one fixed dialect and
    an explicit schema and reinterprets nothing: UTF-8 CSV with a header, the contract's columns
    in its order, every non-null value quoted (`"` doubled inside), a null as an unquoted empty
    field, numbers as Arrow writes them, dates and UTC timestamps in these Spark patterns (the
    text pyarrow's CSV writer gives date32 and timestamp[us])."""

    date_format: str = "yyyy-MM-dd"
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss.SSSSSS"


class JobContract(Message):
    """The part of a contract the Glue job needs; `partition_by` names catalog names."""

    dataset: str
    version: int
    columns: list[JobColumn]
    staged: StagedFormat = StagedFormat()
    partition_by: list[str]
    compression: str


class JobArguments(Message):
    """The Glue job's own arguments (glue/csv_to_parquet.py reads them; `--database` is a
    DefaultArgument of the job). `as_glue` is the StartJobRun `Arguments` map: strings only.

    The contract goes by reference (`contract_uri`, a JobContract JSON the validator wrote beside
    the staged file): it grows with the columns, and a state holding it, or a failed run's cause
    that echoes the arguments, must stay under Step Functions' 256 KiB payload quota."""

    source_path: str
    output_path: str
    table: str
    source_id: str
    contract_uri: str

    def as_glue(self) -> dict[str, str]:
        return {"--source_path": self.source_path, "--output_path": self.output_path,
                "--table": self.table, "--source_id": self.source_id, "--contract_uri": self.contract_uri}


class MoveRequest(Message):
    """Move `source` to `target_key` (copy, verify, delete). With `staged_key`, the validator
    already wrote the file's good rows there (error threshold): only `source` is removed."""

    source: ObjectVersion
    target_key: str
    staged_key: str | None = None


class QuarantineRequest(Message):
    """A step failed: move the object of the S3 event to `error/` with a report of `failure`
    (the state machine's error: `Error`, `Cause`). `delivered_key` is the event's key as S3
    delivered it (URL-encoded); the mover derives the rest with the layout."""

    bucket: str
    delivered_key: str
    version_id: str | None = None
    failure: dict[str, Any] | None = None


class MoverEvent(Message):
    """What the state machine sends the mover: exactly one of `move` and `quarantine`."""

    move: MoveRequest | None = None
    quarantine: QuarantineRequest | None = None
    execution: str | None = None


class MoveResult(Message):
    """Where the object went; `version_id` is the new object's. `report_key` is set when the
    mover wrote a report (quarantine)."""

    source: ObjectVersion
    dataset: str
    target_key: str
    version_id: str | None = None
    already_moved: bool
    report_key: str | None = None
    report_uri: str | None = None


class Plan(Message):
    """The validator's decision for one object version, and every key that follows from it.

    `move` is None only when the object is ignored; `job_arguments` and `source_id` are set
    when the file goes on to Parquet. `rows` counts data records read, `failed_rows` those
    with a failed check, `rejected_rows` those written to the rejects file of a split.
    """

    source: ObjectVersion
    dataset: str
    outcome: Outcome
    valid: bool = False
    ignored: bool = False
    reason: Reason | None = None
    message: str | None = None
    size: int | None = None
    rows: int = 0
    failed_rows: int = 0
    rejected_rows: int = 0
    move: MoveRequest | None = None
    report_key: str | None = None
    report_uri: str | None = None
    rejects_key: str | None = None
    parquet_path: str | None = None
    source_id: str | None = None
    job_arguments: dict[str, str] | None = None
