"""locate: physical line numbers (header = line 1) of ragged records, the last record, oversized fields."""

from __future__ import annotations

import csv

from etl_validator.contract import Dialect
from etl_validator.locate import locate


COMMA = Dialect()


def located(text: str, dialect: Dialect = COMMA, expected: int = 2, limit: int = 1000,
            samples: int = 20):
    return locate(iter([text.encode()]), dialect, expected, limit, samples)


def test_ragged_lines_count_quoted_newlines_and_blank_lines():
    text = 'a,b\n1,"x\ny"\n\n2,3,4\n5\r\n6,7\n8,9,10'
    found = located(text)
    assert found.ragged_lines == [5, 6, 8]
    assert found.last_line == 8 and not found.oversized


def test_header_spanning_lines_is_skipped():
    assert located('"a\nb",c\n1\n').ragged_lines == [3]


def test_without_header_the_first_record_is_data():
    assert located("1\n2,3\n", Dialect(header=False)).ragged_lines == [1]


def test_samples_are_capped():
    assert located("a,b\n" + "1\n" * 10, samples=3).ragged_lines == [2, 3, 4]


def test_open_quote_runs_to_the_end_from_its_record():
    found = located('a,b\n1,2\n3,"4\n5,6\n7,8\n')
    assert found.last_line == 3 and found.ragged_lines == []


def test_field_over_the_limit_stops_at_its_record():
    found = located('a,b\n1,2\n3,"' + "x\n" * 600 + '"\n5,6\n', limit=1000)
    assert found.oversized and found.last_line == 3


def test_field_limit_is_restored():
    before = csv.field_size_limit()
    located("a,b\n1," + "x" * 50 + "\n", limit=10)
    assert csv.field_size_limit() == before


def test_dialect_delimiter_and_quote():
    assert located("a;b\n'1;2';3\n4\n", Dialect(delimiter=";", quote_char="'")).ragged_lines == [3]


def test_rows_are_placed_among_all_records_with_their_lines():
    # Rows as pyarrow numbers them skip the ragged records (lines 3 and 6-7) and the blank line 5.
    text = 'a,b\n1,2\n3\n4,5\n\n"6\n",7,8\n9,10\n11,12\n'
    found = locate(iter([text.encode()]), COMMA, 2, 1000, 20, rows={1, 2, 3, 4})
    assert found.places == {1: (1, 2), 2: (3, 4), 3: (5, 8), 4: (6, 9)}
    assert found.ragged_lines == [3, 6]


def test_only_the_rows_asked_for_are_placed():
    assert located("a,b\n1,2\n3,4\n").places == {}
    assert locate(iter([b"1,2\n3\n4,5\n"]), Dialect(header=False), 2, 1000, 20, rows=[2]).places == {2: (3, 3)}


def test_escape_char_splits_records_as_the_reader_does():
    text = 'a,b\n"x\\",y",1\n2\n'
    assert located(text, Dialect(escape_char="\\")).ragged_lines == [3]
    assert located(text).ragged_lines == [2, 3]


def test_a_line_without_end_stops_the_pass_where_it_starts_without_holding_it():
    """csv.reader takes whole lines: an endless one (no newline, no quote, so under the field
    limit's reach only once read) must stop at the record bound, not be read into memory."""
    pulled = []

    def endless():
        yield b'a,b\n1,2\n"x\ny",3\n4,'
        while True:
            pulled.append(1)
            yield b"y" * 65536

    found = locate(endless(), COMMA, 2, 1000, 20, max_record_chars=1 << 20)
    assert found.oversized and found.last_line == 5 and found.ragged_lines == []
    assert len(pulled) <= (1 << 20) // 65536 + 2


def test_the_default_record_bound_comes_from_the_field_limit():
    long_line = "1," + "y" * 500 + ",z" * 10  # each field under the limit, the record over 2 x (2 x 100 + 3)
    found = located("a,b\n1,2\n" + long_line + "\n3,4\n", limit=100)
    assert found.oversized and found.last_line == 3
    assert not located("a,b\n" + "1," + "y" * 100 + "\n", limit=100).oversized
