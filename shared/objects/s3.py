"""S3: the uploaded object, read pinned to its version (or ETag), and spilled ledger payloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from shared.domain.errors import PAYLOAD_MISSING, InputFileError, PayloadMissingError
from shared.domain.failures import classify
from shared.domain.models import ObjectInfo
from shared.readers.source import ByteCounter, file_chunks


def _unreadable(bucket: str, key: str, exc: ClientError) -> InputFileError:
    """The object cannot be read (gone, denied, precondition failed): a file failure."""
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    return InputFileError(f"cannot read s3://{bucket}/{key}: {code}")


class Objects:
    def __init__(self, client: Any) -> None:
        self._client = client

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        kwargs = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            out = self._client.head_object(**kwargs)
        except ClientError as exc:
            if classify(exc).retriable:  # a throttle or 5xx past botocore's retries: redelivered
                raise
            raise _unreadable(bucket, key, exc) from exc
        version = out.get("VersionId")
        return ObjectInfo(
            int(out["ContentLength"]),
            out.get("ETag"),
            None if version in (None, "null") else version,
            {k.lower(): v for k, v in out.get("Metadata", {}).items()},
        )

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
        """The object's bytes from `start` (to `end`, exclusive), pinned: an overwrite during the job
        cannot mix two files."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        elif etag:
            kwargs["IfMatch"] = etag
        if end is not None:
            if end <= start:
                return iter(())
            kwargs["Range"] = f"bytes={start}-{end - 1}"
        elif start:
            kwargs["Range"] = f"bytes={start}-"
        try:
            body = self._client.get_object(**kwargs)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return iter(())
            if classify(exc).retriable:  # a throttle or 5xx past botocore's retries: redelivered
                raise
            raise _unreadable(bucket, key, exc) from exc
        return file_chunks(body, counter)

    def get(self, bucket: str, key: str, version_id: str) -> tuple[bytes, ObjectInfo]:
        """A small object whole, with what a HeadObject would have said (one call instead of two)."""
        try:
            out = self._client.get_object(Bucket=bucket, Key=key, VersionId=version_id)
            data = bytes(out["Body"].read())
        except ClientError as exc:
            if classify(exc).retriable:
                raise
            raise _unreadable(bucket, key, exc) from exc
        return data, ObjectInfo(
            int(out.get("ContentLength", len(data))),
            out.get("ETag"),
            version_id,
            {k.lower(): v for k, v in out.get("Metadata", {}).items()},
        )

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=bucket, Key=key, Body=data)

    def head_bytes(self, bucket: str, key: str, n: int) -> bytes | None:
        """The first `n` bytes of an object (a spilled payload's preview); None when it is gone."""
        try:
            out = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{n - 1}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "InvalidRange"):
                return None
            raise
        return bytes(out["Body"].read())

    def read(self, bucket: str, key: str) -> bytes:
        """A spilled payload. `PayloadMissingError` when it is gone (the lifecycle rule expired it)."""
        try:
            return bytes(self._client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code in ("NoSuchKey", "NoSuchVersion", "404", "NotFound"):
                raise PayloadMissingError(
                    PAYLOAD_MISSING, f"the payload kept at s3://{bucket}/{key} is gone ({code})"
                ) from exc
            raise
