"""What the integration tests share: invoking the ingest Lambda, reading the stream, sample data."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from lambdas.ingest.handler import handler
from shared.domain.jobs import ObjectRef
from tests.integration import stack as moto_stack
from tests.integration.conftest import read_stream
from tests.lambda_helpers import FakeContext


def job_id_of(notification: dict[str, Any]) -> str:
    obj = notification["Records"][0]["s3"]["object"]
    key = unquote_plus(obj["key"])
    return ObjectRef(moto_stack.BUCKET, key, obj.get("versionId"), obj.get("eTag")).job_id


def invoke(stack: Any, *bodies: Any, context: Any = None, receive_count: int = 1) -> Any:
    return handler(stack.event(*bodies, receive_count=receive_count), context or FakeContext())


def stream_data(stack: Any) -> list[bytes]:
    return [d for d, _ in read_stream(stack.kinesis, moto_stack.STREAM)]


def jsonl(n: int, start: int = 0) -> bytes:
    return b"".join(
        b'{"i": %d, "user": {"id": "u%d"}}\n' % (i, i % 5) for i in range(start, start + n)
    )
