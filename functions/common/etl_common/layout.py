"""The one layout of the bucket: every key the pipeline derives, and the way back.

An upload lives at `incoming/<dataset>/<rest>`, or at `incoming/<name>` with no dataset folder
(dataset `_unknown`). Every object derived from it is named here, and only here, so that no two
(upload, kind of object) pairs share a key, and every key fits S3's limit: "The object key name
consists of a sequence of Unicode characters encoded in UTF-8, with a maximum length of 1,024
bytes" ("Naming Amazon S3 objects", https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).

The upload's PATH is `<folder>/<rest>`, one-to-one with its key: the folder is the dataset folder
as it is, with one more `_` when it begins with `_` (`_x` -> `__x`, `_unknown` -> `__unknown`), or
`_unknown` for a key with no dataset folder (`_` when `error/_unknown/<name>` would be over the
limit). So no folder begins with a single `_` but those two, and the other such names are the
layout's own REGIONS, one per kind, which no upload's path can reach:

  quarantined copy (rejected or failed)   error/<path>
  its report                              error/_reports/<path>.report.json
  rejects of a split file                 error/_rejects/<path>.rejects.csv
  report of a split file                  error/_rejects/<path>.rejects.csv.report.json
  report of an accepted file              reports/<path>.report.json
  history of a reprocessed file           reports/_history/<path>/<stamp, %-escaped>.report.json
  staged form, the job's contract         staging/<dataset>/<source id>-<version digest>.csv[.gz] / .contract.json
  Parquet                                 transformed/<dataset>/<partitions>/<source id>-<part>.snappy.parquet
  batches                                 batches/<batch id>/manifest.json, results.json

Inside a region the key is a constant prefix, the path and a constant ending (the history adds
`/<stamp>`, which has no `/`), so one key names one upload (and stamp); the two kinds that share
`error/_rejects/` end differently, and neither ending ends the other. The quarantined copy is
always shorter than the upload key. Any other key that would be over 1,024 bytes is replaced by
`<zone>/_long/<its first bytes>~<SHA-256 of the whole key><.report.json | .rejects.csv>`, in its
zone's `_long/` region: distinct for distinct keys unless SHA-256 collides. Staged and Parquet
names, in zones of their own, carry the source id (12 hex digits of the SHA-256 of the upload key)
and, staged, a digest of the version: distinct unless those digests collide.

The way back from `error/` is exact (`Quarantined`), and `etl-local reprocess` archives a
quarantined file's report under `reports/_history/`, where no report of an upload lands.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote_plus

INCOMING = "incoming/"
STAGING = "staging/"
ERROR = "error/"
REPORTS = "reports/"
TRANSFORMED = "transformed/"
BATCHES = "batches/"
MANIFEST_NAME = "manifest.json"
# The layout's own regions: folders beginning with a single `_`, which no upload's path has.
ERROR_REPORTS = f"{ERROR}_reports/"
REJECTS = f"{ERROR}_rejects/"
HISTORY = f"{REPORTS}_history/"
LONG = "_long/"
REPORT_SUFFIX = ".report.json"
REJECTS_SUFFIX = ".rejects.csv"
UNKNOWN_DATASET = "_unknown"
# The folder of a key with no dataset folder whose `error/_unknown/<name>` would not fit.
UNKNOWN_LONG = "_"
MAX_KEY_BYTES = 1024
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


def key_bytes(key: str) -> int:
    """A key's length as S3 counts it: bytes of UTF-8."""
    return len(key.encode("utf-8"))


def dataset_folder(dataset: str) -> str:
    """A dataset folder's name in the zones the layout names by path: as it is, or with one more
    `_` when it begins with `_`, so that no dataset folder is `_unknown` or a region of the layout."""
    return f"_{dataset}" if dataset.startswith("_") else dataset


def _fit(key: str, ending: str) -> str:
    """`key` when S3 takes it; else `<zone>/_long/` + as much of the key as fits + `~` + the
    SHA-256 of the whole key + `ending`: the same for the same key, distinct for distinct keys
    unless SHA-256 collides, and in a region no full key reaches."""
    if key_bytes(key) <= MAX_KEY_BYTES:
        return key
    zone, _, name = key.partition("/")
    head, tail = f"{zone}/{LONG}", f"~{hashlib.sha256(key.encode('utf-8')).hexdigest()}{ending}"
    room = MAX_KEY_BYTES - key_bytes(head) - key_bytes(tail)
    return head + name.removesuffix(ending).encode("utf-8")[:room].decode("utf-8", "ignore") + tail


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


def quarantine_prefixes(dataset: str) -> list[str]:
    """Where the quarantined copies of a dataset's uploads are: `error/<folder>/`; for `_unknown`,
    also those of keys that had no dataset folder (`error/_unknown/`, `error/_/`)."""
    loose = [f"{ERROR}{UNKNOWN_DATASET}/", f"{ERROR}{UNKNOWN_LONG}/"] if dataset == UNKNOWN_DATASET else []
    return [f"{ERROR}{dataset_folder(dataset)}/", *loose]


@dataclass(frozen=True)
class Upload:
    """An `incoming/` key split into its dataset, the path below the dataset folder, and the
    folder that stands for its dataset in `error/` and `reports/`.

    A key with no dataset folder (`incoming/x.csv`, `incoming//x.csv`) gets the `_unknown`
    dataset, so it still has a place in every zone; its folder is `_unknown` (`_` when
    `error/_unknown/<name>` would be over 1,024 bytes), which no dataset folder becomes.
    """

    key: str
    dataset: str
    rest: str
    folder: str

    @classmethod
    def parse(cls, key: str) -> Upload:
        body = key[len(INCOMING):] if key.startswith(INCOMING) else key
        dataset, sep, rest = body.partition("/")
        if not sep or not dataset:
            fits = key_bytes(f"{ERROR}{UNKNOWN_DATASET}/{body}") <= MAX_KEY_BYTES
            return cls(key=key, dataset=UNKNOWN_DATASET, rest=body, folder=UNKNOWN_DATASET if fits else UNKNOWN_LONG)
        return cls(key=key, dataset=dataset, rest=rest, folder=dataset_folder(dataset))

    @property
    def path(self) -> str:
        """`<folder>/<rest>`: one-to-one with the key, and never in a region of the layout."""
        return f"{self.folder}/{self.rest}"

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
        """The quarantined copy, `error/<path>`: shorter than the upload key, and the way back
        (`Quarantined`) is exact."""
        return f"{ERROR}{self.path}"

    @property
    def error_report_key(self) -> str:
        """The report of the quarantined copy (rejected, or a step failed):
        `error/_reports/<path>.report.json`."""
        return _fit(f"{ERROR_REPORTS}{self.path}{REPORT_SUFFIX}", REPORT_SUFFIX)

    @property
    def rejects_key(self) -> str:
        """The bad rows of a split file, `error/_rejects/<path>.rejects.csv`, named from the whole
        path (`day.csv` and `day.csv.gz` have their own); never compressed."""
        return _fit(f"{REJECTS}{self.path}{REJECTS_SUFFIX}", REJECTS_SUFFIX)

    @property
    def rejects_report_key(self) -> str:
        """The report of a split file, beside its rejects: `error/_rejects/<path>.rejects.csv.report.json`."""
        return _fit(f"{REJECTS}{self.path}{REJECTS_SUFFIX}{REPORT_SUFFIX}", REPORT_SUFFIX)

    @property
    def accepted_report_key(self) -> str:
        """The report of a file that goes on to staging: `reports/<path>.report.json`."""
        return _fit(f"{REPORTS}{self.path}{REPORT_SUFFIX}", REPORT_SUFFIX)

    def derived_keys(self) -> dict[str, str]:
        """The keys named by this upload's path, by kind (the history's also take a stamp)."""
        return {"error": self.error_key, "error_report": self.error_report_key, "rejects": self.rejects_key,
                "rejects_report": self.rejects_report_key, "accepted_report": self.accepted_report_key}

    def history_report_key(self, stamp: str) -> str:
        """Where `etl-local reprocess` keeps a quarantined file's report, or its record of a
        version sent back: `reports/_history/<path>/<stamp>.report.json`, the stamp %-escaped (no `/`)."""
        return _fit(f"{HISTORY}{self.path}/{quote(stamp, safe='+=')}{REPORT_SUFFIX}", REPORT_SUFFIX)

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
    """A quarantined copy, `error/<path>`: the upload it came from, exactly, and where its report
    is and is archived. Only keys the layout gives quarantined copies parse: not a report,
    rejects or `_long/` name (a region), nor a key no upload maps to."""

    key: str
    upload: Upload

    @classmethod
    def parse(cls, key: str) -> Quarantined:
        if not key.startswith(ERROR):
            raise ValueError(f"{key!r} is not under {ERROR}")
        folder, _, rest = key[len(ERROR):].partition("/")
        if folder in (UNKNOWN_DATASET, UNKNOWN_LONG):
            upload = Upload.parse(f"{INCOMING}{rest}")
        else:
            upload = Upload.parse(incoming_key(folder[1:] if folder.startswith("__") else folder, rest))
        if upload.error_key != key:
            raise ValueError(f"{key!r} is not a quarantined copy of an upload (a report, rejects or other "
                             f"object of the layout's own, or a key the pipeline never writes)")
        return cls(key=key, upload=upload)

    @property
    def dataset(self) -> str:
        return self.upload.dataset

    @property
    def rest(self) -> str:
        return self.upload.rest

    @property
    def incoming_key(self) -> str:
        """The upload's key, exactly: `error/orders/x.csv` -> `incoming/orders/x.csv`,
        `error/__x/y.csv` -> `incoming/_x/y.csv`, `error/_unknown/z.csv` -> `incoming/z.csv`."""
        return self.upload.key

    @property
    def report_key(self) -> str:
        return self.upload.error_report_key

    def history_report_key(self, stamp: str) -> str:
        return self.upload.history_report_key(stamp)


def is_quarantined(key: str) -> bool:
    """Whether `key` is a quarantined copy (`Quarantined.parse` takes it)."""
    try:
        Quarantined.parse(key)
    except ValueError:
        return False
    return True
