"""Zone keys: `incoming/<dataset>/<rest>` maps to `<zone>/<dataset>/<rest>`."""

from __future__ import annotations

import pytest

from etl_common.keys import UNKNOWN_DATASET, ObjectKey


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
    where = ObjectKey.parse(key)
    assert (where.key, where.dataset, where.rest) == (key, dataset, rest)
    assert not where.is_folder_marker


def test_unknown_dataset_is_underscored():
    assert UNKNOWN_DATASET == "_unknown"


def test_folder_markers():
    where = ObjectKey.parse("incoming/orders/")
    assert where.is_folder_marker
    assert (where.dataset, where.rest) == ("orders", "")
    assert ObjectKey.parse("incoming/orders/2026/").is_folder_marker
    assert ObjectKey.parse("incoming/").is_folder_marker
    assert ObjectKey.parse("incoming/").dataset == UNKNOWN_DATASET


def test_empty_dataset_folder_is_unknown():
    where = ObjectKey.parse("incoming//file.csv")
    assert where.dataset == UNKNOWN_DATASET


@pytest.mark.parametrize(("key", "zone", "expected"), [
    ("incoming/orders/orders-2026-11-20.csv", "staging", "staging/orders/orders-2026-11-20.csv"),
    ("incoming/orders/orders-2026-11-20.csv", "error", "error/orders/orders-2026-11-20.csv"),
    ("incoming/orders/2026/11/x.csv", "reports", "reports/orders/2026/11/x.csv"),
    ("incoming/file.csv", "error", "error/_unknown/file.csv"),
    ("incoming/orders/Q4 ventes été.csv", "staging", "staging/orders/Q4 ventes été.csv"),
])
def test_in_zone(key, zone, expected):
    assert ObjectKey.parse(key).in_zone(zone) == expected


def test_in_zone_round_trips_to_the_same_dataset_and_rest():
    moved = ObjectKey.parse("incoming/orders/2026/x.csv").in_zone("staging")
    again = ObjectKey.parse("incoming/" + moved.split("/", 1)[1])
    assert (again.dataset, again.rest) == ("orders", "2026/x.csv")


def test_object_key_is_frozen():
    where = ObjectKey.parse("incoming/orders/x.csv")
    with pytest.raises(AttributeError):
        where.dataset = "other"  # type: ignore[misc]
