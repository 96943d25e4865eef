"""The sample events in events/ are what S3 sends to EventBridge, and what the validator parses."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BUCKET = "example-data-bucket"

# file -> (decoded key, sample file whose bytes the event describes)
EXPECTED = {
    "object-created-good.json": ("incoming/orders/orders-2026-11-20.csv", "samples/orders/orders-2026-11-20.csv"),
    "object-created-bad.json": ("incoming/orders/orders-bad.csv", "samples/orders/orders-bad.csv"),
    "object-created-unicode.json": ("incoming/orders/Q4 ventes été.csv", "samples/orders/orders-2026-11-20.csv"),
    "start-execution.json": ("incoming/orders/orders-2026-11-20.csv", "samples/orders/orders-2026-11-20.csv"),
}


def _load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_every_event_file_is_covered():
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_parses_as_s3_eventbridge_notification(name):
    raw = _load(name)
    event = parse(event=raw, model=S3EventNotificationEventBridgeModel)
    key, sample = EXPECTED[name]
    assert event.source == "aws.s3"
    assert event.detail_type == "Object Created"
    assert event.detail.reason == "PutObject"
    assert event.detail.bucket.name == BUCKET
    assert event.resources == [f"arn:aws:s3:::{BUCKET}"]
    assert unquote_plus(event.detail.object.key) == key
    assert event.detail.object.size == (ROOT / sample).stat().st_size, f"{name}: size is not {sample}'s"
    assert event.detail.object.version_id, f"{name}: no version-id"
    assert raw["detail"]["object"]["etag"] == event.detail.object.etag


def test_start_execution_input_has_the_good_event_shape():
    good, start = _load("object-created-good.json"), _load("start-execution.json")
    assert start == good


def test_unicode_key_is_encoded_the_way_s3_encodes_it():
    encoded = _load("object-created-unicode.json")["detail"]["object"]["key"]
    # S3 URL-encodes keys in notifications: spaces as '+', non-ASCII as %-encoded UTF-8, '/' kept.
    assert encoded == "incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv"
    assert unquote_plus(encoded) == "incoming/orders/Q4 ventes été.csv"
    assert " " not in encoded and encoded.isascii()
