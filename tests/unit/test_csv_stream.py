"""open_stream: header detection, dialects, ragged rows, open quotes, oversized records, regrouping.

Bytes go through `source.open_text` first, as in the service: the stream reads UTF-8 text.
"""

from __future__ import annotations

import io
import threading
import time

import pyarrow as pa
import pytest

from etl_validator import csv_stream, source
from etl_validator.contract import Dialect
from etl_validator.csv_stream import block_size, open_stream
from etl_validator.errors import UnreadableFile
from etl_validator.source import body_chunks, open_text

COMMA = Dialect()
SEMICOLON = Dialect(delimiter=";")


def opened(data: bytes | io.BytesIO, dialect: Dialect = COMMA, columns: tuple[str, ...] = ("a", "b"),
           block: int = csv_stream.BLOCK_SIZE) -> csv_stream.CsvStream:
    source_file = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    text = open_text(body_chunks(source_file), dialect.encoding, None)
    return open_stream(text.chunks, dialect, list(columns), block)


def read(data: bytes, dialect: Dialect = COMMA, columns: tuple[str, ...] = ("a", "b"), **options):
    """(stream, rows as dicts) for `data`."""
    stream = opened(data, dialect, columns, **options)
    batches = list(stream.batches)
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(field.type == pa.string() for b in batches for field in b.schema)
    rows = [row for b in batches for row in b.to_pylist()]
    return stream, rows


def unreadable(data: bytes, dialect: Dialect = COMMA) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as info:
        list(opened(data, dialect).batches)
    return info.value


# -- header ----------------------------------------------------------------------------------

def test_header_and_rows():
    stream, rows = read(b"a,b\n1,2\n3,4\n")
    assert stream.header == ["a", "b"]
    assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert stream.ragged_count == 0 and stream.ragged_rows == []


def test_header_order_is_the_file_order():
    stream, rows = read(b"b,a\n2,1\n")
    assert stream.header == ["b", "a"]
    assert rows == [{"b": "2", "a": "1"}]


def test_header_names_are_stripped():
    stream, rows = read(b" a , b \n1,2\n")
    assert stream.header == ["a", "b"]
    assert rows == [{"a": "1", "b": "2"}]


def test_header_only_file_has_no_rows():
    stream, rows = read(b"a,b\n")
    assert stream.header == ["a", "b"] and rows == []
    assert stream.complete and not stream.unclosed_quote


def test_header_only_file_without_final_newline():
    stream, rows = read(b"a,b")
    assert stream.header == ["a", "b"] and rows == []
    assert stream.complete and not stream.unclosed_quote


def test_no_header_dialect_uses_contract_names():
    stream, rows = read(b"1,2\n3,4\n", Dialect(header=False))
    assert stream.header == ["a", "b"]
    assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_crlf_line_endings():
    _, rows = read(b"a,b\r\n1,2\r\n3,4\r\n")
    assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_last_line_without_newline():
    _, rows = read(b"a,b\n1,2\n3,4")
    assert rows[-1] == {"a": "3", "b": "4"}


# -- BOM, quoting, dialects -------------------------------------------------------------------

def test_bom_is_stripped():
    stream, rows = read(b"\xef\xbb\xbfa,b\n1,2\n")
    assert stream.header == ["a", "b"]
    assert rows == [{"a": "1", "b": "2"}]


def test_bom_is_stripped_without_header():
    _, rows = read(b"\xef\xbb\xbf1,2\n", Dialect(header=False))
    assert rows == [{"a": "1", "b": "2"}]


def test_quoted_delimiter_and_newline():
    _, rows = read(b'a,b\n"x,y","line1\nline2"\n"say ""hi""",3\n')
    assert rows == [{"a": "x,y", "b": "line1\nline2"}, {"a": 'say "hi"', "b": "3"}]


def test_quoted_newline_in_header():
    stream, rows = read(b'"a","b\nc"\n1,2\n', columns=("a", "b\nc"))
    assert stream.header == ["a", "b\nc"]
    assert rows == [{"a": "1", "b\nc": "2"}]


def test_semicolon_dialect():
    stream, rows = read(b'a;b\n"x;y";2\n3,5;4\n', SEMICOLON)
    assert stream.header == ["a", "b"]
    assert rows == [{"a": "x;y", "b": "2"}, {"a": "3,5", "b": "4"}]


def test_semicolon_file_read_with_comma_dialect_is_one_column():
    stream, _ = read(b"a;b\n1;2\n")
    assert stream.header == ["a;b"]


def test_custom_quote_char():
    _, rows = read(b"a,b\n'x,y',2\n", Dialect(quote_char="'"))
    assert rows == [{"a": "x,y", "b": "2"}]


BACKSLASH = Dialect(escape_char="\\")


def test_without_an_escape_char_quotes_are_only_doubled():
    _, rows = read(b'a,b\n"say ""hi""","say \\"hi\\""\n')
    assert rows == [{"a": 'say "hi"', "b": 'say \\hi\\""'}]


@pytest.mark.parametrize(("field", "value"), [
    (b'"say \\"hi\\""', 'say "hi"'), (b'"a""b"', 'a"b'), (b"x\\,y", "x,y"), (b'"C:\\\\dir\\\\"', "C:\\dir\\"),
    (b'"two\\\nlines"', "two\nlines"),
])
def test_escape_char_makes_the_next_character_literal(field, value):
    stream, rows = read(b"a,b\n" + field + b",2\n", BACKSLASH)
    assert rows == [{"a": value, "b": "2"}] and stream.ragged_count == 0


def test_escape_char_in_the_header():
    stream, _ = read(b'"a\\"1",b\n1,2\n', BACKSLASH, columns=('a"1', "b"))
    assert stream.header == ['a"1', "b"]


def test_null_values():
    _, rows = read(b'a,b\n,NULL\n"",x\nnull,"NULL"\n', Dialect(null_values=("", "NULL")))
    # Listed tokens become nulls; a quoted empty string stays a string.
    assert rows[0] == {"a": None, "b": None}
    assert rows[1] == {"a": "", "b": "x"}
    assert rows[2]["a"] == "null"


def test_values_are_not_typed_or_trimmed():
    _, rows = read(b"a,b\n 007 ,1e3\n")
    assert rows == [{"a": " 007 ", "b": "1e3"}]


def test_latin1_encoding():
    stream, rows = read("nom,b\nété,ü\n".encode("latin-1"), Dialect(encoding="latin-1"),
                        columns=("nom", "b"))
    assert stream.header == ["nom", "b"]
    assert rows == [{"nom": "été", "b": "ü"}]


def test_utf8_text():
    _, rows = read("a,b\nDan Ødegaard,Müller\n".encode())
    assert rows == [{"a": "Dan Ødegaard", "b": "Müller"}]


# -- unreadable files ------------------------------------------------------------------------

def test_empty_object():
    error = unreadable(b"")
    assert error.reason == "empty_file"


def test_blank_first_line():
    assert unreadable(b"\n").reason == "empty_file"


def test_only_a_bom_has_no_header():
    assert unreadable(b"\xef\xbb\xbf").reason == "empty_file"


def test_binary_with_nul():
    assert unreadable(b"PK\x03\x04\x00\x00binary").reason == "not_text"
    assert unreadable(b"\x01\x02\x00\x00\x00\x07\x00\x00\x00binary").reason == "not_text"


def test_invalid_utf8():
    error = unreadable(b"a,b\n\xff\xfe,1\n")
    assert error.reason == "bad_encoding"
    assert "utf-8" in str(error) and "line 2" in str(error)


def test_utf8_character_cut_by_the_peek_is_fine(monkeypatch):
    # The peek may end inside a multi-byte character: that is not an encoding error.
    data = "a,b\né,1\n".encode()
    monkeypatch.setattr(csv_stream, "PEEK_BYTES", data.index(b"\xc3") + 1)
    _, rows = read(data)
    assert rows == [{"a": "é", "b": "1"}]


def test_invalid_utf8_after_the_peek(monkeypatch):
    monkeypatch.setattr(source, "SNIFF_BYTES", 8)
    monkeypatch.setattr(source, "CHUNK_BYTES", 8)
    error = unreadable(b"a,b\n1,2\n3,4\n5,\xff\n")
    assert error.reason == "bad_encoding" and "byte offset 14 (line 4)" in str(error)


def test_a_record_that_does_not_fit_in_a_block_stops_the_reading():
    stream, rows = read(b"a,b\n1,2\n3," + b"x" * 5000 + b"\n5,6\n", block=1024)  # over 2 blocks
    assert rows == [{"a": "1", "b": "2"}]
    assert stream.oversized and not stream.complete and not stream.unclosed_quote


def test_block_holds_twice_the_field_limit():
    assert block_size(1 << 10) == csv_stream.BLOCK_SIZE
    assert block_size(4 << 20) == 8 << 20


def test_other_parse_errors_are_malformed_csv(monkeypatch):
    def broken(*_args, **_kwargs):
        raise pa.ArrowInvalid("CSV parse error: something new")

    monkeypatch.setattr(csv_stream.pacsv, "open_csv", broken)
    assert unreadable(b"a,b\n1,2\n").reason == "malformed_csv"


# -- open quotes ------------------------------------------------------------------------------

def test_quote_left_open_at_the_end_is_detected():
    stream, rows = read(b'a,b\n1,2\n3,"4\n5,6\n')
    assert stream.complete and stream.unclosed_quote
    assert rows[0] == {"a": "1", "b": "2"}


def test_closed_quotes_at_the_end_are_fine():
    for data in (b'a,b\n1,"2"', b'a,b\n1,"2\n"\n', b'a,b\n1,"say ""hi"""\n'):
        stream, rows = read(data)
        assert not stream.unclosed_quote, data
        assert len(rows) == 1


def test_end_marker_never_becomes_a_row_or_a_ragged_row():
    stream, rows = read(b"a\nx\ny", Dialect(), columns=("a",))
    assert rows == [{"a": "x"}, {"a": "y"}]
    assert stream.ragged_count == 0 and not stream.unclosed_quote


# -- ragged rows and duplicate headers ----------------------------------------------------------

def test_ragged_rows_are_counted_and_sampled():
    stream, rows = read(b"a,b\n1,2\n1,2,3\n4\n5,6\n")
    assert rows == [{"a": "1", "b": "2"}, {"a": "5", "b": "6"}]
    assert stream.ragged_count == 2
    assert stream.ragged_rows == ["expected 2 fields, got 3: 1,2,3", "expected 2 fields, got 1: 4"]


def test_ragged_samples_are_capped():
    data = b"a,b\n" + b"1,2,3\n" * (csv_stream.MAX_RAGGED_SAMPLES + 5) + b"7,8\n"
    stream, rows = read(data)
    assert rows == [{"a": "7", "b": "8"}]
    assert stream.ragged_count == csv_stream.MAX_RAGGED_SAMPLES + 5
    assert len(stream.ragged_rows) == csv_stream.MAX_RAGGED_SAMPLES


def test_ragged_sample_text_is_clipped():
    stream, _ = read(b"a,b\n" + b"x," * 300 + b"x\n")
    assert stream.ragged_count == 1
    assert len(stream.ragged_rows[0]) <= len("expected 2 fields, got 301: ") + 200


def test_duplicate_header_returns_no_batches():
    stream = opened(b"a,a,b\n1,2,3\n")
    assert stream.header == ["a", "a", "b"]
    assert list(stream.batches) == []


# -- regrouping ------------------------------------------------------------------------------

def make_csv(n: int) -> bytes:
    return b"id,v\n" + b"".join(f"{i},value-{i}\n".encode() for i in range(1, n + 1))


def test_small_file_is_one_batch():
    stream = opened(make_csv(100), columns=("id", "v"))
    batches = list(stream.batches)
    assert [b.num_rows for b in batches] == [100]


def test_batches_are_regrouped(monkeypatch):
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 50)
    monkeypatch.setattr(csv_stream, "PEEK_BYTES", 64)
    n = 1234
    stream = opened(make_csv(n), columns=("id", "v"), block=256)     # many small reader blocks
    batches = list(stream.batches)
    sizes = [b.num_rows for b in batches]
    assert len(batches) > 5
    assert sum(sizes) == n
    assert all(size >= 50 for size in sizes[:-1])
    assert all(b.num_columns == 2 and b.schema.names == ["id", "v"] for b in batches)
    ids = [int(x) for b in batches for x in b.column("id").to_pylist()]
    assert ids == list(range(1, n + 1))   # in order, nothing lost or repeated at block edges


def test_regrouping_with_quoted_newlines_across_blocks(monkeypatch):
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 7)
    monkeypatch.setattr(csv_stream, "PEEK_BYTES", 32)
    n = 200
    data = b"id,v\n" + b"".join(f'{i},"line {i}\nmore, text"\n'.encode() for i in range(1, n + 1))
    stream = opened(data, columns=("id", "v"), block=128)
    batches = list(stream.batches)
    assert len(batches) > 1
    values = [x for b in batches for x in b.column("v").to_pylist()]
    assert len(values) == n
    assert values[-1] == f"line {n}\nmore, text"
    assert stream.ragged_count == 0


def test_source_is_read_lazily_after_the_peek(monkeypatch):
    monkeypatch.setattr(csv_stream, "PEEK_BYTES", 16)
    monkeypatch.setattr(source, "SNIFF_BYTES", 16)
    monkeypatch.setattr(source, "CHUNK_BYTES", 1024)
    data = io.BytesIO(make_csv(20_000))
    stream = opened(data, columns=("id", "v"), block=1024)
    # Opening reads the peek, not the whole object; the batches read the rest.
    assert data.tell() < len(data.getvalue()) // 2
    assert sum(b.num_rows for b in stream.batches) == 20_000
    assert data.tell() == len(data.getvalue())


# -- reading ahead in a thread ---------------------------------------------------------------

def test_read_ahead_parses_at_most_one_batch_ahead(monkeypatch):
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 100)
    monkeypatch.setattr(source, "CHUNK_BYTES", 1024)
    data = io.BytesIO(make_csv(20_000))
    stream = opened(data, columns=("id", "v"), block=1024)
    first = next(stream.batches)
    time.sleep(0.2)  # the thread has had time to read on, if it would
    assert first.num_rows >= 100
    assert data.tell() < len(data.getvalue()) // 4
    assert sum(b.num_rows for b in stream.batches) + first.num_rows == 20_000


def test_read_ahead_thread_stops_when_the_caller_leaves_early(monkeypatch):
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 100)
    stream = opened(make_csv(20_000), columns=("id", "v"), block=1024)
    next(stream.batches)
    stream.batches.close()
    assert not [t for t in threading.enumerate() if t.name == "csv-read-ahead"]


def test_read_ahead_raises_errors_after_the_batches_before_them(monkeypatch):
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 100)
    monkeypatch.setattr(source, "CHUNK_BYTES", 1024)
    data = make_csv(5_000) + b'"\xff\n'   # not UTF-8 at the end
    stream = opened(data, columns=("id", "v"), block=1024)
    rows = 0
    with pytest.raises(UnreadableFile, match="bad_encoding|not valid"):
        for batch in stream.batches:
            rows += batch.num_rows
    assert rows > 0
