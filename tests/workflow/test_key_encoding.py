"""Object keys delivered URL-encoded (as S3 documents for its notifications) or raw (the
EventBridge event's encoding is not documented): on the whole state machine, each upload is
validated, staged or quarantined under its own key, with one notification, either way."""

from __future__ import annotations

import pytest

from etl_common.layout import Upload

from .conftest import ROOT, exists, single_notification

pytestmark = pytest.mark.workflow
GOOD = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
BAD = ROOT / "samples" / "orders" / "orders-bad.csv"
# name -> expected outcome. Raw, `a+b c%41.csv` decodes to `a b cA.csv`, which is uploaded too
# (rejected: bad rows), so only the event's version id tells the two apart.
NAMES = {"a+b c%41.csv": "processed", "a b cA.csv": "rejected", "100%.csv": "processed",
         "Q4 ventes été.csv": "processed"}


@pytest.fixture(params=["url", "raw"])
def key_encoding(request, stack):
    """The stack's bridge delivers keys URL-encoded, then raw (`LocalStack(key_encoding=...)`)."""
    saved = stack.key_encoding
    stack.key_encoding = request.param
    yield request.param
    stack.key_encoding = saved


def test_each_key_is_handled_under_its_own_key_either_way(stack, s3, tmp_path, key_encoding):
    files = []
    for i, (name, outcome) in enumerate(NAMES.items()):
        path = tmp_path / f"upload-{i}.csv"
        path.write_bytes((GOOD if outcome == "processed" else BAD).read_bytes())
        files.append((path, f"incoming/orders/keys-{key_encoding}/{name}"))

    results = stack.run_files(files, timeout=240)

    for (_, key), result in zip(files, results):
        expected = NAMES[key.rsplit("/", 1)[-1]]
        assert result["outcome"] == expected, (key, result["error"], result["states"])
        assert result["key"] == key and result["dataset"] == "orders"
        upload = Upload.parse(key)
        if expected == "processed":
            assert result["staging_key"] == upload.staged_key(result["version_id"])
            assert exists(s3, stack.bucket, result["staging_key"])
            assert result["parquet_keys"] and all(upload.source_id in k for k in result["parquet_keys"])
        else:
            assert result["error_key"] == upload.error_key == f"error/orders/keys-{key_encoding}/a b cA.csv"
            assert exists(s3, stack.bucket, result["error_key"])
        assert not exists(s3, stack.bucket, key)  # moved; the upload stays a noncurrent version
        single_notification(result, expected, key)
