"""What an object is, from its first bytes: gzip, a binary format, or text in which Unicode form.

Names lie (an .xlsx renamed .csv, gzip without .gz); magic numbers and byte order marks do
not. Everything here looks at a short prefix of the object only.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl_common.vocabulary import Reason

from .errors import UnreadableFile

GZIP_MAGIC = b"\x1f\x8b"
ZIP = "a ZIP archive"
BINARY_FORMATS = (
    (b"PK\x03\x04", ZIP),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 document (such as a legacy Excel .xls workbook)"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (GZIP_MAGIC, "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
# Entry names near the start of a ZIP that make it an Office Open XML spreadsheet.
XLSX_MARKERS = (b"[Content_Types].xml", b"xl/")
# Longest first: a UTF-32 LE mark starts with the UTF-16 LE one.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32", "le"), (b"\x00\x00\xfe\xff", "utf-32", "be"),
    (b"\xef\xbb\xbf", "utf-8", None), (b"\xff\xfe", "utf-16", "le"), (b"\xfe\xff", "utf-16", "be"),
)
WIDE = ("utf-16", "utf-32")
NUL_SAMPLE_BYTES = 1024
ORDERS = {"le": "little-endian", "be": "big-endian"}


@dataclass(frozen=True)
class TextForm:
    """How the text is stored: a Unicode form shown by a BOM or NUL bytes, or None for 8-bit text."""

    unicode: str | None = None
    byte_order: str | None = None
    bom: bool = False

    def __str__(self) -> str:
        if self.unicode is None:
            return "8-bit text with no byte order mark"
        order = f"{ORDERS[self.byte_order]}, " if self.byte_order else ""
        return f"{self.unicode.upper()} ({order}{'with a' if self.bom else 'no'} byte order mark)"


def binary_format(prefix: bytes) -> str | None:
    """The name of a known binary format the prefix starts with, for the rejection message."""
    name = next((name for magic, name in BINARY_FORMATS if prefix.startswith(magic)), None)
    if name == ZIP and any(marker in prefix for marker in XLSX_MARKERS):
        return "an Excel workbook (.xlsx, a ZIP archive)"
    return name


def text_form(prefix: bytes) -> TextForm:
    """The Unicode form of a text prefix; NUL bytes that are not UTF-16 mean binary data."""
    for mark, unicode, order in BOMS:
        if prefix.startswith(mark):
            return TextForm(unicode, order, bom=True)
    order = _utf16_order(prefix[:NUL_SAMPLE_BYTES])
    if order:
        return TextForm("utf-16", order)
    if b"\x00" in prefix:
        raise UnreadableFile(Reason.NOT_TEXT, "the object contains NUL bytes: it is binary data, not CSV text")
    return TextForm()


def _utf16_order(sample: bytes) -> str | None:
    """UTF-16 without a BOM shows as NUL bytes on one side of each mostly-ASCII character."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    major, minor, order = (odd, even, "le") if odd > even else (even, odd, "be")
    return order if major and major * 4 >= len(sample) // 2 and minor * 8 <= major else None


def codec_for(declared: str, form: TextForm) -> str:
    """The codec to decode with: the contract's, once the first bytes agree with it.

    A mismatch is rejected here rather than read as mojibake. UTF-16 without a BOM is read
    big-endian, as Spark (Java) reads it in the Glue job, so little-endian needs `utf-16-le`.
    """
    wide = next((w for w in WIDE if declared.startswith(w)), None)
    mismatch = UnreadableFile(Reason.BAD_ENCODING, f"the file is {form} but the contract says {declared}")
    if form.unicode in WIDE or wide:
        if form.unicode != wide or declared not in (wide, f"{wide}-{form.byte_order}"):
            raise mismatch
        if declared == wide and not form.bom and form.byte_order == "le":
            raise UnreadableFile(Reason.BAD_ENCODING, f"the file is {form}; without a byte order mark "
                                 f"{wide} means big-endian: declare {wide}-le in the contract")
        return declared if form.bom or declared != wide else f"{wide}-be"
    if form.unicode == "utf-8" and declared != "utf-8":
        raise mismatch
    return declared
