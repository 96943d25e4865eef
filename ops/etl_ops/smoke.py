"""A post-deploy smoke test of a stack, in AWS or on the local stack (`etl-local smoke`).

It subscribes a temporary SQS queue to the stack's notification topic, uploads a small set of
files whose names and contents have broken pipelines like this one (keys with `+`, `%`, spaces,
`*`, `[`, `:` and non-ASCII letters; a file of bad rows; a gzip file; the same key uploaded
twice), waits until each uploaded object version's one notification has arrived, and checks its
outcome. Then it removes what it uploaded and what the pipeline derived from it (every version
of the uploaded, staged and quarantined objects, reports, rejects and the Parquet files named by
its source id), the subscription and the queue. Batch manifests, catalog partitions and the
claims of the processed-objects table are shared with other files or expire, and stay.

When a notification is missing (timeout, interrupt) nothing is removed: the pipeline may still
be working on the file, and deleting under it would make it fail. `--clean-up RUN_ID` removes a
run's objects later; the keys are derived from the run id alone.

SNS delivers to an SQS queue of the same account once the queue's policy lets the topic send
(`aws:SourceArn`), "Subscribing an Amazon SQS queue to an Amazon SNS topic",
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html. SNS and SQS
deliver at least once: a message seen twice (the same SNS MessageId) counts once.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from etl_common.event_object import key_candidates
from etl_common.layout import STAGING, Upload, incoming_key, parquet_prefix, parse_s3_uri
from etl_common.vocabulary import Outcome

DATASET = "orders"
SAMPLES = Path("samples") / DATASET
PASS, FAIL, WAITING = "PASS", "FAIL", "TIMEOUT"


class StackNotUsable(Exception):
    """The stack has no DataBucketName or NotificationTopicArn output."""


@dataclass
class Case:
    """One upload: what it checks, its key, its bytes, the outcome it must get, and how many
    times it is uploaded (each upload is an object version with its own notification)."""

    checks: str
    key: str
    body: bytes
    expected: Outcome
    uploads: int = 1
    version_ids: list[str | None] = field(default_factory=list)
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)  # SNS MessageId -> message

    def versions_notified(self) -> list[str | None]:
        return [n.get("version_id") for n in self.notifications.values()]

    @property
    def complete(self) -> bool:
        return len(self.notifications) >= self.uploads

    @property
    def result(self) -> str:
        """PASS: one notification per uploaded version, each with the expected outcome; FAIL: a
        wrong outcome, a version notified twice or one never uploaded; TIMEOUT: still waiting."""
        notified = self.versions_notified()
        if (len(notified) > self.uploads or len(set(notified)) < len(notified)
                or any(n.get("outcome") != self.expected for n in self.notifications.values())
                or (None not in self.version_ids and not set(notified) <= set(self.version_ids))):
            return FAIL
        return PASS if self.complete else WAITING


def cases(root: Path, run_id: str) -> list[Case]:
    """The uploads, under `incoming/orders/smoke-<run id>-...` so that they never meet real files.
    Raises FileNotFoundError when `root` has no `samples/orders/`."""
    good = (root / SAMPLES / "orders-2026-11-20.csv").read_bytes()
    bad = (root / SAMPLES / "orders-bad.csv").read_bytes()

    def key(name: str) -> str:
        return incoming_key(DATASET, f"smoke-{run_id}-{name}")

    return [
        Case("plus, space and a percent escape", key("a+b c%41.csv"), good, Outcome.PROCESSED),
        Case("a lone percent sign", key("100%.csv"), good, Outcome.PROCESSED),
        Case("glob characters", key("star*[1].csv"), good, Outcome.PROCESSED),
        Case("a colon", key("a:b.csv"), good, Outcome.PROCESSED),
        Case("non-ASCII letters", key("Q4 ventes été.csv"), good, Outcome.PROCESSED),
        Case("bad rows", key("bad.csv"), bad, Outcome.REJECTED),
        Case("gzip", key("orders.csv.gz"), gzip.compress(good, mtime=0), Outcome.PROCESSED),
        Case("the same key twice", key("twice.csv"), good, Outcome.PROCESSED, uploads=2),
    ]


def stack_outputs(cloudformation: Any, stack_name: str) -> tuple[str, str]:
    """The stack's data bucket and notification topic ARN. Raises StackNotUsable."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = [name for name in ("DataBucketName", "NotificationTopicArn") if name not in outputs]
    if missing:
        raise StackNotUsable(f"stack {stack_name} has no {' or '.join(missing)} output")
    return outputs["DataBucketName"], outputs["NotificationTopicArn"]


class Subscription:
    """A queue subscribed to the topic for the run; `close()` unsubscribes and deletes it."""

    def __init__(self, sqs: Any, sns: Any, topic_arn: str, name: str) -> None:
        self.sqs, self.sns, self.subscription = sqs, sns, None
        self.url = sqs.create_queue(QueueName=name, Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
        sqs.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": json.dumps(policy)})
        self.subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                          ReturnSubscriptionArn=True)["SubscriptionArn"]

    def messages(self, wait_seconds: int) -> list[tuple[str, dict[str, Any]]]:
        """(SNS MessageId, the pipeline's JSON message) for each notification received; every
        message is deleted from the queue (alarms share the topic and are skipped)."""
        received = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=wait_seconds).get("Messages", [])
        found = []
        for message in received:
            try:
                envelope = json.loads(message["Body"])
                body = json.loads(envelope["Message"])
                if isinstance(body, dict):
                    found.append((str(envelope.get("MessageId")), body))
            except (ValueError, KeyError, TypeError):
                pass
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def close(self) -> None:
        if self.subscription:
            self.sns.unsubscribe(SubscriptionArn=self.subscription)
        self.sqs.delete_queue(QueueUrl=self.url)


class SmokeTest:
    """One run against one stack. `run()` fills `cases` as notifications arrive, so a caller
    that is interrupted can still show what arrived; `left` lists what could not be removed."""

    def __init__(self, session: Any, stack_name: str, root: Path, *, endpoint_url: str | None = None,
                 run_id: str | None = None, log: Callable[[str], None] = print) -> None:
        self.session, self.stack_name, self.endpoint_url, self.log = session, stack_name, endpoint_url, log
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.cases = cases(root, self.run_id)
        self.bucket, self.topic = stack_outputs(self._client("cloudformation"), stack_name)
        self.s3 = self._client("s3")
        self.left: list[str] = []
        self.removed = 0

    def _client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    @property
    def complete(self) -> bool:
        return all(case.complete for case in self.cases)

    def run(self, timeout: float = 1800, keep: bool = False, settle_seconds: float = 0) -> None:
        """Subscribe, wait `settle_seconds` (a new subscription's queue policy may take a moment
        before SNS can deliver), upload, wait up to `timeout` seconds for every notification,
        then clean up: unless `keep`, and only when every notification arrived."""
        subscription = None
        try:
            subscription = Subscription(self._client("sqs"), self._client("sns"), self.topic,
                                        f"{self.stack_name[:60]}-smoke-{self.run_id}")
            time.sleep(settle_seconds)
            for case in self.cases:
                for _ in range(case.uploads):
                    put = self.s3.put_object(Bucket=self.bucket, Key=case.key, Body=case.body)
                    case.version_ids.append(put.get("VersionId"))
            self.log(f"run {self.run_id}: uploaded {sum(c.uploads for c in self.cases)} object(s) to "
                     f"s3://{self.bucket}/{incoming_key(DATASET, f'smoke-{self.run_id}-')}*; waiting for "
                     f"their notifications")
            self._wait(subscription, timeout)
        finally:
            if keep:
                self.log(f"run {self.run_id}: --keep: the uploads and what the pipeline made of them stay")
            elif not self.complete:
                self.log(f"run {self.run_id}: not every notification arrived, so nothing was removed (the "
                         f"pipeline may still be working on the files). Once it is done: etl-local smoke "
                         f"--stack {self.stack_name} --clean-up {self.run_id}")
            else:
                self.clean_up()
            if subscription is not None:
                try:
                    subscription.close()
                except Exception as exc:  # the run's result stands; say what to delete by hand
                    self.log(f"run {self.run_id}: could not remove the queue {subscription.url} or its "
                             f"subscription: {exc}")

    def _wait(self, subscription: Subscription, timeout: float) -> None:
        by_key = {case.key: case for case in self.cases}
        deadline = time.monotonic() + timeout
        while not self.complete and time.monotonic() < deadline:
            wait = min(10, max(1, int(deadline - time.monotonic())))
            for message_id, message in subscription.messages(wait_seconds=wait):
                # a failure before any function ran names the key as the event delivered it
                case = next((by_key[k] for k in key_candidates(str(message.get("key"))) if k in by_key), None)
                if case is not None:
                    case.notifications.setdefault(message_id, message)

    def clean_up(self) -> None:
        """Delete every version and delete marker of each key the run touched; `removed` counts
        them, `left` names those S3 refused to delete."""
        for key in sorted(self.derived_keys()):
            versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket,
                                                                                           Prefix=key)
                        for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]
            for start in range(0, len(versions), 1000):
                answer = self.s3.delete_objects(Bucket=self.bucket,
                                                Delete={"Objects": versions[start:start + 1000], "Quiet": True})
                errors = answer.get("Errors", [])
                self.left += [f"{e.get('Key')} ({e.get('VersionId')}): {e.get('Code')}" for e in errors]
                self.removed += len(versions[start:start + 1000]) - len(errors)
        self.log(f"run {self.run_id}: removed {self.removed} object version(s) the run uploaded or produced"
                 + (f"; {len(self.left)} could not be removed" if self.left else ""))

    def derived_keys(self) -> set[str]:
        """The run's keys: each upload, what the layout derives from its key (error copy,
        reports, rejects, staged objects and Parquet files named by its source id) and what the
        notifications name."""
        keys: set[str] = set()
        own: dict[str, set[str]] = {}  # dataset -> the uploads' source ids
        for case in self.cases:
            upload = Upload.parse(case.key)
            keys |= {case.key, *upload.derived_keys().values()}
            own.setdefault(upload.dataset, set()).add(f"{upload.source_id}-")
            for note in case.notifications.values():
                keys |= {note[name] for name in ("staging_key", "error_key", "report_key", "rejects_key")
                         if isinstance(note.get(name), str)}
                if isinstance(note.get("report_uri"), str) and note["report_uri"].startswith(f"s3://{self.bucket}/"):
                    keys.add(parse_s3_uri(note["report_uri"])[1])
        for dataset, ids in own.items():
            # staged objects start with the source id; Parquet files are below partition folders
            prefixes = [f"{STAGING}{dataset}/{source_id}" for source_id in sorted(ids)] + [parquet_prefix(dataset)]
            for prefix in prefixes:
                keys |= {o["Key"] for page in self.s3.get_paginator("list_objects_v2").paginate(
                             Bucket=self.bucket, Prefix=prefix)
                         for o in page.get("Contents", []) if o["Key"].rsplit("/", 1)[-1].startswith(tuple(ids))}
        return keys


def table(cases_run: list[Case]) -> str:
    """The result table: one row per case."""
    rows = [("RESULT", "CHECKS", "KEY", "EXPECTED", "GOT")]
    for case in cases_run:
        got = ", ".join(str(n.get("outcome")) for n in case.notifications.values()) or "no notification yet"
        rows.append((case.result, case.checks, case.key.rsplit("/", 1)[-1],
                     f"{case.expected} x{case.uploads}" if case.uploads > 1 else str(case.expected), got))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
