"""source: checksum while streaming, gzip by magic, decoding to UTF-8, refusals with their places."""

from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from etl_validator import source
from etl_validator.errors import UnreadableFile
from etl_validator.source import ChunkReader, Checksum, body_chunks, open_text, peek

TEXT = "id,name\n1,Zoë\n2,Ødegaard\n"


def decoded(data: bytes, encoding: str = "utf-8", max_bytes: int | None = None) -> tuple[bytes, source.Text]:
    text = open_text(body_chunks(io.BytesIO(data)), encoding, max_bytes)
    return b"".join(text.chunks), text


def refused(data: bytes, encoding: str = "utf-8", max_bytes: int | None = None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as info:
        decoded(data, encoding, max_bytes)
    return info.value


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few bytes, so stages meet multi-byte characters and markers cut in two."""
    monkeypatch.setattr(source, "CHUNK_BYTES", 3)
    monkeypatch.setattr(source, "SNIFF_BYTES", 5)


# -- plumbing ----------------------------------------------------------------------------------

def test_chunk_reader_fills_each_read_like_a_file():
    reader = ChunkReader(iter([b"ab", b"", b"cde", b"f"]))
    assert reader.read(4) == b"abcd"
    assert reader.read(10) == b"ef"
    assert reader.read(10) == b""


def test_peek_gives_the_prefix_and_the_whole_stream():
    prefix, chunks = peek(iter([b"ab", b"cd", b"ef"]), 3)
    assert prefix == b"abc"
    assert b"".join(chunks) == b"abcdef"


def test_checksum_is_the_sha256_of_all_bytes_once_read_to_the_end(small_chunks):
    data = TEXT.encode()
    checksum = Checksum()
    chunks = checksum.tap(body_chunks(io.BytesIO(data)))
    next(chunks)
    assert checksum.sha256 is None   # not read to the end yet
    list(chunks)
    assert checksum.sha256 == hashlib.sha256(data).hexdigest()


# -- text -------------------------------------------------------------------------------------

def test_utf8_passes_through(small_chunks):
    data, text = decoded(TEXT.encode())
    assert data == TEXT.encode()
    assert (text.encoding, text.compression) == ("utf-8", None)


def test_utf8_bom_is_stripped(small_chunks):
    assert decoded(b"\xef\xbb\xbf" + TEXT.encode())[0] == TEXT.encode()


@pytest.mark.parametrize("encoding", ["iso8859-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be"])
def test_other_encodings_become_utf8(small_chunks, encoding):
    data, text = decoded(TEXT.encode(encoding), encoding)
    assert data == TEXT.encode()
    assert text.encoding == (encoding if encoding != "utf-16" else "utf-16")


def test_latin1_bytes_are_bad_utf8_with_their_line():
    error = refused(TEXT.encode("latin-1"))
    assert error.reason == "bad_encoding"
    assert str(error) == "not valid utf-8: b'\\xeb' at byte offset 12 (line 2)"


def test_bad_byte_place_is_right_across_chunks(small_chunks):
    error = refused("id\n1\né\n".encode() + b"\xff\n")
    assert "at byte offset 8 (line 4)" in str(error)


def test_a_character_cut_short_before_an_ascii_chunk_is_bad(small_chunks):
    """Chunks b"id\\n", b"ab\\xc3", b"xyz": the ASCII chunk must not pass while a byte is held back."""
    error = refused(b"id\nab\xc3xyz\n")
    assert error.reason == "bad_encoding" and "at byte offset 5 (line 2)" in str(error)


def test_ascii_chunks_between_multibyte_ones_pass_unchanged(small_chunks):
    text = "id\n" + "ab\u00e9" * 5 + "xyz\n" * 3 + "\u20ac\n"
    assert decoded(text.encode())[0] == text.encode()


def test_utf16_file_is_bad_encoding_for_a_utf8_contract():
    error = refused(TEXT.encode("utf-16"))
    assert error.reason == "bad_encoding" and "UTF-16" in str(error)


def test_nul_after_the_sniffed_prefix_is_not_text(small_chunks):
    error = refused(b"id,name\n1,x\n2,\x00\n")
    assert error.reason == "not_text" and "line 3" in str(error)


def test_empty_object():
    assert refused(b"").reason == "empty_file"


def test_binary_formats_are_named():
    error = refused(b"PAR1\x15\x04\x15\x00\x00\x00")
    assert (error.reason, str(error)) == ("not_text", "the object is a Parquet file, not CSV text")


# -- gzip --------------------------------------------------------------------------------------

def test_gzip_is_decompressed_by_its_magic(small_chunks):
    data, text = decoded(gzip.compress(b"\xef\xbb\xbf" + TEXT.encode()))
    assert data == TEXT.encode()
    assert text.compression == "gzip"


def test_gzip_of_several_members():
    assert decoded(gzip.compress(b"id\n1\n") + gzip.compress(b"2\n"))[0] == b"id\n1\n2\n"


def test_gzip_of_nothing_is_empty():
    error = refused(gzip.compress(b""))
    assert (error.reason, str(error)) == ("empty_file", "the decompressed object is empty")


def test_gzip_of_a_binary_format_is_not_text():
    error = refused(gzip.compress(b"PK\x03\x04\x14\x00[Content_Types].xml"))
    assert error.reason == "not_text" and "the decompressed object is an Excel workbook" in str(error)


def test_truncated_gzip():
    error = refused(gzip.compress(TEXT.encode() * 100)[:-20])
    assert error.reason == "bad_gzip"


def test_corrupt_gzip():
    data = bytearray(gzip.compress(TEXT.encode() * 100))
    data[20:30] = b"\xff" * 10
    assert refused(bytes(data)).reason == "bad_gzip"


def test_decompressed_size_is_held_to_max_bytes():
    bomb = gzip.compress(b"id\n" + b"1\n" * 100_000)
    assert len(bomb) < 1000
    error = refused(bomb, max_bytes=10_000)
    assert error.reason == "file_too_large" and "decompressed" in str(error)
    assert decoded(bomb, max_bytes=200_003)[0].count(b"\n") == 100_001
