"""sniff: binary formats by magic number, Unicode forms by BOM or NUL pattern, the codec decision."""

from __future__ import annotations

import io
import zipfile

import pytest

from etl_validator.errors import UnreadableFile
from etl_validator.sniff import TextForm, binary_format, codec_for, text_form

TEXT = "order_id,amount\n1,2.50\n"


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


# -- binary formats --------------------------------------------------------------------------

@pytest.mark.parametrize(("prefix", "words"), [
    (b"PAR1\x15\x04", "Parquet"),
    (b"PK\x03\x04\x14\x00other.txt", "ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
    (b"%PDF-1.7", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00", "PNG"),
    (b"\x1f\x8b\x08\x00", "gzip"),
])
def test_binary_formats_are_named(prefix, words):
    assert words in binary_format(prefix)


def test_xlsx_is_told_apart_from_other_zips():
    assert binary_format(xlsx_bytes()) == "an Excel workbook (.xlsx, a ZIP archive)"


@pytest.mark.parametrize("prefix", [TEXT.encode(), b"PAR,1\n", b"PK,x\n", "é,ü\n".encode("latin-1")])
def test_text_is_no_binary_format(prefix):
    assert binary_format(prefix) is None


# -- Unicode forms -----------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "form"), [
    (TEXT.encode(), TextForm()),
    (TEXT.encode("latin-1"), TextForm()),
    (b"\xef\xbb\xbf" + TEXT.encode(), TextForm("utf-8", None, True)),
    (TEXT.encode("utf-16"), TextForm("utf-16", "le", True)),
    (b"\xfe\xff" + TEXT.encode("utf-16-be"), TextForm("utf-16", "be", True)),
    (TEXT.encode("utf-16-le"), TextForm("utf-16", "le")),
    (TEXT.encode("utf-16-be"), TextForm("utf-16", "be")),
    (TEXT.encode("utf-32"), TextForm("utf-32", "le", True)),
])
def test_text_form(data, form):
    assert text_form(data) == form


def test_utf16_with_some_non_ascii_text_is_still_utf16():
    assert text_form("id,名前\n1,東京都\n".encode("utf-16-le")) == TextForm("utf-16", "le")


def test_other_nul_bytes_are_binary():
    with pytest.raises(UnreadableFile) as info:
        text_form(b"\x00\x01\x02\x03\x00\x00\x00\x00\x10")
    assert info.value.reason == "not_text"


def test_form_descriptions():
    assert str(TextForm()) == "8-bit text with no byte order mark"
    assert str(TextForm("utf-16", "le", True)) == "UTF-16 (little-endian, with a byte order mark)"
    assert str(TextForm("utf-16", "be")) == "UTF-16 (big-endian, no byte order mark)"
    assert str(TextForm("utf-8", None, True)) == "UTF-8 (with a byte order mark)"


# -- codec decision ----------------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "form", "codec"), [
    ("utf-8", TextForm(), "utf-8"),
    ("utf-8", TextForm("utf-8", None, True), "utf-8"),
    ("iso8859-1", TextForm(), "iso8859-1"),
    ("utf-16", TextForm("utf-16", "le", True), "utf-16"),
    ("utf-16", TextForm("utf-16", "be", True), "utf-16"),
    ("utf-16", TextForm("utf-16", "be"), "utf-16-be"),
    ("utf-16-le", TextForm("utf-16", "le"), "utf-16-le"),
    ("utf-16-le", TextForm("utf-16", "le", True), "utf-16-le"),
])
def test_codec_when_the_bytes_agree(declared, form, codec):
    assert codec_for(declared, form) == codec


@pytest.mark.parametrize(("declared", "form", "words"), [
    ("utf-8", TextForm("utf-16", "le", True), "UTF-16 (little-endian, with a byte order mark)"),
    ("utf-8", TextForm("utf-16", "be"), "UTF-16 (big-endian"),
    ("utf-8", TextForm("utf-32", "le", True), "UTF-32"),
    ("iso8859-1", TextForm("utf-8", None, True), "UTF-8 (with a byte order mark) but the contract"),
    ("utf-16", TextForm(), "8-bit text with no byte order mark but the contract says utf-16"),
    ("utf-16", TextForm("utf-16", "le"), "declare utf-16-le"),
    ("utf-16-be", TextForm("utf-16", "le", True), "little-endian"),
])
def test_codec_mismatch_is_bad_encoding(declared, form, words):
    with pytest.raises(UnreadableFile) as info:
        codec_for(declared, form)
    assert info.value.reason == "bad_encoding"
    assert words in str(info.value)
