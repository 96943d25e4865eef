"""An object's bytes on their way to the CSV parser: hashed, gunzipped, sniffed, decoded to UTF-8.

Every stage is a generator of byte chunks, so the object is never held in memory whatever its
size or compression ratio; `ChunkReader` turns a chain back into the file object that gzip,
pyarrow and the csv module read from.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import itertools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from etl_common.vocabulary import Reason

from .errors import UnreadableFile
from .sniff import GZIP_MAGIC, binary_format, codec_for, text_form

CHUNK_BYTES = 1 << 20
SNIFF_BYTES = 4 << 10


class ChunkReader(io.RawIOBase):
    """A readable binary file over an iterator of byte chunks.

    Reads fill the buffer as a file would: pyarrow takes its first read as the first block and
    needs the whole header line in it.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view, filled = memoryview(buffer).cast("B"), 0
        while filled < len(view):
            if not self._pending.nbytes:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk)
            n = min(len(view) - filled, self._pending.nbytes)
            view[filled:filled + n] = self._pending[:n]
            self._pending, filled = self._pending[n:], filled + n
        return filled


def body_chunks(body: BinaryIO) -> Iterator[bytes]:
    """An S3 body (or any binary file) as chunks."""
    while chunk := body.read(CHUNK_BYTES):
        yield chunk


class Checksum:
    """sha256 of the bytes as they stream past; known only once the object was read to its end."""

    def __init__(self) -> None:
        self._sha, self._complete = hashlib.sha256(), False

    def tap(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._sha.update(chunk)
            yield chunk
        self._complete = True

    @property
    def sha256(self) -> str | None:
        return self._sha.hexdigest() if self._complete else None


@dataclass
class Text:
    """The object as UTF-8 chunks, and what it took to get there."""

    chunks: Iterator[bytes]
    encoding: str
    compression: str | None


def open_text(chunks: Iterator[bytes], encoding: str, max_bytes: int | None) -> Text:
    """Gunzip if the magic says gzip, reject binary formats, decode `encoding` (BOM stripped) to UTF-8.

    Raises UnreadableFile for an empty object, binary data or text not in the contract's encoding;
    decoding errors further on are raised by the chunks as they are read.
    """
    prefix, chunks = peek(chunks, SNIFF_BYTES)
    compression = None
    if prefix.startswith(GZIP_MAGIC):
        compression = "gzip"
        prefix, chunks = peek(_gunzip(chunks, max_bytes), SNIFF_BYTES)
    what = "the object" if compression is None else "the decompressed object"
    if not prefix:
        raise UnreadableFile(Reason.EMPTY_FILE, f"{what} is empty")
    found = binary_format(prefix)
    if found:
        raise UnreadableFile(Reason.NOT_TEXT, f"{what} is {found}, not CSV text")
    codec = codec_for(encoding, text_form(prefix))
    return Text(_to_utf8(chunks, codec), codec, compression)


def peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first `size` bytes (fewer if the stream is shorter) and the whole stream again."""
    head = bytearray()
    for chunk in chunks:
        head += chunk
        if len(head) >= size:
            break
    prefix = bytes(head)
    return prefix[:size], itertools.chain([prefix], chunks)


def _gunzip(chunks: Iterator[bytes], max_bytes: int | None) -> Iterator[bytes]:
    """Decompress as a stream; the contract's max_bytes holds for the decompressed size too."""
    total = 0
    try:
        with gzip.GzipFile(fileobj=ChunkReader(chunks)) as file:
            while chunk := file.read(CHUNK_BYTES):
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise UnreadableFile(Reason.FILE_TOO_LARGE, f"more than {max_bytes} bytes once "
                                         "decompressed, the contract's max_bytes")
                yield chunk
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise UnreadableFile(Reason.BAD_GZIP, f"the gzip data is corrupt or truncated: {exc}") from exc


def _to_utf8(chunks: Iterator[bytes], codec: str) -> Iterator[bytes]:
    """Decode strictly and re-encode as UTF-8, with a leading BOM removed (ASCII chunks of UTF-8
    text pass as they are: that is most CSV, and decoding it would only cost time).

    NUL bytes are refused here too: past the sniffed prefix they still mean binary data, and the
    CSV reader relies on no NUL reaching it (see csv_stream's end marker).
    """
    decoder = codecs.getincrementaldecoder(codec)("strict")
    consumed, lines, first = 0, 0, True
    for chunk in itertools.chain(chunks, [None]):
        if codec == "utf-8" and chunk and chunk.isascii() and not decoder.getstate()[0]:
            data, first = chunk, False  # already UTF-8, and nothing is held back from before
        else:
            try:
                text = decoder.decode(chunk or b"", final=chunk is None)
            except UnicodeDecodeError as exc:
                raise _decode_error(exc, codec, consumed, len(chunk or b""), lines) from exc
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            data = text.encode("utf-8")
        nul = data.find(b"\x00")
        if nul >= 0:
            line = lines + data.count(b"\n", 0, nul) + 1
            raise UnreadableFile(Reason.NOT_TEXT, f"a NUL byte at line {line}: the object is binary data, "
                                 "not CSV text")
        consumed += len(chunk or b"")
        lines += _newlines(data)
        yield data


def _newlines(data: bytes) -> int:
    """How many line feeds: removing them is a memchr-speed copy, about 15 x cheaper than
    `bytes.count`, which scans byte by byte under the GIL (measured on 1 GB of CSV)."""
    return len(data) - len(data.replace(b"\n", b""))


def _decode_error(exc: UnicodeDecodeError, codec: str, consumed: int, chunk_size: int,
                  lines: int) -> UnreadableFile:
    """Where the bad byte is: its offset in the (decompressed) file and its line."""
    pending = len(exc.object) - chunk_size  # bytes the decoder held back from the last chunk
    valid = exc.object[:exc.start].decode(codec, errors="replace")
    line = lines + valid.count("\n") + 1
    offset = consumed - pending + exc.start
    bad = exc.object[exc.start:exc.end]
    return UnreadableFile(Reason.BAD_ENCODING, f"not valid {codec}: {bad!r} at byte offset {offset} (line {line})")
