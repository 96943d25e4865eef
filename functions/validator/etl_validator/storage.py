"""Every S3 call of the validator, so the rest reads and writes plain binary streams.

Reads go to one object version (the event's), so a later upload under the same key is never
read instead. Writes stream: the staged part of a split goes to S3 while it is written, the
rejects are spooled (in memory up to SPOOL_IN_MEMORY, then on disk) and uploaded once complete,
so memory stays flat at any size.
"""

from __future__ import annotations

import io
import json
import queue
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig

from etl_common.messages import ObjectVersion

from .source import ChunkReader

TRANSFER = TransferConfig(multipart_threshold=32 << 20, multipart_chunksize=32 << 20, max_concurrency=2)
QUEUED_WRITES = 16
SPOOL_IN_MEMORY = 16 << 20


@dataclass(frozen=True)
class StoredObject:
    """One version of one object as HeadObject found it; `body` reads it from the start again
    each time (the validator reads once, and again only to place problems or split the file)."""

    s3: Any
    version: ObjectVersion
    size: int   # bytes as stored (compressed size for gzip)
    etag: str

    @property
    def key(self) -> str:
        return self.version.key

    def body(self) -> BinaryIO:
        return self.s3.get_object(Bucket=self.version.bucket, Key=self.version.key,
                                  **self.version.version_args())["Body"]


@dataclass(frozen=True)
class Bucket:
    """The bucket of the object being validated, where its report and split parts go too."""

    s3: Any
    name: str

    def head(self, source: ObjectVersion) -> StoredObject:
        """HeadObject of `source`; its version becomes the one HeadObject names (the latest when
        `source` has none), so every later read gets the same bytes."""
        head = self.s3.head_object(Bucket=self.name, Key=source.key, **source.version_args())
        version = source.model_copy(update={"version_id": head.get("VersionId") or source.version_id})
        return StoredObject(self.s3, version, head["ContentLength"], head.get("ETag", "").strip('"'))

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, ContentType="application/json",
                           Body=json.dumps(document, indent=2, default=str).encode())

    @contextmanager
    def streamed(self, key: str) -> Iterator[UploadStream]:
        """A writable file whose bytes reach `key` as they are written; an error inside the block
        aborts the upload, so no partial object is left."""
        upload = UploadStream(self.s3, self.name, key)
        try:
            yield upload
        except BaseException as exc:
            upload.abort(exc)
            raise
        upload.finish()

    @contextmanager
    def spooled(self, key: str, content_type: str) -> Iterator[BinaryIO]:
        """A writable file uploaded to `key` when the block ends without an error."""
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            yield spool
            spool.seek(0)
            self.s3.upload_fileobj(spool, self.name, key, ExtraArgs={"ContentType": content_type},
                                   Config=TRANSFER)


class UploadStream(io.RawIOBase):
    """A writable file whose bytes go to S3 while they are written (boto3's managed multipart
    upload reads them from a bounded queue in a thread), so memory stays flat at any size.

    `abort` makes the upload fail, so a broken write never leaves a partial object behind.
    """

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(QUEUED_WRITES)
        self._pool = ThreadPoolExecutor(1)
        self._upload = self._pool.submit(s3.upload_fileobj, ChunkReader(self._chunks()), bucket, key,
                                         Config=TRANSFER)

    def _chunks(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: bytes | BaseException | None) -> None:
        while True:
            try:
                return self._queue.put(item, timeout=1)
            except queue.Full:
                if self._upload.done():
                    self._upload.result()  # the upload failed: raise its error here
                    raise RuntimeError("the upload ended before its data did")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._put(chunk)
        return len(chunk)

    def finish(self) -> None:
        self._put(None)
        try:
            self._upload.result()
        finally:
            self._pool.shutdown()

    def abort(self, error: BaseException) -> None:
        if not self._upload.done():
            self._put(error)
        self._upload.exception()
        self._pool.shutdown()
