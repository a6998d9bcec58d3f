"""What arrives on the ingest queue: S3 event notifications and continuations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson

from shared.domain.errors import MalformedMessageError
from shared.domain.jobs import ObjectRef

CONTINUE = "continue"


@dataclass(frozen=True, slots=True)
class Continuation:
    job_id: str
    hop: int


def continuation_body(job_id: str, hop: int) -> dict[str, Any]:
    return {"type": CONTINUE, "job_id": job_id, "hop": hop}


def parse_message(body: str) -> list[ObjectRef | Continuation]:
    """Objects created (keys URL-decoded) or a continuation; S3's test event yields nothing."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessageError(f"message body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedMessageError("message body is not a JSON object")
    if doc.get("type") == CONTINUE:
        return [Continuation(str(doc["job_id"]), int(doc.get("hop", 0)))]
    if doc.get("Event") == "s3:TestEvent":
        return []
    if doc.get("Type") == "Notification" and "Message" in doc:  # through SNS
        return parse_message(doc["Message"])
    if "Records" not in doc:
        raise MalformedMessageError("message holds no S3 event records")
    out: list[ObjectRef | Continuation] = []
    for record in doc["Records"]:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        out.append(
            ObjectRef(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId") or None,
                etag=obj.get("eTag") or None,
                size=obj.get("size"),
                sequencer=obj.get("sequencer"),
            )
        )
    return out
