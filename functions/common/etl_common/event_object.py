"""Which object an S3 "Object Created" event names, whether its key arrives URL-encoded or not.

What AWS documents:

- "Event message structure", Amazon S3 User Guide
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
  for the classic notifications (SQS, SNS, Lambda): "The object key name value is URL encoded.
  For example, "red flower.jpg" becomes "red+flower.jpg"".
- "EventBridge event message structure", Amazon S3 User Guide
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), and "Using
  EventBridge" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html), for the
  events this pipeline receives: `detail.object` carries `key`, `size`, `etag`, `version-id` and
  `sequencer`, and the examples' keys (`example-key`) need no encoding. Neither page says
  whether the key is URL-encoded.

So the functions take the key either way, by one deterministic rule (`resolve_key`):

1. The candidates are the key's `unquote_plus` decoding and the key as delivered, in that order,
   or only the key as delivered when decoding changes nothing. `unquote_plus` leaves an invalid
   escape as it is (`100%.csv` stays `100%.csv`: one candidate); nothing is decoded twice
   (`%2541` is `%41`, never `A`).
2. One candidate: it is the key. Nothing is asked of S3; a missing object fails later, as any
   missing object does (the validator's HeadObject, the mover's move).
3. Two candidates: HeadObject of each in order, with the event's `VersionId` when it has one; the
   first that exists is the key. S3 generates the version id of each version it stores, so the
   event's version id is found under one candidate only and the order decides nothing. Without
   one (`"null"`: written while versioning was off) both keys may exist (`a+b.csv` and
   `a b.csv`): the decoded one is preferred, as the documented encoding reads.
4. Neither exists: `EventObjectNotFound`, naming both keys. HeadObject of a missing key answers 403,
   not 404, when the caller may not s3:ListBucket
   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): a 403 is read as "not
   this candidate" only when the other one has the event's version id; otherwise the key cannot
   be told and `EventObjectProbeDenied` says what the role needs.

The validator resolves the event's key with this rule; so does the mover on the failure path when
it is not given the validator's key, so both name the same object.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .layout import event_key

MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
DENIED_CODES = {"403", "AccessDenied", "Forbidden"}


class Probe(enum.Enum):
    """What HeadObject said of one candidate key."""

    FOUND = "found"
    MISSING = "missing"   # 404
    DENIED = "denied"     # 403: missing, when the caller may not s3:ListBucket, or a real denial


class KeyForm(str, enum.Enum):
    """How the resolved key relates to the delivered one."""

    ONLY = "only"                  # decoding changes nothing: one candidate
    DECODED = "decoded"            # the `unquote_plus` decoding of the delivered key
    AS_DELIVERED = "as_delivered"  # the delivered key itself (sent raw)


class EventObjectNotFound(FileNotFoundError):
    """No candidate key holds the event's object (version): it was deleted before it was read."""


class EventObjectProbeDenied(PermissionError):
    """HeadObject answered 403 where the answer decides the key."""


@dataclass(frozen=True)
class ResolvedKey:
    key: str
    form: KeyForm


def key_candidates(delivered: str) -> tuple[str, ...]:
    """The keys an event's `delivered` key may stand for, in the order the rule tries them."""
    decoded = event_key(delivered)  # unquote_plus
    return (decoded, delivered) if decoded != delivered else (delivered,)


def normalize_version(version_id: str | None) -> str | None:
    """The event's `version-id`; `"null"` (an object written while versioning was off) is None."""
    return None if version_id in (None, "", "null") else version_id


def resolve_key(delivered: str, version_id: str | None, probe: Callable[[str], Probe],
                bucket: str = "") -> ResolvedKey:
    """The object key the event's `delivered` key names (the rule in this module's docstring).

    `probe(key)` is HeadObject of `key` (with the event's version id when it has one). Raises
    `EventObjectNotFound` when no candidate exists, `EventObjectProbeDenied` when a 403 leaves
    the key undecided.
    """
    version_id = normalize_version(version_id)
    candidates = key_candidates(delivered)
    if len(candidates) == 1:
        return ResolvedKey(candidates[0], KeyForm.ONLY)
    answers: dict[str, Probe] = {}
    for key, form in zip(candidates, (KeyForm.DECODED, KeyForm.AS_DELIVERED)):
        answers[key] = probe(key)
        if answers[key] is Probe.FOUND:
            return ResolvedKey(key, form)
        if answers[key] is Probe.DENIED and version_id is None:
            break  # without a version id, a denied decoded key may be the preferred one
    what = f"object version {version_id}" if version_id else "object"
    named = f"under {candidates[0]!r} (the delivered key URL-decoded) nor {candidates[1]!r} (as delivered)"
    denied = [key for key, answer in answers.items() if answer is Probe.DENIED]
    if denied:
        raise EventObjectProbeDenied(
            f"s3://{bucket}: cannot tell which key holds the event's {what}: HeadObject was "
            f"denied (403) for {', '.join(repr(k) for k in denied)}. S3 answers 403 for a missing key "
            f"when the caller may not s3:ListBucket; the role needs s3:ListBucket on the bucket "
            f"(s3:prefix incoming/*) and s3:GetObject{'Version' if version_id else ''} on incoming/*")
    raise EventObjectNotFound(
        f"s3://{bucket}: no {what} {named}: it was deleted (or its version expired) "
        f"before it was read")


def s3_probe(s3: Any, bucket: str, version_id: str | None) -> Callable[[str], Probe]:
    """HeadObject of a candidate key in `bucket`, with `version_id` when there is one."""
    version_args = {"VersionId": version_id} if normalize_version(version_id) else {}

    def probe(key: str) -> Probe:
        try:
            s3.head_object(Bucket=bucket, Key=key, **version_args)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in MISSING_CODES or status == 404:
                return Probe.MISSING
            if code in DENIED_CODES or status == 403:
                return Probe.DENIED
            raise
        return Probe.FOUND

    return probe


def locate(s3: Any, bucket: str, delivered: str, version_id: str | None) -> ResolvedKey:
    """The key of the object an S3 event names in `bucket`, asking S3 only when it is ambiguous."""
    return resolve_key(delivered, version_id, s3_probe(s3, bucket, version_id), bucket)
