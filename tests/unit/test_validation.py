"""validate(): the validator's reading of one file, without S3: any object with a key, a size and
a body that reads from the start each time."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from typing import BinaryIO

import pytest

from etl_common.vocabulary import Reason
from etl_validator.contract import find_contract
from etl_validator.validation import Reading, validate
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "hostile"
ORDERS = find_contract(ROOT / "contracts", "orders")


@dataclass
class InMemory:
    """A `validation.Source` over bytes; counts the reads."""

    key: str
    data: bytes
    reads: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    def body(self) -> BinaryIO:
        self.reads.append(1)
        return io.BytesIO(self.data)


def reasons(reading: Reading) -> list[Reason]:
    return [failure["reason"] for failure in reading.report.to_list()]


def test_a_good_file_is_read_once():
    data = (ROOT / "samples" / "orders" / "orders-2026-11-20.csv").read_bytes()
    source = InMemory("orders.csv", data)
    reading = validate(source, ORDERS)
    assert reading.report.ok and reading.rows == 6
    assert (reading.checksum, reading.encoding, reading.compression) == (
        hashlib.sha256(data).hexdigest(), "utf-8", None)
    assert len(source.reads) == 1


def test_ragged_rows_are_placed_by_a_second_read():
    source = InMemory("ragged.csv", (FIXTURES / "ragged.csv").read_bytes())
    reading = validate(source, ORDERS)
    assert reasons(reading) == [Reason.RAGGED_ROWS] and len(source.reads) == 2


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.csv", Reason.EMPTY_FILE), ("workbook.xlsx", Reason.NOT_TEXT), ("utf16.csv", Reason.BAD_ENCODING),
    ("truncated.csv.gz", Reason.BAD_GZIP), ("semicolon.csv", Reason.WRONG_DELIMITER),
])
def test_an_unreadable_file_is_a_report_not_an_exception(name, reason):
    reading = validate(InMemory(name, (FIXTURES / name).read_bytes()), ORDERS)
    assert reasons(reading)[0] is reason
    assert reading.checksum is None


def test_the_size_is_checked_before_reading():
    source = InMemory("too-large.csv", (FIXTURES / "too-large.csv").read_bytes())
    reading = validate(source, dataclasses.replace(ORDERS, max_bytes=100))
    assert reasons(reading) == [Reason.FILE_TOO_LARGE] and not source.reads
    assert (reading.rows, reading.encoding) == (0, None)


def test_gzip_needs_its_suffix():
    data = gzip.compress((ROOT / "samples" / "orders" / "orders-2026-11-20.csv").read_bytes())
    assert validate(InMemory("orders.csv.gz", data), ORDERS).report.ok
    reading = validate(InMemory("orders.csv", data), ORDERS)
    assert reasons(reading) == [Reason.GZIP_WITHOUT_GZ_SUFFIX] and reading.compression == "gzip"
