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
from etl_validator.contract import find_contract, parse_contract
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


NOTES = {"dataset": "notes", "columns": [{"name": "id", "type": "integer"}, {"name": "note", "type": "string"}]}


def notes(*fields: str, **dialect: str) -> Reading:
    text = "id,note\n" + "".join(f"{i},{field}\n" for i, field in enumerate(fields, start=1))
    return validate(InMemory("notes.csv", text.encode()), parse_contract(NOTES | {"dialect": dialect}, "notes.yaml"))


@pytest.mark.parametrize("field", ['"say \\"hi\\""', '"\\"quoted\\" at the start"', '"x \\"\\" y"'])
def test_backslash_escaped_quotes_are_an_undeclared_escape(field):
    reading = notes('"plain"', field)
    assert reasons(reading) == [Reason.UNDECLARED_ESCAPE]
    assert "add escape_char: '\\' to it (first: note, row 2: " in reading.report.to_list()[0]["cases"][0]["value"]
    assert reading.report.failed_row_count == 0 and reading.report.file_level


@pytest.mark.parametrize("field", [
    '"C:\\dir\\"', "C:\\dir\\", 'a \\ b', '"say ""hi"""', '"{""a"": ""say \\""hi\\""""}"'])
def test_values_a_doubled_quote_file_may_hold_are_not_escapes(field):
    """A trailing backslash, a lone one, doubled quotes, JSON in a well-quoted field: RFC 4180 values."""
    assert notes(field).report.ok


def test_undeclared_escape_is_reported_once_with_the_first_value():
    reading = notes('"say \\"hi\\""', '"and \\"again\\""')
    [failure] = reading.report.to_list()
    assert (failure["check"], failure["count"], failure["column"]) == ("row.escapes", 1, None)
    assert failure["cases"][0]["value"].endswith('(first: note, row 1: say \\hi\\"")')


def test_only_string_columns_are_searched():
    """Another type's value fails its cast: the rows say so."""
    source = InMemory("notes.csv", b'id,note\n"1\\"2\\"",x\n')
    reading = validate(source, parse_contract(NOTES, "notes.yaml"))
    assert reasons(reading) == [Reason.WRONG_TYPE]


def test_a_declared_escape_char_reads_the_values_as_written():
    assert notes('"say \\"hi\\""', "C:\\\\dir\\\\", escape_char="\\").report.ok


def _counting_gunzip(monkeypatch) -> list[int]:
    """Bytes each pass decompressed: source._gunzip, wrapped."""
    from etl_validator import source
    produced, gunzip = [], source._gunzip

    def counted(chunks, max_bytes):
        produced.append(0)
        for chunk in gunzip(chunks, max_bytes):
            produced[-1] += len(chunk)
            yield chunk
    monkeypatch.setattr(source, "_gunzip", counted)
    return produced


AB = parse_contract({"dataset": "t", "columns": [{"name": "a", "type": "string"},
                                                 {"name": "b", "type": "string"}],
                     "max_bytes": "16 MiB"}, "t.yaml")


def test_a_gzip_bomb_stops_at_max_bytes_of_decompressed_text(monkeypatch):
    produced = _counting_gunzip(monkeypatch)
    data = gzip.compress(b"a,b\n" + b"0,0\n" * (16 << 20))  # 64 MiB of rows in 150 KB
    reading = validate(InMemory("bomb.csv.gz", data), AB)
    assert reasons(reading) == [Reason.FILE_TOO_LARGE] and reading.checksum is None
    assert "once decompressed" in reading.report.to_list()[0]["cases"][0]["value"]
    assert produced == [16 << 20]


def test_a_one_line_gzip_bomb_is_refused_without_inflating_it_all(monkeypatch):
    """64 MiB of one field: whichever limit meets it first (max_bytes, or a record too large for
    the reader), neither pass inflates it all."""
    produced = _counting_gunzip(monkeypatch)
    reading = validate(InMemory("bomb.csv.gz", gzip.compress(b"a,b\n" + b"0" * (64 << 20))), AB)
    assert set(reasons(reading)) <= {Reason.FILE_TOO_LARGE, Reason.FIELD_TOO_LARGE} and reasons(reading)
    assert produced and all(n <= (16 << 20) + (1 << 20) for n in produced)
