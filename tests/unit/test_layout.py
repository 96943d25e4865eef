"""The bucket layout: `incoming/<dataset>/<rest>` and every key derived from it, and the way back."""

from __future__ import annotations

import dataclasses
import re

import pytest

from etl_common.layout import (
    UNKNOWN_DATASET,
    Quarantined,
    Upload,
    event_key,
    is_report,
    parquet_prefix,
    report_key,
    s3_uri,
)


@pytest.mark.parametrize(("key", "dataset", "rest"), [
    ("incoming/orders/orders-2026-11-20.csv", "orders", "orders-2026-11-20.csv"),
    ("incoming/orders/2026/11/20/part-1.csv", "orders", "2026/11/20/part-1.csv"),
    ("incoming/customers/a/b.csv", "customers", "a/b.csv"),
    ("incoming/file.csv", UNKNOWN_DATASET, "file.csv"),
    ("incoming/orders/Q4 ventes été.csv", "orders", "Q4 ventes été.csv"),
    ("incoming/données clients/fichier n°1.csv", "données clients", "fichier n°1.csv"),
    ("incoming/orders/a+b%20c.csv", "orders", "a+b%20c.csv"),
])
def test_parse(key, dataset, rest):
    upload = Upload.parse(key)
    assert (upload.key, upload.dataset, upload.rest) == (key, dataset, rest)
    assert not upload.is_folder_marker


def test_unknown_dataset_is_underscored():
    assert UNKNOWN_DATASET == "_unknown"


def test_folder_markers():
    upload = Upload.parse("incoming/orders/")
    assert upload.is_folder_marker
    assert (upload.dataset, upload.rest) == ("orders", "")
    assert Upload.parse("incoming/orders/2026/").is_folder_marker
    assert Upload.parse("incoming/").is_folder_marker
    assert Upload.parse("incoming/").dataset == UNKNOWN_DATASET


def test_empty_dataset_folder_is_unknown():
    assert Upload.parse("incoming//file.csv").dataset == UNKNOWN_DATASET


@pytest.mark.parametrize(("key", "marker"), [
    ("incoming/orders/_SUCCESS", True), ("incoming/orders/.keep", True),
    ("incoming/orders/2026/_started", True), ("incoming/.hidden", True),
    ("incoming/orders/orders.csv", False), ("incoming/orders/my_file.csv", False),
    ("incoming/_orders/x.csv", False),
])
def test_marker_names(key, marker):
    assert Upload.parse(key).is_marker_name() is marker


@pytest.mark.parametrize(("key", "error", "accepted_report", "rejects"), [
    ("incoming/orders/orders-2026-11-20.csv", "error/orders/orders-2026-11-20.csv",
     "reports/orders/orders-2026-11-20.csv.report.json", "error/orders/orders-2026-11-20.rejects.csv"),
    ("incoming/orders/2026/11/x.csv.gz", "error/orders/2026/11/x.csv.gz",
     "reports/orders/2026/11/x.csv.gz.report.json", "error/orders/2026/11/x.rejects.csv"),
    ("incoming/file.csv", "error/_unknown/file.csv", "reports/_unknown/file.csv.report.json",
     "error/_unknown/file.rejects.csv"),
    ("incoming/readings/day.txt", "error/readings/day.txt", "reports/readings/day.txt.report.json",
     "error/readings/day.txt.rejects.csv"),
    ("incoming/orders/Q4 ventes été.csv", "error/orders/Q4 ventes été.csv",
     "reports/orders/Q4 ventes été.csv.report.json", "error/orders/Q4 ventes été.rejects.csv"),
])
def test_derived_keys(key, error, accepted_report, rejects):
    upload = Upload.parse(key)
    assert (upload.error_key, upload.accepted_report_key, upload.rejects_key) == (error, accepted_report, rejects)


@pytest.mark.parametrize("name", ["twice*.csv", "a?.csv", "[x].csv", "{a,b}.csv", "back\\slash.csv",
                                  "c:d.csv", "..csv", "été.csv", "_x.csv", "(1).csv", "x" * 900 + ".csv"])
def test_staged_keys_are_short_ascii_and_no_path_pattern(name):
    """Spark reads a staged key as a Hadoop path: a glob, `:` or `..` in it would read other files
    or fail. The staged key is the source id and a digest of the version, never the name."""
    upload = Upload.parse(f"incoming/orders/{name}")
    key = upload.staged_key("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")
    assert re.fullmatch(r"staging/orders/[A-Za-z0-9][A-Za-z0-9._-]{0,59}-[0-9a-f]{12}-[0-9a-f]{12}\.csv", key), key
    assert key != upload.staged_key("another-version") and len(key) < 120
    assert Upload.parse("incoming/orders/x.csv.gz").staged_key(None).endswith(".csv.gz")


def test_report_keys_sit_beside_their_data():
    assert report_key("error/orders/x.csv") == "error/orders/x.csv.report.json"
    assert report_key("error/orders/x.rejects.csv") == "error/orders/x.rejects.csv.report.json"
    assert is_report(report_key("error/orders/x.csv")) and not is_report("error/orders/x.csv")
    assert is_report(Upload.parse("incoming/orders/x.csv").accepted_report_key)


def test_parquet_prefix_and_uris():
    assert parquet_prefix("orders") == "transformed/orders/"
    assert s3_uri("etl-data", parquet_prefix("orders")) == "s3://etl-data/transformed/orders/"


@pytest.mark.parametrize(("delivered", "key"), [
    ("incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv", "incoming/orders/Q4 ventes été.csv"),
    ("incoming/orders/a%2Bb.csv", "incoming/orders/a+b.csv"),
    ("incoming/orders/plain.csv", "incoming/orders/plain.csv"),
])
def test_event_key_decodes_what_s3_encodes(delivered, key):
    assert event_key(delivered) == key


def test_source_id_is_deterministic_readable_and_distinct():
    first = Upload.parse("incoming/orders/orders-2026-11-20.csv").source_id
    assert first == Upload.parse("incoming/orders/orders-2026-11-20.csv").source_id
    assert re.fullmatch(r"orders-2026-11-20-[0-9a-f]{12}", first)
    # the same name in another folder, or another dataset, is another source
    assert first != Upload.parse("incoming/orders/2026/orders-2026-11-20.csv").source_id
    assert first != Upload.parse("incoming/other/orders-2026-11-20.csv").source_id


@pytest.mark.parametrize("key", ["incoming/orders/Q4 ventes été.csv", "incoming/orders/" + "x" * 200 + ".csv",
                                 "incoming/orders/.csv", "incoming/orders/a/b c+d.csv.gz"])
def test_source_id_is_filesystem_safe(key):
    source_id = Upload.parse(key).source_id
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,60}-[0-9a-f]{12}", source_id), source_id


def test_quarantined_goes_back_to_incoming():
    quarantined = Quarantined.parse("error/orders/2026/x.csv")
    assert (quarantined.dataset, quarantined.rest) == ("orders", "2026/x.csv")
    assert quarantined.incoming_key == "incoming/orders/2026/x.csv"
    assert quarantined.report_key == "error/orders/2026/x.csv.report.json"
    assert Quarantined.parse("error/_unknown/loose.csv").incoming_key == "incoming/_unknown/loose.csv"


def test_quarantined_round_trips_an_upload():
    upload = Upload.parse("incoming/orders/Q4 ventes été.csv")
    quarantined = Quarantined.parse(upload.error_key)
    assert quarantined.incoming_key == upload.key
    assert quarantined.report_key == report_key(upload.error_key)


def test_history_report_key():
    quarantined = Quarantined.parse("error/orders/2026/x.csv")
    assert quarantined.history_report_key("20261120T100000Z") == (
        "reports/orders/history/2026/x.csv.20261120T100000Z.report.json")


def test_quarantined_must_be_under_error():
    with pytest.raises(ValueError, match="not under error/"):
        Quarantined.parse("incoming/orders/x.csv")


def test_keys_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Upload.parse("incoming/orders/x.csv").dataset = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quarantined.parse("error/orders/x.csv").dataset = "other"  # type: ignore[misc]
