"""Events and contexts for invoking the handlers in-process, built by small helpers."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

_ids = itertools.count(1)


@dataclass
class FakeContext:
    """An emulated Lambda context; `remaining_s` may be a callable, to make time run out."""

    remaining_s: Any = 900.0
    function_name: str = "loader-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:loader-ingest"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        value = self.remaining_s() if callable(self.remaining_s) else self.remaining_s
        return int(value * 1000)


class Countdown:
    """Remaining time that drops by `step` seconds each time it is asked."""

    def __init__(self, start: float, step: float) -> None:
        self.value, self.step = start, step

    def __call__(self) -> float:
        self.value -= self.step
        return self.value


def s3_notification(bucket: str, key: str, *, version_id: str | None, etag: str | None, size: int,
                    sequencer: str | None = None) -> dict[str, Any]:  # fmt: skip
    obj: dict[str, Any] = {"key": quote_plus(key), "size": size}
    if etag:
        obj["eTag"] = etag.strip('"')
    if version_id:
        obj["versionId"] = version_id
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
            }
        ]
    }


def sqs_event(*bodies: dict[str, Any] | str, receive_count: int = 1) -> dict[str, Any]:
    """An SQS batch event; `receive_count` says how many times its messages have been received."""
    records = []
    for body in bodies:
        n = next(_ids)
        records.append({
            "messageId": f"m-{n}",
            "receiptHandle": f"r-{n}",
            "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"ApproximateReceiveCount": str(receive_count)},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
            "awsRegion": "us-east-1",
        })  # fmt: skip
    return {"Records": records}


def api_event(
    method: str, path: str, query: dict[str, str] | None = None, body: Any = None
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as API Gateway would hand it to the Lambda."""
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/prod{path}", "stage": "prod",
            "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1", "userArn": "arn:aws:iam::123456789012:user/tester"},
            "accountId": "123456789012", "apiId": "local",
        },
        "body": raw,
        "isBase64Encoded": False,
    }  # fmt: skip
