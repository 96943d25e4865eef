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
    def pending(self, staged_key: str, rejects_key: str | None) -> Iterator[Pending]:
        """Streams for a file's staged form, written while the file is read; what the block
        marks kept (`Pending.keep`) exists once it ends, the rest is discarded: the staged
        object's multipart upload is aborted (no partial object), the spooled rejects dropped.
        The rejects are uploaded only after the staged object is complete. An error inside the
        block discards both and is raised."""
        upload = UploadStream(self.s3, self.name, staged_key)
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            pending = Pending(upload, spool if rejects_key else None)
            try:
                yield pending
            except BaseException as exc:
                upload.abort(exc)
                raise
            if not pending.keep_staged:
                upload.abort(Discarded(staged_key))
                return
            upload.finish()
            if rejects_key and pending.keep_rejects:
                spool.seek(0)
                self.s3.upload_fileobj(spool, self.name, rejects_key, ExtraArgs={"ContentType": "text/csv"},
                                       Config=TRANSFER)


class Discarded(Exception):
    """Ends the upload of a staged object that is not kept (the file was rejected)."""


@dataclass
class Pending:
    """The writable streams of `Bucket.pending` and what to keep of them."""

    staged: UploadStream
    rejects: BinaryIO | None
    keep_staged: bool = False
    keep_rejects: bool = False

    def keep(self, staged: bool, rejects: bool) -> None:
        self.keep_staged, self.keep_rejects = staged, rejects


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
