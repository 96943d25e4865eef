"""The one layout of the bucket: every key the pipeline derives, and the way back.

An upload lives at `incoming/<dataset>/<rest>`. From it the pipeline derives, and only here:
its staged copy (`staging/`), its quarantined copy (`error/`), its report (`<key>.report.json`
in `reports/` or `error/`), the rejects file of a split (`error/.../<stem>.rejects.csv`), the
Parquet prefix of its dataset (`transformed/<dataset>/`), the deterministic source id its
Parquet files are named by, the manifest and results of the batch that converts it
(`batches/<batch id>/`), and, for reprocessing, the incoming key a quarantined file goes
back to and where its old report is archived (`reports/<dataset>/history/`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus

INCOMING = "incoming/"
STAGING = "staging/"
ERROR = "error/"
REPORTS = "reports/"
TRANSFORMED = "transformed/"
BATCHES = "batches/"
MANIFEST_NAME = "manifest.json"
HISTORY = "history/"
REPORT_SUFFIX = ".report.json"
REJECTS_SUFFIX = ".rejects.csv"
UNKNOWN_DATASET = "_unknown"
# Zero-byte objects named like these are markers tools leave (`_SUCCESS`, `.keep`), not data.
MARKER_NAMES = re.compile(r"(^|/)[_.][^/]*$")


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def event_key(delivered: str) -> str:
    """The URL-decoding (`unquote_plus`) of an event's object key: the key it names when S3
    URL-encoded it, as "Event message structure" (Amazon S3 User Guide) documents for its
    notifications ("The object key name value is URL encoded").

    Only one of two candidates for an EventBridge event, whose encoding is not documented: the
    functions find the object with `etl_common.event_object.locate`, never with this alone.
    """
    return unquote_plus(delivered)


def delivered_key(key: str) -> str:
    """The key URL-encoded as S3 writes it into a notification (the inverse of `event_key`), for
    emulating S3."""
    return quote_plus(key, safe="/")


def incoming_key(dataset: str, rest: str) -> str:
    """Where an upload of `dataset` goes: `incoming/<dataset>/<rest>`."""
    return f"{INCOMING}{dataset}/{rest}"


def report_key(data_key: str) -> str:
    """The report written beside an object (`error/orders/x.csv` -> `...x.csv.report.json`)."""
    return data_key + REPORT_SUFFIX


def is_report(key: str) -> bool:
    return key.endswith(REPORT_SUFFIX)


def manifest_key(batch_id: str) -> str:
    """The list of staged files one batch converts (`batches/<batch id>/manifest.json`); no
    upload can write it (uploads are under `incoming/`)."""
    return f"{BATCHES}{batch_id}/{MANIFEST_NAME}"


def results_key(batch_id: str) -> str:
    """Each file's result of one batch's Glue job run, in the manifest's order."""
    return f"{BATCHES}{batch_id}/results.json"


def parquet_prefix(dataset: str) -> str:
    """Where a dataset's Parquet files and its catalog table live."""
    return f"{TRANSFORMED}{dataset}/"


@dataclass(frozen=True)
class Upload:
    """An `incoming/` key split into its dataset and the path below the dataset folder.

    A key with no dataset folder (`incoming/x.csv`, `incoming//x.csv`) gets the `_unknown`
    dataset, so it still has a place in every zone.
    """

    key: str
    dataset: str
    rest: str

    @classmethod
    def parse(cls, key: str) -> Upload:
        body = key[len(INCOMING):] if key.startswith(INCOMING) else key
        dataset, sep, rest = body.partition("/")
        if not sep or not dataset:
            return cls(key=key, dataset=UNKNOWN_DATASET, rest=body)
        return cls(key=key, dataset=dataset, rest=rest)

    @property
    def is_folder_marker(self) -> bool:
        return self.key.endswith("/")

    def is_marker_name(self) -> bool:
        """A name tools give zero-byte marker objects (`_SUCCESS`, `.keep`)."""
        return bool(MARKER_NAMES.search(self.key))

    @property
    def compressed(self) -> bool:
        """A gzip upload (`.gz`): Glue reads compressed CSV by this extension, and so its staged
        form is compressed too."""
        return self.key.endswith(".gz")

    @property
    def error_key(self) -> str:
        return f"{ERROR}{self.dataset}/{self.rest}"

    @property
    def rejects_key(self) -> str:
        """`day.csv.gz` -> `error/<dataset>/day.rejects.csv` (rejects are never compressed)."""
        return self.error_key.removesuffix(".gz").removesuffix(".csv") + REJECTS_SUFFIX

    @property
    def accepted_report_key(self) -> str:
        """The report of a file that goes on to staging: `reports/<dataset>/<rest>.report.json`."""
        return report_key(f"{REPORTS}{self.dataset}/{self.rest}")

    @property
    def source_id(self) -> str:
        """A deterministic name for this key, ASCII and safe in any path or URI: a rerun (a new
        version of the key) replaces its own Parquet output and no other upload's.

        At most 60 characters of the name's stem (no `.csv`, `.csv.gz`) in `[A-Za-z0-9._-]`, starting with a letter or
        digit, then 12 hex digits of the key's SHA-256, so two keys never share an id.
        """
        stem = self.key.rsplit("/", 1)[-1].removesuffix(".gz").rsplit(".", 1)[0]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).lstrip("._-")[:60] or "file"
        return f"{stem}-{_digest(self.key)}"

    def staged_key(self, version_id: str | None) -> str:
        """Where the validator writes this version's canonical CSV: named by the source id and
        the version, never by the uploaded name, so no upload can make Spark read other files
        (Hadoop paths are glob patterns: `*`, `?`, `[`, `{`, `\\`), collide with another
        upload's staged object or make a key S3 refuses."""
        return self._staged_stem(version_id) + (".csv.gz" if self.compressed else ".csv")

    def job_contract_key(self, version_id: str | None) -> str:
        """The Glue job's contract for this version, beside its staged form (the crawler skips
        `.json`)."""
        return self._staged_stem(version_id) + ".contract.json"

    def _staged_stem(self, version_id: str | None) -> str:
        return f"{STAGING}{self.dataset}/{self.source_id}-{_digest(version_id or 'null')}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Quarantined:
    """An object in `error/<dataset>/<rest>`: where it goes back to, and where its report is archived."""

    key: str
    dataset: str
    rest: str

    @classmethod
    def parse(cls, key: str) -> Quarantined:
        if not key.startswith(ERROR):
            raise ValueError(f"{key!r} is not under {ERROR}")
        dataset, _, rest = key[len(ERROR):].partition("/")
        return cls(key=key, dataset=dataset, rest=rest)

    @property
    def incoming_key(self) -> str:
        """`error/<dataset>/<rest>` goes back to `incoming/<dataset>/<rest>`; `_unknown` files too
        (they were loose in `incoming/`, and a dataset folder named `_unknown` has no contract)."""
        return incoming_key(self.dataset, self.rest)

    @property
    def report_key(self) -> str:
        return report_key(self.key)

    def history_report_key(self, stamp: str) -> str:
        """Where the report of a reprocessed file is kept: `reports/<dataset>/history/<name>.<stamp>.report.json`."""
        return report_key(f"{REPORTS}{self.dataset}/{HISTORY}{self.rest}.{stamp}")
