"""Property: whatever the mix of uploads, duplicate deliveries and transient faults, every
object version ends in exactly one place with exactly one notification, and no Parquet row is
written twice. Bounded and seeded for `make test`; `make soak` runs many more examples."""

from __future__ import annotations

import io
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
        assert keys(s3, stack.bucket, f"error/orders/{path.name}") == (
            [] if kind == "good" else [f"error/orders/{path.name}", f"error/orders/{path.name}.report.json"])
        if kind == "good":
            assert _parquet_rows(s3, stack.bucket, result["parquet_keys"]) == GOOD_ROWS
    stack.faults.clear()
    stack.duplicate_deliveries = 0
