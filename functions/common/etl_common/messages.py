"""The messages that cross the state machine, as typed models (pydantic, from Powertools' parser).

The validator decides every key once and returns a `Plan`; the state machine only routes on it
and passes its fields through: `plan.move` to the mover, `plan.job_arguments` to the Glue job,
`plan.report_uri` and friends to the notification. Each model's JSON is what a state holds, so
nothing here grows with the file (Step Functions caps a state's payload at 256 KiB).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from .layout import s3_uri
from .vocabulary import Outcome, Reason, notification_subject


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
    field (in a one-column file, `null_value`), numbers as Arrow writes them, dates and UTC
    timestamps in these Spark patterns (the text pyarrow's CSV writer gives date32 and timestamp[us])."""

    date_format: str = "yyyy-MM-dd"
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss.SSSSSS"
    # The job's null token: a NUL, which no validated value holds. Written (quoted) only for a
    # null in a one-column file, where an unquoted empty field would be an empty line, which
    # Spark's CSV reader skips.
    null_value: str = "\u0000"


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
    delivered it (URL-encoded or not). `key`, when given, is the key the validator resolved (the
    plan's `source.key`); without it the mover resolves `delivered_key` by the same rule
    (`etl_common.event_object`). The mover derives the rest with the layout."""

    bucket: str
    delivered_key: str
    key: str | None = None
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

    @computed_field
    @property
    def failure_subject(self) -> str:
        """The SNS Subject of the failure notification after a quarantine."""
        return notification_subject(Outcome.FAILED, self.dataset)


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

    @computed_field
    @property
    def subject(self) -> str:
        """The SNS Subject of this file's notification when it goes as planned."""
        return notification_subject(self.outcome, self.dataset)

    @computed_field
    @property
    def failure_subject(self) -> str:
        """The SNS Subject when a later step fails (the file stays staged or in incoming/)."""
        return notification_subject(Outcome.FAILED, self.dataset)


class PendingFile(Message):
    """A staged file handed to the next batch, and the execution waiting for its result.

    `task_token` is the Step Functions callback token of the waiting task
    (`lambda:invoke.waitForTaskToken`); `arguments` are the plan's `job_arguments`
    (`JobArguments.as_glue()`), which the batch job parses per file exactly as one run would."""

    task_token: str
    execution: str
    dataset: str
    arguments: dict[str, str]


class Manifest(Message):
    """What one batch converts: an S3 object (`layout.manifest_key`), never a state or a job
    argument, so a batch of any size passes Step Functions' 256 KiB and Glue's argument limits.
    The Glue job reads `batch_id` and each file's `arguments`; the rest is for resuming."""

    batch_id: str
    files: list[PendingFile]


FileStatus = Literal["SUCCEEDED", "FAILED"]


class FileResult(Message):
    """One file's result in a batch: rows written, its Parquet files (relative to the dataset's
    Parquet root) and the partitions they are in, or the error that failed only this file."""

    source_id: str
    status: FileStatus
    rows: int | None = None
    files: list[str] = []
    partitions: list[str] = []
    error: str | None = None


class BatchResults(Message):
    """The Glue job's results (`layout.results_key`): `files[i]` is `manifest.files[i]`'s."""

    batch_id: str
    files: list[FileResult]


class Conversion(Message):
    """What a resumed execution learns of its file's conversion (the SendTaskSuccess output):
    counts, not lists, so it stays small whatever the file."""

    batch_id: str
    job_run_id: str | None = None
    rows: int
    parquet_files: int
    partitions: int
    crawl: str | None = None  # the batch's crawl of new staging folders: started, not needed, or its error


class Batch(Message):
    """One batch as the batch state machine holds it: where its manifest and results are, how
    many files it has, whether it stopped at the maximum (`full`: more may be pending),
    whether its datasets need a crawl (a staging folder no catalog table covers yet), and
    whether it holds the one-batch-at-a-time lock."""

    batch_id: str
    manifest_uri: str
    results_uri: str
    files: int
    full: bool = False
    datasets: list[str] = []
    crawl: bool = False
    locked: bool = True  # False: another running batch holds the lock, and this one took nothing


class BatchInput(Message):
    """The batch state machine's input, from the schedule, the hand-off's early start or an
    operator's rerun: `rerun_batch_id` is always present (null but for a rerun), since the state
    machine reads it and a missing path fails an execution (States.Runtime, which no Catch takes)."""

    trigger: Literal["schedule", "pending", "rerun"]
    rerun_batch_id: str | None = None

    def as_input(self) -> str:
        return self.model_dump_json()


class CollectRequest(Message):
    """Take the lock for `execution`, then the pending files into a new batch, or with
    `rerun_batch_id` reopen an earlier one."""

    rerun_batch_id: str | None = None
    execution: str


class ResumeRequest(Message):
    """Answer a batch's waiting executions. `job_error` (the state machine's `Error`/`Cause`) is
    set when the Glue job run failed; `crawl` says what became of the batch's crawl."""

    batch: Batch
    job_run_id: str | None = None
    job_error: dict[str, Any] | None = None
    crawl: str | None = None
    execution: str | None = None


class Resumed(Message):
    """How a batch's executions were answered; `ended` ones no longer waited (timed out, or
    answered before: a rerun)."""

    succeeded: int = 0
    failed: int = 0
    ended: int = 0
