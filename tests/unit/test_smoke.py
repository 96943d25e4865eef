"""The smoke test's verdict per case: one notification per uploaded version, each as expected."""

from __future__ import annotations

from pathlib import Path

from etl_common.vocabulary import Outcome
from etl_ops.smoke import FAIL, PASS, WAITING, Case, cases

ROOT = Path(__file__).resolve().parents[2]


def case(*notes: tuple[str, str, str], uploads: int = 2) -> Case:
    """A case uploaded as versions v1, v2 with notifications (SNS message id, version, outcome)."""
    made = Case("twice", "incoming/orders/smoke-x-twice.csv", b"", Outcome.PROCESSED, uploads=uploads,
                version_ids=["v1", "v2"][:uploads])
    for message_id, version, outcome in notes:
        made.notifications.setdefault(message_id, {"version_id": version, "outcome": outcome})
    return made


def test_each_version_notified_once_as_expected_passes():
    assert case(("m1", "v1", "processed"), ("m2", "v2", "processed")).result == PASS


def test_a_missing_notification_is_still_waiting():
    assert case(("m1", "v1", "processed")).result == WAITING


def test_a_redelivered_message_counts_once():
    assert case(("m1", "v1", "processed"), ("m1", "v1", "processed")).result == WAITING


def test_one_version_notified_twice_fails_even_with_the_right_count():
    assert case(("m1", "v1", "processed"), ("m2", "v1", "processed")).result == FAIL


def test_a_wrong_outcome_or_an_unknown_version_fails():
    assert case(("m1", "v1", "rejected")).result == FAIL
    assert case(("m1", "v9", "processed")).result == FAIL


def test_the_uploads_are_under_the_run_and_cover_the_tricky_names():
    uploaded = cases(ROOT, "abc")
    assert all(c.key.startswith("incoming/orders/smoke-abc-") for c in uploaded)
    names = "".join(c.key for c in uploaded)
    assert all(ch in names for ch in "+% *[:é")
    assert {c.expected for c in uploaded} == {Outcome.PROCESSED, Outcome.REJECTED}
    assert any(c.key.endswith(".gz") for c in uploaded) and any(c.uploads == 2 for c in uploaded)
