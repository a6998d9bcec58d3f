"""Objects in the bucket as the services need them: ranged, version-pinned reads, and spilled payloads.
Implemented for S3 beside it (`s3.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from shared.domain.models import ObjectInfo
from shared.readers.source import ByteCounter


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def chunks(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None,
        etag: str | None,
        start: int = 0,
        end: int | None = None,
        counter: ByteCounter | None = None,
    ) -> Iterator[bytes]:
        """The bytes from `start` to `end` (exclusive; the object's end when None)."""
        ...

    def get(self, bucket: str, key: str, version_id: str) -> tuple[bytes, ObjectInfo]: ...

    def put(self, bucket: str, key: str, data: bytes) -> None: ...

    def read(self, bucket: str, key: str) -> bytes: ...

    def head_bytes(self, bucket: str, key: str, n: int) -> bytes | None: ...
