"""Properties: whatever the mix of uploads, duplicate deliveries and transient faults, every
object version ends in exactly one place with exactly one notification, and no Parquet row is
written twice; whatever names collide (reserved suffixes, folders, versions of one key), no
object the pipeline wrote for one upload is replaced by another's. Bounded and seeded for
`make test`; `make soak` runs many more examples."""

from __future__ import annotations

import gzip
import io
import json
import os
import uuid

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from etl_common.layout import Upload

from .conftest import ROOT, exists, keys

pytestmark = pytest.mark.workflow
SAMPLES = {"good": ROOT / "samples" / "orders" / "orders-2026-11-20.csv",
           "bad": ROOT / "samples" / "orders" / "orders-bad.csv"}
GOOD_ROWS = 6
TRANSIENT_FAULTS = [
    None,
    ("lambda", "Invoke", "ServiceException"),
    ("lambda", "Invoke", "TooManyRequestsException"),
    ("s3", "DeleteObject", "InternalError"),
    ("s3", "CopyObject", "SlowDown"),
    ("sns", "Publish", "InternalError"),
    ("glue", "StartCrawler", "CrawlerRunningException"),
    ("glue", "StartJobRun", "ConcurrentRunsExceededException"),
    ("dynamodb", "PutItem", "ProvisionedThroughputExceededException"),
]
uploads = st.lists(st.tuples(st.sampled_from(sorted(SAMPLES)), st.booleans(), st.sampled_from(TRANSIENT_FAULTS)),
                   min_size=1, max_size=4)


def _parquet_rows(s3, bucket: str, parquet_keys: list[str]) -> int:
    return sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
               for k in parquet_keys)


# Each example runs the whole pipeline, so no shrinking: a failure prints its plan as it is.
@settings(max_examples=int(os.environ.get("SOAK_EXAMPLES", "3")), deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow],
          print_blob=True)
@given(uploads)
def test_every_version_ends_in_one_place_with_one_notification(stack, tmp_path_factory, plan):
    s3 = stack.client("s3")
    run = uuid.uuid4().hex[:8]
    folder = tmp_path_factory.mktemp(f"prop-{run}")
    files = []
    for i, (kind, duplicate, fault) in enumerate(plan):
        path = folder / f"prop-{run}-{i}-{kind}.csv"
        path.write_bytes(SAMPLES[kind].read_bytes())
        files.append((path, f"incoming/orders/{path.name}"))
        stack.duplicate_deliveries += duplicate
        if fault:
            stack.faults.add(*fault)

    results = stack.run_files(files, timeout=900)
    for (kind, _, _), (path, key), result in zip(plan, files, results):
        expected = "processed" if kind == "good" else "rejected"
        assert result["outcome"] == expected, (plan, result)
        handled = [a for a in stack.executions[key] if "Duplicate" not in stack.states(a)]
        assert len(handled) == 1, (key, stack.executions[key])
        assert len([n for n in stack.notifications if n["attributes"]["key"] == key]) == 1
        assert not exists(s3, stack.bucket, key)
        assert bool(keys(s3, stack.bucket, f"staging/orders/{Upload.parse(key).source_id}-")) == (kind == "good")
        quarantined = [] if kind == "good" else [f"error/orders/{path.name}"]
        assert keys(s3, stack.bucket, f"error/orders/{path.name}") == quarantined
        assert exists(s3, stack.bucket, Upload.parse(key).error_report_key) == (kind != "good")
        if kind == "good":
            assert _parquet_rows(s3, stack.bucket, result["parquet_keys"]) == GOOD_ROWS
    stack.faults.clear()
    stack.duplicate_deliveries = 0


def _versions(s3, bucket: str, key: str) -> list[dict]:
    return [v for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            for v in page.get("Versions", []) if v["Key"] == key]


# Upload keys that collide once a suffix, a folder or a version is taken into account: a report's
# or a rejects file's name, a gzip twin, a loose file and the `_unknown` folder, a history-like
# name; the same key may be uploaded again (a second version).
FOLDERS = ["incoming/orders/", "incoming/_unknown/", "incoming/"]
NAMES = ["{r}.csv", "{r}.csv.gz", "{r}.rejects.csv", "{r}.csv.report.json", "history/{r}.csv.20261130T000000Z"]
colliding_uploads = st.lists(st.tuples(st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.sampled_from(sorted(SAMPLES))),
                             min_size=2, max_size=5)


@settings(max_examples=int(os.environ.get("SOAK_EXAMPLES", "3")), deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow],
          print_blob=True)
@given(colliding_uploads)
def test_colliding_names_and_versions_each_end_in_their_own_place(stack, plan):
    """Every version of every upload ends in exactly one place with its own report and one
    notification, and no object the pipeline wrote for one upload is replaced by another's."""
    s3 = stack.client("s3")
    run = f"c{uuid.uuid4().hex[:8]}"
    uploaded: dict[str, dict[str, str]] = {}  # key -> version id -> sample kind
    for folder, name, kind in plan:
        key = folder + name.format(r=run)
        body = SAMPLES[kind].read_bytes()
        if key.endswith(".gz"):
            body = gzip.compress(body, mtime=0)
        version = s3.put_object(Bucket=stack.bucket, Key=key, Body=body)["VersionId"]
        uploaded.setdefault(key, {})[version] = kind

    producers: dict[str, set[str]] = {}  # each object the pipeline wrote -> the uploads it was for
    for key, versions in uploaded.items():
        arns = stack.wait(key, timeout=900, count=len(versions))
        results = {r["version_id"]: r for r in map(stack.outcome, arns)}
        assert set(results) == set(versions), (plan, key, results)
        for version, kind in versions.items():
            result = results[version]
            known = key.startswith("incoming/orders/")
            assert result["outcome"] == ("processed" if known and kind == "good" else "rejected"), (plan, result)
            [note] = result["notifications"]
            assert (note["attributes"]["key"], note["message"]["version_id"]) == (key, version)
            reports = [json.loads(s3.get_object(Bucket=stack.bucket, Key=result["report_key"],
                                                VersionId=v["VersionId"])["Body"].read())
                       for v in _versions(s3, stack.bucket, result["report_key"])]
            assert [r["key"] for r in reports if r["version_id"] == version] == [key], (plan, result)
            if result["outcome"] == "processed":
                assert exists(s3, stack.bucket, result["staging_key"])
            else:
                copy = s3.head_object(Bucket=stack.bucket, Key=result["error_key"],
                                      VersionId=note["message"]["error_version_id"])
                assert copy["Metadata"]["source-version-id"] == version
            for written in (result["report_key"], result["staging_key"], result["error_key"], result["rejects_key"]):
                if written:
                    producers.setdefault(written, set()).add(key)
        assert not exists(s3, stack.bucket, key)
    shared = {written: sorted(keys_) for written, keys_ in producers.items() if len(keys_) > 1}
    assert not shared, (plan, shared)
