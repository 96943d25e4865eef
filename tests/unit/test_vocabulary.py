"""Reason codes are a public vocabulary: docs/report.md explains exactly the codes there are.

Every reason the validator (and the mover) can write is a `Reason` member, since their code
takes no other type; this keeps the members and their documentation one set.
"""

from __future__ import annotations

import json
import re

from etl_common.vocabulary import Outcome, Reason
from tests.helpers import ROOT

REPORT_DOC = ROOT / "docs" / "report.md"


def documented_reasons() -> set[str]:
    """The first cell of each table row under `## Reason codes`."""
    section = REPORT_DOC.read_text(encoding="utf-8").split("## Reason codes", 1)[1]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_every_reason_is_documented_and_every_documented_reason_exists():
    assert documented_reasons() == {reason.value for reason in Reason}


def test_codes_are_their_own_json_strings():
    """Reports are written with json.dumps and plans with pydantic: both give the bare code."""
    assert json.dumps([Reason.WRONG_TYPE, Outcome.PROCESSED_WITH_REJECTS]) == '["wrong_type", "processed_with_rejects"]'
    assert f"{Reason.WRONG_TYPE} in amount" == "wrong_type in amount"



def test_notification_subjects_are_always_ones_sns_takes():
    from hypothesis import given, strategies as st

    from etl_common.vocabulary import notification_subject

    @given(st.sampled_from([o.value for o in Outcome]), st.text(max_size=400))
    def check(outcome: str, dataset: str) -> None:
        subject = notification_subject(outcome, dataset)
        assert len(subject) < 100 and subject.isascii() and subject.isprintable()
        assert subject.startswith(f"ETL {outcome}: ")

    check()
    assert notification_subject("rejected", "orders") == "ETL rejected: orders"
    assert notification_subject("failed", "x" * 200).endswith("...")
