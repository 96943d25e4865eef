"""The pipeline's words: how a file ends (`Outcome`), what validation decided (`Verdict`) and
why a file was refused (`Reason`).

Both are stable: subscribers filter SNS messages on the outcome, reports and dashboards match
on reason codes (docs/report.md). They are `StrEnum`s, so a member is its own JSON string.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """The one outcome each object version ends with (the SNS `outcome` attribute)."""

    PROCESSED = "processed"
    PROCESSED_WITH_REJECTS = "processed_with_rejects"
    REJECTED = "rejected"
    FAILED = "failed"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class Verdict(StrEnum):
    """What validation decided, as its report says: the file's outcome comes later (conversion
    may still fail) and is the notification's, never the report's."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_REJECTS = "accepted_with_rejects"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why a file, or a value in it, was refused; docs/report.md says what each one means."""

    # file level, roughly in the order the validator meets them
    FOLDER_KEY = "folder_key"
    UNKNOWN_DATASET = "unknown_dataset"
    CONTRACT_INVALID = "contract_invalid"
    FILE_TOO_LARGE = "file_too_large"
    EMPTY_FILE = "empty_file"
    BAD_GZIP = "bad_gzip"
    GZIP_WITHOUT_GZ_SUFFIX = "gzip_without_gz_suffix"
    NOT_TEXT = "not_text"
    BAD_ENCODING = "bad_encoding"
    MALFORMED_CSV = "malformed_csv"
    WRONG_DELIMITER = "wrong_delimiter"
    DUPLICATE_COLUMNS = "duplicate_columns"
    MISSING_COLUMNS = "missing_columns"
    UNEXPECTED_COLUMNS = "unexpected_columns"
    COLUMN_ORDER = "column_order"
    UNCLOSED_QUOTE = "unclosed_quote"
    UNDECLARED_ESCAPE = "undeclared_escape"
    RAGGED_ROWS = "ragged_rows"
    TOO_FEW_ROWS = "too_few_rows"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_BAD_ROWS = "too_many_bad_rows"
    DUPLICATE_COMBINATION = "duplicate_combination"
    # row level
    WRONG_TYPE = "wrong_type"
    NULL_VALUE = "null_value"
    DUPLICATE_VALUE = "duplicate_value"
    CHECK_FAILED = "check_failed"
    FIELD_TOO_LARGE = "field_too_large"
    # written by the mover: a pipeline step failed, not the data
    PIPELINE_ERROR = "pipeline_error"


SUBJECT_CHARS = 99


def notification_subject(outcome: str, dataset: str) -> str:
    """The SNS Subject of a file's notification: `ETL <outcome>: <dataset>`, always one SNS takes.

    Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
    100 characters long", and email subjects must be ASCII
    (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). A dataset is a folder name an
    upload chose, of any length and characters: anything outside printable ASCII becomes `?`, and
    a subject over 99 characters is cut with `...` (the message and its `dataset` attribute keep
    the name whole)."""
    text = "".join(c if " " <= c <= "~" else "?" for c in f"ETL {outcome}: {dataset}")
    return text if len(text) <= SUBJECT_CHARS else text[:SUBJECT_CHARS - 3] + "..."
